package auth_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/repo/repotest"
)

// The throttle's rules, on the counters of each database.
func TestSignInThrottle(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		ctx := context.Background()
		now := time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC)
		limit := auth.ThrottleLimit{Failures: 3, Window: 10 * time.Minute, FirstLockout: time.Minute, MaxLockout: 4 * time.Minute}
		th := auth.NewSignInThrottle(store, limit, auth.ThrottleLimit{Failures: 100, Window: time.Hour, FirstLockout: time.Minute, MaxLockout: time.Hour}, func() time.Time { return now })
		begin := func(name string) (func(bool), time.Duration) {
			t.Helper()
			f, wait, err := th.Begin(ctx, name, "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			return f, wait
		}
		fail := func(name string) {
			t.Helper()
			finish, wait := begin(name)
			if wait > 0 {
				t.Fatalf("%s refused for %v", name, wait)
			}
			finish(false)
		}
		refused := func(name string, want time.Duration) {
			t.Helper()
			if _, wait := begin(name); wait != want {
				t.Fatalf("%s: wait %v, want %v", name, wait, want)
			}
		}

		// Three failures lock the name for a minute; each next lockout
		// doubles, up to the cap.
		for range 3 {
			fail("carol")
		}
		refused("carol", time.Minute)
		fail("dave") // other names are not affected
		for _, lock := range []time.Duration{2 * time.Minute, 4 * time.Minute, 4 * time.Minute} {
			now = now.Add(10 * time.Minute)
			for range 3 {
				fail("carol")
			}
			refused("carol", lock)
		}

		// A success clears the name's record.
		now = now.Add(5 * time.Minute)
		fail("carol")
		finish, _ := begin("carol")
		finish(true)
		for range 3 {
			fail("carol")
		}
		refused("carol", time.Minute)

		// Failures older than the window are forgotten.
		fail("erin")
		fail("erin")
		now = now.Add(11 * time.Minute)
		fail("erin")
		fail("erin")
		if _, wait := begin("erin"); wait != 0 {
			t.Fatalf("old failures still count: wait %v", wait)
		}

		// Attempts still running count: a burst cannot pass the limit.
		var finishes []func(bool)
		for range 3 {
			f, wait := begin("frank")
			if wait > 0 {
				t.Fatal("refused within the limit")
			}
			finishes = append(finishes, f)
		}
		refused("frank", time.Second)
		for _, f := range finishes {
			f(false)
		}
		refused("frank", time.Minute)

		// A day later every key is quiet and forgotten.
		now = now.Add(auth.ThrottleMemory + time.Minute)
		if n, err := th.Forget(ctx); err != nil || n == 0 {
			t.Fatalf("forgot %d keys: %v", n, err)
		}
		fail("frank")
	})
}

func TestSignInThrottleByAddress(t *testing.T) {
	repotest.Each(t, func(t *testing.T, store *repo.Store) {
		ctx := context.Background()
		now := time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC)
		th := auth.NewSignInThrottle(store, auth.DefaultNameLimit, auth.ThrottleLimit{Failures: 2, Window: time.Hour, FirstLockout: time.Minute, MaxLockout: time.Hour}, func() time.Time { return now })
		for _, name := range []string{"a", "b"} {
			f, _, err := th.Begin(ctx, name, "2001:db8:1:2::10")
			if err != nil {
				t.Fatal(err)
			}
			f(false)
		}
		// The same /64 is the same client; a success elsewhere does not reset it.
		if _, wait, _ := th.Begin(ctx, "c", "2001:db8:1:2::99"); wait != time.Minute {
			t.Fatalf("wait %v", wait)
		}
		if f, wait, _ := th.Begin(ctx, "c", "2001:db8:1:3::1"); wait != 0 {
			t.Fatalf("another /64 is refused: %v", wait)
		} else {
			f(true)
		}
	})
}

// Parallel attempts through two stores on one database, as two instances
// would make them: exactly the allowance is admitted, no increment is lost.
func TestSignInThrottleParallel(t *testing.T) {
	for _, backend := range repotest.Backends() {
		t.Run(backend, func(t *testing.T) {
			u := repotest.NewDatabase(t, backend)
			var throttles []*auth.SignInThrottle
			for range 2 {
				store, err := repo.Open(u)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { store.Close() })
				if err := store.Migrate(context.Background()); err != nil {
					t.Fatal(err)
				}
				throttles = append(throttles, auth.NewSignInThrottle(store, auth.DefaultNameLimit, auth.DefaultAddrLimit, nil))
			}
			ctx := context.Background()
			var (
				mu       sync.Mutex
				admitted int
				wg       sync.WaitGroup
			)
			for i := range 40 {
				wg.Go(func() {
					f, wait, err := throttles[i%2].Begin(ctx, "grace", "198.51.100.7")
					if err != nil {
						t.Error(err)
						return
					}
					if wait == 0 {
						mu.Lock()
						admitted++
						mu.Unlock()
						f(false)
					}
				})
			}
			wg.Wait()
			if admitted != auth.DefaultNameLimit.Failures {
				t.Fatalf("%d attempts admitted, want %d", admitted, auth.DefaultNameLimit.Failures)
			}
			if _, wait, _ := throttles[0].Begin(ctx, "grace", "198.51.100.8"); wait <= time.Minute-5*time.Second || wait > time.Minute {
				t.Fatalf("after the burst: wait %v, want the first lockout", wait)
			}
		})
	}
}
