package handlers

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/labstack/echo/v4"
)

// writeJSON answers with compact JSON as ServiceStack writes it: UTF-8, no
// HTML escaping (a URI keeps its &), and an exact Content-Length.
func writeJSON(c echo.Context, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	return c.Blob(status, "application/json; charset=utf-8", body)
}
