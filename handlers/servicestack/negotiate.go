package servicestack

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/evovoice/billing/handlers/internal/problem"
	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
)

// format is a ServiceStack wire format.
type format int

const (
	formatJSON format = iota + 1
	formatJSV
	formatXML
	formatCSV
)

// formatNames are the formats by their suffix and ?format= names.
var formatNames = [...]string{formatJSON: "json", formatJSV: "jsv", formatXML: "xml", formatCSV: "csv"}

const formatList = "json, jsv, xml or csv"

func (f format) String() string { return formatNames[f] }

// parseFormat reads a suffix or ?format= value in any letter case.
func parseFormat(s string) (format, bool) {
	for f := formatJSON; f <= formatCSV; f++ {
		if strings.EqualFold(s, formatNames[f]) {
			return f, true
		}
	}
	return 0, false
}

// Content types we answer with.
const (
	ctJSON    = "application/json; charset=utf-8"
	ctJSVText = "text/jsv; charset=utf-8"
	ctJSVApp  = "application/jsv; charset=utf-8"
	ctXML     = "application/xml; charset=utf-8"
	ctCSV     = "text/csv; charset=utf-8"
	ctJSONP   = "text/javascript; charset=utf-8"
)

// negotiation is how one request is answered.
type negotiation struct {
	format      format
	contentType string
	callback    string // the JSONP function, "" without JSONP
}

var defaultNegotiation = negotiation{format: formatJSON, contentType: ctJSON}

const negotiationKey = "handlers.negotiation"

// negotiationOf is what was decided for the request, or a best effort for
// requests that never reached an operation (unknown routes, early failures):
// ?format= or Accept when they name a format, else JSON.
func negotiationOf(c echo.Context) negotiation {
	if n, ok := c.Get(negotiationKey).(negotiation); ok {
		return n
	}
	n, err := negotiate(c.Request(), 0, 0)
	if err != nil || n.callback != "" {
		return defaultNegotiation
	}
	return n
}

// negotiate decides the format of an answer. A route suffix (.jsv) wins over
// ?format=, which wins over the format a predefined route names in its path
// (/xml/reply/…, /api/… for JSON), which wins over Accept; without any of
// them the answer is JSON. ?callback= asks for JSONP, which is JSON.
func negotiate(r *http.Request, suffix, pathFormat format) (negotiation, error) {
	q := r.URL.Query()
	accept := parseAccept(strings.Join(r.Header.Values("Accept"), ","))
	callback := queryValue(q, "callback")
	n := negotiation{format: suffix}
	if n.format == 0 {
		if name := queryValue(q, "format"); name != "" {
			// ServiceStack drops a ".modifier" after the format name.
			name, _, _ = strings.Cut(name, ".")
			f, ok := parseFormat(name)
			if !ok {
				return defaultNegotiation, problem.BadRequest("format", models.CodeInvalid, fmt.Sprintf("Unknown format %q: use %s", name, formatList))
			}
			n.format = f
		}
	}
	switch {
	case n.format != 0:
	case pathFormat != 0:
		n.format = pathFormat
	case callback != "":
		n.format = formatJSON
	default:
		offer, ok := accept.choose()
		if !ok {
			return defaultNegotiation, &problem.Problem{Status: http.StatusNotAcceptable, Code: "NotAcceptable",
				Message: "None of the media types in Accept is available: use application/json, application/xml, text/jsv (or application/jsv) or text/csv"}
		}
		n.format, n.contentType = offer.format, offer.contentType
	}
	if n.contentType == "" {
		n.contentType = contentTypeOf(n.format, accept)
	}
	if callback != "" {
		if err := checkJSONP(r, callback, n.format); err != nil {
			return defaultNegotiation, err
		}
		n.callback, n.contentType = callback, ctJSONP
	}
	return n, nil
}

// queryValue reads a query parameter by name in any letter case.
func queryValue(q map[string][]string, name string) string {
	for k, vs := range q {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// contentTypeOf is the Content-Type of a format chosen by suffix, ?format= or
// path: JSV is text/jsv unless the client's Accept asks for application/jsv.
func contentTypeOf(f format, accept acceptList) string {
	switch f {
	case formatJSV:
		if app := accept.quality("application", "jsv"); app.specificity == 2 && app.q > 0 && app.q >= accept.quality("text", "jsv").q {
			return ctJSVApp
		}
		return ctJSVText
	case formatXML:
		return ctXML
	case formatCSV:
		return ctCSV
	}
	return ctJSON
}

// jsIdentifierPath is a plain JavaScript identifier path: cb, app.onUsage.
var jsIdentifierPath = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$`)

// checkJSONP admits JSONP only where it cannot leak data across sites: the
// caller authenticates with the Authorization header (a page on another site
// can make a browser send cookies with a <script> request, never headers),
// names a plain function, and asks for JSON.
func checkJSONP(r *http.Request, callback string, f format) error {
	switch {
	case len(callback) > 128 || !jsIdentifierPath.MatchString(callback):
		return problem.BadRequest("callback", models.CodeInvalid, "callback must be a plain JavaScript identifier path such as onUsage or app.onUsage")
	case f != formatJSON:
		return problem.BadRequest("callback", models.CodeInvalid, "JSONP answers are JSON: drop the "+f.String()+" format or the callback")
	case !hasBearerHeader(r):
		return problem.BadRequest("callback", models.CodeInvalid, "JSONP is only answered to requests authenticated with an Authorization: Bearer header, never by cookie")
	}
	return nil
}

func hasBearerHeader(r *http.Request) bool {
	scheme, token, _ := strings.Cut(r.Header.Get(echo.HeaderAuthorization), " ")
	return strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(token) != ""
}

// mediaRange is one entry of an Accept header.
type mediaRange struct {
	typ, sub string
	q        float64
}

type acceptList []mediaRange

// parseAccept reads an Accept header (RFC 9110 §12.5.1): media ranges with
// optional q weights; malformed entries are skipped.
func parseAccept(h string) acceptList {
	var out acceptList
	for part := range strings.SplitSeq(h, ",") {
		mt, params, _ := strings.Cut(part, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		if mt == "" {
			continue
		}
		if mt == "*" { // seen from old clients
			mt = "*/*"
		}
		typ, sub, ok := strings.Cut(mt, "/")
		if !ok || typ == "" || sub == "" || (typ == "*" && sub != "*") {
			continue
		}
		r := mediaRange{typ: typ, sub: sub, q: 1}
		for p := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(p, "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || q < 0 || q > 1 {
					q = -1
				}
				r.q = q
			}
		}
		if r.q < 0 {
			continue
		}
		out = append(out, r)
	}
	return out
}

// match is how an Accept list rates one media type: the weight of the most
// specific range that covers it (2 exact, 1 type/*, 0 */*), and that range's
// position in the header; specificity -1 means no range covers it.
type match struct {
	q           float64
	specificity int
	position    int
}

func (a acceptList) quality(typ, sub string) match {
	best := match{specificity: -1}
	for i, r := range a {
		s := -1
		switch {
		case r.typ == typ && r.sub == sub:
			s = 2
		case r.typ == typ && r.sub == "*":
			s = 1
		case r.typ == "*":
			s = 0
		}
		if s > best.specificity {
			best = match{q: r.q, specificity: s, position: i}
		}
	}
	return best
}

// offer is a media type we can answer with, in our order of preference.
type offer struct {
	typ, sub    string
	format      format
	contentType string
	aliasOnly   bool // matched only when named exactly, never by a wildcard
}

var offers = []offer{
	{"application", "json", formatJSON, ctJSON, false},
	{"application", "xml", formatXML, ctXML, false},
	{"text", "jsv", formatJSV, ctJSVText, false},
	{"application", "jsv", formatJSV, ctJSVApp, false},
	{"text", "csv", formatCSV, ctCSV, false},
	{"text", "xml", formatXML, ctXML, true},
}

// choose picks the offer the client rates highest; ties go to the more
// specific range, then to the range listed first, then to our preference.
// Without an Accept header (or only malformed ones) the answer is JSON.
func (a acceptList) choose() (offer, bool) {
	if len(a) == 0 {
		return offers[0], true
	}
	var best offer
	var bestM match
	found := false
	for _, o := range offers {
		m := a.quality(o.typ, o.sub)
		if m.specificity < 0 || m.q <= 0 || (o.aliasOnly && m.specificity < 2) {
			continue
		}
		if !found || m.q > bestM.q ||
			(m.q == bestM.q && (m.specificity > bestM.specificity ||
				(m.specificity == bestM.specificity && m.position < bestM.position))) {
			best, bestM, found = o, m, true
		}
	}
	return best, found
}
