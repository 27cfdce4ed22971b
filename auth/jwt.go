// Package auth decides who a request comes from (JWT bearer tokens, the ss-tok
// cookie, HTTP Basic account credentials) and which accounts it may read.
package auth

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Roles the service knows. Role names compare case-sensitively, as in ServiceStack.
const (
	RoleSystemAdministrator = "SystemAdministrator"
	RoleManager             = "Manager"
)

// Claims are the JWT claims the service reads and writes.
type Claims struct {
	jwt.RegisteredClaims
	Name       string   `json:"name,omitempty"`
	UserName   string   `json:"preferred_username,omitempty"` // the sign-in name, as ServiceStack writes it
	Roles      []string `json:"roles"`
	AccountIDs []string `json:"accountIds,omitempty"`
}

// JWTConfig says how tokens are signed and which ones are acceptable.
type JWTConfig struct {
	// Algorithm is HS256 (with Secret), or RS256 or ES256 (with PublicKeyPEM).
	// Only this algorithm is accepted: a token naming any other is refused.
	Algorithm    string
	Secret       []byte
	PublicKeyPEM []byte
	Issuer       string        // checked when set
	Audience     string        // checked when set
	Leeway       time.Duration // clock skew tolerated on exp, nbf and iat
	Now          func() time.Time
}

// Verifier checks tokens strictly against one configuration.
type Verifier struct {
	parser   *jwt.Parser
	key      any
	now      func() time.Time
	verified *verifiedTokens
}

// NewVerifier prepares a verifier; it fails on an incomplete configuration.
func NewVerifier(cfg JWTConfig) (*Verifier, error) {
	var key any
	switch cfg.Algorithm {
	case "HS256":
		if len(cfg.Secret) < 32 {
			return nil, errors.New("the HS256 secret must be at least 32 bytes")
		}
		key = cfg.Secret
	case "RS256", "ES256":
		pub, err := parsePublicKey(cfg.PublicKeyPEM)
		if err != nil {
			return nil, err
		}
		if _, isRSA := pub.(*rsa.PublicKey); isRSA != (cfg.Algorithm == "RS256") {
			return nil, fmt.Errorf("the public key does not fit %s", cfg.Algorithm)
		}
		key = pub
	default:
		return nil, fmt.Errorf("unsupported JWT algorithm %q (use HS256, RS256 or ES256)", cfg.Algorithm)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{cfg.Algorithm}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithStrictDecoding(),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
		opts = append(opts, jwt.WithTimeFunc(cfg.Now))
	}
	return &Verifier{parser: jwt.NewParser(opts...), key: key, now: now, verified: newVerifiedTokens(maxVerifiedTokens)}, nil
}

func parsePublicKey(data []byte) (any, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("the JWT public key is not PEM")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		cert, certErr := x509.ParseCertificate(block.Bytes)
		if certErr != nil {
			return nil, fmt.Errorf("the JWT public key cannot be read: %w", err)
		}
		pub = cert.PublicKey
	}
	switch pub.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
		return pub, nil
	}
	return nil, fmt.Errorf("unsupported public key type %T", pub)
}

// verify checks a token's signature, algorithm and claims.
// golang-jwt reads the header and claims with encoding/json, which lets the
// last of two equal keys win and reads "exp":"123" as a number, and it
// ignores crit; checkStructure refuses all three first (see checkStructure).
func (v *Verifier) verify(raw string) (*Claims, error) {
	if err := checkStructure(raw); err != nil {
		return nil, err
	}
	claims := &Claims{}
	_, err := v.parser.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return v.key, nil })
	switch {
	case err == nil:
		if claims.Subject == "" {
			return nil, errors.New("Token has no subject")
		}
		return claims, nil
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, errors.New("Token has expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return nil, errors.New("Token not valid yet")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		switch {
		case claims.ExpiresAt == nil:
			return nil, errors.New("Token has no expiry")
		case claims.Issuer == "":
			return nil, errors.New("Token has no issuer")
		}
		return nil, errors.New("Token has no audience")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return nil, errors.New("Invalid Issuer")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return nil, errors.New("Invalid Audience")
	}
	return nil, errors.New("Token is invalid")
}

// Signer issues tokens, for `billing token`, the demo and sign-in.
type Signer struct {
	method   jwt.SigningMethod
	key      any
	issuer   string
	audience string
	now      func() time.Time
}

// NewSigner signs with an HS256 secret, or with an RSA or EC private key in
// PEM for RS256 and ES256.
func NewSigner(cfg JWTConfig, privateKeyPEM []byte) (*Signer, error) {
	s := &Signer{issuer: cfg.Issuer, audience: cfg.Audience, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	switch cfg.Algorithm {
	case "HS256":
		if len(cfg.Secret) < 32 {
			return nil, errors.New("the HS256 secret must be at least 32 bytes")
		}
		s.method, s.key = jwt.SigningMethodHS256, cfg.Secret
	case "RS256":
		k, err := jwt.ParseRSAPrivateKeyFromPEM(privateKeyPEM)
		if err != nil {
			return nil, fmt.Errorf("RS256 needs an RSA private key: %w", err)
		}
		s.method, s.key = jwt.SigningMethodRS256, k
	case "ES256":
		k, err := jwt.ParseECPrivateKeyFromPEM(privateKeyPEM)
		if err != nil {
			return nil, fmt.Errorf("ES256 needs an EC private key: %w", err)
		}
		s.method, s.key = jwt.SigningMethodES256, k
	default:
		return nil, fmt.Errorf("unsupported JWT algorithm %q", cfg.Algorithm)
	}
	return s, nil
}

// Identity is who a token speaks for.
type Identity struct {
	Subject    string // a user's id
	UserName   string // the sign-in name, when the token comes from a sign-in
	Name       string // a display name
	Roles      []string
	AccountIDs []string
}

// Sign issues a token for a subject with roles and accounts, valid for ttl.
func (s *Signer) Sign(subject, name string, roles, accountIDs []string, ttl time.Duration) (string, error) {
	return s.SignIdentity(Identity{Subject: subject, Name: name, Roles: roles, AccountIDs: accountIDs}, ttl)
}

// SignIdentity issues a token for an identity, valid for ttl.
func (s *Signer) SignIdentity(id Identity, ttl time.Duration) (string, error) {
	now := s.now().UTC().Truncate(time.Second)
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   id.Subject,
			Issuer:    s.issuer,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Name:       id.Name,
		UserName:   id.UserName,
		Roles:      slices.Clone(id.Roles),
		AccountIDs: slices.Clone(id.AccountIDs),
	}
	if c.Roles == nil {
		c.Roles = []string{}
	}
	if s.audience != "" {
		c.Audience = jwt.ClaimStrings{s.audience}
	}
	return jwt.NewWithClaims(s.method, c).SignedString(s.key)
}
