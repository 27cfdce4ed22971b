package handlers

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/evovoice/billing/models"
)

// params reads query parameters by name in any letter case, as ServiceStack
// binds them (its clients send accountId for AccountId). An empty value counts
// as absent; a name given twice with different values is an error.
type params struct {
	values url.Values
	errs   *models.ValidationError
}

func newParams(v url.Values, errs *models.ValidationError) params {
	return params{values: v, errs: errs}
}

// get returns the parameter's value, or "" when it is absent or empty. A
// value that is not text (invalid UTF-8, NUL) is reported here, for every
// parameter of both faces, before anything can carry it to the database.
func (p params) get(name string) string {
	v := p.raw(name)
	if problem := models.TextProblem(v); problem != "" {
		p.errs.Add(name, models.CodeInvalid, name+" "+problem)
		return ""
	}
	return v
}

// raw is get without the text check, for values decoded further (a JSV
// list of events) whose own decoder checks each piece.
func (p params) raw(name string) string {
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

// date reads an optional date parameter (YYYY-MM-DD or ±Ndays).
func (p params) date(name string, today models.Date) *models.Date {
	return parseDate(p.errs, name, p.get(name), today)
}

// account reads an optional account SID parameter.
func (p params) account(name string) string { return parseAccount(p.errs, name, p.get(name)) }

// category reads an optional category parameter.
func (p params) category(name string) *models.Category {
	return parseCategory(p.errs, name, p.get(name))
}

// parseDate reads an optional date (YYYY-MM-DD or ±Ndays); "" is absent.
func parseDate(errs *models.ValidationError, name, s string, today models.Date) *models.Date {
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

// parseAccount reads an optional account SID; "" is absent.
func parseAccount(errs *models.ValidationError, name, s string) string {
	if s == "" {
		return ""
	}
	sid, ok := models.NormalizeAccountSid(s)
	if !ok {
		errs.Add(name, models.CodeInvalid, fmt.Sprintf("%s %q is not an account SID (AC followed by 32 hex digits)", name, s))
	}
	return sid
}

// parseCategory reads an optional category; "" is absent.
func parseCategory(errs *models.ValidationError, name, s string) *models.Category {
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

// checkOrder rejects a range whose start is after its end.
func checkOrder(errs *models.ValidationError, start, end *models.Date) {
	if start != nil && end != nil && *start > *end {
		errs.Add("StartDate", models.CodeInvalid, fmt.Sprintf("StartDate %s is after EndDate %s", *start, *end))
	}
}
