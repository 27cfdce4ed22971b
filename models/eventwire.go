package models

import (
	"fmt"
	"strings"

	"github.com/evovoice/billing/jsv"
)

// eventProp is one property of a usage event on the wire.
type eventProp int

const (
	propID eventProp = iota
	propAccountSid
	propCategory
	propOccurredAt
	propCount
	propUsage
	propPrice
	propCurrency
)

// eventProps are the properties' wire names, by eventProp.
var eventProps = [...]string{"id", "accountSid", "category", "occurredAt", "count", "usage", "price", "currency"}

// wireKind is what a property's value is, as far as the event cares.
type wireKind int

const (
	wireString wireKind = iota
	wireNumber
	wireNull
	wireOther // an object, list or boolean: never a valid event property
)

// wireValue is one property's value, decoded; problem says why its bytes
// are not text ("" when they are).
type wireValue struct {
	kind    wireKind
	text    string
	problem string
}

// DecodeEventJSON reads and validates one event given as a JSON object, by
// the rules of the HTTP API: the decoder for a message that carries one event
// (a queue, a file line). Errors name the property ("id", "price").
func DecodeEventJSON(data []byte) (UsageEvent, error) {
	ev, errs := DecodeUsageEventJSON(data).Validate()
	return ev, errs.Err()
}

// DecodeUsageEventJSON reads one JSON event strictly, from its bytes rather
// than through encoding/json, which would replace invalid UTF-8 and lone
// surrogate escapes with U+FFFD and let two different ids become one. A
// property that is unknown, given twice (in any letter case) or whose text
// is not valid UTF-8 without NUL is a problem that Validate reports.
func DecodeUsageEventJSON(data []byte) UsageEventInput {
	var in UsageEventInput
	seen := map[eventProp]string{}
	if err := scanJSONObject(data, func(key string, v wireValue) { in.set(key, v, seen) }); err != nil {
		in.problems = append(in.problems, FieldError{Code: CodeInvalid, Message: "not a valid usage event: " + err.Error()})
	}
	return in
}

// DecodeUsageEventJSV reads one JSV event ({id:c-1,price:0.5}) by the same
// rules. JSV has no escapes, so its bytes are the text.
func DecodeUsageEventJSV(data []byte) UsageEventInput {
	var in UsageEventInput
	seen := map[eventProp]string{}
	err := jsv.Properties(data, func(key string, raw []byte) {
		v := wireValue{kind: wireString, text: jsv.Unquote(string(raw))}
		switch {
		case len(raw) == 0:
			v.kind = wireNull
		case raw[0] == '{' || raw[0] == '[':
			v.kind = wireOther
		}
		in.set(key, v, seen)
	})
	if err != nil {
		in.problems = append(in.problems, FieldError{Code: CodeInvalid, Message: "not a valid usage event: " + strings.TrimPrefix(err.Error(), "jsv: ")})
	}
	return in
}

// set stores one property, or records why it cannot be.
func (in *UsageEventInput) set(key string, v wireValue, seen map[eventProp]string) {
	p, ok := lookupEventProp(key)
	if !ok {
		name := strings.ToValidUTF8(strings.ReplaceAll(key, "\x00", ""), "\uFFFD")
		in.problems = append(in.problems, FieldError{Field: name, Code: CodeInvalid,
			Message: fmt.Sprintf("%s is not a property of a usage event (%s)", name, strings.Join(eventProps[:], ", "))})
		return
	}
	name := eventProps[p]
	fail := func(message string) {
		if in.bad&(1<<p) == 0 {
			in.problems = append(in.problems, FieldError{Field: name, Code: CodeInvalid, Message: name + " " + message})
		}
		in.bad |= 1 << p
	}
	if first, dup := seen[p]; dup {
		fail(fmt.Sprintf("is given more than once (as %q and %q): the event is ambiguous", first, key))
		return
	}
	seen[p] = key
	numeric := p == propCount || p == propUsage || p == propPrice
	switch {
	case v.kind == wireNull:
		return
	case v.problem != "":
		fail(v.problem)
		return
	case v.kind == wireOther, v.kind == wireNumber && !numeric:
		if numeric {
			fail("must be a number or a decimal string")
		} else {
			fail("must be a string")
		}
		return
	}
	if problem := TextProblem(v.text); problem != "" {
		fail(problem)
		return
	}
	if numeric && len(v.text) > MaxNumberLength {
		fail(fmt.Sprintf("is longer than %d characters", MaxNumberLength))
		return
	}
	*in.field(p) = v.text
}

func (in *UsageEventInput) field(p eventProp) *string {
	return [...]*string{&in.ID, &in.AccountSid, &in.Category, &in.OccurredAt, &in.Count, &in.Usage, &in.Price, &in.Currency}[p]
}

// lookupEventProp matches a property name in any ASCII letter case, as
// ServiceStack binds names; other Unicode folds ("ſ" for "s") do not match.
func lookupEventProp(key string) (eventProp, bool) {
	for i, name := range eventProps {
		if len(key) == len(name) && asciiEqualFold(key, name) {
			return eventProp(i), true
		}
	}
	return 0, false
}

func asciiEqualFold(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
