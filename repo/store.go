// Package repo is the service's storage: one Store over PostgreSQL or an
// embedded SQLite file, the versioned migrations for both, and every query.
package repo

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names the database behind a Store.
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// DefaultSQLitePath is where the embedded database lives unless told otherwise.
const DefaultSQLitePath = "data/billing.db"

//go:embed migrations
var migrations embed.FS

// Store is the one type that talks to the database.
type Store struct {
	db      *gorm.DB
	sqlDB   *sql.DB
	dialect Dialect
	// ingested, when set, is told the accounts of each committed ingestion
	// that stored new events.
	ingested func(accounts []string)
	// listenConfig opens the directory's LISTEN connection (Postgres).
	listenConfig *pgx.ConnConfig
	dir          atomic.Pointer[directory] // nil until StartDirectory
	tracer       atomic.Pointer[func(sql string)]
	// stopListening ends the directory's listener.
	stopListening atomic.Pointer[context.CancelFunc]
	// replicas serve the reads of contexts from ReadReplica; nil without.
	replicas *replicaSet
	url      string // for connections of their own (the leader's lock)
}

// OnIngest registers f to be told, after each ingestion commit that stored
// new events, the accounts those events belong to. f must return quickly
// (it runs on the ingestion's path). Set it before the store is used.
func (s *Store) OnIngest(f func(accounts []string)) { s.ingested = f }

// DialectOf tells which database a URL names: postgres:// and postgresql://
// URLs are PostgreSQL, anything else is a path (or file: URI) of a SQLite file.
func DialectOf(url string) Dialect {
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		return Postgres
	}
	return SQLite
}

// connectTimeout bounds each new connection to Postgres unless the URL sets
// connect_timeout: an unreachable server must fail a request, not hang it.
const connectTimeout = 5 * time.Second

// Open prepares a store for the database the URL names. It neither connects
// nor migrates, so that a service can start while its database is down.
func Open(url string) (*Store, error) {
	if url == "" {
		url = DefaultSQLitePath
	}
	cfg := &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		DisableAutomaticPing:   true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
	var (
		db  *gorm.DB
		err error
	)
	s := &Store{}
	d := DialectOf(url)
	switch d {
	case Postgres:
		var pc *pgx.ConnConfig
		if pc, err = pgx.ParseConfig(url); err == nil {
			if pc.ConnectTimeout == 0 {
				pc.ConnectTimeout = connectTimeout
			}
			s.listenConfig = pc.Copy()
			pc.Tracer = statementTracer{s}
			// Prepared statements, cached per connection (pgx's default mode).
			db, err = gorm.Open(postgres.New(postgres.Config{Conn: stdlib.OpenDB(*pc, stdlib.OptionAfterConnect(encodeDatesDirectly))}), cfg)
		}
	default:
		var dsn string
		if dsn, err = sqliteDSN(url); err == nil {
			db, err = gorm.Open(sqlite.Open(dsn), cfg)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", d, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	if d == Postgres {
		// A few connections per database core: more do not run more queries
		// at once, they queue inside Postgres as competing processes (on two
		// cores, 32 connections gave 13% less throughput and twice the p99
		// of 8). Requests beyond the pool wait in Go, which is cheaper.
		sqlDB.SetMaxOpenConns(DefaultPostgresConns)
		sqlDB.SetMaxIdleConns(DefaultPostgresConns)
	} else {
		// One writer at a time is all SQLite allows; WAL lets readers go on.
		sqlDB.SetMaxOpenConns(8)
		sqlDB.SetMaxIdleConns(8)
	}
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	s.db, s.sqlDB, s.dialect, s.url = db, sqlDB, d, url
	if d == SQLite {
		if err := traceGORM(db, s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// TraceStatements calls f with the text of every statement the store sends
// from now on (nil: stop), so that tests can count what a request costs. On
// Postgres it sees every statement pgx sends on the pool's connections; on
// SQLite every statement of GORM, of the direct reads and of the directory.
// The directory's LISTEN connection is not traced.
func (s *Store) TraceStatements(f func(sql string)) {
	if f == nil {
		s.tracer.Store(nil)
		return
	}
	s.tracer.Store(&f)
}

func (s *Store) trace(ctx context.Context, q string) {
	if f := s.tracer.Load(); f != nil && ctx.Value(listenerWork{}) == nil {
		(*f)(q)
	}
}

// listenerWork marks the context of the directory listener's reads, which
// serve no request and are not traced.
type listenerWork struct{}

// statementTracer reports Postgres statements to the store's tracer.
type statementTracer struct{ s *Store }

func (t statementTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	t.s.trace(ctx, data.SQL)
	return ctx
}

func (statementTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// traceGORM reports GORM's SQLite statements to the store's tracer.
func traceGORM(db *gorm.DB, s *Store) error {
	report := func(tx *gorm.DB) { s.trace(tx.Statement.Context, tx.Statement.SQL.String()) }
	cb := db.Callback()
	for _, err := range []error{
		cb.Query().After("gorm:query").Register("billing:trace", report),
		cb.Row().After("gorm:row").Register("billing:trace", report),
		cb.Raw().After("gorm:raw").Register("billing:trace", report),
		cb.Create().After("gorm:create").Register("billing:trace", report),
		cb.Update().After("gorm:update").Register("billing:trace", report),
		cb.Delete().After("gorm:delete").Register("billing:trace", report),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// sqliteDSN turns a path into a DSN with the pragmas the service relies on,
// creating the folder the file lives in.
func sqliteDSN(path string) (string, error) {
	file := strings.TrimPrefix(path, "file:")
	if i := strings.IndexByte(file, '?'); i >= 0 {
		file = file[:i]
	}
	if file != ":memory:" && file != "" {
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			return "", err
		}
		// The ledger is for this service's user only. SQLite would create
		// the file 0644; created here first, it is 0600, and SQLite gives
		// its -wal and -shm files the database file's mode.
		f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return "", err
		}
		f.Close()
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	if !strings.HasPrefix(path, "file:") {
		path = "file:" + path
	}
	// Writers take the lock at BEGIN (no deadlock between two upgrading readers)
	// and wait for each other instead of failing with SQLITE_BUSY.
	return path + sep + "_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate", nil
}

// DefaultPostgresConns is the connection pool's size on Postgres unless
// SetMaxConns says otherwise.
const DefaultPostgresConns = 8

// SetMaxConns caps the connections the store opens (and keeps idle).
func (s *Store) SetMaxConns(n int) {
	s.sqlDB.SetMaxOpenConns(n)
	s.sqlDB.SetMaxIdleConns(n)
}

// Dialect tells which database the store runs on.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close releases the connections.
func (s *Store) Close() error {
	if stop := s.stopListening.Load(); stop != nil {
		(*stop)()
	}
	return s.sqlDB.Close()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.sqlDB.PingContext(ctx) }

// DBStats reports the connection pool's state, for metrics.
func (s *Store) DBStats() sql.DBStats { return s.sqlDB.Stats() }

// Unavailable reports whether an error from the store means the database
// could not be reached or went away (refused or lost connection, server
// shutting down or starting up, no connection slot): a condition to report as
// "try again later", which clears by itself when the database is back.
func (s *Store) Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var (
		pe *pgconn.PgError
		ce *pgconn.ConnectError
		ne net.Error
	)
	switch {
	case errors.As(err, &pe):
		// 08: connection exception; 57P01-03: admin/crash shutdown, cannot
		// connect now; 53300: too many connections.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || pe.Code == "53300"
	case errors.As(err, &ce), errors.As(err, &ne),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	// pgx reports a connection it closed after a failure as "conn closed".
	return strings.Contains(err.Error(), "conn closed")
}

// Migrate applies every pending migration embedded in the binary.
func (s *Store) Migrate(ctx context.Context) error {
	p, err := s.migrator()
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

func (s *Store) migrator() (*goose.Provider, error) {
	dir, dialect := "migrations/sqlite", goose.DialectSQLite3
	var opts []goose.ProviderOption
	if s.dialect == Postgres {
		dir, dialect = "migrations/postgres", goose.DialectPostgres
		// Two processes starting at once must not both apply a migration.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(dialect, s.sqlDB, fsys, opts...)
}

// MigrationsHash identifies the schema, so tests can reuse a migrated template.
func MigrationsHash() string {
	h := sha256.New()
	_ = fs.WalkDir(migrations, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := migrations.ReadFile(path)
			fmt.Fprintf(h, "%s\x00%d\x00", path, len(data))
			h.Write(data)
		}
		return nil
	})
	return fmt.Sprintf("%x", h.Sum(nil))[:16]
}

// anyOf is a condition that column equals one of values, and its
// arguments: on Postgres "= ANY(?)" with one array parameter, so that the
// statement's text, and so its prepared plan, does not depend on the number
// of values; on SQLite "IN (?,…)".
func (s *Store) anyOf(column string, values []string) (string, []any) {
	if s.dialect == Postgres {
		return column + " = ANY(?)", []any{array(values)}
	}
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return column + " IN (" + strings.TrimSuffix(strings.Repeat("?,", len(values)), ",") + ")", args
}

// query runs a read written with ? placeholders straight through
// database/sql, numbering the placeholders for Postgres: the hot read path
// skips GORM's statement building and reflective scanning.
func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if s.dialect != Postgres {
		s.trace(ctx, q) // Postgres statements are counted by the pgx tracer
	}
	return s.sqlDB.QueryContext(ctx, s.rebind(q), args...)
}

// rebind numbers ? placeholders for Postgres ($1, $2, …).
func (s *Store) rebind(q string) string {
	if s.dialect == Postgres {
		var b strings.Builder
		b.Grow(len(q) + 16)
		n := 0
		for i := 0; i < len(q); i++ {
			if q[i] == '?' {
				n++
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(n))
				continue
			}
			b.WriteByte(q[i])
		}
		q = b.String()
	}
	return q
}

// array passes a slice to Postgres as one array parameter (GORM would
// expand a bare slice into a list of parameters).
func array[T any](v []T) pgtype.Array[T] {
	return pgtype.Array[T]{Elements: v, Dims: []pgtype.ArrayDimension{{Length: int32(len(v)), LowerBound: 1}}, Valid: true}
}

// ErrNotFound is returned when a named row does not exist.
var ErrNotFound = models.ErrNotFound
