package repotest

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// PrivatePostgres is a PostgreSQL server of a test's own, in a temporary
// folder on a free loopback port, that the test may stop and start at will:
// fault tests must never touch the shared server others' tests use.
type PrivatePostgres struct {
	t      testing.TB
	bin    string // folder of initdb and pg_ctl
	dir    string // data folder (also holds the socket and the log)
	port   int
	asUser string // run the server as this user (root may not run it)
}

// NewPrivatePostgres creates (initdb) a stopped server. It needs the
// PostgreSQL server binaries; like every Postgres test it is skipped only when
// the Postgres suite is off, and fails when the suite is on but they are
// missing.
func NewPrivatePostgres(t testing.TB) *PrivatePostgres {
	t.Helper()
	PostgresURL(t) // skip when the suite is off
	bin, err := postgresBin()
	if err != nil {
		t.Fatalf("private postgres: %v", err)
	}
	p := &PrivatePostgres{t: t, bin: bin}
	if os.Geteuid() == 0 {
		// initdb refuses to run as root.
		p.asUser = "postgres"
	}
	p.makeDir()
	if out, err := p.command(filepath.Join(bin, "initdb"), "-D", filepath.Join(p.dir, "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.port = freePort(t)
	return p
}

// makeDir creates the server's folder, owned by the server's user, removed
// (after an immediate stop) when the test ends.
func (p *PrivatePostgres) makeDir() {
	t := p.t
	t.Helper()
	dir, err := os.MkdirTemp("", "billing-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p.dir = dir
	t.Cleanup(func() {
		p.pgCtl("stop", "-m", "immediate") // nothing to keep
		os.RemoveAll(dir)
	})
	if p.asUser != "" {
		u, err := user.Lookup(p.asUser)
		if err != nil {
			t.Fatalf("private postgres: running as root needs a %q user: %v", p.asUser, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
}

// NewReplica makes a stopped streaming replica of the running server
// (pg_basebackup -R -X stream -c fast: the standby signal and primary_conninfo are
// written for it), on a port of its own.
func (p *PrivatePostgres) NewReplica() *PrivatePostgres {
	p.t.Helper()
	r := &PrivatePostgres{t: p.t, bin: p.bin, asUser: p.asUser}
	r.makeDir()
	if out, err := r.command(filepath.Join(r.bin, "pg_basebackup"), "-D", filepath.Join(r.dir, "data"),
		"-h", "127.0.0.1", "-p", strconv.Itoa(p.port), "-U", "postgres", "-R", "-X", "stream", "-c", "fast", "--no-sync").CombinedOutput(); err != nil {
		p.t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	r.port = freePort(p.t)
	return r
}

// Exec runs statements on the server's postgres database, for settings such
// as ALTER SYSTEM (followed by SELECT pg_reload_conf()).
func (p *PrivatePostgres) Exec(stmts ...string) {
	p.t.Helper()
	db, err := sql.Open("pgx", p.URL())
	if err != nil {
		p.t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			p.t.Fatalf("%s: %v", q, err)
		}
	}
}

// DatabaseURL is a connection URL for another database of the server.
func (p *PrivatePostgres) DatabaseURL(name string) string {
	return strings.Replace(p.URL(), "/postgres?", "/"+name+"?", 1)
}

// URL is a connection URL for the server's postgres database.
func (p *PrivatePostgres) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// Start starts the server and waits until it accepts connections.
func (p *PrivatePostgres) Start() {
	p.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60 -c shared_buffers=32MB", p.port, p.dir)
	if out, err := p.pgCtl("start", "-w", "-t", "60", "-o", opts, "-l", filepath.Join(p.dir, "log")); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "log"))
		p.t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the server: mode "fast" (sessions are told and closed) or
// "immediate" (a crash: no shutdown work, recovery at the next start).
func (p *PrivatePostgres) Stop(mode string) {
	p.t.Helper()
	if out, err := p.pgCtl("stop", "-w", "-m", mode); err != nil {
		p.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

func (p *PrivatePostgres) pgCtl(args ...string) ([]byte, error) {
	args = append([]string{"-D", filepath.Join(p.dir, "data")}, args...)
	return p.command(filepath.Join(p.bin, "pg_ctl"), args...).CombinedOutput()
}

// command runs a server tool as the server's user.
func (p *PrivatePostgres) command(name string, args ...string) *exec.Cmd {
	if p.asUser != "" {
		args, name = append([]string{"-u", p.asUser, "--", name}, args...), "runuser"
	}
	cmd := exec.Command(name, args...)
	return cmd
}

// postgresBin finds the newest installed server binaries (Debian keeps them
// out of PATH), or initdb on the PATH.
func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if path, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(path), nil
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin or on the PATH; install the postgresql package")
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// String describes the server for test logs.
func (p *PrivatePostgres) String() string {
	return strings.TrimSuffix(p.URL(), "?sslmode=disable")
}
