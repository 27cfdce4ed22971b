package usage

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/evovoice/billing/models"
)

// Params reads query parameters by name in any letter case, as ServiceStack
// binds them (its clients send accountId for AccountId). An empty value counts
// as absent; a name given twice with different values is an error.
type Params struct {
	values url.Values
	errs   *models.ValidationError
}

// NewParams reads v, adding every problem to errs.
func NewParams(v url.Values, errs *models.ValidationError) Params {
	return Params{values: v, errs: errs}
}

// HasKey reports whether v names a parameter in any letter case, even
// with an empty value.
func HasKey(v url.Values, name string) bool {
	for k := range v {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// Get returns the parameter's value, or "" when it is absent or empty. A
// value that is not text (invalid UTF-8, NUL) is reported here, for every
// parameter of both faces, before anything can carry it to the database.
func (p Params) Get(name string) string {
	v := p.Raw(name)
	if problem := models.TextProblem(v); problem != "" {
		p.errs.Add(name, models.CodeInvalid, name+" "+problem)
		return ""
	}
	return v
}

// Raw is get without the text check, for values decoded further (a JSV
// list of events) whose own decoder checks each piece.
func (p Params) Raw(name string) string {
	var found string
	for k, vs := range p.values {
		if !strings.EqualFold(k, name) {
			continue
		}
		for _, v := range vs {
			if v == "" {
				continue
			}
			if found != "" && v != found {
				p.errs.Add(name, models.CodeInvalid, fmt.Sprintf("%s is given more than once with different values", name))
				return ""
			}
			found = v
		}
	}
	return found
}

// Date reads an optional date parameter (YYYY-MM-DD or ±Ndays).
func (p Params) Date(name string, today models.Date) *models.Date {
	return ParseDate(p.errs, name, p.Get(name), today)
}

// Category reads an optional category parameter.
func (p Params) Category(name string) *models.Category {
	return ParseCategory(p.errs, name, p.Get(name))
}

// ParseDate reads an optional date (YYYY-MM-DD or ±Ndays); "" is absent.
func ParseDate(errs *models.ValidationError, name, s string, today models.Date) *models.Date {
	if s == "" {
		return nil
	}
	d, err := models.ParseDateParam(s, today)
	if err != nil {
		errs.Add(name, models.CodeInvalid, fmt.Sprintf("%s: %v; use %s", name, err, models.DateForms))
		return nil
	}
	return &d
}

// ParseAccount reads an optional account SID; "" is absent.
func ParseAccount(errs *models.ValidationError, name, s string) string {
	if s == "" {
		return ""
	}
	sid, ok := models.NormalizeAccountSid(s)
	if !ok {
		errs.Add(name, models.CodeInvalid, fmt.Sprintf("%s %q is not an account SID (AC followed by 32 hex digits)", name, s))
	}
	return sid
}

// ParseCategory reads an optional category; "" is absent.
func ParseCategory(errs *models.ValidationError, name, s string) *models.Category {
	if s == "" {
		return nil
	}
	c, ok := models.ParseCategory(s)
	if !ok {
		errs.Add(name, models.CodeInvalid, fmt.Sprintf("%s %q is not a usage category; valid categories are %s", name, s, strings.Join(models.CategoryNames(), ", ")))
		return nil
	}
	return &c
}

// CheckOrder rejects a range whose start is after its end.
func CheckOrder(errs *models.ValidationError, start, end *models.Date) {
	if start != nil && end != nil && *start > *end {
		errs.Add("StartDate", models.CodeInvalid, fmt.Sprintf("StartDate %s is after EndDate %s", *start, *end))
	}
}
