package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxTokenNesting bounds how deep a token's JSON may nest; our claims are
// at most two levels deep (an object of arrays).
const maxTokenNesting = 8

// errMalformed is every token whose segments are not base64url JSON objects.
var errMalformed = errors.New("Token is invalid")

// checkStructure refuses, before any signature is checked, tokens that a
// lenient reader would accept:
//   - a header with crit (RFC 7515 §4.1.11: the recipient must refuse
//     extensions it does not understand, and this service understands none);
//   - a key given twice, in any letter case (encoding/json matches names
//     case-insensitively and the last one wins), in the header or claims;
//   - exp, nbf or iat that is not a JSON number (RFC 7519 §2 NumericDate).
func checkStructure(raw string) error {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return errMalformed
	}
	header, err := objectMembers(parts[0])
	if err != nil {
		return err
	}
	if _, ok := header["crit"]; ok {
		return errors.New("Token names critical extensions (crit) this service does not support")
	}
	claims, err := objectMembers(parts[1])
	if err != nil {
		return err
	}
	for _, name := range []string{"exp", "nbf", "iat"} {
		if first, ok := claims[name]; ok {
			if _, isNumber := first.(json.Number); !isNumber {
				return fmt.Errorf("Token claim %s must be a number of seconds", name)
			}
		}
	}
	return nil
}

// objectMembers decodes one base64url segment that must hold one JSON
// object with no key repeated at any depth, and gives the first token of
// each member's value, by lower-case name.
func objectMembers(segment string) (map[string]json.Token, error) {
	data, err := base64.RawURLEncoding.Strict().DecodeString(segment)
	if err != nil {
		return nil, errMalformed
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errMalformed
	}
	members := map[string]json.Token{}
	if err := readObject(dec, 1, func(name string, first json.Token) { members[name] = first }); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errMalformed
	}
	return members, nil
}

// readObject reads an object's members after its '{' up to its '}'.
func readObject(dec *json.Decoder, depth int, member func(string, json.Token)) error {
	if depth > maxTokenNesting {
		return errMalformed
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return errMalformed
		}
		key := strings.ToLower(tok.(string)) // the decoder allows only strings as keys
		if seen[key] {
			return fmt.Errorf("Token gives %q twice", tok)
		}
		seen[key] = true
		first, err := dec.Token()
		if err != nil {
			return errMalformed
		}
		if member != nil {
			member(key, first)
		}
		if err := skipValue(dec, depth, first); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return errMalformed
	}
	return nil
}

// skipValue reads the rest of a value whose first token was read.
func skipValue(dec *json.Decoder, depth int, first json.Token) error {
	switch first {
	case json.Delim('{'):
		return readObject(dec, depth+1, nil)
	case json.Delim('['):
		if depth+1 > maxTokenNesting {
			return errMalformed
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return errMalformed
			}
			if err := skipValue(dec, depth+1, tok); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return errMalformed
		}
	}
	return nil
}
