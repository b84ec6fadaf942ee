// Package pglocal owns the private PostgreSQL cluster behind callscribe's
// embedded default: it finds the system's server binaries, runs initdb once in
// a data directory, starts the server as an unprivileged user listening on a
// unix socket inside that directory, creates the callscribe database, and stops
// the server again when the last callscribe process using it lets go.
//
// It must never make the server listen on TCP, never run it as root, never
// stop a server that no callscribe launcher started, and never stop one that
// another callscribe process is still using.
package pglocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const (
	// database is the database Start creates and URL points at.
	database = "callscribe"
	// superuser is the role initdb creates; clients connect as it over the socket.
	superuser = "postgres"
	// port only names the socket file (.s.PGSQL.5432); nothing listens on TCP.
	port = 5432
	// maxSocketPath is the room in sockaddr_un.sun_path, less the NUL.
	maxSocketPath = 107
)

// binRoot is where Debian's postgresql-N packages install their binaries.
// Tests point it elsewhere.
var binRoot = "/usr/lib/postgresql"

// Options configures Start.
type Options struct {
	// DataDir holds the cluster (in DataDir/pg) and the launcher's lock files.
	// Created with mode 0700 when missing.
	DataDir string
	// Logf, when set, receives one-line notices: initdb, start, reuse, stop,
	// and any permission the launcher had to grant.
	Logf func(format string, args ...any)
}

// Cluster is a running local PostgreSQL server. Close releases it.
type Cluster struct {
	dir    string // Options.DataDir, absolute
	pgdata string // dir/pg: the cluster, owned by the server's user
	bin    string // directory holding initdb, pg_ctl and postgres
	run    *account
	url    string
	logf   func(format string, args ...any)

	mu      sync.Mutex
	useLock *os.File // shared flock held while this Cluster is open
}

// account is the unprivileged user the server runs as when we are root.
type account struct {
	name     string
	uid, gid int
	groups   []int
}

// Start returns a running cluster in opts.DataDir, creating it on first use.
// A server already running on that directory is reused, not restarted.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.DataDir == "" {
		return nil, errors.New("pglocal: Options.DataDir is empty: name the data directory")
	}
	dir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("pglocal: data directory %q: %w", opts.DataDir, err)
	}
	c := &Cluster{dir: dir, pgdata: filepath.Join(dir, "pg"), logf: opts.Logf}
	if c.logf == nil {
		c.logf = func(string, ...any) {}
	}
	if sock := filepath.Join(c.pgdata, fmt.Sprintf(".s.PGSQL.%d", port)); len(sock) > maxSocketPath {
		return nil, fmt.Errorf("pglocal: data directory %s: socket path %s is %d bytes, longer than the %d a unix socket allows; choose a shorter directory", dir, sock, len(sock), maxSocketPath)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pglocal: data directory %s: %w", dir, err)
	}
	if c.run, err = serverAccount(); err != nil {
		return nil, err
	}
	if c.bin, err = findBinDir(c.pgdata); err != nil {
		return nil, err
	}

	// Everything that creates, starts or inspects the server happens under the
	// exclusive lock, so two processes starting at once see one consistent
	// story: one of them runs initdb and starts the server, the other reuses it.
	lock, err := lockFile(ctx, filepath.Join(dir, "lock"), syscall.LOCK_EX)
	if err != nil {
		return nil, fmt.Errorf("pglocal: lock %s: %w", dir, err)
	}
	defer lock.Close()

	if err := c.prepare(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(c.pgdata, "PG_VERSION")); errors.Is(err, fs.ErrNotExist) {
		if err := c.initdb(ctx); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("pglocal: %w", err)
	}

	started := false
	pf, running := c.readPIDFile()
	if running {
		c.logf("pglocal: reusing the PostgreSQL server already running on %s (pid %d)", c.pgdata, pf.pid)
	} else {
		if err := c.start(ctx); err != nil {
			return nil, err
		}
		started = true
		if pf, running = c.readPIDFile(); !running {
			return nil, c.startError(errors.New("server exited right after starting"), nil)
		}
		if err := os.WriteFile(c.markerPath(), []byte(pf.identity()), 0o600); err != nil {
			c.stopQuietly(ctx)
			return nil, fmt.Errorf("pglocal: %w", err)
		}
		c.logf("pglocal: started PostgreSQL server (pid %d) on unix socket in %s", pf.pid, pf.socketDir)
	}
	fail := func(err error) (*Cluster, error) {
		if started {
			c.stopQuietly(ctx)
		}
		return nil, err
	}
	if pf.socketDir == "" {
		return fail(fmt.Errorf("pglocal: the server running on %s (pid %d) has no unix socket", c.pgdata, pf.pid))
	}
	if pf.listen != "" {
		c.logf("pglocal: warning: the reused server on %s also listens on %s", c.pgdata, pf.listen)
	}
	c.url = socketURL(pf.socketDir, pf.port, database)
	if err := c.ensureDatabase(ctx, socketURL(pf.socketDir, pf.port, "postgres")); err != nil {
		return fail(err)
	}
	if c.useLock, err = lockFile(ctx, filepath.Join(dir, "users.lock"), syscall.LOCK_SH); err != nil {
		return fail(fmt.Errorf("pglocal: lock %s: %w", dir, err))
	}
	return c, nil
}

// URL is a pgx (and libpq) connection string for the callscribe database
// over the unix socket.
func (c *Cluster) URL() string { return c.url }

// Close stops the server when a callscribe launcher started it and no other
// process still uses it; otherwise it leaves the server running for them (the
// last of them stops it). Calling Close again does nothing.
func (c *Cluster) Close(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.useLock == nil {
		return nil
	}
	use := c.useLock
	c.useLock = nil
	defer use.Close()

	lock, err := lockFile(ctx, filepath.Join(c.dir, "lock"), syscall.LOCK_EX)
	if err != nil {
		return fmt.Errorf("pglocal: lock %s: %w", c.dir, err)
	}
	defer lock.Close()

	pf, running := c.readPIDFile()
	if !running {
		return nil
	}
	if marker, err := os.ReadFile(c.markerPath()); err != nil || string(marker) != pf.identity() {
		return nil // not started by a launcher: someone else's server to stop
	}
	// Starters take their shared lock before releasing the exclusive one we
	// now hold, so failing to upgrade means another process is using the server.
	if err := syscall.Flock(int(use.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		c.logf("pglocal: left the PostgreSQL server on %s running: another process uses it", c.pgdata)
		return nil
	}
	if out, err := c.command(ctx, "pg_ctl", "stop", "-D", c.pgdata, "-m", "fast", "-w", "-s").CombinedOutput(); err != nil {
		return fmt.Errorf("pglocal: stop server on %s: %w: %s", c.pgdata, err, bytes.TrimSpace(out))
	}
	os.Remove(c.markerPath())
	c.logf("pglocal: stopped the PostgreSQL server on %s", c.pgdata)
	return nil
}

func (c *Cluster) markerPath() string { return filepath.Join(c.dir, "started-by-launcher") }

// prepare creates the cluster directory owned by the server's user and makes
// sure that user can reach it.
func (c *Cluster) prepare() error {
	if err := os.Mkdir(c.pgdata, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("pglocal: %w", err)
	}
	fi, err := os.Stat(c.pgdata)
	if err != nil {
		return fmt.Errorf("pglocal: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("pglocal: %s is not a directory", c.pgdata)
	}
	if c.run == nil {
		return nil
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != c.run.uid {
		// Only an empty directory is ours to hand over; a populated one owned
		// by someone else is reported by the server itself.
		if ents, err := os.ReadDir(c.pgdata); err == nil && len(ents) == 0 {
			if err := os.Chown(c.pgdata, c.run.uid, c.run.gid); err != nil {
				return fmt.Errorf("pglocal: %w", err)
			}
		}
	}
	return c.grantSearch()
}

// grantSearch makes every directory from / down to DataDir traversable by
// the server's user. The default DataDir sits under /root (mode 0700), which
// the postgres user cannot enter. Rather than move the cluster elsewhere, we
// add one ACL entry per blocked directory giving that single user search (x)
// permission: it cannot list or read anything there, and nobody else gains
// anything. Only when the file system has no ACLs do we fall back to chmod
// o+x, which lets every user traverse (not list) the directory. Either way
// the change is logged.
func (c *Cluster) grantSearch() error {
	var dirs []string
	add := func(p string) {
		for ; ; p = filepath.Dir(p) {
			if !slices.Contains(dirs, p) {
				dirs = append(dirs, p)
			}
			if p == filepath.Dir(p) {
				return
			}
		}
	}
	add(c.dir)
	if real, err := filepath.EvalSymlinks(c.dir); err == nil {
		add(real)
	}
	slices.Reverse(dirs)
	var viaACL, viaChmod []string
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("pglocal: %w", err)
		}
		ok, err := canSearch(d, fi, c.run.uid, c.run.groups)
		if err != nil {
			return fmt.Errorf("pglocal: %w", err)
		}
		if ok {
			continue
		}
		err = grantSearchACL(d, fi.Mode(), c.run.uid)
		switch {
		case err == nil:
			viaACL = append(viaACL, d)
		case errors.Is(err, syscall.ENOTSUP), errors.Is(err, syscall.EOPNOTSUPP), errors.Is(err, errors.ErrUnsupported):
			if err := os.Chmod(d, fi.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("pglocal: let user %s traverse %s: %w", c.run.name, d, err)
			}
			viaChmod = append(viaChmod, d)
		default:
			return fmt.Errorf("pglocal: let user %s traverse %s: %w", c.run.name, d, err)
		}
	}
	if len(viaACL) > 0 {
		c.logf("pglocal: gave user %s search (x) permission on %s with an ACL entry (setfacl -m u:%s:x) so the server can reach %s",
			c.run.name, strings.Join(viaACL, ", "), c.run.name, c.pgdata)
	}
	if len(viaChmod) > 0 {
		c.logf("pglocal: no ACL support: made %s traversable by all users (chmod o+x) so the server can reach %s",
			strings.Join(viaChmod, ", "), c.pgdata)
	}
	return nil
}

func (c *Cluster) initdb(ctx context.Context) error {
	// Trust on the local socket is safe because the socket lives in a 0700
	// directory owned by the server's user: only that user and root can reach
	// it. Peer authentication would refuse root connecting as role postgres.
	// There are no TCP connections to authenticate; reject them regardless.
	out, err := c.command(ctx, "initdb", "-D", c.pgdata, "-U", superuser,
		"-E", "UTF8", "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=reject",
		"--no-instructions").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pglocal: initdb %s: %w\n%s", c.pgdata, err, tail(out, 20))
	}
	c.logf("pglocal: initialized a PostgreSQL cluster in %s", c.pgdata)
	return nil
}

func (c *Cluster) logPath() string { return filepath.Join(c.pgdata, "server.log") }

func (c *Cluster) start(ctx context.Context) error {
	// The settings that keep the promise (no TCP, private socket, fixed port
	// for the socket name) go on the command line, where neither
	// postgresql.conf nor ALTER SYSTEM can override them.
	//
	// Client errors (level ERROR) and statement text stay out of the server
	// log: their messages can quote values a query carried, such as a phone
	// number (design invariant 7). LOG and FATAL, which explain start-up
	// failures, are kept.
	opts := strings.Join([]string{
		"-c listen_addresses=''",
		"-k " + shellQuote(c.pgdata),
		"-p " + strconv.Itoa(port),
		"-c unix_socket_permissions=0700",
		"-c log_min_messages=log",
		"-c log_min_error_statement=panic",
	}, " ")
	out, err := c.command(ctx, "pg_ctl", "start", "-D", c.pgdata, "-l", c.logPath(),
		"-w", "-t", "120", "-s", "-o", opts).CombinedOutput()
	if err != nil {
		return c.startError(err, out)
	}
	return nil
}

// startError wraps err with pg_ctl's output and the tail of the server log,
// which is where the server says why it did not start.
func (c *Cluster) startError(err error, out []byte) error {
	var b strings.Builder
	fmt.Fprintf(&b, "pglocal: start server on %s: %v", c.pgdata, err)
	if o := bytes.TrimSpace(out); len(o) > 0 {
		fmt.Fprintf(&b, "\npg_ctl: %s", o)
	}
	if log, rerr := readTail(c.logPath(), 8<<10); rerr == nil {
		fmt.Fprintf(&b, "\nlast lines of %s:\n%s", c.logPath(), tail(log, 15))
	}
	return errors.New(b.String())
}

func (c *Cluster) stopQuietly(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	c.command(ctx, "pg_ctl", "stop", "-D", c.pgdata, "-m", "fast", "-w", "-s").Run()
	os.Remove(c.markerPath())
}

func (c *Cluster) ensureDatabase(ctx context.Context, adminURL string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := connectWhenReady(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("pglocal: connect to server on %s: %w", c.pgdata, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", database).Scan(&exists); err != nil {
		return fmt.Errorf("pglocal: look up database %s: %w", database, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{database}.Sanitize())
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "42P04" {
		err = nil // created meanwhile by a server user outside the launcher's lock
	}
	if err != nil {
		return fmt.Errorf("pglocal: create database %s: %w", database, err)
	}
	c.logf("pglocal: created database %s", database)
	return nil
}

// connectWhenReady retries while a server that was already running (and
// perhaps still starting up) does not yet accept connections.
func connectWhenReady(ctx context.Context, connURL string) (*pgx.Conn, error) {
	for {
		conn, err := pgx.Connect(ctx, connURL)
		if err == nil {
			return conn, nil
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Dir = "/" // the server's user may not be able to enter our working directory
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "PG") // PGDATA, PGPORT, PGHOST… would redirect pg_ctl
	})
	// Own process group: a Ctrl-C aimed at us must not reach the server.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.run != nil {
		groups := make([]uint32, len(c.run.groups))
		for i, g := range c.run.groups {
			groups[i] = uint32(g)
		}
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(c.run.uid), Gid: uint32(c.run.gid), Groups: groups}
	}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// pidFile is what the server writes to postmaster.pid.
type pidFile struct {
	pid       int
	started   string // start time, seconds since the epoch
	port      int
	socketDir string
	listen    string
}

func (p pidFile) identity() string { return fmt.Sprintf("%d %s\n", p.pid, p.started) }

// readPIDFile reports the server running on the cluster, if any. A pid file
// whose process is gone is stale; the server cleans it up on its next start.
func (c *Cluster) readPIDFile() (pidFile, bool) {
	b, err := os.ReadFile(filepath.Join(c.pgdata, "postmaster.pid"))
	if err != nil {
		return pidFile{}, false
	}
	lines := strings.Split(string(b), "\n")
	for len(lines) < 6 {
		lines = append(lines, "")
	}
	var p pidFile
	if p.pid, err = strconv.Atoi(strings.TrimSpace(lines[0])); err != nil || p.pid <= 0 {
		return pidFile{}, false
	}
	p.started = strings.TrimSpace(lines[2])
	p.port, _ = strconv.Atoi(strings.TrimSpace(lines[3]))
	p.socketDir = strings.TrimSpace(lines[4])
	p.listen = strings.TrimSpace(lines[5])
	if p.port == 0 {
		p.port = port
	}
	if !alive(p.pid) {
		return pidFile{}, false
	}
	if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p.pid)); err == nil &&
		!strings.HasPrefix(string(comm), "postgres") && !strings.HasPrefix(string(comm), "postmaster") {
		return pidFile{}, false // the pid now belongs to another program
	}
	return p, true
}

// alive reports whether pid is a running process. A zombie is not: a stopped
// postmaster lingers as one until init reaps it, since pg_ctl detaches it.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	// The state follows the command name, which is in parentheses.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) && b[i+2] == 'Z' {
		return false
	}
	return true
}

func socketURL(socketDir string, port int, db string) string {
	u := url.URL{
		Scheme: "postgres",
		User:   url.User(superuser),
		Path:   "/" + db,
		RawQuery: url.Values{
			"host":    {socketDir},
			"port":    {strconv.Itoa(port)},
			"sslmode": {"disable"},
		}.Encode(),
	}
	return u.String()
}

func serverAccount() (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil // the server runs as the invoking user
	}
	u, err := user.Lookup(superuser)
	if err != nil {
		return nil, fmt.Errorf("pglocal: running as root, which PostgreSQL refuses, and there is no user %q to run the server as (%v): install the Debian package postgresql, which creates it", superuser, err)
	}
	a := &account{name: u.Username}
	if a.uid, err = strconv.Atoi(u.Uid); err != nil {
		return nil, fmt.Errorf("pglocal: user %s: uid %q: %w", u.Username, u.Uid, err)
	}
	if a.gid, err = strconv.Atoi(u.Gid); err != nil {
		return nil, fmt.Errorf("pglocal: user %s: gid %q: %w", u.Username, u.Gid, err)
	}
	ids, _ := u.GroupIds()
	a.groups = []int{a.gid}
	for _, s := range ids {
		if g, err := strconv.Atoi(s); err == nil && !slices.Contains(a.groups, g) {
			a.groups = append(a.groups, g)
		}
	}
	return a, nil
}

// findBinDir picks the PostgreSQL binaries: those of the cluster's own major
// version when it exists, else the newest installed, else those on PATH.
func findBinDir(pgdata string) (string, error) {
	has := func(dir string) bool {
		for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
				return false
			}
		}
		return true
	}
	want := ""
	if b, err := os.ReadFile(filepath.Join(pgdata, "PG_VERSION")); err == nil {
		want = strings.TrimSpace(string(b))
	}
	type cand struct {
		dir     string
		version []int
	}
	var cands []cand
	matches, _ := filepath.Glob(filepath.Join(binRoot, "*", "bin"))
	for _, dir := range matches {
		ver := filepath.Base(filepath.Dir(dir))
		if want != "" && ver != want {
			continue
		}
		v, ok := parseVersion(ver)
		if ok && has(dir) {
			cands = append(cands, cand{dir, v})
		}
	}
	if len(cands) > 0 {
		best := slices.MaxFunc(cands, func(a, b cand) int { return slices.Compare(a.version, b.version) })
		return best.dir, nil
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	if want != "" {
		return "", fmt.Errorf("pglocal: the cluster in %s was made by PostgreSQL %s, whose server binaries are not in %s/%s/bin nor on PATH: install the Debian package postgresql-%s (or upgrade the cluster with pg_upgrade)",
			pgdata, want, binRoot, want, want)
	}
	return "", fmt.Errorf("pglocal: no PostgreSQL server binaries (initdb, pg_ctl, postgres) in %s/*/bin nor on PATH: install the Debian package postgresql, or set CALLSCRIBE_DATABASE_URL to use an existing server", binRoot)
}

func parseVersion(s string) ([]int, bool) {
	var v []int
	for _, f := range strings.Split(s, ".") {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, false
		}
		v = append(v, n)
	}
	return v, true
}

// lockFile opens path and takes a flock on it (syscall.LOCK_EX or LOCK_SH),
// waiting as long as ctx allows. Closing the file releases the lock. The
// descriptor is close-on-exec, so the server never inherits it.
func lockFile(ctx context.Context, path string, how int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, &fs.PathError{Op: "flock", Path: path, Err: err}
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for %s: %w", path, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func readTail(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		f.Seek(fi.Size()-n, io.SeekStart)
	}
	return io.ReadAll(f)
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
