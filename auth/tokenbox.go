package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// MinSecretKeyLength is the shortest BILLING_SECRET_KEY accepted.
const MinSecretKeyLength = 32

// TokenBox seals auth tokens with AES-256-GCM, so that the service can sign
// webhooks with an account's token without keeping it in plain text. The
// account SID is the additional data: a sealed token copied onto another
// account's row does not open.
type TokenBox struct{ aead cipher.AEAD }

// ErrSealedToken is what Open returns for a token sealed under another key
// or tampered with.
var ErrSealedToken = errors.New("the sealed auth token does not open with this secret key")

// NewTokenBox derives the AES key from a secret of at least 32 bytes.
func NewTokenBox(secret []byte) (*TokenBox, error) {
	if len(secret) < MinSecretKeyLength {
		return nil, fmt.Errorf("the secret key must be at least %d bytes, it has %d", MinSecretKeyLength, len(secret))
	}
	// A label separates this use of the secret from any other.
	key := sha256.Sum256(append([]byte("billing auth token seal v1\x00"), secret...))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &TokenBox{aead: aead}, nil
}

// Seal encrypts an account's token: a random nonce followed by the ciphertext.
func (b *TokenBox) Seal(accountSid, token string) []byte {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(token)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return b.aead.Seal(nonce, nonce, []byte(token), []byte(accountSid))
}

// Open decrypts what Seal made for the same account.
func (b *TokenBox) Open(accountSid string, sealed []byte) (string, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() {
		return "", ErrSealedToken
	}
	plain, err := b.aead.Open(nil, sealed[:n], sealed[n:], []byte(accountSid))
	if err != nil {
		return "", ErrSealedToken
	}
	return string(plain), nil
}
