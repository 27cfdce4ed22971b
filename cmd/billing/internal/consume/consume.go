// Package consume takes usage events from a NATS JetStream stream into the
// ledger, exactly once: a durable pull consumer fetches a batch, stores its
// good events in one transaction, sends its bad ones to a dead-letter stream,
// and acknowledges each message only once it is committed or dead-lettered.
// A crash between commit and acknowledgement redelivers events the ledger
// already holds, which it counts as duplicates and ignores.
package consume

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Store is what the consumer needs of the ledger.
type Store interface {
	RecordUsageEventsIsolated(ctx context.Context, events []models.UsageEvent) (models.IngestResult, []repo.Rejection, error)
}

// ErrorHeader carries a dead letter's reason.
const ErrorHeader = "Billing-Error"

// Defaults of Config.
const (
	DefaultStream     = "USAGE"
	DefaultSubject    = "usage.events.>"
	DefaultDurable    = "billing"
	DefaultBatch      = 1000
	DefaultDeadLetter = "usage.deadletter"
	// DeadLetterStream keeps dead letters when nobody listens.
	DeadLetterStream = "USAGE_DEADLETTER"
)

// Config says where the events come from.
type Config struct {
	URL        string
	Stream     string
	Subject    string // the stream's subjects, when the consumer creates it
	Durable    string // the consumer's name, shared by every process
	Batch      int    // most messages per transaction
	Replicas   int    // of streams the consumer creates
	DeadLetter string // subject of dead letters
	// AckWait is how long a fetched message stays with this process before
	// the server hands it to another: longer than a batch's transaction.
	AckWait time.Duration
	Logger  *slog.Logger
	Metrics *Metrics // nil: not counted
}

func (c Config) withDefaults() Config {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.Subject == "" {
		c.Subject = DefaultSubject
	}
	if c.Durable == "" {
		c.Durable = DefaultDurable
	}
	if c.Batch <= 0 {
		c.Batch = DefaultBatch
	}
	c.Batch = min(c.Batch, models.MaxBatchEvents)
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.DeadLetter == "" {
		c.DeadLetter = DefaultDeadLetter
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics()
	}
	return c
}

// Connect opens a connection that reconnects forever: while the servers are
// down, publishing and fetching fail and the consumer retries.
func Connect(url, name string, log *slog.Logger) (*nats.Conn, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return nats.Connect(url,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.Timeout(2*time.Second),
		// A dead server is noticed within about 6 s.
		nats.PingInterval(2*time.Second),
		nats.MaxPingsOutstanding(3),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("nats reconnected", "server", nc.ConnectedUrlRedacted()) }),
	)
}

// Run consumes until ctx ends, retrying with backoff whatever fails: the
// servers, the streams, the database.
func Run(ctx context.Context, cfg Config, store Store) error {
	cfg = cfg.withDefaults()
	nc, err := Connect(cfg.URL, "billing consume", cfg.Logger)
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	c := &consumer{cfg: cfg, js: js, store: store, log: cfg.Logger, m: cfg.Metrics}
	var b backoff
	for ctx.Err() == nil {
		cons, err := c.setUp(ctx)
		if err != nil {
			c.log.Warn("nats stream not ready; retrying", "err", err)
			b.wait(ctx)
			continue
		}
		b.reset()
		err = c.loop(ctx, cons)
		if ctx.Err() == nil {
			c.log.Warn("consumer restarting", "err", err)
			b.wait(ctx)
		}
	}
	return nil
}

type consumer struct {
	cfg   Config
	js    jetstream.JetStream
	store Store
	log   *slog.Logger
	m     *Metrics
}

// setUp creates the streams if missing (an existing stream is left as its
// operator configured it) and the durable consumer.
func (c *consumer) setUp(ctx context.Context) (jetstream.Consumer, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return SetUp(ctx, c.js, c.cfg)
}

// SetUp creates the event and dead-letter streams if missing, and the
// durable consumer.
func SetUp(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.Consumer, error) {
	cfg = cfg.withDefaults()
	for _, s := range []jetstream.StreamConfig{
		{Name: cfg.Stream, Subjects: []string{cfg.Subject}, Storage: jetstream.FileStorage, Replicas: cfg.Replicas, Duplicates: 2 * time.Minute},
		{Name: DeadLetterStream, Subjects: []string{cfg.DeadLetter}, Storage: jetstream.FileStorage, Replicas: cfg.Replicas, Duplicates: 2 * time.Minute},
	} {
		if err := ensureStream(ctx, js, s); err != nil {
			return nil, fmt.Errorf("stream %s: %w", s.Name, err)
		}
	}
	return js.CreateOrUpdateConsumer(ctx, cfg.Stream, jetstream.ConsumerConfig{
		Durable:   cfg.Durable,
		AckPolicy: jetstream.AckExplicitPolicy,
		AckWait:   cfg.AckWait,
		// Messages are never given up on: a database outage only delays them.
		MaxDeliver:    -1,
		MaxAckPending: 16 * cfg.Batch, // several processes with a batch each in flight
	})
}

func ensureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) error {
	_, err := js.Stream(ctx, cfg.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil // another process was first
		}
	}
	return err
}

// loop fetches and handles batches until ctx ends or fetching fails. A
// batch starts with a long poll for one message, so that an idle consumer
// costs one request per poll and an event is stored as soon as it arrives,
// then takes at once whatever else is waiting.
func (c *consumer) loop(ctx context.Context, cons jetstream.Consumer) error {
	var b backoff
	for ctx.Err() == nil {
		msgs, err := c.fetch(cons)
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			continue
		}
		if err := c.handle(ctx, msgs); err != nil {
			if ctx.Err() != nil {
				return nil // unacknowledged: redelivered to whoever runs next
			}
			c.m.StoreFailures.Inc()
			delay := b.next()
			c.log.Warn("batch not stored; the messages come back later", "messages", len(msgs), "retry_in", delay, "err", err)
			for _, m := range msgs {
				m.NakWithDelay(delay)
			}
			b.sleep(ctx, delay)
			continue
		}
		b.reset()
	}
	return nil
}

func (c *consumer) fetch(cons jetstream.Consumer) ([]jetstream.Msg, error) {
	first, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		return nil, err
	}
	msgs := drain(first)
	if err := first.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
		return nil, err
	}
	if len(msgs) == 0 || c.cfg.Batch == 1 {
		return msgs, nil
	}
	rest, err := cons.FetchNoWait(c.cfg.Batch - 1)
	if err != nil {
		return msgs, nil // handle the one we hold; the next fetch reports it
	}
	return append(msgs, drain(rest)...), nil
}

func drain(b jetstream.MessageBatch) []jetstream.Msg {
	var out []jetstream.Msg
	for m := range b.Messages() {
		out = append(out, m)
	}
	return out
}

// handle stores one batch and acknowledges its messages. An error means
// nothing of the batch is acknowledged (what was stored or dead-lettered
// comes back as harmless duplicates).
func (c *consumer) handle(ctx context.Context, msgs []jetstream.Msg) error {
	var (
		events []models.UsageEvent
		from   []int // message of each event
		dead   = map[int]string{}
	)
	for i, m := range msgs {
		ev, err := decodeEvent(m.Data())
		if err != nil {
			dead[i] = err.Error()
			continue
		}
		events = append(events, ev)
		from = append(from, i)
	}
	var res models.IngestResult
	if len(events) > 0 {
		var rejected []repo.Rejection
		var err error
		if res, rejected, err = c.store.RecordUsageEventsIsolated(ctx, events); err != nil {
			return err
		}
		for _, r := range rejected {
			dead[from[r.Index]] = r.Reason
		}
	}
	stored := time.Now()
	// Dead letters first: once each is in its stream, its original may go.
	for i, reason := range dead {
		if err := c.deadLetter(ctx, msgs[i], reason); err != nil {
			return fmt.Errorf("dead letter: %w", err)
		}
	}
	var pending uint64
	for _, m := range msgs {
		m.Ack()
		if md, err := m.Metadata(); err == nil {
			pending = md.NumPending
			c.m.Latency.Observe(stored.Sub(md.Timestamp).Seconds())
		}
	}
	c.m.Batches.Inc()
	c.m.Stored.Add(float64(res.Accepted))
	c.m.Duplicates.Add(float64(len(res.Duplicates)))
	c.m.DeadLetters.Add(float64(len(dead)))
	c.m.Pending.Set(float64(pending))
	return nil
}

// deadLetter publishes a message, with its headers, to the dead-letter
// subject and waits until the stream has it.
func (c *consumer) deadLetter(ctx context.Context, m jetstream.Msg, reason string) error {
	h := nats.Header{}
	for k, v := range m.Headers() {
		if !strings.HasPrefix(k, "Nats-Expected-") { // meant for the original stream
			h[k] = v
		}
	}
	h.Set(ErrorHeader, reason)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := c.js.PublishMsg(ctx, &nats.Msg{Subject: c.cfg.DeadLetter, Data: m.Data(), Header: h})
	return err
}

// decodeEvent reads one message as one event of RecordUsageEvents, by the
// API's own rules (invalid UTF-8, lone surrogates, NUL, repeated or unknown
// properties are refused from the bytes); the error lists every problem.
func decodeEvent(data []byte) (models.UsageEvent, error) {
	return models.DecodeEventJSON(data)
}

// backoff waits 250 ms, doubling to 5 s.
type backoff struct{ d time.Duration }

func (b *backoff) next() time.Duration {
	b.d = min(max(2*b.d, 250*time.Millisecond), 5*time.Second)
	return b.d
}

func (b *backoff) reset() { b.d = 0 }

func (b *backoff) wait(ctx context.Context) { b.sleep(ctx, b.next()) }

func (b *backoff) sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
