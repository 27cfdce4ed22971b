package servicestack

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers/internal/problem"
	"github.com/evovoice/billing/jsv"
	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
)

// RecordUsageEvents is the ingestion request: {"events":[…]}, each event an
// object with id, accountSid, category, occurredAt and optional count,
// usage, price (numbers or decimal strings) and currency.
type RecordUsageEvents struct {
	Events []json.RawMessage `json:"events"`

	inputs []models.UsageEventInput // the events, decoded from their bytes
}

// RecordUsageEventsResponse says what happened to an accepted batch.
type RecordUsageEventsResponse struct {
	Accepted         int   `json:"accepted"`
	Duplicates       int   `json:"duplicates"`
	DuplicateIndexes []int `json:"duplicateIndexes"`
}

// recordUsageEventsOp registers RecordUsageEvents.
func (f *Face) recordUsageEventsOp() Operation {
	return newOperation(Operation{
		Name:      "RecordUsageEvents",
		Method:    http.MethodPost,
		Path:      "/billing/usage/events",
		Roles:     []string{auth.RoleSystemAdministrator},
		Summary:   fmt.Sprintf("Ingests up to %d usage events, all or nothing; an id already stored with the same content is a duplicate.", models.MaxBatchEvents),
		BodyLimit: eventsBodyLimit,
		Example:   exampleRecordUsageEvents,
	}, bindRecordUsageEvents, f.recordUsageEvents)
}

// bindRecordUsageEvents reads the batch strictly: a property other than
// events is an error, so that a misspelt field is never silently dropped.
// Each event is kept as its bytes and decoded by the models' strict decoder
// of its format, which sees what encoding/json would have repaired.
func bindRecordUsageEvents(in *Input) (RecordUsageEvents, error) {
	var r RecordUsageEvents
	var err error
	if in.bodyFormat == formatJSON {
		if err = in.DecodeBody(&r, true); err == nil {
			r.inputs = make([]models.UsageEventInput, len(r.Events))
			for i, raw := range r.Events {
				r.inputs[i] = models.DecodeUsageEventJSON(raw)
			}
		}
	} else { // JSV, in the body or in a form's events field
		var b struct {
			Events []jsv.RawMessage `json:"events"`
		}
		if err = in.DecodeBody(&b, true); err == nil {
			r.inputs = make([]models.UsageEventInput, len(b.Events))
			for i, raw := range b.Events {
				r.inputs[i] = models.DecodeUsageEventJSV(raw)
			}
		}
	}
	if err != nil {
		return r, problem.BadRequest("events", models.CodeInvalid, `the body must be one object {"events":[…]} with no other fields`)
	}
	if len(r.inputs) > models.MaxBatchEvents {
		return r, problem.BadRequest("events", models.CodeInvalid, fmt.Sprintf("a batch holds at most %d events, this one has %d", models.MaxBatchEvents, len(r.inputs)))
	}
	return r, nil
}

// recordUsageEvents validates every event (reporting each bad one by index)
// and stores the batch.
func (f *Face) recordUsageEvents(c echo.Context, r RecordUsageEvents) (RecordUsageEventsResponse, error) {
	events, err := models.ValidateBatch(r.inputs)
	if err != nil {
		return RecordUsageEventsResponse{}, err
	}
	res, err := f.store.RecordUsageEvents(c.Request().Context(), events)
	if err != nil {
		return RecordUsageEventsResponse{}, err
	}
	if f.ingested != nil {
		f.ingested(res.Accepted, len(res.Duplicates))
	}
	out := RecordUsageEventsResponse{Accepted: res.Accepted, Duplicates: len(res.Duplicates), DuplicateIndexes: res.Duplicates}
	if out.DuplicateIndexes == nil {
		out.DuplicateIndexes = []int{}
	}
	return out, nil
}

// exampleRecordUsageEvents is the /metadata sample.
func exampleRecordUsageEvents() (any, any) {
	ev := json.RawMessage(`{"id":"cdr-1001","accountSid":"AC0000000000000000000000000000d002","category":"calls-outbound","occurredAt":"2024-01-20T14:03:00Z","count":1,"usage":"3","price":"0.039","currency":"usd"}`)
	return RecordUsageEvents{Events: []json.RawMessage{ev}}, RecordUsageEventsResponse{Accepted: 1, DuplicateIndexes: []int{}}
}
