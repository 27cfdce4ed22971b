package auth

import (
	"strconv"
	"testing"
	"time"
)

func TestSignInThrottle(t *testing.T) {
	now := time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC)
	limit := ThrottleLimit{Failures: 3, Window: 10 * time.Minute, FirstLockout: time.Minute, MaxLockout: 4 * time.Minute}
	th := NewSignInThrottle(limit, ThrottleLimit{Failures: 100, Window: time.Hour, FirstLockout: time.Minute, MaxLockout: time.Hour}, func() time.Time { return now })

	fail := func(name string) {
		t.Helper()
		finish, wait := th.Begin(name, "192.0.2.1")
		if wait > 0 {
			t.Fatalf("%s refused for %v", name, wait)
		}
		finish(false)
	}
	refused := func(name string, want time.Duration) {
		t.Helper()
		if _, wait := th.Begin(name, "192.0.2.1"); wait != want {
			t.Fatalf("%s: wait %v, want %v", name, wait, want)
		}
	}

	// Three failures lock the name for a minute; each next lockout doubles,
	// up to the cap.
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
	finish, _ := th.Begin("carol", "192.0.2.1")
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
	if _, wait := th.Begin("erin", "192.0.2.1"); wait != 0 {
		t.Fatalf("old failures still count: wait %v", wait)
	}

	// Attempts still running count: a burst cannot pass the limit.
	var finishes []func(bool)
	for range 3 {
		f, wait := th.Begin("frank", "192.0.2.1")
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
}

func TestSignInThrottleByAddress(t *testing.T) {
	now := time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC)
	th := NewSignInThrottle(DefaultNameLimit, ThrottleLimit{Failures: 2, Window: time.Hour, FirstLockout: time.Minute, MaxLockout: time.Hour}, func() time.Time { return now })
	for _, name := range []string{"a", "b"} {
		f, _ := th.Begin(name, "2001:db8:1:2::10")
		f(false)
	}
	// The same /64 is the same client; a success elsewhere does not reset it.
	if _, wait := th.Begin("c", "2001:db8:1:2::99"); wait != time.Minute {
		t.Fatalf("wait %v", wait)
	}
	if f, wait := th.Begin("c", "2001:db8:1:3::1"); wait != 0 {
		t.Fatalf("another /64 is refused: %v", wait)
	} else {
		f(true)
	}
}

func TestSignInThrottleStaysBounded(t *testing.T) {
	now := time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC)
	th := NewSignInThrottle(DefaultNameLimit, ThrottleLimit{Failures: 1 << 30, Window: time.Hour, FirstLockout: time.Minute, MaxLockout: time.Hour}, func() time.Time { return now })
	for i := range throttleMaxKeys + 10 {
		f, _ := th.Begin(strconv.Itoa(i), "192.0.2.1")
		f(false)
	}
	if n := len(th.keys); n > throttleMaxKeys {
		t.Fatalf("%d keys kept", n)
	}
}
