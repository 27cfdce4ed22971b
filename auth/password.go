package auth

import (
	"context"
	"errors"
	"runtime"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// passwordCost is bcrypt's work factor: about 0.3 s per hash on a small
// server, which makes each guess expensive without making sign-in slow.
const passwordCost = 12

// HashPassword returns the bcrypt hash the users table keeps.
func HashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), passwordCost)
	return string(h), err
}

// Passwords checks passwords against stored hashes. It runs only a few bcrypt
// comparisons at a time, so that a flood of sign-ins queues instead of taking
// every CPU, and it spends the same time on unknown users as on known ones.
type Passwords struct {
	slots chan struct{}
	once  sync.Once
	dummy []byte // a hash of nothing anybody can type, compared for unknown users
}

// NewPasswords prepares a checker.
func NewPasswords() *Passwords {
	return &Passwords{slots: make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))}
}

// Check reports whether pw matches hash. An empty hash (no such user) is
// compared against a dummy hash and never matches.
func (p *Passwords) Check(ctx context.Context, hash, pw string) (bool, error) {
	p.once.Do(func() {
		p.dummy, _ = bcrypt.GenerateFromPassword([]byte("\x00no user\x00"), passwordCost)
	})
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-p.slots }()
	known := hash != ""
	h := []byte(hash)
	if !known {
		h = p.dummy
	}
	err := bcrypt.CompareHashAndPassword(h, []byte(pw))
	switch {
	case err == nil:
		return known, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	}
	return false, err // a stored hash that is not bcrypt
}
