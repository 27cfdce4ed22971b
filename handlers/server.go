// Package handlers is the service's HTTP face: routes, request binding,
// authorization decisions and response encoding. It reads and writes through
// the Store interface below and never builds SQL.
package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Store is what the handlers need from storage.
type Store interface {
	auth.Lineages
	auth.AuthTokens
	Account(ctx context.Context, sid string) (models.Account, error)
	Descendants(ctx context.Context, sid string) ([]string, error)
	FirstUsageDay(ctx context.Context, accounts []string) (models.Date, bool, error)
	UsageTotals(ctx context.Context, q models.UsageQuery) (models.Totals, error)
	UsageByPeriod(ctx context.Context, q models.UsageQuery, g models.Granularity) (models.PeriodTotals, error)
	RecordUsageEvents(ctx context.Context, events []models.UsageEvent) (models.IngestResult, error)
	Ping(ctx context.Context) error
}

// Config wires the handlers to their collaborators.
type Config struct {
	Store    Store
	Verifier *auth.Verifier
	Logger   *slog.Logger
	Now      func() time.Time // the clock behind "today"; time.Now when nil
	// RequestTimeout bounds each request's database work.
	RequestTimeout time.Duration
}

// API holds the handlers' shared state.
type API struct {
	store    Store
	verifier *auth.Verifier
	scope    *auth.Scope
	log      *slog.Logger
	now      func() time.Time
	ops      *operations
}

// Limits on request bodies: ingestion batches are large, nothing else is.
const (
	eventsBodyLimit  = "16M"
	defaultBodyLimit = "1M"
)

// New builds the echo server with every route.
func New(cfg Config) *echo.Echo {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	a := &API{
		store:    cfg.Store,
		verifier: cfg.Verifier,
		scope:    auth.NewScope(cfg.Store, models.ErrNotFound),
		log:      cfg.Logger,
		now:      cfg.Now,
	}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = a.handleError
	e.Pre(middleware.RemoveTrailingSlash())
	e.Use(
		middleware.RequestID(),
		a.accessLog,
		middleware.Recover(),
		requestTimeout(cfg.RequestTimeout),
	)

	e.GET("/healthz", a.healthz)
	e.GET("/readyz", a.readyz)

	// The ServiceStack operations: each gets its routes, formats, metadata
	// and TypeScript DTO from the registry (see Operation).
	a.mount(e, []Operation{
		a.listUsageRecordsOp(),
		a.recordUsageEventsOp(),
	})
	// The Restcomm/Twilio Usage Records face, with its own errors and auth.
	a.usageRecordsRoutes(e)
	return e
}

// today is the current UTC calendar day by the injected clock.
func (a *API) today() models.Date { return models.DateOf(a.now()) }

// requestTimeout gives every request a deadline that database calls inherit.
func requestTimeout(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// accessLog writes one structured line per request, tagged with its id.
func (a *API) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // write the error now, so that the status logged is the one sent
		}
		req, res := c.Request(), c.Response()
		a.log.LogAttrs(req.Context(), slog.LevelInfo, "request",
			slog.String("id", res.Header().Get(echo.HeaderXRequestID)),
			slog.String("method", req.Method),
			slog.String("path", req.URL.Path),
			slog.Int("status", res.Status),
			slog.Int64("bytes", res.Size),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", c.RealIP()),
		)
		return nil
	}
}

func (a *API) healthz(c echo.Context) error {
	return writeJSON(c, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *API) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		a.log.Warn("database not reachable", "err", err)
		return writeJSON(c, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
	}
	return writeJSON(c, http.StatusOK, map[string]string{"status": "ready"})
}
