package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/evovoice/billing/cmd/billing/internal/consume"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// consumeConfig is the consumer's settings, shared by consume and serve.
func (c *Config) consumeConfig(log *slog.Logger, m *consume.Metrics) consume.Config {
	return consume.Config{URL: c.NATSURL, Stream: c.NATSStream, Subject: c.NATSSubject, Durable: c.NATSDurable, DeadLetter: c.NATSDeadLetter,
		Batch: c.NATSBatch, Replicas: c.NATSReplicas, Logger: log, Metrics: m}
}

func runConsume(ctx context.Context, args []string, out io.Writer) error {
	f := newFlags("consume")
	if err := parse(f, args); err != nil {
		return err
	}
	cfg := f.Config
	log := cfg.newLogger(os.Stderr)
	if cfg.ConsumeStatus {
		return printConsumeStatus(ctx, cfg.consumeConfig(log, nil), out)
	}
	store, err := cfg.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	if err := migrateUntilDone(ctx, store, log); err != nil {
		return err
	}
	m := consume.NewMetrics()
	if cfg.MetricsAddr != "" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(m.Collectors()...)
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		ln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
	}
	log.Info("consuming", "nats", cfg.NATSURL, "stream", cfg.NATSStream, "durable", cfg.NATSDurable, "database", store.Dialect())
	return consume.Run(ctx, cfg.consumeConfig(log, m), store)
}

func printConsumeStatus(ctx context.Context, cfg consume.Config, out io.Writer) error {
	nc, err := consume.Connect(cfg.URL, "billing consume --status", nil)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := consume.ReadStatus(ctx, js, cfg)
	if err != nil {
		return fmt.Errorf("consume --status: %w", err)
	}
	st.Print(out)
	return nil
}
