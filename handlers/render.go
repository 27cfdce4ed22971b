package handlers

import (
	"bytes"
	"encoding/json"
	"strconv"
	"sync"

	"github.com/evovoice/billing/jsv"
	"github.com/labstack/echo/v4"
)

// encode renders a response value in a format. JSON is encoding/json's
// compact output without HTML escaping (a URI keeps its &), written by hand
// for the hottest answer (UsageRecords); JSV uses the
// value's own AppendJSV when it has one (the hot path, no reflection) and
// jsv.Append otherwise; XML and CSV are written from the value's fields.
func encode(dst []byte, f format, v any) ([]byte, error) {
	if w, ok := v.(xmlAppender); ok && f == formatXML {
		return w.appendXML(dst), nil
	}
	if w, ok := v.(csvAppender); ok && f == formatCSV {
		return w.appendCSV(dst), nil
	}
	if w, ok := v.(jsonAppender); ok && f == formatJSON {
		return w.appendJSON(dst), nil
	}
	switch f {
	case formatJSV:
		if a, ok := v.(jsv.Appender); ok {
			return a.AppendJSV(dst), nil
		}
		return jsv.Append(dst, v)
	case formatXML:
		return appendXML(dst, v)
	case formatCSV:
		return appendCSV(dst, v)
	}
	return appendJSON(dst, v)
}

// Types with a fixed wire shape (ErrorResponse) write their own XML and CSV.
type (
	xmlAppender interface{ appendXML([]byte) []byte }
	csvAppender interface{ appendCSV([]byte) []byte }
)

func appendJSON(dst []byte, v any) ([]byte, error) {
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

func releaseBuffer(bp *[]byte) {
	if cap(*bp) <= maxPooledBuffer {
		bufferPool.Put(bp)
	}
}

// respond answers with v in the negotiated format (JSONP-wrapped when asked).
func respond(c echo.Context, n negotiation, status int, v any) error {
	bp := bufferPool.Get().(*[]byte)
	defer releaseBuffer(bp)
	body := (*bp)[:0]
	if n.callback != "" {
		// The comment guards against content sniffing of the callback name.
		body = append(append(body, "/**/"...), n.callback...)
		body = append(body, '(')
	}
	body, err := encode(body, n.format, v)
	if err != nil {
		return err
	}
	if n.callback != "" {
		body = append(body, ");"...)
	}
	*bp = body
	return writeBody(c, status, n.contentType, body)
}

// writeBody sends a complete answer: exact Content-Length, and Vary: Accept
// because the same URL answers in the format Accept asks for.
func writeBody(c echo.Context, status int, contentType string, body []byte) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	h.Add(echo.HeaderVary, echo.HeaderAccept)
	h.Set(echo.HeaderXContentTypeOptions, "nosniff")
	return c.Blob(status, contentType, body)
}

// writeJSON answers with compact JSON (routes that are not operations).
func writeJSON(c echo.Context, status int, v any) error {
	body, err := appendJSON(nil, v)
	if err != nil {
		return err
	}
	return writeBody(c, status, ctJSON, body)
}
