package models

import (
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// scanJSONObject reads one JSON object, calling fn with each member's key and
// value in order (duplicates included), and reports malformed JSON. String
// values keep the problem of their bytes instead of having it repaired:
// invalid UTF-8 and \u escapes naming a lone surrogate are reported, not
// turned into U+FFFD. Nested objects and lists are checked and skipped.
func scanJSONObject(data []byte, fn func(key string, v wireValue)) error {
	s := jsonScanner{b: data}
	s.space()
	if !s.eat('{') {
		return s.fail("expected {")
	}
	s.space()
	if s.eat('}') {
		return s.end()
	}
	for {
		s.space()
		if s.peek() != '"' {
			return s.fail("expected a property name")
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		s.space()
		if !s.eat(':') {
			return s.fail("expected : after a property name")
		}
		s.space()
		v, err := s.value()
		if err != nil {
			return err
		}
		fn(key.text, v)
		s.space()
		switch {
		case s.eat(','):
		case s.eat('}'):
			return s.end()
		default:
			return s.fail("expected , or } after a value")
		}
	}
}

type jsonScanner struct {
	b []byte
	i int
}

func (s *jsonScanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *jsonScanner) eat(c byte) bool {
	if s.peek() == c && s.i < len(s.b) {
		s.i++
		return true
	}
	return false
}

func (s *jsonScanner) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *jsonScanner) fail(what string) error {
	if s.i >= len(s.b) {
		return errors.New("the JSON ends too early")
	}
	return fmt.Errorf("malformed JSON at offset %d: %s", s.i, what)
}

// end accepts only blank space after the object.
func (s *jsonScanner) end() error {
	s.space()
	if s.i != len(s.b) {
		return errors.New("more than one JSON value")
	}
	return nil
}

// value reads any JSON value.
func (s *jsonScanner) value() (wireValue, error) {
	switch c := s.peek(); {
	case c == '"':
		return s.str()
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	case c == '{' || c == '[':
		return wireValue{kind: wireOther}, s.skipNested()
	}
	for _, lit := range [...]string{"null", "true", "false"} {
		if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
			s.i += len(lit)
			if lit == "null" {
				return wireValue{kind: wireNull}, nil
			}
			return wireValue{kind: wireOther}, nil
		}
	}
	return wireValue{}, s.fail("expected a value")
}

// skipNested skips an object or list, strings and all, without recursion.
// Its grammar is not checked further: a nested value is never a valid event
// property, so the event is refused anyway.
func (s *jsonScanner) skipNested() error {
	depth := 0
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			if _, err := s.str(); err != nil {
				return err
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		}
		s.i++
		if depth == 0 {
			return nil
		}
	}
	return errors.New("the JSON ends too early")
}

// number reads a JSON number as its text.
func (s *jsonScanner) number() (wireValue, error) {
	start := s.i
	s.eat('-')
	digits := func() int {
		n := 0
		for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.eat('0') {
		// a leading zero stands alone
	} else if digits() == 0 {
		return wireValue{}, s.fail("malformed number")
	}
	if s.eat('.') && digits() == 0 {
		return wireValue{}, s.fail("malformed number")
	}
	if s.eat('e') || s.eat('E') {
		if !s.eat('+') {
			s.eat('-')
		}
		if digits() == 0 {
			return wireValue{}, s.fail("malformed number")
		}
	}
	return wireValue{kind: wireNumber, text: string(s.b[start:s.i])}, nil
}

// str reads a JSON string. A byte sequence that is not UTF-8 or an escape
// naming half a surrogate pair leaves the string's problem set (the text is
// then not to be used); malformed syntax is an error.
func (s *jsonScanner) str() (wireValue, error) {
	s.i++ // the opening quote
	start := s.i
	var out []byte // nil while the text is the bytes as they are
	v := wireValue{kind: wireString}
	for {
		if s.i >= len(s.b) {
			return v, errors.New("the JSON ends too early")
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			if out == nil {
				v.text = string(s.b[start:s.i])
			} else {
				v.text = string(out)
			}
			s.i++
			return v, nil
		case c < 0x20:
			return v, s.fail("control character in a string")
		case c == '\\':
			if out == nil {
				out = append([]byte(nil), s.b[start:s.i]...)
			}
			if s.i+1 >= len(s.b) {
				return v, errors.New("the JSON ends too early")
			}
			esc := s.b[s.i+1]
			s.i += 2
			switch esc {
			case '"', '\\', '/':
				out = append(out, esc)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := s.hex4()
				if !ok {
					return v, s.fail(`malformed \u escape`)
				}
				if utf16.IsSurrogate(r) {
					lo, ok := rune(-1), false
					if r < 0xdc00 && s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
						s.i += 2
						if lo, ok = s.hex4(); !ok {
							return v, s.fail(`malformed \u escape`)
						}
					}
					if r = utf16.DecodeRune(r, lo); r == utf8.RuneError {
						v.problem = `must not hold a \u escape of half a surrogate pair (such as \ud800)`
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				return v, s.fail("invalid escape in a string")
			}
			continue
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n == 1 {
				v.problem = "must be valid UTF-8"
			}
			if out != nil {
				out = append(out, s.b[s.i:s.i+n]...)
			}
			s.i += n
			continue
		}
		if out != nil {
			out = append(out, c)
		}
		s.i++
	}
}

func (s *jsonScanner) hex4() (rune, bool) {
	if len(s.b)-s.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	s.i += 4
	return r, true
}
