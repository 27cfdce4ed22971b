package restcomm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers/internal/problem"
	"github.com/evovoice/billing/handlers/internal/usage"
	"github.com/evovoice/billing/models"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// TriggerEngine is what the Usage Triggers resource needs of the trigger
// engine (package triggers): it validates, stores and evaluates. Its
// errors are models.ErrNotFound for a trigger or account it does not have
// and models.ErrTooManyTriggers at the per-account limit.
type TriggerEngine interface {
	Create(ctx context.Context, accountSid, apiVersion string, in models.TriggerInput) (models.Trigger, error)
	List(ctx context.Context, f models.TriggerFilter, after string, limit int) ([]models.Trigger, error)
	Fetch(ctx context.Context, accountSid, sid string) (models.Trigger, error)
	Update(ctx context.Context, accountSid, sid string, u models.TriggerUpdate) (models.Trigger, error)
	Delete(ctx context.Context, accountSid, sid string) error
}

// triggerBodyLimit bounds a create's or update's form: seven short
// parameters at most.
const triggerBodyLimit = "16K"

// usageTriggersRoutes mounts /Usage/Triggers[.json|.xml] and
// /Usage/Triggers/{Sid}[.json|.xml] on a face's group, which authenticates.
func (f *Face) usageTriggersRoutes(g *echo.Group, v version) {
	if f.triggers == nil {
		return
	}
	limit := middleware.BodyLimit(triggerBodyLimit)
	list := f.usageTriggers(v)
	for _, suffix := range []string{"", ".json", ".xml"} {
		g.Any("/Accounts/:AccountSid/Usage/Triggers"+suffix, list, limit)
	}
	g.Any("/Accounts/:AccountSid/Usage/Triggers/:TriggerSid", f.usageTrigger(v), limit)
}

// usageTriggers answers the list: GET lists, POST creates.
func (f *Face) usageTriggers(v version) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead:
		case http.MethodPost:
		default:
			c.Response().Header().Set(echo.HeaderAllow, "GET, HEAD, POST")
			return &problem.Problem{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed", Message: "Method not allowed: usage triggers are listed with GET and created with POST"}
		}
		sid, err := f.triggerAccount(c)
		if err != nil {
			return err
		}
		if c.Request().Method == http.MethodPost {
			return f.createTrigger(c, v, sid)
		}
		return f.listTriggers(c, v, sid)
	}
}

// usageTrigger answers one trigger: GET fetches, POST updates, DELETE deletes.
func (f *Face) usageTrigger(v version) echo.HandlerFunc {
	return func(c echo.Context) error {
		m := c.Request().Method
		switch m {
		case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete:
		default:
			c.Response().Header().Set(echo.HeaderAllow, "GET, HEAD, POST, DELETE")
			return &problem.Problem{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed", Message: "Method not allowed: a usage trigger is fetched with GET, updated with POST and deleted with DELETE"}
		}
		raw, ok := stripSuffix(c.Param("TriggerSid"))
		if !ok || strings.EqualFold(suffixOf(c.Request()), ".csv") {
			return resourceNotFound(c)
		}
		account, err := f.triggerAccount(c)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		var t models.Trigger
		switch m {
		case http.MethodDelete:
			if err := f.triggers.Delete(ctx, account, raw); err != nil {
				return err
			}
			return c.NoContent(http.StatusNoContent)
		case http.MethodPost:
			form, err := triggerForm(c)
			if err != nil {
				return err
			}
			u, err := bindTriggerUpdate(form)
			if err != nil {
				return err
			}
			t, err = f.triggers.Update(ctx, account, raw, u)
			if err != nil {
				return err
			}
		default:
			t, err = f.triggers.Fetch(ctx, account, raw)
			if err != nil {
				return err
			}
		}
		return writeTrigger(c, v, http.StatusOK, newTwilioTrigger(t, v, f.usage.Now()))
	}
}

// triggerAccount checks the path's account and the principal's right to
// manage its triggers: the Usage Records rule (an account's own
// credentials reach it and its sub-accounts; JWTs by scope). A write with
// Basic credentials must also pass the cross-site rule: a browser that was
// once given an account's credentials in its dialog sends them on any
// site's form, which sameOriginWrites lets through for carrying an
// Authorization header. The engine's errors need no mapping here: a
// trigger it does not find is the face's 20404 (see errors), its 1,000
// limit problem.TooManyTriggers.
func (f *Face) triggerAccount(c echo.Context) (string, error) {
	if strings.EqualFold(suffixOf(c.Request()), ".csv") {
		return "", resourceNotFound(c)
	}
	r := c.Request()
	if m := r.Method; (m == http.MethodPost || m == http.MethodDelete) && strings.HasPrefix(strings.ToLower(r.Header.Get(echo.HeaderAuthorization)), "basic ") {
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
			return "", problem.CrossSite
		}
	}
	sid, ok := models.NormalizeAccountSid(c.Param("AccountSid"))
	if !ok {
		return "", resourceNotFound(c)
	}
	if _, err := f.usage.Authorize(r.Context(), auth.PrincipalOf(c), sid); err != nil {
		return "", err
	}
	return sid, nil
}

// triggerForm reads a form-encoded body (Twilio's clients send nothing
// else); the query string is not read, as Twilio reads only the body.
func triggerForm(c echo.Context) (url.Values, error) {
	r := c.Request()
	if err := r.ParseForm(); err != nil {
		return nil, problem.TooLargeOr(err, problem.BadRequest("body", models.CodeInvalid, "The request body is not form-encoded (application/x-www-form-urlencoded)"))
	}
	return r.PostForm, nil
}

func (f *Face) createTrigger(c echo.Context, v version, account string) error {
	form, err := triggerForm(c)
	if err != nil {
		return err
	}
	var errs models.ValidationError
	p := usage.NewParams(form, &errs)
	in := models.TriggerInput{
		CallbackURL:    p.Get("CallbackUrl"),
		CallbackMethod: p.Get("CallbackMethod"),
		FriendlyName:   p.Get("FriendlyName"),
		Recurring:      p.Get("Recurring"),
		TriggerBy:      p.Get("TriggerBy"),
		TriggerValue:   p.Get("TriggerValue"),
		UsageCategory:  p.Get("UsageCategory"),
	}
	if errs.Err() != nil {
		// A value that is not text was read as "": report it with every
		// other problem, and store nothing.
		_, err := in.Validate()
		return mergeValidation(&errs, err)
	}
	t, err := f.triggers.Create(c.Request().Context(), account, v.apiVersion, in)
	if err != nil {
		return err
	}
	return writeTrigger(c, v, http.StatusCreated, newTwilioTrigger(t, v, f.usage.Now()))
}

// bindTriggerUpdate takes the three fields an update may change, when
// given; a value that is not text is reported with every other problem.
func bindTriggerUpdate(form url.Values) (models.TriggerUpdate, error) {
	var u models.TriggerUpdate
	var errs models.ValidationError
	p := usage.NewParams(form, &errs)
	field := func(name string) *string {
		if !usage.HasKey(form, name) {
			return nil
		}
		v := p.Get(name)
		return &v
	}
	u.CallbackURL, u.CallbackMethod, u.FriendlyName = field("CallbackUrl"), field("CallbackMethod"), field("FriendlyName")
	if errs.Err() != nil {
		_, err := u.Validate()
		return u, mergeValidation(&errs, err)
	}
	return u, nil
}

// mergeValidation adds the field errors of err (a *models.ValidationError,
// or nil) to errs, skipping a field errs already names.
func mergeValidation(errs *models.ValidationError, err error) error {
	var ve *models.ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Errors {
			if !hasFieldError(*errs, f.Field) {
				errs.Errors = append(errs.Errors, f)
			}
		}
	}
	return errs.Err()
}

func hasFieldError(errs models.ValidationError, field string) bool {
	for _, f := range errs.Errors {
		if f.Field == field {
			return true
		}
	}
	return false
}

// triggerListRequest is the bound query of a list.
type triggerListRequest struct {
	filter   models.TriggerFilter
	pageSize int
	page     int
	after    string // from PageToken: the page starts after this SID
}

// Page tokens of the trigger list: PT and the SID the page starts after.
const triggerPageTokenPrefix = "PT"

func bindTriggerList(q url.Values, account string) (triggerListRequest, error) {
	var errs models.ValidationError
	p := usage.NewParams(q, &errs)
	r := triggerListRequest{pageSize: defaultPageSize, filter: models.TriggerFilter{
		AccountSid: account, Recurring: p.Get("Recurring"), TriggerBy: p.Get("TriggerBy"), UsageCategory: p.Get("UsageCategory"),
	}}
	if f, err := r.filter.Validate(); err != nil {
		mergeValidation(&errs, err)
	} else {
		r.filter = f
	}
	// PageSize and Page as Usage Records reads them; its PageToken is not ours.
	paging := url.Values{}
	for _, name := range []string{"PageSize", "Page"} {
		if v := p.Get(name); v != "" {
			paging.Set(name, v)
		}
	}
	if pr, err := bindUsageRecords(paging, 0, true); err != nil {
		mergeValidation(&errs, err)
	} else {
		r.pageSize, r.page = pr.pageSize, pr.page
	}
	if s := p.Get("PageToken"); s != "" {
		sid, ok := models.NormalizeTriggerSid(strings.TrimPrefix(s, triggerPageTokenPrefix))
		if !ok || !strings.HasPrefix(s, triggerPageTokenPrefix) {
			errs.Add("PageToken", codeInvalidPageToken, fmt.Sprintf("PageToken %q is not valid: follow next_page_uri or previous_page_uri of an earlier answer", s))
		}
		r.after = sid
	}
	return r, errs.Err()
}

func (f *Face) listTriggers(c echo.Context, v version, account string) error {
	req, err := bindTriggerList(c.QueryParams(), account)
	if err != nil {
		return err
	}
	// An account has at most 1,000 triggers: read them all, page in memory.
	all, err := f.triggers.List(c.Request().Context(), req.filter, "", models.MaxTriggersPerAccount)
	if err != nil {
		return err
	}
	from := min(req.page, len(all)/req.pageSize+1) * req.pageSize
	if req.after != "" {
		from = sort.Search(len(all), func(i int) bool { return all[i].Sid > req.after })
	}
	from = min(from, len(all))
	to := min(from+req.pageSize, len(all))

	u := triggerURIs{base: v.prefix + "/Accounts/" + account + "/Usage/Triggers" + suffixOf(c.Request()), filter: req.filter, pageSize: req.pageSize}
	now := f.usage.Now()
	pg := twilioTriggerPage{
		version: v,
		twilioPaging: twilioPaging{
			Page:         req.page,
			PageSize:     req.pageSize,
			Start:        from,
			End:          max(from, to-1),
			URI:          u.page(req.page, req.after),
			FirstPageURI: u.page(0, ""),
		},
		Triggers: make([]twilioTrigger, 0, to-from),
	}
	if to < len(all) {
		next := u.page(min(req.page+1, maxRecordsPage), all[to-1].Sid)
		pg.NextPageURI = &next
	}
	if from > 0 {
		prev := u.page(0, "")
		if from > req.pageSize {
			prev = u.page(max(req.page-1, 0), all[from-req.pageSize-1].Sid)
		}
		pg.PreviousPageURI = &prev
	}
	for _, t := range all[from:to] {
		pg.Triggers = append(pg.Triggers, newTwilioTrigger(t, v, now))
	}
	return writeTriggerPage(c, pg)
}

// triggerURIs builds a list's page URIs: its filters, then paging, in
// Twilio's order.
type triggerURIs struct {
	base     string
	filter   models.TriggerFilter
	pageSize int
}

func (u triggerURIs) page(page int, after string) string {
	var q []string
	if u.filter.Recurring != "" {
		q = append(q, "Recurring="+url.QueryEscape(u.filter.Recurring))
	}
	if u.filter.TriggerBy != "" {
		q = append(q, "TriggerBy="+url.QueryEscape(u.filter.TriggerBy))
	}
	if u.filter.UsageCategory != "" {
		q = append(q, "UsageCategory="+url.QueryEscape(u.filter.UsageCategory))
	}
	q = append(q, "PageSize="+strconv.Itoa(u.pageSize), "Page="+strconv.Itoa(page))
	if after != "" {
		q = append(q, "PageToken="+triggerPageTokenPrefix+after)
	}
	return u.base + "?" + strings.Join(q, "&")
}
