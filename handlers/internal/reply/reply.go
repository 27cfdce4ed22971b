// Package reply writes answers for both API faces: one place sets the
// headers every answer carries, recycles encoding buffers, and turns an
// error into the neutral problem each face renders.
package reply

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/evovoice/billing/handlers/internal/problem"
	"github.com/labstack/echo/v4"
)

// Content types of the answers.
const (
	JSON = "application/json; charset=utf-8"
	XML  = "application/xml; charset=utf-8"
	CSV  = "text/csv; charset=utf-8"
)

// Body sends a complete answer: exact Content-Length, and Vary: Accept
// because on both faces the same URL answers in the format Accept asks for.
func Body(c echo.Context, status int, contentType string, body []byte) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	h.Add(echo.HeaderVary, echo.HeaderAccept)
	h.Set(echo.HeaderXContentTypeOptions, "nosniff")
	return c.Blob(status, contentType, body)
}

// WriteJSON answers with compact JSON.
func WriteJSON(c echo.Context, status int, v any) error {
	body, err := AppendJSON(nil, v)
	if err != nil {
		return err
	}
	return Body(c, status, JSON, body)
}

// AppendJSON is encoding/json's compact output without HTML escaping, so
// that a URI keeps its &.
func AppendJSON(dst []byte, v any) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// bufferPool recycles encoding buffers; very large ones are dropped so that
// one big answer does not pin its memory.
var bufferPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

const maxPooledBuffer = 1 << 20

// Encoded encodes an answer into a pooled buffer and sends it.
func Encoded(c echo.Context, status int, contentType string, encode func([]byte) ([]byte, error)) error {
	bp := bufferPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooledBuffer {
			bufferPool.Put(bp)
		}
	}()
	body, err := encode((*bp)[:0])
	if err != nil {
		return err
	}
	*bp = body
	return Body(c, status, contentType, body)
}

// Problem classifies a request's error for a face to render: internal
// detail goes to the log (tagged with the request id, which the client's
// message quotes), and a 503 tells the client when to retry.
func Problem(c echo.Context, log *slog.Logger, dbDown func(error) bool, err error) *problem.Problem {
	p, logged := problem.Of(err, dbDown)
	id := c.Response().Header().Get(echo.HeaderXRequestID)
	if logged {
		log.LogAttrs(c.Request().Context(), slog.LevelError, "request failed",
			slog.String("id", id), slog.String("path", c.Request().URL.Path), slog.String("err", err.Error()))
	}
	if p.Status == http.StatusInternalServerError {
		q := *p
		q.Message += "; quote request id " + id
		p = &q
	}
	if p.Status == http.StatusServiceUnavailable {
		c.Response().Header().Set("Retry-After", "1")
	}
	return p
}
