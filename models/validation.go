package models

import (
	"fmt"
	"strings"
)

// Error codes carried by field errors, as ServiceStack clients see them.
const (
	CodeRequired = "Required"
	CodeInvalid  = "Invalid"
	CodeNotFound = "NotFound"
	CodeConflict = "Conflict"
)

// FieldError says what is wrong with one input field.
type FieldError struct {
	Field   string
	Code    string
	Message string

	// event is the index+1 of the batch event concerned (0: none), local
	// the message as it reads within that event ("id is required").
	event int
	local string
}

// Event says which event of a batch the error concerns, by index, and the
// message without the event's name, so that callers holding the batch's
// source (file lines, queue messages) can restate it without reading text.
func (f FieldError) Event() (index int, message string, ok bool) {
	return f.event - 1, f.local, f.event > 0
}

// ValidationError lists every bad field of one input, not just the first.
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, f := range e.Errors {
		msgs[i] = f.Message
	}
	return strings.Join(msgs, "; ")
}

// Add records one bad field.
func (e *ValidationError) Add(field, code, message string) {
	e.Errors = append(e.Errors, FieldError{Field: field, Code: code, Message: message})
}

// AddEvent records a bad field of event i of a batch: field "id" becomes
// events[i].id ("" names the event itself) and message "id is required"
// becomes "events[i].id is required".
func (e *ValidationError) AddEvent(i int, field, code, message string) {
	name, sep := fmt.Sprintf("events[%d]", i), ": "
	if field != "" {
		name += "." + field
		sep = "."
	}
	full := fmt.Sprintf("events[%d]%s%s", i, sep, message)
	e.Errors = append(e.Errors, FieldError{Field: name, Code: code, Message: full, event: i + 1, local: message})
}

// Err returns the error when any field was bad, else nil.
func (e *ValidationError) Err() error {
	if len(e.Errors) == 0 {
		return nil
	}
	return e
}

// ConflictError lists events whose id was already stored with other content.
type ConflictError struct {
	ValidationError
}
