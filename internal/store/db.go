// Package store is uwsportal's only way to the database: one pgx pool shared
// by GORM (the repositories) and by pgx where streaming or batching needs
// it (audit export and verification, the audit group commit, the
// throttle, advisory locks, the session cache), always behind methods
// named for the domain; database/sql is only GORM's connection and goose's.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/uwsportal/uwsportal/internal/clock"
	"github.com/uwsportal/uwsportal/internal/metrics"
)

// DB is the database handle every repository hangs off.
type DB struct {
	Pool *pgxpool.Pool
	// commits holds the group commits' own connections (commitConns):
	// their loops are serial, so one waiting behind a burst of requests
	// for a connection would hold up every caller's durable audit.
	commits *pgxpool.Pool
	gorm    *gorm.DB
	SQL     *sql.DB
	// Now is the clock every timestamp the store writes comes from, given
	// at Open (Options.Now); lease expiry alone uses the database's clock
	// (docs/design.md, "One clock").
	Now func() time.Time
	// AuditSink, when set (Options.AuditSink), counts audit appends and
	// failures.
	AuditSink AuditSink

	batch auditBatcher
	clean textCleaner
	log   *slog.Logger
	txs   atomic.Int64
	// windowsDue is when the earliest audit window can end, as last read
	// (Unix nanoseconds; 0: read it): FlushAuditWindows reads nothing
	// before then.
	windowsDue atomic.Int64
	// textWalk, when set (tests), replaces the constant textWalk, and
	// textHedge the constant textHedge (0: no plan of the planner's).
	textWalk  int
	textHedge time.Duration
	// windowHedge, when set (tests), replaces the constant windowHedge.
	windowHedge *time.Duration
	// hedges holds a token for each backup search running (hedged).
	hedges chan struct{}
	goose  struct {
		once sync.Once
		p    *goose.Provider
		err  error
	}
}

// commitConns is the size of the group commits' own pool: one for the
// audit's loop, one for the callbacks'.
const commitConns = 2

// Options tune Open.
type Options struct {
	// MaxConns bounds the requests' pool (0: 20, or DATABASE_URL's
	// pool_max_conns when it sets one, which also caps a MaxConns above
	// it); the group commits take commitConns more.
	MaxConns int32
	Log      *slog.Logger
	// Now is the clock (default clock.System): the composition root's, or
	// a test's manual clock.
	Now func() time.Time
	// AuditSink counts audit appends and failures (nil: none).
	AuditSink AuditSink
	// RoundTrips, when set, counts the statements and batches sent (tests
	// pin a request's round trips with it).
	RoundTrips *RoundTrips
}

// Open connects to dsn and checks that the server answers. Its error names
// host and database but never the password.
func Open(ctx context.Context, dsn string, o Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL is not a valid Postgres URL (%s)", Describe(dsn))
	}
	cfg.MaxConns = poolSize(dsn, cfg.MaxConns, o.MaxConns)
	cfg.MinConns = 0
	cfg.MaxConnLifetime = time.Hour
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.HealthCheckPeriod = 15 * time.Second
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "uwsportal"
	if o.RoundTrips != nil {
		cfg.ConnConfig.Tracer = tracer{o.RoundTrips}
	}
	// A statement that runs away must not hold a connection forever.
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = "60000"
	cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = "60000"
	// A query whose context ends (a search that lost its race, a person who
	// went away) is cancelled at the server, and its connection kept. pgx's
	// default closed the connection, the pool opened another, and Postgres
	// ran the query on until it had rows to send to nobody.
	var cancelled sync.Map // *pgconn.PgConn whose statement a cancel request stopped
	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return cancelMarker{&pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: time.Second}, &cancelled}
	}
	// Checked as a connection is acquired, not as it is released: a pool
	// with AfterRelease hands every connection back from a goroutine, so
	// the next Acquire often found none idle and opened another.
	cfg.PrepareConn = func(_ context.Context, c *pgx.Conn) (bool, error) {
		if _, was := cancelled.LoadAndDelete(c.PgConn()); was {
			return spendCancel(c), nil
		}
		return true, nil
	}
	cfg.BeforeClose = func(c *pgx.Conn) { cancelled.Delete(c.PgConn()) }
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, connectError(dsn, err)
	}
	ccfg := cfg.Copy()
	ccfg.MaxConns = commitConns
	commits, err := pgxpool.NewWithConfig(ctx, ccfg)
	if err != nil {
		pool.Close()
		return nil, connectError(dsn, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		commits.Close()
		return nil, connectError(dsn, err)
	}
	now := o.Now
	if now == nil {
		now = clock.System
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	gdb, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		PrepareStmt:            false,
		NowFunc:                func() time.Time { return now().UTC() },
	})
	if err != nil {
		pool.Close()
		commits.Close()
		return nil, fmt.Errorf("gorm: %w", err)
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DB{Pool: pool, commits: commits, gorm: gdb, SQL: sqlDB, Now: now, AuditSink: o.AuditSink, log: log,
		hedges: make(chan struct{}, maxHedges)}, nil
}

// Close releases every connection.
func (db *DB) Close() {
	db.closeCleaner()
	db.SQL.Close()
	db.Pool.Close()
	db.commits.Close()
}

// cancelMarker is pgx's cancel-request handler that also notes the
// connection, so that the pool spends the cancel before its next user.
type cancelMarker struct {
	*pgconn.CancelRequestContextWatcherHandler
	cancelled *sync.Map
}

func (h cancelMarker) HandleCancel(ctx context.Context) {
	h.cancelled.Store(h.Conn, struct{}{})
	h.CancelRequestContextWatcherHandler.HandleCancel(ctx)
}

// spendCancel makes sure a cancel request sent for c's last statement
// cannot stop the next one. A cancel request names a backend, not a
// statement: on a loaded machine the backend may take the signal after
// pgx has handed the connection back, in the middle of another request's
// statement (a 500, "canceling statement due to user request", in a load
// test). The signal was sent before the server acknowledged the request,
// and a backend handles a pending signal before it reads its next command,
// so once a SELECT 1 sent now has run, the cancel is spent; a SELECT 1 it
// stops is sent again. A connection that cannot show that is closed.
func spendCancel(c *pgx.Conn) bool {
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := c.Exec(ctx, "SELECT 1")
		cancel()
		var pgErr *pgconn.PgError
		switch {
		case err == nil:
			return true
		case !errors.As(err, &pgErr) || pgErr.Code != "57014": // query_canceled
			return false
		}
	}
	return false
}

// defaultPoolSize is the requests' pool when nothing else sets it.
const defaultPoolSize = 20

// poolSize is the requests' pool: wanted (0: defaultPoolSize), except
// that an operator's pool_max_conns in dsn (as pgxpool parsed it) replaces
// the default and caps what a command wants: several replicas must fit in
// PostgreSQL's max_connections.
func poolSize(dsn string, parsed, wanted int32) int32 {
	if c, err := pgconn.ParseConfig(dsn); err == nil {
		if _, set := c.RuntimeParams["pool_max_conns"]; set {
			if wanted > 0 {
				return min(wanted, parsed)
			}
			return parsed
		}
	}
	if wanted > 0 {
		return wanted
	}
	return defaultPoolSize
}

// Describe names the host and database of dsn, never its password.
func Describe(dsn string) string {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		if u, uerr := url.Parse(dsn); uerr == nil && u.Host != "" {
			return fmt.Sprintf("host %s database %s", u.Host, strings.TrimPrefix(u.Path, "/"))
		}
		return "unparsable URL"
	}
	return fmt.Sprintf("host %s:%d database %s user %s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, cfg.ConnConfig.User)
}

func connectError(dsn string, err error) error {
	msg := err.Error()
	if cfg, perr := pgxpool.ParseConfig(dsn); perr == nil && cfg.ConnConfig.Password != "" {
		msg = strings.ReplaceAll(msg, cfg.ConnConfig.Password, "[redacted]")
	}
	// pgx's message repeats the DSN's parts; keep the cause, on one line.
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		msg = msg[i+2:]
	}
	return &ConnectError{Where: Describe(dsn), Cause: strings.ReplaceAll(msg, "\n", " ")}
}

// ConnectError says that the database could not be reached.
type ConnectError struct{ Where, Cause string }

func (e *ConnectError) Error() string {
	return "cannot connect to the database (" + e.Where + "): " + e.Cause
}

// IsUnavailable reports whether err means the database is unreachable.
func IsUnavailable(err error) bool {
	var ce *ConnectError
	return errors.As(err, &ce)
}

// Ping says whether the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.Pool.Ping(ctx) }

// PoolStats are the connection pools' statistics, for the metrics: the
// requests' pool and the group commits' own.
func (db *DB) PoolStats() []metrics.NamedPool {
	return []metrics.NamedPool{{Name: "requests", Stat: db.Pool.Stat()}, {Name: "commits", Stat: db.commits.Stat()}}
}
