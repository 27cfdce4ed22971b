package auth

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestTokenBox(t *testing.T) {
	if _, err := NewTokenBox([]byte(strings.Repeat("k", 31))); err == nil {
		t.Error("a 31-byte key is accepted")
	}
	box, err := NewTokenBox([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	sealed := box.Seal("AC1", "secret-token")
	if bytes.Contains(sealed, []byte("secret-token")) {
		t.Fatal("the sealed token holds the plain text")
	}
	if got, err := box.Open("AC1", sealed); err != nil || got != "secret-token" {
		t.Errorf("open: %q %v", got, err)
	}
	if _, err := box.Open("AC2", sealed); !errors.Is(err, ErrSealedToken) {
		t.Errorf("opened for another account: %v", err)
	}
	other, _ := NewTokenBox([]byte(strings.Repeat("x", 32)))
	if _, err := other.Open("AC1", sealed); !errors.Is(err, ErrSealedToken) {
		t.Errorf("opened with another key: %v", err)
	}
	if bytes.Equal(sealed, box.Seal("AC1", "secret-token")) {
		t.Error("two seals of one token are equal: the nonce is not fresh")
	}
}
