// Package devdb finds or starts a PostgreSQL server for the demo and the
// tests when DATABASE_URL is unset: a server on 127.0.0.1:5432 if one
// answers, else a private cluster under .data/ started from the installed
// PostgreSQL binaries (installing Debian's package first when running as root).
package devdb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// PrivatePort is where the private cluster listens, on 127.0.0.1 only.
const PrivatePort = 54329

// Source says where a database URL came from.
type Source string

const (
	FromEnv     Source = "DATABASE_URL"
	FromLocal   Source = "local server on 127.0.0.1:5432"
	FromPrivate Source = "private cluster under .data/"
)

// Options tune Resolve; zero values pick the defaults. Tests override them.
type Options struct {
	Getenv    func(string) string
	Root      string // the repository root; .data/ goes under it
	LocalAddr string // default 127.0.0.1:5432
	// PrivatePort is where a private cluster listens; default PrivatePort.
	PrivatePort int
	Log         func(format string, args ...any)
}

// Resolve returns a URL for a server where the caller may create databases.
func Resolve(ctx context.Context, o Options) (string, Source, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.LocalAddr == "" {
		o.LocalAddr = "127.0.0.1:5432"
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	if o.PrivatePort == 0 {
		o.PrivatePort = PrivatePort
	}
	if u := o.Getenv("DATABASE_URL"); u != "" {
		return u, FromEnv, nil
	}
	user := o.Getenv("PGUSER")
	if user == "" {
		user = "postgres"
	}
	local := fmt.Sprintf("postgres://%s@%s/postgres?sslmode=disable", user, o.LocalAddr)
	if answers(ctx, local) {
		return local, FromLocal, nil
	}
	if o.Root == "" {
		return "", "", errors.New("no DATABASE_URL, nothing answers on " + o.LocalAddr + ", and no root directory for a private cluster")
	}
	u, err := startPrivate(ctx, o)
	if err != nil {
		return "", "", fmt.Errorf("private cluster: %w", err)
	}
	return u, FromPrivate, nil
}

func answers(ctx context.Context, dsn string) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return false
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx) == nil
}

func startPrivate(ctx context.Context, o Options) (string, error) {
	dataRoot := filepath.Join(o.Root, ".data")
	if err := os.MkdirAll(dataRoot, 0o755); err != nil {
		return "", err
	}
	// Several test binaries may race to start the cluster: one at a time.
	lock, err := os.OpenFile(filepath.Join(dataRoot, "pg.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", o.PrivatePort)
	if answers(ctx, dsn) {
		return dsn, nil
	}
	bin, err := binDir(ctx, o)
	if err != nil {
		return "", err
	}
	runAs, err := clusterUser()
	if err != nil {
		return "", err
	}
	pgdata := filepath.Join(dataRoot, "pg")
	sock := filepath.Join(dataRoot, "run")
	for _, d := range []string{pgdata, sock} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return "", err
		}
		if runAs != nil {
			if err := os.Chown(d, int(runAs.Uid), int(runAs.Gid)); err != nil {
				return "", err
			}
		}
	}
	if _, err := os.Stat(filepath.Join(pgdata, "PG_VERSION")); err != nil {
		o.Log("initialising a private PostgreSQL cluster in %s", pgdata)
		if out, err := command(ctx, runAs, filepath.Join(bin, "initdb"), "-D", pgdata, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions").CombinedOutput(); err != nil {
			return "", fmt.Errorf("initdb: %v: %s", err, lastLine(out))
		}
	}
	o.Log("starting the private PostgreSQL cluster on 127.0.0.1:%d", o.PrivatePort)
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300", o.PrivatePort, sock)
	cmd := command(ctx, runAs, filepath.Join(bin, "pg_ctl"), "-D", pgdata, "-l", filepath.Join(sock, "postgres.log"), "-o", opts, "-w", "-t", "60", "start")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("pg_ctl start: %v: %s (see .data/run/postgres.log)", err, lastLine(out))
	}
	if !answers(ctx, dsn) {
		return "", errors.New("started but does not answer; see .data/run/postgres.log")
	}
	return dsn, nil
}

// StopPrivate stops a private cluster under root (used by tests).
func StopPrivate(ctx context.Context, root string) error {
	bin := find()
	if bin == "" {
		return errors.New("no PostgreSQL binaries")
	}
	as, err := clusterUser()
	if err != nil {
		return err
	}
	out, err := command(ctx, as, filepath.Join(bin, "pg_ctl"), "-D", filepath.Join(root, ".data", "pg"), "-m", "fast", "-w", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, lastLine(out))
	}
	return nil
}

// binDir finds the newest installed PostgreSQL server binaries, installing
// Debian's package when none is there and we may.
func binDir(ctx context.Context, o Options) (string, error) {
	if d := find(); d != "" {
		return d, nil
	}
	if os.Geteuid() != 0 {
		return "", errors.New("PostgreSQL server binaries not found: install them (Debian: sudo apt-get install -y postgresql) or set DATABASE_URL")
	}
	o.Log("installing Debian's postgresql package")
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "postgresql"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("apt-get %s: %v: %s", args[0], err, lastLine(out))
		}
	}
	if d := find(); d != "" {
		return d, nil
	}
	return "", errors.New("postgresql installed but no initdb found under /usr/lib/postgresql")
}

func find() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// clusterUser is the account that runs the cluster: Postgres refuses to run
// as root, so root runs it as the postgres user.
func clusterUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("running as root needs a postgres system user (Debian's postgresql package creates it)")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func command(ctx context.Context, as *syscall.Credential, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = "/"
	if as != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: as}
	}
	// pg_ctl keeps the server running after we return; detach it from our
	// process group so a Ctrl-C of the tests does not kill it half-way.
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	return cmd
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// EnsureDatabase creates database name on the server at serverURL when it is
// missing and returns a URL for it.
func EnsureDatabase(ctx context.Context, serverURL, name string) (string, error) {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil && !strings.Contains(err.Error(), "already exists") {
			return "", err
		}
	}
	return WithDatabase(serverURL, name)
}

// WithDatabase returns serverURL pointing at database name.
func WithDatabase(serverURL, name string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("database URL must be postgres://…")
	}
	u.Path = "/" + name
	return u.String(), nil
}

// Reachable is a cheap TCP check used to print a helpful message.
func Reachable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
