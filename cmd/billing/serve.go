package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers"
)

// signalContext is cancelled by SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func runServe(ctx context.Context, args []string, out io.Writer) error {
	f := newFlags("serve")
	addr := f.str("addr", "BILLING_ADDR", "127.0.0.1:8080", "address to listen on")
	db := f.db()
	demo := f.boolean("demo", "BILLING_DEMO", "seed demo data into an empty database and print ready-to-use tokens")
	if err := parse(f, args); err != nil {
		return err
	}
	log := newLogger(os.Stderr)

	jwtCfg, err := jwtConfig(*db.dataDir, *demo)
	if err != nil {
		return err
	}
	verifier, err := auth.NewVerifier(jwtCfg)
	if err != nil {
		return err
	}
	store, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	baseURL := "http://" + ln.Addr().String()

	if *demo {
		signer, err := auth.NewSigner(jwtCfg, nil)
		if err != nil {
			return err
		}
		if err := seedDemo(ctx, store, signer, baseURL, out); err != nil {
			ln.Close()
			return fmt.Errorf("demo data: %w", err)
		}
	}

	srv := &http.Server{
		Handler:           handlers.New(handlers.Config{Store: store, Verifier: verifier, Logger: log}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	log.Info("listening", "url", baseURL, "database", store.Dialect())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Stop accepting, let in-flight requests finish.
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
