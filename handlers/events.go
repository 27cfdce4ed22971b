package handlers

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
)

// RecordUsageEventsResponse says what happened to an accepted batch.
type RecordUsageEventsResponse struct {
	Accepted         int   `json:"accepted"`
	Duplicates       int   `json:"duplicates"`
	DuplicateIndexes []int `json:"duplicateIndexes"`
}

// recordUsageEvents is RecordUsageEvents: POST {"events":[…]}.
func (a *API) recordUsageEvents(c echo.Context) error {
	inputs, err := decodeEventBatch(c.Request().Body)
	if err != nil {
		return err
	}
	events, err := models.ValidateBatch(inputs)
	if err != nil {
		return err
	}
	res, err := a.store.RecordUsageEvents(c.Request().Context(), events)
	if err != nil {
		return err
	}
	out := RecordUsageEventsResponse{Accepted: res.Accepted, Duplicates: len(res.Duplicates), DuplicateIndexes: res.Duplicates}
	if out.DuplicateIndexes == nil {
		out.DuplicateIndexes = []int{}
	}
	return writeJSON(c, http.StatusOK, out)
}

// decodeEventBatch reads {"events":[…]}; an event that is not a valid JSON
// object is reported by index with the batch's other problems.
func decodeEventBatch(body io.Reader) ([]models.UsageEventInput, error) {
	var batch struct {
		Events []json.RawMessage `json:"events"`
	}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&batch); err != nil {
		return nil, badRequest("events", models.CodeInvalid, `the body must be one JSON object {"events":[…]} with no other fields`)
	}
	if len(batch.Events) > models.MaxBatchEvents {
		return nil, badRequest("events", models.CodeInvalid, fmt.Sprintf("a batch holds at most %d events, this one has %d", models.MaxBatchEvents, len(batch.Events)))
	}
	inputs := make([]models.UsageEventInput, len(batch.Events))
	for i, raw := range batch.Events {
		inputs[i] = models.DecodeUsageEvent(raw)
	}
	return inputs, nil
}
