package main

import (
	"context"
	"errors"
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

// natsEnvironment documents the consumer's variables; serve starts the
// consumer when BILLING_NATS_URL is set.
var natsEnvironment = []envVar{
	{"BILLING_NATS_URL", "NATS servers to consume usage events from (--nats; serve consumes too when set)"},
	{"BILLING_NATS_STREAM", "JetStream stream of usage events (--stream; default " + consume.DefaultStream + ")"},
	{"BILLING_NATS_SUBJECT", "the stream's subjects when it is created (--subject; default " + consume.DefaultSubject + ")"},
	{"BILLING_NATS_DURABLE", "durable consumer shared by every billing process (--durable; default " + consume.DefaultDurable + ")"},
	{"BILLING_NATS_DEAD_LETTER", "subject of events that cannot be stored (--dead-letter; default " + consume.DefaultDeadLetter + ")"},
}

// natsFlags are the consumer's flags, shared by consume and serve.
type natsFlags struct {
	url, stream, subject, durable, deadLetter *string
	batch, replicas                           *int
}

func (f flags) nats() natsFlags {
	return natsFlags{
		url:        f.str("nats", "BILLING_NATS_URL", "", "NATS server URLs, comma-separated"),
		stream:     f.str("stream", "BILLING_NATS_STREAM", consume.DefaultStream, "JetStream stream of usage events (created if missing)"),
		subject:    f.str("subject", "BILLING_NATS_SUBJECT", consume.DefaultSubject, "subjects of the stream when it is created"),
		durable:    f.str("durable", "BILLING_NATS_DURABLE", consume.DefaultDurable, "durable consumer name, shared by every billing process"),
		deadLetter: f.str("dead-letter", "BILLING_NATS_DEAD_LETTER", consume.DefaultDeadLetter, "subject for events that cannot be stored (kept in stream "+consume.DeadLetterStream+")"),
		batch:      f.Int("batch", consume.DefaultBatch, "most messages per transaction"),
		replicas:   f.Int("replicas", 1, "replicas of the streams when they are created"),
	}
}

func (n natsFlags) config(log *slog.Logger, m *consume.Metrics) consume.Config {
	return consume.Config{URL: *n.url, Stream: *n.stream, Subject: *n.subject, Durable: *n.durable, DeadLetter: *n.deadLetter,
		Batch: *n.batch, Replicas: *n.replicas, Logger: log, Metrics: m}
}

func runConsume(ctx context.Context, args []string, out io.Writer) error {
	f := newFlags("consume")
	db := f.db()
	n := f.nats()
	status := f.Bool("status", false, "print the durable consumer's state and the dead letters' count, then exit")
	metricsAddr := f.String("metrics", "", "serve /metrics on this address, e.g. 127.0.0.1:9090")
	if err := parse(f, args); err != nil {
		return err
	}
	if *n.url == "" {
		return errors.New("consume: --nats is required (or BILLING_NATS_URL)")
	}
	log := newLogger(os.Stderr)
	if *status {
		return printConsumeStatus(ctx, n.config(log, nil), out)
	}
	store, err := db.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	if err := migrateUntilDone(ctx, store, log); err != nil {
		return err
	}
	m := consume.NewMetrics()
	if *metricsAddr != "" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(m.Collectors()...)
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		ln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
	}
	log.Info("consuming", "nats", *n.url, "stream", *n.stream, "durable", *n.durable, "database", store.Dialect())
	return consume.Run(ctx, n.config(log, m), store)
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
