package auth

import (
	"crypto/sha256"
	"testing"
	"time"
)

func TestVerifiedTokenCache(t *testing.T) {
	now := time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC)
	cfg := JWTConfig{Algorithm: "HS256", Secret: []byte("test-secret-test-secret-test-secret!"), Now: func() time.Time { return now }}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Sign("u", "", []string{RoleManager}, []string{"AC1"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(tok); err != nil {
		t.Fatal(err)
	}
	if _, cached := v.verified.get(sha256.Sum256([]byte(tok)), now); !cached {
		t.Fatal("a verified token is not remembered")
	}
	// Another string, even one a lenient decoder would read alike, is verified itself.
	last := byte('A')
	if tok[len(tok)-1] == last {
		last = 'B'
	}
	if _, err := v.Verify(tok[:len(tok)-1] + string(last)); err == nil {
		t.Fatal("a tampered token passed")
	}
	// At exp the entry is gone and the verifier decides.
	now = now.Add(time.Minute)
	if _, err := v.Verify(tok); err == nil {
		t.Fatal("an expired token passed")
	}
	// Bounded: the cache never holds more than its limit.
	c := newVerifiedTokens(3)
	for i := range 10 {
		c.put(sha256.Sum256([]byte{byte(i)}), &Claims{}, now.Add(time.Hour), now)
	}
	if len(c.entries) != 3 {
		t.Fatalf("%d entries, limit 3", len(c.entries))
	}
}
