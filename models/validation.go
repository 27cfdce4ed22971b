package models

import "strings"

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
