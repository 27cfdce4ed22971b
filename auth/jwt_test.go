package auth_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/golang-jwt/jwt/v5"
)

var (
	secret = []byte("unit-secret-unit-secret-unit-secret!")
	now    = time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC)
)

// rawToken signs any header and claims text with HS256, as a forger with
// the key (or a careless issuer) could.
func rawToken(t *testing.T, header, claims string) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	signing := enc([]byte(header)) + "." + enc([]byte(claims))
	sig, err := jwt.SigningMethodHS256.Sign(signing, secret)
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + enc(sig)
}

const goodHeader = `{"alg":"HS256","typ":"JWT"}`

func TestVerifyRefusesLenientTokens(t *testing.T) {
	v, err := auth.NewVerifier(auth.JWTConfig{Algorithm: "HS256", Secret: secret, Issuer: "billing", Audience: "api", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	const rest = `"iss":"billing","aud":"api","sub":"u1","exp":1710507600,"roles":["Manager"]`
	if _, err := v.Verify(rawToken(t, goodHeader, `{`+rest+`}`)); err != nil {
		t.Fatalf("a well-formed token is refused: %v", err)
	}
	cases := []struct {
		name, header, claims, want string
	}{
		{"crit naming an unknown extension", `{"alg":"HS256","crit":["exp-x"],"exp-x":1}`, `{` + rest + `}`, "crit"},
		{"crit empty", `{"alg":"HS256","crit":[]}`, `{` + rest + `}`, "crit"},
		{"crit naming a registered header", `{"alg":"HS256","crit":["alg"]}`, `{` + rest + `}`, "crit"},
		{"Crit in other case", `{"alg":"HS256","Crit":["b64"]}`, `{` + rest + `}`, "crit"},
		{"exp as a string", goodHeader, `{"iss":"billing","aud":"api","sub":"u1","exp":"1710507600","roles":["Manager"]}`, "exp must be a number"},
		{"nbf as a string", goodHeader, `{` + rest + `,"nbf":"0"}`, "nbf must be a number"},
		{"iat as a string", goodHeader, `{` + rest + `,"iat":"0"}`, "iat must be a number"},
		{"exp as an object", goodHeader, `{"iss":"billing","aud":"api","sub":"u1","exp":{"n":1},"roles":[]}`, "exp must be a number"},
		{"roles twice", goodHeader, `{` + rest + `,"roles":["SystemAdministrator"]}`, `"roles" twice`},
		{"roles in two cases", goodHeader, `{` + rest + `,"Roles":["SystemAdministrator"]}`, `"Roles" twice`},
		{"sub twice", goodHeader, `{` + rest + `,"sub":"u2"}`, `"sub" twice`},
		{"alg twice", `{"alg":"none","alg":"HS256"}`, `{` + rest + `}`, `"alg" twice`},
		{"a nested key twice", goodHeader, `{` + rest + `,"x":{"a":1,"a":2}}`, `"a" twice`},
		{"nested too deep", goodHeader, `{` + rest + `,"x":` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `}`, "Token is invalid"},
		{"claims not an object", goodHeader, `["sub"]`, "Token is invalid"},
		{"trailing data", goodHeader, `{` + rest + `} {}`, "Token is invalid"},
		{"no issuer", goodHeader, `{"aud":"api","sub":"u1","exp":1710507600,"roles":[]}`, "Token has no issuer"},
		{"no audience", goodHeader, `{"iss":"billing","sub":"u1","exp":1710507600,"roles":[]}`, "Token has no audience"},
		{"neither issuer nor audience", goodHeader, `{"sub":"u1","exp":1710507600,"roles":[]}`, "Token has no issuer"},
		{"no expiry", goodHeader, `{"iss":"billing","aud":"api","sub":"u1","roles":[]}`, "Token has no expiry"},
		{"HS384", `{"alg":"HS384"}`, `{` + rest + `}`, "Token is invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := v.Verify(rawToken(t, c.header, c.claims))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want it to say %q", err, c.want)
			}
		})
	}
}
