package servicestack

import (
	"github.com/evovoice/billing/handlers/internal/reply"
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
	return reply.AppendJSON(dst, v)
}

// Types with a fixed wire shape (ErrorResponse) write their own XML and CSV.
type (
	xmlAppender interface{ appendXML([]byte) []byte }
	csvAppender interface{ appendCSV([]byte) []byte }
)

// respond answers with v in the negotiated format (JSONP-wrapped when asked).
func respond(c echo.Context, n negotiation, status int, v any) error {
	return reply.Encoded(c, status, n.contentType, func(body []byte) ([]byte, error) { return encodeAnswer(body, n, v) })
}

// encodeAnswer writes v in the negotiated format, JSONP-wrapped when asked.
func encodeAnswer(body []byte, n negotiation, v any) ([]byte, error) {
	if n.callback != "" {
		// The comment guards against content sniffing of the callback name.
		body = append(append(body, "/**/"...), n.callback...)
		body = append(body, '(')
	}
	body, err := encode(body, n.format, v)
	if err != nil {
		return nil, err
	}
	if n.callback != "" {
		body = append(body, ");"...)
	}
	return body, nil
}
