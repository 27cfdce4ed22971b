package handlers_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/evovoice/billing/handlers/internal/handlertest"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo/repotest"
)

// FuzzIngestBodies posts two events whose ids carry fuzzed text, in JSON,
// JSV or a form, to a real server over each database. It asserts that no
// body costs a 5xx, that an accepted id is exactly the text its bytes mean,
// and, through the store's unique index, that two ids meaning different
// text are never stored as one (the second is accepted, not a duplicate or
// a conflict), while two meaning the same text are one.
func FuzzIngestBodies(f *testing.F) {
	for _, seed := range []string{`c-\ud800`, `c-\udbff`, `c-\udc00`, "c-\xfe", `c-\u0000`, "c-\x00", `c-\ud83d\ude00`, `c-\ufffd`, "c-\uFFFD", `a","price":"0`, `\u0041`, "A", "", `\`, `"`, `""`} {
		for format := range uint8(3) {
			f.Add(format, seed, `c-\udbff`)
			f.Add(format, seed, seed)
		}
	}
	f.Add(uint8(0), `\u0041`, "A")          // one text, two spellings: one id
	f.Add(uint8(0), `c-\ud800`, `c-\udbff`) // issue 10: both became c-U+FFFD
	f.Add(uint8(0), `\ud83d\ude00`, "\U0001F600")
	var envs []bytesEnv
	for _, backend := range repotest.Backends() {
		store := repotest.Open(f, backend)
		e := handlertest.New(f, store)
		envs = append(envs, bytesEnv{e, e.Account("Fuzz", "", models.NewDate(2024, 1, 1))})
	}
	n := 0
	f.Fuzz(func(t *testing.T, format uint8, a, b string) {
		for _, e := range envs {
			e := bytesEnv{e.For(t), e.sid}
			n++
			prefix := fmt.Sprintf("z%d-", n) // a fresh id space for each run
			ra, rb := e.postID(format%3, prefix+a, "1"), e.postID(format%3, prefix+b, "2")
			for _, r := range []handlertest.Response{ra, rb} {
				if r.StatusCode >= 500 {
					t.Fatalf("5xx: %d %s", r.StatusCode, r.Body)
				}
			}
			ma, okA := meaning(format%3, a)
			mb, okB := meaning(format%3, b)
			if ra.StatusCode == 200 && !okA {
				t.Fatalf("accepted an id whose bytes are not text: %q", a)
			}
			if ra.StatusCode != 200 || rb.StatusCode == 400 && !strings.Contains(string(rb.Body), "Conflict") {
				continue
			}
			switch same := okA && okB && ma == mb; {
			case same && rb.StatusCode == 200:
				t.Fatalf("%q and %q mean one id but both were stored: %s", a, b, rb.Body)
			case !same && rb.StatusCode != 200:
				t.Fatalf("%q and %q mean different ids but the second was refused: %s", a, b, rb.Body)
			case !same && !strings.Contains(string(rb.Body), `"accepted":1`):
				t.Fatalf("%q and %q mean different ids but became one: %s", a, b, rb.Body)
			}
		}
	})
}

// postID posts one handlertest.Event whose id is text as its format writes it: inside
// JSON quotes as it is, or as a quoted JSV value.
func (b bytesEnv) postID(format uint8, id, price string) handlertest.Response {
	switch format {
	case 0:
		return b.post("/billing/usage/events", "application/json", `{"events":[`+b.jsonEvent(map[string]string{"id": `"` + id + `"`, "price": price}, "")+`]}`)
	case 1:
		return b.post("/billing/usage/events", "text/jsv", "{events:["+b.jsvEvent(map[string]string{"id": jsvQuote(id), "price": price}, "")+"]}")
	}
	return b.post("/api/RecordUsageEvents", "application/x-www-form-urlencoded", "events="+url.QueryEscape("["+b.jsvEvent(map[string]string{"id": jsvQuote(id), "price": price}, "")+"]"))
}

func jsvQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// meaning is the text an id's bytes stand for, by a reference reading of
// JSON string content (format 0) or JSV quoted text (the bytes themselves);
// ok is false when they stand for no valid text: a lone surrogate, invalid
// UTF-8, NUL, or JSON that is not the content of one string.
func meaning(format uint8, s string) (string, bool) {
	if format != 0 {
		return s, utf8.ValidString(s) && !strings.ContainsRune(s, 0)
	}
	var units []rune // runes from raw bytes, UTF-16 code units from escapes
	var out []rune
	flush := func() bool {
		for i := 0; i < len(units); i++ {
			r := units[i]
			if utf16.IsSurrogate(r) {
				if i+1 >= len(units) {
					return false
				}
				if r = utf16.DecodeRune(r, units[i+1]); r == utf8.RuneError {
					return false
				}
				i++
			}
			out = append(out, r)
		}
		units = units[:0]
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c < 0x20:
			return "", false
		case c == '\\':
			if i+1 >= len(s) {
				return "", false
			}
			if s[i+1] == 'u' {
				var r rune
				if _, err := fmt.Sscanf(s[i+2:min(i+6, len(s))], "%04x", &r); err != nil || i+6 > len(s) || strings.ContainsAny(s[i+2:i+6], "+- ") {
					return "", false
				}
				units = append(units, r)
				i += 6
				continue
			}
			esc, ok := map[byte]rune{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}[s[i+1]]
			if !ok || !flush() {
				return "", false
			}
			out = append(out, esc)
			i += 2
		default:
			if !flush() {
				return "", false
			}
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return "", false
			}
			out = append(out, r)
			i += n
		}
	}
	if !flush() {
		return "", false
	}
	m := string(out)
	return m, !strings.ContainsRune(m, 0)
}
