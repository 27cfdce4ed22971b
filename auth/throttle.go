package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// ThrottleMemory is how long a key's lockout history is kept after its last
// attempt; rows quiet for longer may be deleted (ThrottleStore.ForgetSignIns).
const ThrottleMemory = 24 * time.Hour

// ThrottleKey is one counter and the limit it is held to.
type ThrottleKey struct {
	ID    string // opaque, at most 64 bytes
	Limit ThrottleLimit
}

// ThrottleOutcome is how an attempt ended, for one of its keys.
type ThrottleOutcome int

const (
	// ThrottleFailed counts the failure; at the limit the key is locked out.
	ThrottleFailed ThrottleOutcome = iota
	// ThrottleCleared forgets the key's failures and lockouts (the right
	// password for a user name).
	ThrottleCleared
	// ThrottleForgiven takes back the attempt's count only (a client address
	// that signed in: it keeps its other failures, so one good account cannot
	// launder guesses at others).
	ThrottleForgiven
)

// ThrottleStore keeps the counters where every service instance sees them.
// Each call must be atomic against any number of concurrent callers.
type ThrottleStore interface {
	// BeginSignIn counts one running attempt against every key, unless a
	// key is locked out or has used its allowance; then it counts none and
	// says how long to wait (the lockout's rest, or a second while attempts
	// still running use the allowance up).
	BeginSignIn(ctx context.Context, keys []ThrottleKey, now time.Time) (wait time.Duration, err error)
	// EndSignIn records an attempt's outcome for one key.
	EndSignIn(ctx context.Context, key ThrottleKey, outcome ThrottleOutcome, now time.Time) error
	// ForgetSignIns deletes the keys with no attempt since before and no
	// lockout running.
	ForgetSignIns(ctx context.Context, before, now time.Time) (int64, error)
}

// SignInThrottle counts failed sign-ins per user name and per client
// address in a ThrottleStore. An attempt counts as a failure from the moment
// it starts, so that a burst of parallel guesses, spread over any number of
// instances, cannot slip past the limit before the first of them has failed.
type SignInThrottle struct {
	store      ThrottleStore
	now        func() time.Time
	name, addr ThrottleLimit
}

// NewSignInThrottle builds a throttle with the given limits and clock.
func NewSignInThrottle(store ThrottleStore, name, addr ThrottleLimit, now func() time.Time) *SignInThrottle {
	if now == nil {
		now = time.Now
	}
	return &SignInThrottle{store: store, now: now, name: name, addr: addr}
}

// finishTimeout bounds recording an outcome.
const finishTimeout = 5 * time.Second

// Begin admits one sign-in attempt for a user name from a client address, or
// says how long to wait. An admitted attempt must be finished with its
// outcome. A storage error refuses the attempt: the throttle fails closed.
func (t *SignInThrottle) Begin(ctx context.Context, userName, clientAddr string) (finish func(ok bool), wait time.Duration, err error) {
	keys := []ThrottleKey{
		{ID: throttleID("name", truncate(userName, 128)), Limit: t.name},
		{ID: throttleID("addr", addrKey(clientAddr)), Limit: t.addr},
	}
	if wait, err := t.store.BeginSignIn(ctx, keys, t.now()); err != nil || wait > 0 {
		return nil, wait, err
	}
	// The outcome is recorded even when the client hangs up meanwhile:
	// otherwise cancelling each guess would leave it counted as running
	// only until the window ends, never as a failure that locks.
	ctx = context.WithoutCancel(ctx)
	var once sync.Once
	return func(ok bool) {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(ctx, finishTimeout)
			defer cancel()
			outcomes := [2]ThrottleOutcome{ThrottleFailed, ThrottleFailed}
			if ok {
				outcomes = [2]ThrottleOutcome{ThrottleCleared, ThrottleForgiven}
			}
			now := t.now()
			for i, k := range keys {
				// A lost outcome leaves the attempt counted as a failure:
				// the safe side.
				_ = t.store.EndSignIn(ctx, k, outcomes[i], now)
			}
		})
	}, 0, nil
}

// Forget deletes what the store no longer needs to remember: keys quiet for
// ThrottleMemory. One instance runs it now and then.
func (t *SignInThrottle) Forget(ctx context.Context) (int64, error) {
	now := t.now()
	return t.store.ForgetSignIns(ctx, now.Add(-ThrottleMemory), now)
}

// throttleID names a key by a hash: what people type as a user name is
// sometimes their password, and it is not to be stored.
func throttleID(kind, value string) string {
	h := sha256.Sum256([]byte(kind + "\x00" + value))
	return hex.EncodeToString(h[:])
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
