package bench

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// PublishConfig is a load of events published to a JetStream stream.
type PublishConfig struct {
	Subject    string  // prefix: each event goes to Subject.<accountSid>
	Publishers int     // concurrent publishers
	Duplicates float64 // share of each window re-sending the publisher's previous window
	Window     int     // messages in flight per publisher (default 256)
}

// PublishReport is what publishing measured.
type PublishReport struct {
	Published        int     `json:"published"`        // messages acknowledged by the stream, re-sent ones included
	Resent           int     `json:"resent"`           // duplicates published on purpose
	StreamDuplicates int     `json:"streamDuplicates"` // dropped by the stream's duplicate window (Nats-Msg-Id)
	Retries          int     `json:"retries"`          // publishes repeated after a failure or timeout
	Seconds          float64 `json:"seconds"`
	PerSec           float64 `json:"messagesPerSecond"`
}

// EventMessage is an event as a platform publishes it: the JSON of one
// RecordUsageEvents event, with the event id as Nats-Msg-Id.
func EventMessage(subject string, e models.UsageEvent) (*nats.Msg, error) {
	data, err := json.Marshal(wire(e))
	if err != nil {
		return nil, err
	}
	m := nats.NewMsg(subject + "." + e.AccountSid)
	m.Data = data
	m.Header.Set(jetstream.MsgIDHeader, e.ID)
	return m, nil
}

// PublishEvents publishes events from concurrent publishers, each sending
// windows of messages asynchronously and re-sending part of its previous
// window, and repeats every publish that fails (a server down, a leader
// moving) until the stream acknowledges it: what a platform's publisher
// does. The stream drops the repeats it has seen by Nats-Msg-Id; the ledger
// drops any that get through.
func PublishEvents(ctx context.Context, js jetstream.JetStream, cfg PublishConfig, events []models.UsageEvent) (PublishReport, error) {
	cfg.Publishers = max(cfg.Publishers, 1)
	if cfg.Window <= 0 {
		cfg.Window = 256
	}
	var rep PublishReport
	var published, resent, dups, retries atomic.Int64
	var firstErr error
	var once sync.Once
	start := time.Now()
	var wg sync.WaitGroup
	for p := range cfg.Publishers {
		wg.Go(func() {
			var prev []models.UsageEvent
			fresh := max(cfg.Window-int(float64(cfg.Window)*cfg.Duplicates), 1)
			for n, s := 0, p*fresh; s < len(events); n, s = n+1, s+cfg.Publishers*fresh {
				win := events[s:min(s+fresh, len(events))]
				send := append([]models.UsageEvent(nil), win...)
				d := min(cfg.Window-fresh, len(prev))
				for i := range d {
					send = append(send, prev[i*len(prev)/d])
				}
				st, err := publishWindow(ctx, js, cfg.Subject, send)
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				published.Add(int64(len(send)))
				resent.Add(int64(d))
				dups.Add(int64(st.dups))
				retries.Add(int64(st.retries))
				prev = win
			}
		})
	}
	wg.Wait()
	rep.Seconds = time.Since(start).Seconds()
	rep.Published, rep.Resent, rep.StreamDuplicates, rep.Retries = int(published.Load()), int(resent.Load()), int(dups.Load()), int(retries.Load())
	rep.PerSec = float64(rep.Published) / rep.Seconds
	return rep, firstErr
}

// PublishConnect connects a publisher that reconnects forever and times out
// each asynchronous publish after 5 s, so that a lost one is sent again.
func PublishConnect(url string) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(url, nats.Name("billing bench publisher"), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(250*time.Millisecond), nats.PingInterval(2*time.Second), nats.MaxPingsOutstanding(3))
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(5*time.Second), jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

type windowStats struct{ dups, retries int }

func publishWindow(ctx context.Context, js jetstream.JetStream, subject string, events []models.UsageEvent) (windowStats, error) {
	var st windowStats
	msgs := make([]*nats.Msg, len(events))
	for i, e := range events {
		m, err := EventMessage(subject, e)
		if err != nil {
			return st, err
		}
		msgs[i] = m
	}
	wait := 100 * time.Millisecond
	for len(msgs) > 0 {
		futures := make([]jetstream.PubAckFuture, 0, len(msgs))
		var failed []*nats.Msg
		for _, m := range msgs {
			f, err := js.PublishMsgAsync(m)
			if err != nil {
				failed = append(failed, m)
				continue
			}
			futures = append(futures, f)
		}
		// The connection times each publish out (PublishConnect); this
		// bounds a window whatever the connection does.
		deadline := time.NewTimer(15 * time.Second)
		expired := false
		for _, f := range futures {
			var late <-chan time.Time = deadline.C
			if expired {
				late = time.After(0) // past the deadline: only what is already answered
			}
			select {
			case ack := <-f.Ok():
				if ack.Duplicate {
					st.dups++
				}
			case <-f.Err():
				failed = append(failed, f.Msg())
			case <-late:
				expired = true
				failed = append(failed, f.Msg())
			case <-ctx.Done():
				deadline.Stop()
				return st, ctx.Err()
			}
		}
		deadline.Stop()
		if len(failed) == 0 {
			return st, nil
		}
		st.retries += len(failed)
		msgs = make([]*nats.Msg, len(failed))
		for i, m := range failed {
			msgs[i] = nats.NewMsg(m.Subject)
			msgs[i].Data, msgs[i].Header = m.Data, m.Header
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
	return st, nil
}
