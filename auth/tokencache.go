package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedTokens remembers tokens that passed verification until they
// expire, so that a client's token is verified once, not on every request
// (an HS256 check and its JSON decoding cost more than the cached lookup; an
// RS256 or ES256 signature far more). Keys are the SHA-256 of the whole
// token, so only the very same token can match, and the cache holds no
// usable token. Entries go at the token's exp, never later: past it the
// token is verified again, leeway and all. Nothing revokes a token before
// its expiry (sign-out only clears the cookie), so nothing else can make an
// entry wrong; the configuration that verified it is fixed for the process.
type verifiedTokens struct {
	mu      sync.Mutex
	max     int
	entries map[[sha256.Size]byte]verifiedToken
}

type verifiedToken struct {
	claims  *Claims // shared by every request with the token: read-only
	expires time.Time
}

// maxVerifiedTokens bounds the cache: at about 400 bytes an entry, 10,000
// tokens (far more clients than a service instance serves at once) cost
// about 4 MB.
const maxVerifiedTokens = 10_000

func newVerifiedTokens(max int) *verifiedTokens {
	return &verifiedTokens{max: max, entries: make(map[[sha256.Size]byte]verifiedToken)}
}

func (c *verifiedTokens) get(key [sha256.Size]byte, now time.Time) (*Claims, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	if !now.Before(e.expires) {
		delete(c.entries, key)
		return nil, false
	}
	return e.claims, true
}

// put remembers a verified token. When full, it drops expired entries among
// a few it looks at, else one of them: map order is random, so this evicts
// at random, which keeps the bound without the bookkeeping of an LRU.
func (c *verifiedTokens) put(key [sha256.Size]byte, claims *Claims, expires, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		looked := 0
		var victim [sha256.Size]byte
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
			victim = k
			if looked++; looked == 16 {
				break
			}
		}
		if len(c.entries) >= c.max {
			delete(c.entries, victim)
		}
	}
	c.entries[key] = verifiedToken{claims: claims, expires: expires}
}

// Verify checks a token's signature, algorithm and claims, once per token:
// a token that passed is remembered until its expiry.
func (v *Verifier) Verify(raw string) (*Claims, error) {
	key := sha256.Sum256([]byte(raw))
	now := v.now()
	if claims, ok := v.verified.get(key, now); ok {
		return claims, nil
	}
	claims, err := v.verify(raw)
	if err != nil {
		return nil, err
	}
	if claims.ExpiresAt != nil { // always set: expiry is required
		v.verified.put(key, claims, claims.ExpiresAt.Time, now)
	}
	return claims, nil
}
