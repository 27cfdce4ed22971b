package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evovoice/billing/cmd/billing/internal/bench"
	"github.com/evovoice/billing/cmd/billing/internal/consume"
	"github.com/evovoice/billing/cmd/billing/internal/natstest"
	"github.com/evovoice/billing/cmd/billing/internal/synth"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// consumerProcess is a `billing consume` subprocess.
type consumerProcess struct {
	cmd *exec.Cmd
	log *bytes.Buffer
}

func startConsumerProcess(t *testing.T, bin string, args ...string) *consumerProcess {
	t.Helper()
	p := &consumerProcess{cmd: exec.Command(bin, append([]string{"consume"}, args...)...), log: &bytes.Buffer{}}
	p.cmd.Env = append(os.Environ(), "BILLING_LOG_LEVEL=warn")
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.kill)
	return p
}

// peakRSS is the process's resident memory high-water mark, in bytes.
func (p *consumerProcess) peakRSS() int64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func (p *consumerProcess) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	}
}

// buildBilling compiles the command for tests that run it as a process.
func buildBilling(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "billing")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestNATSClusterExactlyOnce publishes events with duplicates from several
// publishers into a stream of 3 replicas on a three-node cluster, kills one
// node and then the consumer process (kill -9) and restarts each: the ledger
// holds every event exactly once, every rollup equals a recount, and poison
// messages are in the dead-letter stream with their reason.
func TestNATSClusterExactlyOnce(t *testing.T) {
	servers := natstest.StartCluster(t, 3)
	urls := natstest.URLs(servers)
	dbURL := repotest.NewDatabase(t, "postgres")
	store, err := repo.Open(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	d := synth.Dataset{Seed: 21, Accounts: 100, Days: 3, End: models.DateOf(time.Now())}
	if _, err := bench.Seed(ctx, store, d); err != nil {
		t.Fatal(err)
	}
	total := 200_000
	if testing.Short() {
		total = 50_000
	}
	events := bench.IngestEvents(bench.IngestConfig{Accounts: d.AccountList(), Events: total, RunID: "cluster", Today: d.End, Days: 2, Seed: 5})
	var want models.Sums
	for _, e := range events {
		want.Add(models.Sums{Count: e.Count, Usage: e.Usage, Price: e.Price})
	}
	bin := buildBilling(t)
	args := []string{"--nats", urls, "--db", dbURL, "--replicas", "3", "--batch", "1000"}
	consumer := startConsumerProcess(t, bin, args...)

	nc, js, err := bench.PublishConnect(urls)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	waitFor(t, 30*time.Second, "the consumer to create the stream", func() bool {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		s, err := js.Stream(sctx, consume.DefaultStream)
		return err == nil && s.CachedInfo().Config.Replicas == 3
	})
	// stored scans the ledger: poll it twice a second, not twenty times.
	stored := func() int {
		time.Sleep(450 * time.Millisecond)
		n, _, err := store.LedgerTotals(ctx, "cluster-")
		if err != nil {
			return -1
		}
		return int(n)
	}
	start := time.Now()
	published := make(chan error, 1)
	var pub bench.PublishReport
	go func() {
		var err error
		pub, err = bench.PublishEvents(ctx, js, bench.PublishConfig{Subject: "usage.events", Publishers: 4, Duplicates: 0.05}, events)
		published <- err
	}()

	waitFor(t, 60*time.Second, "a fifth of the events", func() bool { return stored() >= total/5 })
	servers[1].Kill()
	time.Sleep(2 * time.Second)
	servers[1].Start()
	waitFor(t, 60*time.Second, "half of the events", func() bool { return stored() >= total/2 })
	rss := consumer.peakRSS()
	consumer.kill()
	time.Sleep(time.Second)
	consumer = startConsumerProcess(t, bin, args...)
	if err := <-published; err != nil {
		t.Fatalf("publishing: %v", err)
	}

	// Poison: a bad category, an id stored with other content, not JSON.
	conflict := events[3]
	conflict.Count++
	poison := map[string]string{}
	for _, p := range []struct{ id, data, reason string }{
		{"badcat", strings.Replace(string(message(t, events[4]).Data), events[4].Category, "calls-teleport", 1), "is not a usage category"},
		{"conflict", string(message(t, conflict).Data), "was already recorded"},
		{"notjson", "\x00\x01 not json", "not a valid usage event"},
	} {
		m := nats.NewMsg("usage.events.poison")
		m.Data = []byte(p.data)
		m.Header.Set("Billing-Test", p.id)
		// The stream may still be electing a leader after the node's
		// restart ("no response from stream"): send again until it answers;
		// the message id makes a resend that was stored after all one message.
		m.Header.Set(jetstream.MsgIDHeader, "poison-"+p.id)
		deadline := time.Now().Add(30 * time.Second)
		for {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err := js.PublishMsg(pctx, m)
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("publishing poison %s: %v", p.id, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		poison[p.id] = p.reason
	}
	waitFor(t, 90*time.Second, "every event and the dead letters", func() bool {
		if stored() != total {
			return false
		}
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		st, err := consume.ReadStatus(sctx, js, consume.Config{})
		return err == nil && st.DeadLetters == uint64(len(poison)) && st.Pending == 0 && st.AckPending == 0
	})
	took := time.Since(start)
	rss = max(rss, consumer.peakRSS())
	check, err := bench.Verify(ctx, store, "cluster-", total, want)
	if err != nil {
		t.Fatal(err)
	}
	if !check.OK() {
		t.Fatalf("ledger after the faults: %+v\nconsumer log:\n%s", check, consumer.log)
	}
	ctxDL, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	dl, err := js.OrderedConsumer(ctxDL, consume.DeadLetterStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := dl.FetchNoWait(10)
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		id, reason := m.Headers().Get("Billing-Test"), m.Headers().Get(consume.ErrorHeader)
		if w, ok := poison[id]; !ok || !strings.Contains(reason, w) {
			t.Errorf("dead letter %q (%s): %s %q, want %q", m.Data(), id, consume.ErrorHeader, reason, w)
		}
		delete(poison, id)
	}
	for id := range poison {
		t.Errorf("poison message %s is not in the dead-letter stream", id)
	}
	out, err := exec.Command(bin, "consume", "--nats", urls, "--status").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "0 pending, 0 awaiting acknowledgement") || !strings.Contains(string(out), "dead letters (USAGE_DEADLETTER): 3") {
		t.Errorf("consume --status: %v\n%s", err, out)
	}
	t.Logf("%d events (%d published, %d re-sent, %d dropped by the stream, %d publish retries) through a node kill and a consumer kill -9 in %.1f s: %.0f events/s end to end; consumer peak RSS %.1f MB",
		total, pub.Published, pub.Resent, pub.StreamDuplicates, pub.Retries, took.Seconds(), float64(total)/took.Seconds(), float64(rss)/(1<<20))
}

func message(t *testing.T, e models.UsageEvent) *nats.Msg {
	t.Helper()
	m, err := bench.EventMessage("usage.events", e)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
