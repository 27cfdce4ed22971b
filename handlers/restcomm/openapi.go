package restcomm

import (
	"net/http"
	"strconv"

	"github.com/evovoice/billing/handlers/openapi"
)

const tagUsageRecords = "Usage Records"

// OpenAPI describes the face for /openapi.json: Usage Records and each of
// its views under every prefix, with and without a suffix, and the Usage
// Triggers resource (openapi_triggers.go).
func (f *Face) OpenAPI() openapi.Part {
	p := openapi.Part{
		Tags: []openapi.Tag{{Name: tagUsageRecords, Description: "Twilio's Usage Records (and Restcomm's): " +
			"XML by default, JSON by .json or an Accept header asking for JSON, CSV by .csv; Twilio's paging and errors."}},
		Paths:      map[string]openapi.PathItem{},
		Schemas:    schemas(),
		Responses:  map[string]openapi.Response{},
		Parameters: parameters(),
	}
	for _, sfx := range []string{"", ".json", ".xml", ".csv"} {
		p.Responses[errorResponse(sfx)] = openapi.Response{Description: "Twilio's error", Content: content(sfx, openapi.Ref("TwilioError"))}
	}
	views := append([]subresource{rootRecords}, subresources...)
	for _, v := range versions {
		for _, s := range views {
			base := v.prefix + "/Accounts/{AccountSid}/Usage/Records"
			if s.name != "" {
				base += "/" + s.name
			}
			for _, sfx := range []string{"", ".json", ".xml", ".csv"} {
				p.Paths[base+sfx] = openapi.PathItem{"get": usageRecordsOp(v, s, sfx)}
			}
		}
		triggersOpenAPI(p.Paths, v)
	}
	for k, s := range triggerSchemas() {
		p.Schemas[k] = s
	}
	return p
}

// security is every way in: Basic with an account's auth token, a JWT in
// the header, or the dashboard's cookie.
var security = []openapi.Requirement{{openapi.BasicAuth: {}}, {openapi.BearerJWT: {}}, {openapi.SessionCookie: {}}}

func usageRecordsOp(v version, s subresource, sfx string) *openapi.Operation {
	name := s.name
	if name == "" {
		name = "Records"
	}
	summary := "Usage records: one per category over a range of days"
	switch {
	case s.window != nil:
		summary = "Usage records of a fixed window (" + s.name + "): one per category"
	case s.granularity != rootRecords.granularity:
		summary = "Usage records bucketed " + s.name + ": one per category and " + s.name + " period"
	}
	params := []openapi.Parameter{openapi.ParamRef("AccountSid"), openapi.ParamRef("Category")}
	if s.window == nil {
		params = append(params, openapi.ParamRef("StartDate"), openapi.ParamRef("EndDate"))
	}
	params = append(params, openapi.ParamRef("IncludeSubaccounts"), openapi.ParamRef("PageSize"), openapi.ParamRef("Page"), openapi.ParamRef("PageToken"))
	o := &openapi.Operation{
		OperationID: operationID("list", v, name, sfx),
		Summary:     summary,
		Description: "Under " + v.prefix + " (api_version " + v.apiVersion + ", XML root " + v.xmlRoot + ").",
		Tags:        []string{tagUsageRecords},
		Security:    security,
		Parameters:  params,
		Responses:   openapi.Responses{"200": {Description: "A page of usage records", Content: content(sfx, openapi.Ref("TwilioUsageRecordsPage"))}},
	}
	addErrors(o, sfx, http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusMethodNotAllowed, http.StatusInternalServerError, http.StatusServiceUnavailable)
	return o
}

// operationID is unique and URL-safe: list_2010-04-01_Daily_json.
func operationID(verb string, v version, name, sfx string) string {
	id := verb + "_" + v.prefix[1:] + "_" + name
	if sfx != "" {
		id += "_" + sfx[1:]
	}
	for i := range len(id) {
		if id[i] == '/' {
			id = id[:i] + "_" + id[i+1:]
		}
	}
	return id
}

// content is what a path with this suffix answers: the suffix's format, or
// XML and (by Accept) JSON without one. XML and CSV are described as text.
func content(sfx string, schema openapi.Schema) map[string]openapi.MediaType {
	xml := openapi.MediaType{Schema: openapi.Schema{"type": "string", "description": "Twilio's XML"}}
	switch sfx {
	case ".json":
		return map[string]openapi.MediaType{"application/json": {Schema: schema}}
	case ".xml":
		return map[string]openapi.MediaType{"application/xml": xml}
	case ".csv":
		return map[string]openapi.MediaType{"text/csv": {Schema: openapi.Schema{"type": "string", "description": "CSV with a header row"}}}
	}
	return map[string]openapi.MediaType{"application/xml": xml, "application/json": {Schema: schema}}
}

func addErrors(o *openapi.Operation, sfx string, statuses ...int) {
	for _, s := range statuses {
		o.Responses[strconv.Itoa(s)] = openapi.ResponseRef(errorResponse(sfx))
	}
}

// errorResponse names the shared error response of a suffix.
func errorResponse(sfx string) string {
	if sfx == "" {
		return "TwilioError"
	}
	return "TwilioError_" + sfx[1:]
}

// parameters are the query parameters the face's lists share.
func parameters() map[string]openapi.Parameter {
	return map[string]openapi.Parameter{
		"AccountSid":         {Name: "AccountSid", In: "path", Required: true, Schema: openapi.AccountSid()},
		"Category":           {Name: "Category", In: "query", Schema: openapi.CategoryParam()},
		"StartDate":          {Name: "StartDate", In: "query", Schema: openapi.Date(), Example: "2024-01-01"},
		"EndDate":            {Name: "EndDate", In: "query", Schema: openapi.Date(), Example: "2024-01-31"},
		"IncludeSubaccounts": {Name: "IncludeSubaccounts", In: "query", Description: "true by default", Schema: openapi.Schema{"type": "boolean"}},
		"PageSize":           {Name: "PageSize", In: "query", Schema: openapi.Schema{"type": "integer", "minimum": 1, "maximum": maxPageSize, "default": defaultPageSize}},
		"Page":               {Name: "Page", In: "query", Schema: openapi.Schema{"type": "integer", "minimum": 0, "maximum": maxRecordsPage}},
		"PageToken":          {Name: "PageToken", In: "query", Description: "From next_page_uri or previous_page_uri.", Schema: openapi.Schema{"type": "string"}},
	}
}

func str() openapi.Schema { return openapi.Schema{"type": "string"} }

func object(props map[string]any) openapi.Schema {
	required := make([]string, 0, len(props))
	for k := range props {
		required = append(required, k)
	}
	return openapi.Schema{"type": "object", "properties": props, "required": required}
}

func schemas() map[string]openapi.Schema {
	views := map[string]any{}
	for _, s := range subresources {
		views[s.key] = str()
	}
	apiVersions := []string{}
	for _, v := range versions {
		if len(apiVersions) == 0 || apiVersions[len(apiVersions)-1] != v.apiVersion {
			apiVersions = append(apiVersions, v.apiVersion)
		}
	}
	return map[string]openapi.Schema{
		"TwilioUsageRecord": object(map[string]any{
			"account_sid": openapi.AccountSid(), "api_version": openapi.Schema{"type": "string", "enum": apiVersions},
			"as_of":    openapi.Schema{"type": "string", "description": "when the answer was computed, e.g. 2024-03-15T12:00:00+00:00"},
			"category": openapi.Category(), "count": openapi.Nullable("string"), "count_unit": str(), "description": str(),
			"end_date": openapi.Day(), "price": openapi.Schema{"type": "string", "description": "an exact decimal"},
			"price_unit": str(), "start_date": openapi.Day(), "subresource_uris": object(views),
			"uri": str(), "usage": openapi.Schema{"type": "string", "description": "an exact decimal"}, "usage_unit": str(),
		}),
		"TwilioUsageRecordsPage": page("usage_records", "TwilioUsageRecord"),
		"TwilioError": object(map[string]any{
			"code": openapi.Schema{"type": "integer"}, "message": str(),
			"more_info": openapi.Schema{"type": "string", "format": "uri"}, "status": openapi.Schema{"type": "integer"},
		}),
	}
}

// page is Twilio's list envelope with the list under key.
func page(key, item string) openapi.Schema {
	return object(map[string]any{
		"end": openapi.Schema{"type": "integer"}, "first_page_uri": str(), "next_page_uri": openapi.Nullable("string"),
		"page": openapi.Schema{"type": "integer"}, "page_size": openapi.Schema{"type": "integer"},
		"previous_page_uri": openapi.Nullable("string"), "start": openapi.Schema{"type": "integer"}, "uri": str(),
		key: openapi.Schema{"type": "array", "items": openapi.Ref(item)},
	})
}
