// Package s3test gives tests a real S3 server: the MinIO that make test starts once per
// run (scripts/test-minio.sh, which exports CALLSCRIBE_TEST_S3_*), a fresh bucket per
// test, removed with everything in it at cleanup, and, for tests that must stop the
// server under a stage, a private MinIO process of their own (Server).
//
// It owns only buckets it created (named cs-test-…) and servers it started; it must
// never be imported by non-test code.
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"callscribe/storage/s3"
)

// The variables scripts/test-minio.sh writes to DIR/env.
const (
	EnvEndpoint  = "CALLSCRIBE_TEST_S3_ENDPOINT"
	EnvAccessKey = "CALLSCRIBE_TEST_S3_ACCESS_KEY"
	EnvSecretKey = "CALLSCRIBE_TEST_S3_SECRET_KEY"
	EnvBinary    = "CALLSCRIBE_TEST_S3_BINARY" // the minio binary, for Server
)

const unsetHelp = "is unset: run `make test`, or `scripts/test-minio.sh start DIR` and export the lines of DIR/env (`set -a; . DIR/env; set +a`)"

// Bucket is a fresh, empty bucket on the test server.
type Bucket struct {
	Options s3.Options    // endpoint, keys and bucket name, for s3.New or the CLI's env
	Client  *minio.Client // a raw client, to look behind the stage's back
}

// Env returns the shared test server's options with a fresh bucket name; the bucket
// itself is not created (EnsureBucket's job), but it is removed at cleanup if it was.
// The test fails, never skips, when the server is not configured.
func Env(t testing.TB) s3.Options {
	t.Helper()
	o := s3.Options{
		Endpoint:   os.Getenv(EnvEndpoint),
		AccessKey:  os.Getenv(EnvAccessKey),
		SecretKey:  os.Getenv(EnvSecretKey),
		Bucket:     BucketName(t),
		MaxRetries: 2,
	}
	if o.Endpoint == "" {
		t.Fatalf("%s %s", EnvEndpoint, unsetHelp)
	}
	if o.AccessKey == "" || o.SecretKey == "" {
		t.Fatalf("%s is set but %s or %s %s", EnvEndpoint, EnvAccessKey, EnvSecretKey, unsetHelp)
	}
	client := NewClient(t, o)
	t.Cleanup(func() { RemoveBucket(t, client, o.Bucket) })
	return o
}

// NewBucket creates a fresh bucket on the shared test server, with mb's options
// (object locking, say), removed with its contents at cleanup.
func NewBucket(t testing.TB, mb minio.MakeBucketOptions) Bucket {
	t.Helper()
	o := Env(t)
	client := NewClient(t, o)
	if err := client.MakeBucket(context.Background(), o.Bucket, mb); err != nil {
		t.Fatalf("make bucket %s: %v", o.Bucket, err)
	}
	return Bucket{Options: o, Client: client}
}

// Stage returns a stage on a fresh bucket of the shared test server.
func Stage(t testing.TB) (*s3.Stage, Bucket) {
	t.Helper()
	b := NewBucket(t, minio.MakeBucketOptions{})
	st, err := s3.New(b.Options)
	if err != nil {
		t.Fatal(err)
	}
	return st, b
}

// BucketName is a fresh bucket name: cs-test-<random>.
func BucketName(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "cs-test-" + hex.EncodeToString(b)
}

// NewClient is a raw minio-go client for o.
func NewClient(t testing.TB, o s3.Options) *minio.Client {
	t.Helper()
	c, err := minio.New(o.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""), Secure: o.Secure, MaxRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// RemoveBucket removes bucket and everything in it, if it exists.
func RemoveBucket(t testing.TB, c *minio.Client, bucket string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if ok, err := c.BucketExists(ctx, bucket); err != nil || !ok {
		return
	}
	// ForceDelete (a MinIO extension) removes the objects, versions and uploads too; MinIO
	// refuses it on versioned buckets, which are emptied version by version instead.
	if c.RemoveBucketWithOptions(ctx, bucket, minio.RemoveBucketOptions{ForceDelete: true}) == nil {
		return
	}
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
		if o.Err == nil {
			c.RemoveObject(ctx, bucket, o.Key, minio.RemoveObjectOptions{VersionID: o.VersionID, GovernanceBypass: true})
		}
	}
	if err := c.RemoveBucket(ctx, bucket); err != nil {
		t.Logf("remove test bucket %s: %v", bucket, err)
	}
}

// Versions lists every version and delete marker in bucket (all keys).
func Versions(t testing.TB, c *minio.Client, bucket string) []minio.ObjectInfo {
	t.Helper()
	var out []minio.ObjectInfo
	for o := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list versions of %s: %v", bucket, o.Err)
		}
		out = append(out, o)
	}
	return out
}

// Server is a private MinIO process that a test may stop and start again: same port,
// same data, same keys. It runs the binary make test installed ($CALLSCRIBE_TEST_S3_BINARY).
type Server struct {
	Options s3.Options // with a fresh bucket name, not created
	t       testing.TB
	bin     string
	dir     string
	cmd     *exec.Cmd
}

// StartServer starts a private MinIO on 127.0.0.1 with data in a temporary directory;
// it is stopped at cleanup.
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin := os.Getenv(EnvBinary)
	if bin == "" {
		t.Fatalf("%s %s", EnvBinary, unsetHelp)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	key := make([]byte, 16)
	rand.Read(key)
	s := &Server{
		t: t, bin: bin, dir: t.TempDir(),
		Options: s3.Options{
			Endpoint: addr, AccessKey: "test" + hex.EncodeToString(key[:4]), SecretKey: hex.EncodeToString(key),
			Bucket: BucketName(t), MaxRetries: 1,
		},
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start starts the server (again) and waits until it is ready.
func (s *Server) Start() {
	s.t.Helper()
	if s.cmd != nil {
		return
	}
	cmd := exec.Command(s.bin, "server", "--quiet", "--address", s.Options.Endpoint,
		"--console-address", "127.0.0.1:0", filepath.Join(s.dir, "data"))
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+s.Options.AccessKey, "MINIO_ROOT_PASSWORD="+s.Options.SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1")
	log, err := os.OpenFile(filepath.Join(s.dir, "minio.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start minio: %v", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(60 * time.Second)
	client := NewClient(s.t, s.Options)
	for {
		// Ready says the drives are up; the S3 API may still answer "not initialized"
		// for a moment after, so wait until a real request succeeds too.
		resp, err := http.Get("http://" + s.Options.Endpoint + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if _, err = client.ListBuckets(context.Background()); err == nil {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(s.dir, "minio.log"))
			s.t.Fatalf("minio on %s not ready after 60 s: %v\n%s", s.Options.Endpoint, err, tail(string(b)))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Pause freezes the server (SIGSTOP): it keeps its connections but answers nothing, so a
// request to it hangs, as to a store that stopped responding, until Resume.
func (s *Server) Pause() {
	s.t.Helper()
	if s.cmd == nil {
		s.t.Fatal("pause: the server is not running")
	}
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		s.t.Fatalf("pause minio: %v", err)
	}
	// kill returns before every thread has stopped: one still running could answer a
	// request sent right after. Wait until the kernel says each thread is stopped.
	deadline := time.Now().Add(10 * time.Second)
	for !stopped(s.cmd.Process.Pid) {
		if time.Now().After(deadline) {
			s.t.Fatalf("pause minio: its threads are not all stopped after 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stopped reports whether every thread of process pid is in the stopped state (T), as
// /proc tells it.
func stopped(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			return false
		}
		// The state follows the command name, which is in parentheses and may hold spaces.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || i+2 >= len(b) || b[i+2] != 'T' {
			return false
		}
	}
	return true
}

// Resume lets a paused server run again (SIGCONT).
func (s *Server) Resume() {
	s.t.Helper()
	if s.cmd == nil {
		return
	}
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		s.t.Fatalf("resume minio: %v", err)
	}
}

// Stop stops the server and waits for it to exit.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGCONT) // a paused server cannot act on SIGTERM
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

// String names the server in messages.
func (s *Server) String() string { return fmt.Sprintf("minio %s", s.Options.Endpoint) }
