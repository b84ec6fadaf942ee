package pglocal

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"callscribe/internal/eventually"
)

// logBook collects the launcher's notices for assertions.
type logBook struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBook) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logBook) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

func start(t *testing.T, dir string, lb *logBook) *Cluster {
	t.Helper()
	opts := Options{DataDir: dir, Logf: t.Logf}
	if lb != nil {
		opts.Logf = func(f string, a ...any) { t.Logf(f, a...); lb.logf(f, a...) }
	}
	c, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start(%s): %v", dir, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func connect(t *testing.T, c *Cluster) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), c.URL())
	if err != nil {
		t.Fatalf("connect %s: %v", c.URL(), err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func serverPID(t *testing.T, c *Cluster) int {
	t.Helper()
	pf, ok := c.readPIDFile()
	if !ok {
		t.Fatalf("no server running on %s", c.pgdata)
	}
	return pf.pid
}

// wantStopped waits briefly for pid to exit: pg_ctl returns once the pid
// file is gone, a moment before the process is reaped.
func wantStopped(t *testing.T, pid int) {
	t.Helper()
	eventually.True(t, 5*time.Second, fmt.Sprintf("exit of server pid %d", pid), func() bool { return !alive(pid) })
}

func wantRunning(t *testing.T, pid int) {
	t.Helper()
	if !alive(pid) {
		t.Errorf("server pid %d is gone; want still running", pid)
	}
}

func procUID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read status of pid %d: %v", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Uid:" {
			uid, _ := strconv.Atoi(f[1])
			return uid
		}
	}
	t.Fatalf("no Uid line in /proc/%d/status", pid)
	return -1
}

func TestServerRunsUnprivilegedOnUnixSocketOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// As root, the postgres user cannot enter a 0700 directory of root's:
	// like the default ~/.local/share/callscribe under /root.
	root := filepath.Join(t.TempDir(), "private")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	c := start(t, filepath.Join(root, "data"), nil)
	conn := connect(t, c)

	wantUID := os.Geteuid()
	if wantUID == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("lookup user postgres: %v", err)
		}
		wantUID, _ = strconv.Atoi(u.Uid)
	}
	var backend int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		t.Fatalf("pg_backend_pid: %v", err)
	}
	for name, pid := range map[string]int{"postmaster": serverPID(t, c), "backend": backend} {
		if got := procUID(t, pid); got != wantUID || got == 0 {
			t.Errorf("%s pid %d runs as uid %d; want %d (never root)", name, pid, got, wantUID)
		}
	}

	var listen, sockets, db string
	conn.QueryRow(ctx, "SHOW listen_addresses").Scan(&listen)
	conn.QueryRow(ctx, "SHOW unix_socket_directories").Scan(&sockets)
	conn.QueryRow(ctx, "SELECT current_database()").Scan(&db)
	if listen != "" {
		t.Errorf("listen_addresses = %q; want \"\" (no TCP)", listen)
	}
	if sockets != c.pgdata {
		t.Errorf("unix_socket_directories = %q; want %q", sockets, c.pgdata)
	}
	if db != "callscribe" {
		t.Errorf("URL's database = %q; want \"callscribe\"", db)
	}
	if inodes := tcpListeners(t); len(inodes) > 0 {
		for _, fd := range socketInodes(t, serverPID(t, c)) {
			if inodes[fd] {
				t.Errorf("postmaster holds listening TCP socket inode %s; want none", fd)
			}
		}
	}
	fi, err := os.Stat(c.pgdata)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("socket directory %s mode %o; want 700", c.pgdata, got)
	}
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != wantUID {
		t.Errorf("socket directory owner uid %d; want %d", st.Uid, wantUID)
	}

	if c.run != nil {
		// The blocked ancestor got an ACL entry, not a chmod that would open
		// it to every user.
		fi, err := os.Stat(root)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm() & 0o007; got != 0 {
			t.Errorf("%s other permissions %o; want 0 (traverse granted by ACL only)", root, got)
		}
		if ok, err := canSearch(root, fi, c.run.uid, c.run.groups); !ok || err != nil {
			t.Errorf("canSearch(%s) for postgres = %v, %v; want true, nil", root, ok, err)
		}
	}
}

// tcpListeners returns the inodes of listening TCP sockets on the machine.
func tcpListeners(t *testing.T) map[string]bool {
	t.Helper()
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			if f := strings.Fields(line); len(f) > 9 && f[3] == "0A" { // TCP_LISTEN
				inodes[f[9]] = true
			}
		}
	}
	return inodes
}

func socketInodes(t *testing.T, pid int) []string {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("list fds of postmaster: %v", err)
	}
	var inodes []string
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if inode, ok := strings.CutPrefix(target, "socket:["); err == nil && ok {
			inodes = append(inodes, strings.TrimSuffix(inode, "]"))
		}
	}
	return inodes
}

func TestRestartKeepsDataWithoutInitdb(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	var lb logBook
	c := start(t, dir, &lb)
	conn := connect(t, c)
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	conn.Close(ctx)
	pid := serverPID(t, c)
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wantStopped(t, pid)
	if err := c.Close(ctx); err != nil {
		t.Errorf("second Close: %v; want nil", err)
	}

	c2 := start(t, dir, &lb)
	if got := lb.count("initialized"); got != 1 {
		t.Errorf("initdb notices over two starts: got %d, want 1", got)
	}
	if got := lb.count("created database"); got != 1 {
		t.Errorf("create database notices over two starts: got %d, want 1", got)
	}
	var v string
	if err := connect(t, c2).QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != "still here" {
		t.Errorf("row after restart: got %q, %v; want \"still here\", nil", v, err)
	}
}

func TestRunningServerIsReusedAndStoppedByLastUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	var lb logBook

	// The starter closes last: the reuser must leave the server alone.
	a := start(t, dir, &lb)
	pid := serverPID(t, a)
	b := start(t, dir, &lb)
	if got := serverPID(t, b); got != pid {
		t.Errorf("second Start runs server pid %d; want the running %d reused", got, pid)
	}
	if got := lb.count("reusing"); got != 1 {
		t.Errorf("reuse notices: got %d, want 1", got)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatalf("Close reuser: %v", err)
	}
	wantRunning(t, pid)
	connect(t, a) // still serving the starter
	if err := a.Close(ctx); err != nil {
		t.Fatalf("Close starter: %v", err)
	}
	wantStopped(t, pid)

	// The starter closes first: the server stays up for the other user,
	// who stops it when done.
	a = start(t, dir, &lb)
	pid = serverPID(t, a)
	b = start(t, dir, &lb)
	if err := a.Close(ctx); err != nil {
		t.Fatalf("Close starter: %v", err)
	}
	wantRunning(t, pid)
	connect(t, b)
	if err := b.Close(ctx); err != nil {
		t.Fatalf("Close last user: %v", err)
	}
	wantStopped(t, pid)
}

func TestSimultaneousStartsShareOneCluster(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	var lb logBook
	const n = 3
	clusters := make([]*Cluster, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			clusters[i], errs[i] = Start(context.Background(), Options{DataDir: dir, Logf: lb.logf})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Start #%d: %v", i, err)
		}
		t.Cleanup(func() { clusters[i].Close(context.Background()) })
	}
	if got := lb.count("initialized"); got != 1 {
		t.Errorf("initdb runs: got %d, want 1", got)
	}
	if got := lb.count("started PostgreSQL"); got != 1 {
		t.Errorf("server starts: got %d, want 1", got)
	}
	pid := serverPID(t, clusters[0])
	for i, c := range clusters {
		connect(t, c)
		if got := serverPID(t, c); got != pid {
			t.Errorf("cluster #%d server pid %d; want %d", i, got, pid)
		}
	}
	for _, c := range clusters {
		if err := c.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	wantStopped(t, pid)
}

func TestStartFailureShowsServerLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	c := start(t, dir, nil)
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	conf := filepath.Join(c.pgdata, "postgresql.conf")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "bogus_setting = 1")
	f.Close()

	_, err = Start(ctx, Options{DataDir: dir})
	if err == nil {
		t.Fatal("Start with a broken postgresql.conf: got nil error, want the server's complaint")
	}
	if want := `unrecognized configuration parameter "bogus_setting"`; !strings.Contains(err.Error(), want) {
		t.Errorf("Start error:\n%v\nwant it to quote the server log line containing %s", err, want)
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	file := filepath.Join(tmp, "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	long := filepath.Join(tmp, strings.Repeat("d", 100))
	for _, tc := range []struct {
		name, dir string
		want      []string
	}{
		{"empty", "", []string{"DataDir"}},
		{"file", file, []string{file, "not a directory"}},
		{"below a file", filepath.Join(file, "data"), []string{file}},
		{"socket path too long", long, []string{long, "longer than", "shorter"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Start(context.Background(), Options{DataDir: tc.dir})
			if err == nil {
				t.Fatalf("Start(%q): got nil error", tc.dir)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Start(%q) error %q; want it to mention %q", tc.dir, err, w)
				}
			}
		})
	}
}

// Not parallel: it replaces the package's binRoot and PATH, which the other tests'
// clusters read (sequential tests run before the parallel ones start).
func TestNoBinariesNamesPackage(t *testing.T) {
	empty := t.TempDir()
	old := binRoot
	binRoot = empty
	t.Cleanup(func() { binRoot = old })
	t.Setenv("PATH", empty)
	_, err := Start(context.Background(), Options{DataDir: filepath.Join(t.TempDir(), "data")})
	if err == nil || !strings.Contains(err.Error(), "Debian package postgresql") {
		t.Errorf("Start without PostgreSQL binaries: got %v; want an error naming the Debian package postgresql", err)
	}
}

// Not parallel: it replaces the package's binRoot, which the other tests' clusters read.
func TestFindBinDirPicksClusterVersionElseNewest(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"9.6", "15", "16", "17"} {
		bin := filepath.Join(root, v, "bin")
		os.MkdirAll(bin, 0o755)
		for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
			if v == "17" && name == "postgres" {
				continue // an incomplete install (client package only) is ignored
			}
			os.WriteFile(filepath.Join(bin, name), nil, 0o755)
		}
	}
	old := binRoot
	binRoot = root
	t.Cleanup(func() { binRoot = old })

	pgdata := t.TempDir()
	if got, err := findBinDir(pgdata); err != nil || got != filepath.Join(root, "16", "bin") {
		t.Errorf("new cluster: findBinDir = %q, %v; want %s/16/bin", got, err, root)
	}
	os.WriteFile(filepath.Join(pgdata, "PG_VERSION"), []byte("15\n"), 0o600)
	if got, err := findBinDir(pgdata); err != nil || got != filepath.Join(root, "15", "bin") {
		t.Errorf("cluster of version 15: findBinDir = %q, %v; want %s/15/bin", got, err, root)
	}
	t.Setenv("PATH", t.TempDir())
	os.WriteFile(filepath.Join(pgdata, "PG_VERSION"), []byte("14\n"), 0o600)
	if _, err := findBinDir(pgdata); err == nil || !strings.Contains(err.Error(), "postgresql-14") {
		t.Errorf("cluster of version 14, binaries missing: got %v; want an error naming postgresql-14", err)
	}
}

func TestSearchAllowed(t *testing.T) {
	t.Parallel()
	const pg, other = 101, 0
	gids := []int{104}
	user := func(perm uint16) aclEntry { return aclEntry{aclUser, perm, pg} }
	base := func(u, g, o uint16, extra ...aclEntry) []aclEntry {
		return append([]aclEntry{{aclUserObj, u, aclUndefinedID}, {aclGroupObj, g, aclUndefinedID}, {aclOther, o, aclUndefinedID}}, extra...)
	}
	for _, tc := range []struct {
		name         string
		owner, group uint32
		perm         uint16
		acl          []aclEntry
		want         bool
	}{
		{"root 0700", other, 0, 0o700, nil, false},
		{"root 0711", other, 0, 0o711, nil, true},
		{"owner", pg, 0, 0o700, nil, true},
		{"group x", other, 104, 0o710, nil, true},
		{"group without x beats other", other, 104, 0o701, nil, false},
		{"named user", other, 0, 0o700, base(7, 0, 0, user(1), aclEntry{aclMask, 1, aclUndefinedID}), true},
		{"named user masked", other, 0, 0o700, base(7, 0, 0, user(1), aclEntry{aclMask, 0, aclUndefinedID}), false},
		{"named group", other, 0, 0o700, base(7, 0, 0, aclEntry{aclGroup, 1, 104}, aclEntry{aclMask, 1, aclUndefinedID}), true},
	} {
		if got := searchAllowed(tc.owner, tc.group, tc.perm, tc.acl, pg, gids); got != tc.want {
			t.Errorf("%s: searchAllowed = %v; want %v", tc.name, got, tc.want)
		}
	}
}

func TestGrantSearchACL(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "private")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	const uid = 4242
	if err := grantSearchACL(dir, 0o700, uid); err != nil {
		t.Fatalf("grantSearchACL: %v", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := canSearch(dir, fi, uid, nil); !ok || err != nil {
		t.Errorf("after grant, canSearch(uid %d) = %v, %v; want true, nil", uid, ok, err)
	}
	if ok, _ := canSearch(dir, fi, uid+1, nil); ok {
		t.Errorf("after grant, canSearch(uid %d) = true; want false: only the named user may pass", uid+1)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o710); got != want {
		t.Errorf("mode after grant %o; want %o (group bits show the ACL mask)", got, want)
	}
	// Granting twice keeps a single entry.
	if err := grantSearchACL(dir, fi.Mode(), uid); err != nil {
		t.Fatalf("second grantSearchACL: %v", err)
	}
	es, err := readACL(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(es), 5; got != want {
		t.Errorf("ACL entries after two grants: got %d %v, want %d (user_obj, user, group_obj, mask, other)", got, es, want)
	}
}
