package models

import (
	"errors"
	"fmt"
)

// ErrNotFound is what storage returns for a named row that does not exist.
var ErrNotFound = errors.New("not found")

// UsageQuery selects rolled-up usage: the accounts whose usage is summed, the
// range, and the stored categories to read (nil reads every category).
type UsageQuery struct {
	Accounts   []string
	Range      DateRange
	Categories []string
}

// IngestResult says what happened to an accepted batch of events.
type IngestResult struct {
	Accepted   int   // newly stored
	Duplicates []int // indexes of events already stored with the same content
}

// MaxBatchEvents is the most events one ingestion call takes.
const MaxBatchEvents = 10_000

// ValidateBatch checks every event of a batch and reports every problem, each
// named events[i].field. It is the first half of ingestion, shared by the API
// and the command line; storage does the second.
func ValidateBatch(inputs []UsageEventInput) ([]UsageEvent, error) {
	var errs ValidationError
	if len(inputs) == 0 {
		errs.Add("events", CodeRequired, "events is required: send at least one event")
	}
	if len(inputs) > MaxBatchEvents {
		errs.Add("events", CodeInvalid, fmt.Sprintf("a batch holds at most %d events, this one has %d", MaxBatchEvents, len(inputs)))
		return nil, &errs
	}
	events := make([]UsageEvent, len(inputs))
	for i, in := range inputs {
		ev, bad := in.Validate()
		for _, f := range bad.Errors {
			errs.AddEvent(i, f.Field, f.Code, f.Message)
		}
		events[i] = ev
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return events, nil
}
