package restcomm

import (
	"net/http"
	"strconv"

	"github.com/evovoice/billing/handlers/openapi"
)

// The Usage Triggers resource (triggers.go): Twilio's create, list,
// fetch, update and delete.

const tagUsageTriggers = "Usage Triggers"

func triggersOpenAPI(paths map[string]openapi.PathItem, v version) {
	acct := openapi.ParamRef("AccountSid")
	sid := openapi.Parameter{Name: "Sid", In: "path", Required: true, Schema: openapi.Schema{"type": "string", "pattern": "^UT[0-9a-fA-F]{32}$"}}
	form := func(required ...string) *openapi.RequestBody {
		s := object(map[string]any{
			"CallbackUrl":    openapi.Schema{"type": "string", "format": "uri"},
			"CallbackMethod": openapi.AnyCase("GET", "POST"),
			"FriendlyName":   str(),
		})
		s["required"] = append([]string{}, required...)
		if len(required) > 0 { // create
			props := s["properties"].(map[string]any)
			props["TriggerValue"] = openapi.Schema{"type": "string", "description": "a decimal; the trigger fires when the value reaches it"}
			props["UsageCategory"] = openapi.CategoryParam()
			props["Recurring"] = openapi.AnyCase("daily", "monthly", "yearly", "alltime", "")
			props["TriggerBy"] = openapi.AnyCase("count", "usage", "price")
		}
		return &openapi.RequestBody{Required: len(required) > 0, Content: map[string]openapi.MediaType{"application/x-www-form-urlencoded": {Schema: s}}}
	}
	op := func(verb, name, sfx, summary string, params []openapi.Parameter, ok int, okSchema string, errs ...int) *openapi.Operation {
		o := &openapi.Operation{
			OperationID: operationID(verb, v, name, sfx), Summary: summary,
			Tags: []string{tagUsageTriggers}, Security: security, Parameters: params, Responses: openapi.Responses{},
		}
		r := openapi.Response{Description: http.StatusText(ok)}
		if okSchema != "" {
			r.Content = content(sfx, openapi.Ref(okSchema))
		}
		o.Responses[strconv.Itoa(ok)] = r
		addErrors(o, sfx, append(errs, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
			http.StatusMethodNotAllowed, http.StatusInternalServerError, http.StatusServiceUnavailable)...)
		return o
	}
	list := []openapi.Parameter{acct,
		{Name: "Recurring", In: "query", Schema: openapi.AnyCase("daily", "monthly", "yearly", "alltime")},
		{Name: "TriggerBy", In: "query", Schema: openapi.AnyCase("count", "usage", "price")},
		{Name: "UsageCategory", In: "query", Schema: openapi.CategoryParam()},
		openapi.ParamRef("PageSize"), openapi.ParamRef("Page"), openapi.ParamRef("PageToken"),
	}
	for _, sfx := range []string{"", ".json", ".xml"} {
		base := v.prefix + "/Accounts/{AccountSid}/Usage/Triggers"
		create := op("create", "Triggers", sfx, "Creates a usage trigger", []openapi.Parameter{acct}, http.StatusCreated, "TwilioUsageTrigger", http.StatusBadRequest, http.StatusRequestEntityTooLarge)
		create.RequestBody = form("CallbackUrl", "TriggerValue", "UsageCategory")
		paths[base+sfx] = openapi.PathItem{
			"get":  op("list", "Triggers", sfx, "Lists usage triggers", list, http.StatusOK, "TwilioUsageTriggersPage", http.StatusBadRequest),
			"post": create,
		}
		one := []openapi.Parameter{acct, sid}
		update := op("update", "Trigger", sfx, "Updates a usage trigger's callback or name", one, http.StatusOK, "TwilioUsageTrigger", http.StatusBadRequest, http.StatusRequestEntityTooLarge)
		update.RequestBody = form()
		paths[base+"/{Sid}"+sfx] = openapi.PathItem{
			"get":    op("fetch", "Trigger", sfx, "Fetches a usage trigger", one, http.StatusOK, "TwilioUsageTrigger"),
			"post":   update,
			"delete": op("delete", "Trigger", sfx, "Deletes a usage trigger", one, http.StatusNoContent, ""),
		}
	}
}

func triggerSchemas() map[string]openapi.Schema {
	fields := map[string]any{}
	for _, k := range []string{"account_sid", "api_version", "callback_method", "callback_url", "current_value", "date_created",
		"date_fired", "date_updated", "friendly_name", "recurring", "sid", "trigger_by", "trigger_value", "uri", "usage_category", "usage_record_uri"} {
		fields[k] = openapi.Nullable("string")
	}
	return map[string]openapi.Schema{"TwilioUsageTrigger": object(fields), "TwilioUsageTriggersPage": page("usage_triggers", "TwilioUsageTrigger")}
}
