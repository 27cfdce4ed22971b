package handlers

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
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/triggers"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// TriggerEngine is what the Usage Triggers resource needs of the trigger
// engine (package triggers): it validates, stores and evaluates.
type TriggerEngine interface {
	Create(ctx context.Context, accountSid, apiVersion string, in models.TriggerInput) (models.Trigger, error)
	List(ctx context.Context, f models.TriggerFilter, after string, limit int) ([]models.Trigger, error)
	Fetch(ctx context.Context, accountSid, sid string) (models.Trigger, error)
	Update(ctx context.Context, accountSid, sid string, u models.TriggerUpdate) (models.Trigger, error)
	Delete(ctx context.Context, accountSid, sid string) error
}

// Codes of the Usage Triggers resource beyond the face's own.
const codeTooManyTriggers = 21622 // our choice: Twilio documents no code for its 1,000 limit

// usageTriggersRoutes mounts /Usage/Triggers[.json|.xml] and
// /Usage/Triggers/{Sid}[.json|.xml] on a face's group, which authenticates.
func (a *API) usageTriggersRoutes(g *echo.Group, f face) {
	if a.triggers == nil {
		return
	}
	limit := middleware.BodyLimit(signInBodyLimit) // three short parameters at most
	list := a.usageTriggers(f)
	for _, suffix := range []string{"", ".json", ".xml"} {
		g.Any("/Accounts/:AccountSid/Usage/Triggers"+suffix, list, limit)
	}
	g.Any("/Accounts/:AccountSid/Usage/Triggers/:TriggerSid", a.usageTrigger(f), limit)
}

// usageTriggers answers the list: GET lists, POST creates.
func (a *API) usageTriggers(f face) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead:
		case http.MethodPost:
		default:
			c.Response().Header().Set(echo.HeaderAllow, "GET, HEAD, POST")
			return &twilioError{Status: http.StatusMethodNotAllowed, Code: 20004, Message: "Method not allowed: usage triggers are listed with GET and created with POST"}
		}
		sid, err := a.triggerAccount(c)
		if err != nil {
			return err
		}
		if c.Request().Method == http.MethodPost {
			return a.createTrigger(c, f, sid)
		}
		return a.listTriggers(c, f, sid)
	}
}

// usageTrigger answers one trigger: GET fetches, POST updates, DELETE deletes.
func (a *API) usageTrigger(f face) echo.HandlerFunc {
	return func(c echo.Context) error {
		m := c.Request().Method
		switch m {
		case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete:
		default:
			c.Response().Header().Set(echo.HeaderAllow, "GET, HEAD, POST, DELETE")
			return &twilioError{Status: http.StatusMethodNotAllowed, Code: 20004, Message: "Method not allowed: a usage trigger is fetched with GET, updated with POST and deleted with DELETE"}
		}
		raw, ok := stripSuffix(c.Param("TriggerSid"))
		if !ok || strings.EqualFold(suffixOf(c.Request()), ".csv") {
			return resourceNotFound(c)
		}
		account, err := a.triggerAccount(c)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		var t models.Trigger
		switch m {
		case http.MethodDelete:
			if err := a.triggers.Delete(ctx, account, raw); err != nil {
				return triggerError(c, err)
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
			t, err = a.triggers.Update(ctx, account, raw, u)
			if err != nil {
				return triggerError(c, err)
			}
		default:
			t, err = a.triggers.Fetch(ctx, account, raw)
			if err != nil {
				return triggerError(c, err)
			}
		}
		return writeTrigger(c, f, http.StatusOK, newTwilioTrigger(t, f, a.now()))
	}
}

// triggerAccount checks the path's account and the principal's right to
// manage its triggers: the Usage Records rule (an account's own
// credentials reach it and its sub-accounts; JWTs by scope). A write with
// Basic credentials must also pass the cross-site rule: a browser that was
// once given an account's credentials in its dialog sends them on any
// site's form, which sameOriginWrites lets through for carrying an
// Authorization header.
func (a *API) triggerAccount(c echo.Context) (string, error) {
	if strings.EqualFold(suffixOf(c.Request()), ".csv") {
		return "", resourceNotFound(c)
	}
	r := c.Request()
	if !safeMethod(r.Method) && strings.HasPrefix(strings.ToLower(r.Header.Get(echo.HeaderAuthorization)), "basic ") {
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
			return "", crossSiteRefused()
		}
	}
	sid, ok := models.NormalizeAccountSid(c.Param("AccountSid"))
	if !ok {
		return "", resourceNotFound(c)
	}
	ov, err := a.store.AccountOverview(r.Context(), sid)
	if err := a.scope.Decide(auth.PrincipalOf(c), sid, ov.Lineage, err); err != nil {
		return "", err
	}
	return sid, nil
}

// triggerError maps the engine's errors to the face's; validation errors
// and the rest go to twilioErrors as they are.
func triggerError(c echo.Context, err error) error {
	switch {
	case errors.Is(err, triggers.ErrNotFound):
		return resourceNotFound(c)
	case errors.Is(err, triggers.ErrTooMany):
		return &twilioError{Status: http.StatusBadRequest, Code: codeTooManyTriggers,
			Message: fmt.Sprintf("An account has at most %d usage triggers: delete one before creating another", models.MaxTriggersPerAccount)}
	}
	return err
}

// triggerForm reads a form-encoded body (Twilio's clients send nothing
// else); the query string is not read, as Twilio reads only the body.
func triggerForm(c echo.Context) (url.Values, error) {
	r := c.Request()
	if err := r.ParseForm(); err != nil {
		return nil, tooLargeOr(err, &twilioError{Status: http.StatusBadRequest, Code: codeInvalidParameter, Message: "The request body is not form-encoded (application/x-www-form-urlencoded)"})
	}
	return r.PostForm, nil
}

func (a *API) createTrigger(c echo.Context, f face, account string) error {
	form, err := triggerForm(c)
	if err != nil {
		return err
	}
	var errs models.ValidationError
	p := newParams(form, &errs)
	in := models.TriggerInput{
		CallbackURL:    p.get("CallbackUrl"),
		CallbackMethod: p.get("CallbackMethod"),
		FriendlyName:   p.get("FriendlyName"),
		Recurring:      p.get("Recurring"),
		TriggerBy:      p.get("TriggerBy"),
		TriggerValue:   p.get("TriggerValue"),
		UsageCategory:  p.get("UsageCategory"),
	}
	if errs.Err() != nil {
		// A value that is not text was read as "": report it with every
		// other problem, and store nothing.
		_, err := in.Validate()
		return mergeValidation(&errs, err)
	}
	t, err := a.triggers.Create(c.Request().Context(), account, f.apiVersion, in)
	if err != nil {
		return triggerError(c, err)
	}
	return writeTrigger(c, f, http.StatusCreated, newTwilioTrigger(t, f, a.now()))
}

// bindTriggerUpdate takes the three fields an update may change, when
// given; a value that is not text is reported with every other problem.
func bindTriggerUpdate(form url.Values) (models.TriggerUpdate, error) {
	var u models.TriggerUpdate
	var errs models.ValidationError
	p := newParams(form, &errs)
	field := func(name string) *string {
		if !hasKeyFold(form, name) {
			return nil
		}
		v := p.get(name)
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
	p := newParams(q, &errs)
	r := triggerListRequest{pageSize: defaultPageSize, filter: models.TriggerFilter{
		AccountSid: account, Recurring: p.get("Recurring"), TriggerBy: p.get("TriggerBy"), UsageCategory: p.get("UsageCategory"),
	}}
	if f, err := r.filter.Validate(); err != nil {
		mergeValidation(&errs, err)
	} else {
		r.filter = f
	}
	// PageSize and Page as Usage Records reads them; its PageToken is not ours.
	paging := url.Values{}
	for _, name := range []string{"PageSize", "Page"} {
		if v := p.get(name); v != "" {
			paging.Set(name, v)
		}
	}
	if pr, err := bindUsageRecords(paging, 0, true); err != nil {
		mergeValidation(&errs, err)
	} else {
		r.pageSize, r.page = pr.pageSize, pr.page
	}
	if s := p.get("PageToken"); s != "" {
		sid, ok := models.NormalizeTriggerSid(strings.TrimPrefix(s, triggerPageTokenPrefix))
		if !ok || !strings.HasPrefix(s, triggerPageTokenPrefix) {
			errs.Add("PageToken", codeInvalidPageToken, fmt.Sprintf("PageToken %q is not valid: follow next_page_uri or previous_page_uri of an earlier answer", s))
		}
		r.after = sid
	}
	return r, errs.Err()
}

func (a *API) listTriggers(c echo.Context, f face, account string) error {
	req, err := bindTriggerList(c.QueryParams(), account)
	if err != nil {
		return err
	}
	// An account has at most 1,000 triggers: read them all, page in memory.
	all, err := a.triggers.List(c.Request().Context(), req.filter, "", models.MaxTriggersPerAccount)
	if err != nil {
		return triggerError(c, err)
	}
	from := min(req.page, len(all)/req.pageSize+1) * req.pageSize
	if req.after != "" {
		from = sort.Search(len(all), func(i int) bool { return all[i].Sid > req.after })
	}
	from = min(from, len(all))
	to := min(from+req.pageSize, len(all))

	u := triggerURIs{base: f.prefix + "/Accounts/" + account + "/Usage/Triggers" + suffixOf(c.Request()), filter: req.filter, pageSize: req.pageSize}
	now := a.now()
	pg := twilioTriggerPage{
		face:         f,
		Page:         req.page,
		PageSize:     req.pageSize,
		Start:        from,
		End:          max(from, to-1),
		URI:          u.page(req.page, req.after),
		FirstPageURI: u.page(0, ""),
		Triggers:     make([]twilioTrigger, 0, to-from),
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
		pg.Triggers = append(pg.Triggers, newTwilioTrigger(t, f, now))
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
