package auth

import (
	"net/netip"
	"sync"
	"time"
)

// ThrottleLimit says how many failed sign-ins a key (a user name, a client
// address) may have before it is locked out, and for how long.
type ThrottleLimit struct {
	Failures     int           // failures allowed within Window
	Window       time.Duration // failures older than this are forgotten
	FirstLockout time.Duration // the first lockout; each next one doubles
	MaxLockout   time.Duration
}

// Default limits: five guesses per user name and twenty per client address
// every quarter of an hour, then lockouts from one minute doubling to an
// hour. Guessing a 12-character password that way takes lifetimes.
var (
	DefaultNameLimit = ThrottleLimit{Failures: 5, Window: 15 * time.Minute, FirstLockout: time.Minute, MaxLockout: time.Hour}
	DefaultAddrLimit = ThrottleLimit{Failures: 20, Window: 15 * time.Minute, FirstLockout: time.Minute, MaxLockout: time.Hour}
)

// throttleMemory is how long a key's lockout history is kept after its last
// failure, and throttleMaxKeys bounds the memory a flood of names can take.
const (
	throttleMemory  = 24 * time.Hour
	throttleMaxKeys = 100_000
)

// SignInThrottle counts failed sign-ins per user name and per client address,
// in memory. An attempt counts as a failure from the moment it starts, so
// that a burst of parallel guesses cannot slip past the limit before the first
// of them has failed.
type SignInThrottle struct {
	mu         sync.Mutex
	now        func() time.Time
	name, addr ThrottleLimit
	keys       map[string]*throttleKey
}

type throttleKey struct {
	limit       *ThrottleLimit
	failures    int // including attempts still running
	last        time.Time
	lockedUntil time.Time
	lockouts    int
}

// NewSignInThrottle builds a throttle with the given limits and clock.
func NewSignInThrottle(name, addr ThrottleLimit, now func() time.Time) *SignInThrottle {
	if now == nil {
		now = time.Now
	}
	return &SignInThrottle{now: now, name: name, addr: addr, keys: make(map[string]*throttleKey)}
}

// Begin admits one sign-in attempt for a user name from a client address, or
// says how long to wait. An admitted attempt must be finished with its
// outcome.
func (t *SignInThrottle) Begin(userName, clientAddr string) (finish func(ok bool), wait time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	ids := [2]string{"name\x00" + truncate(userName, 128), "addr\x00" + addrKey(clientAddr)}
	limits := [2]*ThrottleLimit{&t.name, &t.addr}
	for i, id := range ids {
		k := t.keys[id]
		if k == nil {
			continue
		}
		k.forget(now)
		switch {
		case now.Before(k.lockedUntil):
			wait = max(wait, k.lockedUntil.Sub(now))
		case k.failures >= limits[i].Failures:
			wait = max(wait, time.Second) // attempts still running use up the allowance
		}
	}
	if wait > 0 {
		return nil, wait
	}
	for i, id := range ids {
		k := t.keys[id]
		if k == nil {
			t.makeRoom(now)
			k = &throttleKey{limit: limits[i]}
			t.keys[id] = k
		}
		k.failures++
		k.last = now
	}
	var once sync.Once
	return func(ok bool) { once.Do(func() { t.finish(ids, ok) }) }, 0
}

func (t *SignInThrottle) finish(ids [2]string, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for i, id := range ids {
		k := t.keys[id]
		if k == nil {
			continue // forgotten meanwhile
		}
		switch {
		case ok && i == 0:
			// The right password clears the user name's record; the address
			// keeps its failures, so one good account cannot launder guesses
			// at others.
			k.failures, k.lockouts = 0, 0
		case ok:
			k.failures = max(0, k.failures-1)
		case k.failures >= k.limit.Failures && !now.Before(k.lockedUntil):
			lock := k.limit.FirstLockout << min(k.lockouts, 20)
			k.lockedUntil = now.Add(min(lock, k.limit.MaxLockout))
			k.lockouts++
			k.failures = 0
		}
	}
}

// forget drops failures older than the window, and the lockout history of a
// key quiet for a day.
func (k *throttleKey) forget(now time.Time) {
	if now.Before(k.lockedUntil) {
		return
	}
	if now.Sub(k.last) > k.limit.Window {
		k.failures = 0
	}
	if now.Sub(k.last) > throttleMemory {
		k.lockouts = 0
	}
}

// makeRoom keeps the table bounded: it drops keys with nothing to remember,
// and when that is not enough, the key whose last failure is oldest.
func (t *SignInThrottle) makeRoom(now time.Time) {
	if len(t.keys) < throttleMaxKeys {
		return
	}
	var oldest string
	for id, k := range t.keys {
		k.forget(now)
		if k.failures == 0 && k.lockouts == 0 && !now.Before(k.lockedUntil) {
			delete(t.keys, id)
			continue
		}
		if oldest == "" || k.last.Before(t.keys[oldest].last) {
			oldest = id
		}
	}
	if len(t.keys) >= throttleMaxKeys && oldest != "" {
		delete(t.keys, oldest)
	}
}

// addrKey groups IPv6 clients by /64, the block one subscriber usually holds.
func addrKey(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return truncate(s, 64)
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
