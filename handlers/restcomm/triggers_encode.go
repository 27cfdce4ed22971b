package restcomm

import (
	"encoding/xml"
	"net/http"
	"time"

	"github.com/evovoice/billing/handlers/internal/reply"
	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
)

// twilioTrigger is a usage trigger on the wire: Twilio's 16 fields, all
// strings, date_fired and recurring null until set (empty elements in XML).
type twilioTrigger struct {
	AccountSid     string     `json:"account_sid" xml:"AccountSid"`
	APIVersion     string     `json:"api_version" xml:"ApiVersion"`
	CallbackMethod string     `json:"callback_method" xml:"CallbackMethod"`
	CallbackURL    string     `json:"callback_url" xml:"CallbackUrl"`
	CurrentValue   string     `json:"current_value" xml:"CurrentValue"`
	DateCreated    string     `json:"date_created" xml:"DateCreated"`
	DateFired      nullString `json:"date_fired" xml:"DateFired"`
	DateUpdated    string     `json:"date_updated" xml:"DateUpdated"`
	FriendlyName   string     `json:"friendly_name" xml:"FriendlyName"`
	Recurring      nullString `json:"recurring" xml:"Recurring"`
	Sid            string     `json:"sid" xml:"Sid"`
	TriggerBy      string     `json:"trigger_by" xml:"TriggerBy"`
	TriggerValue   string     `json:"trigger_value" xml:"TriggerValue"`
	URI            string     `json:"uri" xml:"Uri"`
	UsageCategory  string     `json:"usage_category" xml:"UsageCategory"`
	UsageRecordURI string     `json:"usage_record_uri" xml:"UsageRecordUri"`
}

// newTwilioTrigger renders a trigger under the face it is read on (its
// URIs name that face's prefix); api_version stays the one it was created on.
func newTwilioTrigger(t models.Trigger, v version, now time.Time) twilioTrigger {
	r := t.Resource(v.prefix, now)
	out := twilioTrigger{
		AccountSid: r.AccountSid, APIVersion: r.APIVersion, CallbackMethod: r.CallbackMethod, CallbackURL: r.CallbackURL,
		CurrentValue: r.CurrentValue, DateCreated: r.DateCreated, DateUpdated: r.DateUpdated, FriendlyName: r.FriendlyName,
		Sid: r.Sid, TriggerBy: r.TriggerBy, TriggerValue: r.TriggerValue, URI: r.URI, UsageCategory: r.UsageCategory,
		UsageRecordURI: r.UsageRecordURI,
	}
	if r.DateFired != nil {
		out.DateFired = nullString{s: *r.DateFired, valid: true}
	}
	if r.Recurring != nil {
		out.Recurring = nullString{s: *r.Recurring, valid: true}
	}
	return out
}

// twilioTriggerPage is a page of the list, in Twilio's envelope: the
// paging keys and usage_triggers, nothing else (twilio-node takes the one
// key that is not paging as the list).
type twilioTriggerPage struct {
	version version
	twilioPaging
	Triggers []twilioTrigger `json:"usage_triggers"`
}

// twilioTriggerXML is the XML root holding one trigger or a list.
type twilioTriggerXML struct {
	XMLName xml.Name
	Trigger *twilioTrigger        `xml:"UsageTrigger,omitempty"`
	List    *twilioTriggerListXML `xml:"UsageTriggers,omitempty"`
}

// twilioTriggerListXML carries paging as attributes, as twilioListXML does.
type twilioTriggerListXML struct {
	twilioPagingXML
	Triggers []twilioTrigger `xml:"UsageTrigger"`
}

// writeTrigger answers one trigger in the format the request asked for
// (JSON or XML: the resource has no CSV).
func writeTrigger(c echo.Context, v version, status int, t twilioTrigger) error {
	if requestFormat(c.Request()) == formatJSON {
		return reply.WriteJSON(c, status, t)
	}
	return writeTriggerXML(c, status, twilioTriggerXML{XMLName: xml.Name{Local: v.xmlRoot}, Trigger: &t})
}

func writeTriggerPage(c echo.Context, pg twilioTriggerPage) error {
	if requestFormat(c.Request()) == formatJSON {
		return reply.WriteJSON(c, http.StatusOK, pg)
	}
	l := &twilioTriggerListXML{twilioPagingXML: pg.twilioPaging.xml(), Triggers: pg.Triggers}
	return writeTriggerXML(c, http.StatusOK, twilioTriggerXML{XMLName: xml.Name{Local: pg.version.xmlRoot}, List: l})
}

func writeTriggerXML(c echo.Context, status int, doc twilioTriggerXML) error {
	return reply.Encoded(c, status, contentTypes[formatXML], func(dst []byte) ([]byte, error) { return appendTwilioXML(dst, doc) })
}
