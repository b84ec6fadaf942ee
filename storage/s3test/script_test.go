package s3test_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"callscribe/storage/s3"
	"callscribe/storage/s3test"
)

// scripts/test-minio.sh is what make test uses to give every package one shared MinIO
// through CALLSCRIBE_TEST_S3_*: start writes a working env file, stop ends the server.
func TestTestMinioScript(t *testing.T) {
	t.Parallel()
	script, err := filepath.Abs("../../scripts/test-minio.sh")
	if err != nil {
		t.Fatal(err)
	}
	environ := os.Environ()
	if os.Getenv(s3test.EnvBinary) != "" {
		// Use the binary make test installed rather than building another (in the
		// script's environment only: the other tests run beside this one).
		environ = append(environ, "CALLSCRIBE_TOOLS_DIR="+filepath.Dir(os.Getenv(s3test.EnvBinary)))
	}
	dir := filepath.Join(t.TempDir(), "run dir") // a space must survive quoting
	sh := func(action string) {
		t.Helper()
		cmd := exec.Command(script, action, dir)
		cmd.Env = environ
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("test-minio.sh %s: %v\n%s", action, err, out)
		}
	}
	sh("start")
	t.Cleanup(func() { exec.Command(script, "stop", dir).Run() })

	f, err := os.Open(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatalf("start wrote no env file: %v", err)
	}
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		env[k] = v
	}
	f.Close()
	for _, k := range []string{s3test.EnvEndpoint, s3test.EnvAccessKey, s3test.EnvSecretKey, s3test.EnvBinary} {
		if env[k] == "" {
			t.Errorf("env file lacks %s", k)
		}
	}
	if !strings.HasPrefix(env[s3test.EnvEndpoint], "127.0.0.1:") {
		t.Errorf("endpoint %q is not on 127.0.0.1", env[s3test.EnvEndpoint])
	}
	st, err := s3.New(s3.Options{Endpoint: env[s3test.EnvEndpoint], AccessKey: env[s3test.EnvAccessKey],
		SecretKey: env[s3test.EnvSecretKey], Bucket: "script-test", MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnsureBucket(context.Background(), 0); err != nil {
		t.Fatalf("the started server does not work: %v", err)
	}

	b, err := os.ReadFile(filepath.Join(dir, "pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	sh("stop")
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("minio (pid %d) still runs after stop", pid)
	}
	if _, err := os.Stat(filepath.Join(dir, "env")); !os.IsNotExist(err) {
		t.Errorf("env file still there after stop: %v", err)
	}
	sh("stop") // stopping twice is fine
}
