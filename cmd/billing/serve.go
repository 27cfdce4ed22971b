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
	"strings"
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
	signer, err := checkedSigner(jwtCfg, verifier)
	if err != nil {
		if *demo {
			return err
		}
		log.Warn("dashboard sign-in is off: no key to sign tokens with", "err", err)
	}
	sessionTTL, err := durationSetting("BILLING_SESSION_TTL")
	if err != nil {
		return err
	}
	proxies, err := trustedProxies()
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
		if err := seedDemo(ctx, store, signer, baseURL, out); err != nil {
			ln.Close()
			return fmt.Errorf("demo data: %w", err)
		}
	}

	srv := &http.Server{
		Handler: handlers.New(handlers.Config{
			Store:          store,
			Verifier:       verifier,
			Signer:         signer,
			Logger:         log,
			SessionTTL:     sessionTTL,
			TrustedProxies: proxies,
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	log.Info("listening", "url", baseURL, "dashboard", baseURL+"/", "database", store.Dialect())

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

// checkedSigner builds the signer and proves that the verifier accepts its
// tokens, so that a private key not matching the public key is found at
// start-up, not at the first sign-in.
func checkedSigner(cfg auth.JWTConfig, v *auth.Verifier) (*auth.Signer, error) {
	s, err := newSigner(cfg)
	if err != nil {
		return nil, err
	}
	probe, err := s.Sign("start-up-check", "", nil, nil, time.Minute)
	if err != nil {
		return nil, err
	}
	if _, err := v.Verify(probe); err != nil {
		return nil, fmt.Errorf("tokens signed with BILLING_JWT_PRIVATE_KEY are refused (%v): it does not match the public key", err)
	}
	return s, nil
}

// durationSetting reads an optional duration variable (0 when unset).
func durationSetting(name string) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q is not a positive duration such as 8h", name, v)
	}
	return d, nil
}

// trustedProxies reads BILLING_TRUSTED_PROXIES: CIDRs, or single addresses.
func trustedProxies() ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, s := range splitList(os.Getenv("BILLING_TRUSTED_PROXIES")) {
		if !strings.Contains(s, "/") {
			if ip := net.ParseIP(s); ip != nil && ip.To4() != nil {
				s += "/32"
			} else {
				s += "/128"
			}
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("BILLING_TRUSTED_PROXIES: %q is not a CIDR such as 10.0.0.0/8", s)
		}
		out = append(out, n)
	}
	return out, nil
}
