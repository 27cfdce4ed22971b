package repo_test

import (
	"context"
	"testing"
	"time"

	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// Two stores on one database, as two instances: exactly one leads; when it
// stops, the other leads within seconds. SQLite has one instance: it leads.
func TestLeader(t *testing.T) {
	for _, backend := range repotest.Backends() {
		t.Run(backend, func(t *testing.T) {
			u := repotest.NewDatabase(t, backend)
			instances := 2
			if backend == "sqlite" {
				instances = 1
			}
			type instance struct {
				leader *repo.Leader
				stop   context.CancelFunc
				done   chan struct{}
			}
			var all []instance
			for range instances {
				store, err := repo.Open(u)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { store.Close() })
				l := store.NewLeader("test", nil)
				l.Retry = 100 * time.Millisecond
				ctx, stop := context.WithCancel(context.Background())
				in := instance{leader: l, stop: stop, done: make(chan struct{})}
				go func() { defer close(in.done); l.Run(ctx, func(ctx context.Context) { <-ctx.Done() }) }()
				all = append(all, in)
				t.Cleanup(func() { stop(); <-in.done })
			}
			leading := func() (n int, which int) {
				for i, in := range all {
					if in.leader.Leading() {
						n, which = n+1, i
					}
				}
				return n, which
			}
			deadline := time.Now().Add(10 * time.Second)
			for n, _ := leading(); n != 1; n, _ = leading() {
				if time.Now().After(deadline) {
					t.Fatalf("%d leaders, want 1", n)
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(500 * time.Millisecond) // others keep trying meanwhile
			n, first := leading()
			if n != 1 {
				t.Fatalf("%d leaders after a while, want 1", n)
			}
			if instances == 1 {
				return
			}
			all[first].stop()
			<-all[first].done
			deadline = time.Now().Add(5 * time.Second)
			for !all[1-first].leader.Leading() {
				if time.Now().After(deadline) {
					t.Fatal("the other instance does not take the lead")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// Replicas are Postgres streaming replicas; without any, reads use the
// primary and carry no as-of time.
func TestReplicasOnlyWithPostgres(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		ctx := context.Background()
		if got, asOf := store.ReadReplica(ctx); got != ctx || !asOf.IsZero() {
			t.Errorf("without replicas: a pinned context or an as-of time %v", asOf)
		}
		err := store.AddReplicas([]string{"replica.db"}, time.Second, nil)
		if store.Dialect() == repo.SQLite && err == nil {
			t.Error("SQLite accepted a replica")
		}
		if store.Dialect() == repo.Postgres && err == nil {
			t.Error("a SQLite path accepted as a Postgres replica")
		}
	})
}
