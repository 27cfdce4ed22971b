// Package servicestack is the ServiceStack face: a small ServiceStack
// framework (the operation registry, content negotiation, the JSON, JSV,
// XML and CSV writers, /metadata and /types/typescript), the dashboard's
// sign-in, and the operations themselves.
//
// Where things go: a new operation is a file declaring its DTOs and one
// Operation (see operations.go), listed in Mount; framework code is in
// operations.go, negotiate.go, input.go, render.go and the writers.
package servicestack

import (
	"context"
	"log/slog"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers/internal/usage"
	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Store is what the face reads and writes itself; usage questions go
// through usage.Service.
type Store interface {
	// Sign-in failures are counted in the database, so that every instance
	// behind a load balancer sees them.
	auth.ThrottleStore
	RecordUsageEvents(ctx context.Context, events []models.UsageEvent) (models.IngestResult, error)
	ListAccounts(ctx context.Context, f models.AccountFilter) (models.AccountPage, error)
	// ListAccountUsage is the accounts overview: models.ErrOutOfScope when
	// the parent named is not readable, models.ErrNotFound when it does not
	// exist and the caller reads every account.
	ListAccountUsage(ctx context.Context, r models.Readable, q models.AccountUsageQuery) (models.AccountUsagePage, error)
	UserByName(ctx context.Context, name string) (models.User, error)
	// ReadReplica lets the reads made with the returned context (the
	// account list, the accounts overview) go to a healthy read replica.
	ReadReplica(ctx context.Context) (context.Context, time.Time)
	// Unavailable tells whether an error means the database is unreachable.
	Unavailable(err error) bool
}

// Config wires the face to its collaborators.
type Config struct {
	Store    Store
	Usage    *usage.Service
	Verifier *auth.Verifier
	// Signer issues sign-in tokens; without one, sign-in answers 503.
	Signer *auth.Signer
	Logger *slog.Logger
	// SessionTTL is how long a sign-in lasts.
	SessionTTL time.Duration
	// SignInLimits per user name and per client address, and the clock
	// behind their lockouts.
	NameLimit, AddrLimit auth.ThrottleLimit
	Now                  func() time.Time
	// Ingested counts what each accepted batch stored and what it repeated.
	Ingested func(accepted, duplicates int)
}

// Face serves the ServiceStack routes.
type Face struct {
	store      Store
	usage      *usage.Service
	verifier   *auth.Verifier
	signer     *auth.Signer
	passwords  *auth.Passwords
	throttle   *auth.SignInThrottle
	sessionTTL time.Duration
	log        *slog.Logger
	ingested   func(accepted, duplicates int)
	ops        *operations
}

// New builds the face.
func New(cfg Config) *Face {
	return &Face{
		store:      cfg.Store,
		usage:      cfg.Usage,
		verifier:   cfg.Verifier,
		signer:     cfg.Signer,
		passwords:  auth.NewPasswords(),
		throttle:   auth.NewSignInThrottle(cfg.Store, cfg.NameLimit, cfg.AddrLimit, cfg.Now),
		sessionTTL: cfg.SessionTTL,
		log:        cfg.Logger,
		ingested:   cfg.Ingested,
	}
}

// Limits on request bodies: ingestion batches are large, nothing else is.
const (
	eventsBodyLimit  = "16M"
	defaultBodyLimit = "1M"
	signInBodyLimit  = "16K"
)

// Mount adds the face's routes to e. needsDB (the server's readiness
// check) guards the routes that read or write the database; the metadata
// pages and the session routes answer without it.
func (f *Face) Mount(e *echo.Echo, needsDB echo.MiddlewareFunc) {
	// The dashboard's sign-in.
	e.POST("/auth/credentials", f.signIn, needsDB, middleware.BodyLimit(signInBodyLimit))
	e.POST("/auth/logout", f.signOut, middleware.BodyLimit(signInBodyLimit))
	e.GET("/auth", f.session)

	// The operations: each gets its routes, formats, metadata and
	// TypeScript DTO from the registry (see Operation).
	f.mount(e, needsDB, []Operation{
		f.listAccountsOp(),
		f.listUsageRecordsOp(),
		f.listAccountUsageOp(),
		f.recordUsageEventsOp(),
	})
}
