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

// get returns the parameter's value, or "" when it is absent or empty.
func (p params) get(name string) string {
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
	s := p.get(name)
	if s == "" {
		return nil
	}
	d, err := models.ParseDateParam(s, today)
	if err != nil {
		p.errs.Add(name, models.CodeInvalid, fmt.Sprintf("%s: %v; use %s", name, err, models.DateForms))
		return nil
	}
	return &d
}

// account reads an optional account SID parameter.
func (p params) account(name string) string {
	s := p.get(name)
	if s == "" {
		return ""
	}
	sid, ok := models.NormalizeAccountSid(s)
	if !ok {
		p.errs.Add(name, models.CodeInvalid, fmt.Sprintf("%s %q is not an account SID (AC followed by 32 hex digits)", name, s))
	}
	return sid
}

// category reads an optional category parameter.
func (p params) category(name string) *models.Category {
	s := p.get(name)
	if s == "" {
		return nil
	}
	c, ok := models.ParseCategory(s)
	if !ok {
		p.errs.Add(name, models.CodeInvalid, fmt.Sprintf("%s %q is not a usage category; valid categories are %s", name, s, strings.Join(models.CategoryNames(), ", ")))
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
