package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers"
	"github.com/evovoice/billing/handlers/servicestack"
	"github.com/evovoice/billing/jsv"
	"github.com/evovoice/billing/repo/repotest"
	"github.com/shopspring/decimal"
)

// browserEnv names the browser the dashboard tests drive; they are off
// without it, and .ci/run always sets it.
const browserEnv = "BILLING_TEST_BROWSER"

// artifactDir is where screenshots land: git-ignored, kept by CI.
const artifactDir = "../../.ci/artifacts"

// TestDashboard runs `billing serve --demo` in this process, exactly as the
// README tells a new user to, and drives the dashboard in headless Chromium.
func TestDashboard(t *testing.T) {
	path := os.Getenv(browserEnv)
	if path == "" {
		t.Skipf("%s is not set: the browser tests are off", browserEnv)
	}
	browser := startBrowser(t, path)
	for _, backend := range repotest.Backends() {
		t.Run(backend, func(t *testing.T) {
			srv := startDemo(t, backend)
			t.Run("manager sees the parent account", func(t *testing.T) { testManagerView(t, browser, srv, backend) })
			t.Run("accounts overview", func(t *testing.T) { testOverview(t, browser, srv, backend) })
			t.Run("chart", func(t *testing.T) { testChart(t, browser, srv) })
			t.Run("downloads", func(t *testing.T) { testDownloads(t, browser, srv) })
			t.Run("usage triggers", func(t *testing.T) { testTriggers(t, browser, srv) })
			t.Run("wrong password", func(t *testing.T) { testWrongPassword(t, browser, srv) })
			t.Run("manager of a sub-account", func(t *testing.T) { testSubAccountManager(t, browser, srv) })
			t.Run("expired session", func(t *testing.T) { testExpiredSession(t, browser, srv, backend) })
		})
	}
}

func testManagerView(t *testing.T, browser context.Context, srv *demoServer, backend string) {
	p := newPage(t, browser, srv)
	p.signIn("manager", srv.passwords["manager"])

	// The page opens on the accounts overview (the manager reads more than
	// one account); choosing Acme Voice's row opens its view, this month,
	// with the breadcrumb naming it.
	p.waitOverview()
	p.click(`#overview-table tr[data-account="` + demoParent + `"] a`)
	p.waitFor(`location.search.includes("account=` + demoParent + `") && location.search.includes("period=this-month")`)
	p.waitReady()
	if got := p.text("#view-title"); got != "Acme Voice" {
		t.Errorf("title %q, want Acme Voice", got)
	}
	token := srv.signIn(t, "manager", srv.passwords["manager"])
	p.checkAgainstAPI(token, demoParent)
	p.checkHierarchy()
	p.checkChart(token, "day")
	p.screenshot(filepath.Join(artifactDir, "dashboard-"+backend+".png"))

	// Every account the manager may read is offered, with its path.
	options := evalJS[[]string](p, `Array.from(document.querySelectorAll('#account option')).map(o => o.value + '=' + o.textContent)`)
	want := []string{demoArchive + "=Acme Voice › Acme Archive", demoEurope + "=Acme Voice › Acme Europe", demoEuropeBerlin + "=Acme Voice › Acme Europe › Acme Europe Berlin",
		demoMarketing + "=Acme Voice › Acme Marketing", demoOutreach + "=Acme Voice › Acme Outreach", demoSales + "=Acme Voice › Acme Sales",
		demoSupport + "=Acme Voice › Acme Support", demoParent + "=Acme Voice"}
	if strings.Join(options, "\n") != strings.Join(want, "\n") {
		t.Errorf("account options:\n%s\nwant:\n%s", strings.Join(options, "\n"), strings.Join(want, "\n"))
	}

	// Last month, watching the loading state show on the way.
	evalJS[chromedp.Void](p, `window.seenLoading = false; new MutationObserver(() => {
		const s = document.getElementById('status');
		if (s.classList.contains('busy') && s.textContent === 'Loading usage…' && s.getBoundingClientRect().width > 1 &&
			document.getElementById('dashboard').getAttribute('aria-busy') === 'true') window.seenLoading = true;
	}).observe(document.getElementById('status'), {attributes: true, childList: true, subtree: true, characterData: true});
	window.seenChartLoading = false; new MutationObserver(() => {
		const a = document.getElementById('chart-area'), l = a.querySelector('.loading');
		if (a.dataset.state === 'loading' && a.getAttribute('aria-busy') === 'true' && l && l.textContent === 'Loading the chart…' &&
			l.getBoundingClientRect().height > 1) window.seenChartLoading = true;
	}).observe(document.getElementById('chart-area'), {attributes: true, childList: true, subtree: true})`)
	p.choose("#period", "last-month")
	p.waitFor(`location.search.includes("period=last-month")`)
	p.waitReady()
	if !evalJS[bool](p, `window.seenLoading`) {
		t.Error("no visible loading state while the usage loaded")
	}
	first, last := lastMonth(time.Now())
	if start, end := p.downloadRange(); start != first || end != last {
		t.Errorf("last month is %s..%s on the page, want %s..%s", start, end, first, last)
	}
	p.checkAgainstAPI(token, demoParent)
	p.checkChart(token, "day") // a month: one bar per day
	if !evalJS[bool](p, `window.seenChartLoading`) {
		t.Error("no visible loading state while the chart loaded")
	}

	// A category chosen in the table is the chart's.
	p.click(`button.category[data-category="sms"]`)
	p.waitFor(`location.search.includes("category=sms") && document.getElementById('chart-figures').dataset.category === "sms"`)
	if got := p.attr(`button.category[data-category="sms"]`, "aria-pressed"); got != "true" {
		t.Errorf("the chosen category's button has aria-pressed=%q", got)
	}
	if got := p.text("#chart-title"); !strings.Contains(got, "by day") {
		t.Errorf("chart title %q: a month is charted by day", got)
	}
	p.checkChart(token, "day")
	// By keyboard: Enter on a category's name chooses it, and the focus stays.
	p.do(chromedp.Focus(chromedp.CSS(`button.category[data-category="calls"]`)), chromedp.KeyEvent("\r"))
	p.waitFor(`location.search.includes("category=calls") && document.activeElement.dataset.category === "calls"`)

	// The JSON download is the view's records.
	if n := evalJS[int](p, `fetch(document.getElementById('dl-json').href).then(r => r.json()).then(j => j.length)`, chromedp.EvalAwaitPromise); n != 26 {
		t.Errorf("the JSON download holds %d records", n)
	}

	// A sub-account through the picker, then back up through the breadcrumb.
	p.choose("#account", demoSupport)
	p.waitFor(`location.search.includes("account=` + demoSupport + `")`)
	p.waitReady()
	p.checkAgainstAPI(token, demoSupport)
	p.checkChart(token, "day") // the sub-account's own calls
	p.click(`#breadcrumbs a[data-account="` + demoParent + `"]`)
	p.waitFor(`location.search.includes("account=` + demoParent + `")`)
	p.waitReady()

	// A custom range of two days.
	p.choose("#period", "custom")
	p.waitFor(`!document.getElementById('custom-range').hidden`)
	today := time.Now().UTC()
	from, to := today.AddDate(0, 0, -2).Format(time.DateOnly), today.AddDate(0, 0, -1).Format(time.DateOnly)
	p.setDate("#start", from)
	p.setDate("#end", to)
	p.click("#apply-range")
	p.waitFor(`location.search.includes("start=` + from + `") && location.search.includes("end=` + to + `")`)
	p.waitReady()
	if start, end := p.downloadRange(); start != from || end != to {
		t.Errorf("custom range is %s..%s on the page, want %s..%s", start, end, from, to)
	}
	p.checkAgainstAPI(token, demoParent)
	p.checkChart(token, "day")

	// This year is charted by month.
	p.choose("#period", "this-year")
	p.waitFor(`location.search.includes("period=this-year")`)
	p.waitReady()
	p.checkAgainstAPI(token, demoParent)
	// Up to 92 days by day, beyond by month (this year is longer from April).
	byYear := "month"
	if today.YearDay() <= 92 {
		byYear = "day"
	}
	if got := p.text("#chart-title"); !strings.Contains(got, "by "+byYear) {
		t.Errorf("chart title %q: this year is charted by %s", got, byYear)
	}
	p.checkChart(token, byYear)

	// Hide the zero rows: only rows with usage stay, and a reload of the URL
	// (a bookmark) keeps the toggle, the period and the category.
	records := srv.usage(t, token, demoParent, p.downloadRange)
	nonZero := 0
	for _, r := range records {
		if r.Count != nil && *r.Count != 0 || !r.Usage.IsZero() || !r.Price.IsZero() {
			nonZero++
		}
	}
	if nonZero == len(records) {
		t.Fatal("the demo data has no zero rows to hide")
	}
	if n := p.visibleRows(); n != len(records) {
		t.Errorf("%d rows visible before hiding, want %d", n, len(records))
	}
	p.click("#hide-zero")
	p.waitFor(`location.search.includes("hideZero=1")`)
	if n := p.visibleRows(); n != nonZero {
		t.Errorf("%d rows visible after hiding zero rows, want %d", n, nonZero)
	}
	bookmark := p.location()
	p.navigate(bookmark)
	p.waitReady()
	if n := p.visibleRows(); n != nonZero {
		t.Errorf("the bookmark shows %d rows, want %d", n, nonZero)
	}
	if !evalJS[bool](p, `document.getElementById('hide-zero').checked && document.getElementById('period').value === 'this-year'`) {
		t.Error("the bookmark lost the toggle or the period")
	}
	p.checkAgainstAPI(token, demoParent)

	// Phone width: nothing overflows the page sideways.
	p.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	p.waitReady()
	if width := evalJS[int](p, `document.documentElement.scrollWidth`); width > 390 {
		t.Errorf("the page is %d pixels wide on a phone's 390", width)
	}
	p.screenshot(filepath.Join(artifactDir, "dashboard-phone-"+backend+".png"))
	p.do(chromedp.EmulateReset())

	// Sign out: the cookie is gone, and the form says so.
	p.click("#sign-out")
	p.waitFor(`!document.getElementById('signin').hidden && document.getElementById('signin-message').textContent.includes('signed out')`)
	if status := evalJS[int](p, `fetch('/auth').then(r => r.status)`, chromedp.EvalAwaitPromise); status != http.StatusUnauthorized {
		t.Errorf("GET /auth after signing out: %d", status)
	}
}

func testWrongPassword(t *testing.T, browser context.Context, srv *demoServer) {
	p := newPage(t, browser, srv)
	p.navigate(srv.url + "/")
	p.do(
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "manager"),
		chromedp.SendKeys(chromedp.ID("password"), "not-the-password\n"),
	)
	p.waitFor(`!document.getElementById('signin-error').hidden`)
	if got := p.text("#signin-error"); got != "Wrong user name or password." {
		t.Errorf("sign-in error %q", got)
	}
	if evalJS[bool](p, `!document.getElementById('dashboard').hidden`) {
		t.Error("the dashboard shows after a wrong password")
	}
}

func testSubAccountManager(t *testing.T, browser context.Context, srv *demoServer) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("support lead password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	err := run(context.Background(), []string{"user", "add", "--name", "support-lead", "--display-name", "Support Lead",
		"--roles", "Manager", "--accounts", demoSupport, "--db", srv.db, "--password-file", pwFile}, &out)
	if err != nil {
		t.Fatalf("user add: %v", err)
	}

	p := newPage(t, browser, srv)
	p.signIn("support-lead", "support lead password")
	p.waitFor(`location.search.includes("account=` + demoSupport + `")`)
	options := evalJS[[]string](p, `Array.from(document.querySelectorAll('#account option')).map(o => o.value)`)
	if len(options) != 1 || options[0] != demoSupport {
		t.Errorf("a manager of %s is offered %v", demoSupport, options)
	}
	if crumbs := evalJS[int](p, `document.querySelectorAll('#breadcrumbs a').length`); crumbs != 0 {
		t.Errorf("%d breadcrumb links lead above the manager's account", crumbs)
	}
	// Searching does not reveal the parent either.
	p.do(chromedp.SendKeys(chromedp.ID("account-search"), "Acme"))
	p.waitFor(`document.getElementById('account-count').textContent === '1 account'`)
	options = evalJS[[]string](p, `Array.from(document.querySelectorAll('#account option')).map(o => o.value)`)
	if len(options) != 1 || options[0] != demoSupport {
		t.Errorf("searching offers %v", options)
	}

	// The parent's URL is refused.
	p.navigate(srv.url + "/?account=" + demoParent + "&period=this-month")
	p.waitFor(`!document.getElementById('error').hidden`)
	if got := p.text("#error"); !strings.Contains(got, "may not read account "+demoParent) {
		t.Errorf("error %q", got)
	}
	if evalJS[bool](p, `!document.getElementById('view').hidden`) {
		t.Error("figures are shown for an account out of scope")
	}
	token := srv.signIn(t, "support-lead", "support lead password")
	if res := srv.get(t, token, "/billing/usage?AccountId="+demoParent); res.StatusCode != http.StatusForbidden {
		t.Errorf("GET /billing/usage for the parent: %d", res.StatusCode)
	}
}

func testExpiredSession(t *testing.T, browser context.Context, srv *demoServer, backend string) {
	p := newPage(t, browser, srv)
	p.signIn("manager", srv.passwords["manager"])
	p.navigate(srv.url + "/?account=" + demoParent + "&period=this-month")
	p.waitReady()

	// Replace the cookie with a token that expired an hour ago, signed with
	// the service's own key.
	secret, err := os.ReadFile(filepath.Join(srv.dataDir, "jwt-secret"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := auth.NewSigner(auth.JWTConfig{Algorithm: "HS256", Secret: []byte(strings.TrimSpace(string(secret))),
		Now: func() time.Time { return time.Now().Add(-handlers.DefaultSessionTTL - time.Hour) }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := signer.SignIdentity(auth.Identity{Subject: "2", UserName: "manager", Roles: []string{auth.RoleManager}, AccountIDs: []string{demoParent}}, handlers.DefaultSessionTTL)
	if err != nil {
		t.Fatal(err)
	}
	expire := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
		defer cancel()
		_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{
			Name: auth.CookieName, Value: expired, URL: srv.url + "/", Path: "/", HTTPOnly: new(true), SameSite: network.CookieSameSiteStrict,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	expire()

	p.choose("#period", "last-30-days")
	p.waitFor(`!document.getElementById('signin').hidden`)
	if got := p.text("#signin-message"); got != "Your session has expired. Please sign in again." {
		t.Errorf("sign-in message %q", got)
	}
	p.screenshot(filepath.Join(artifactDir, "signin-expired-"+backend+".png"))
	// Signing in again returns to the view the URL names.
	p.signIn("manager", srv.passwords["manager"])
	p.waitFor(`location.search.includes("period=last-30-days") && document.getElementById('period').value === 'last-30-days'`)

	// Choosing another category asks only the Usage Records API, for the
	// chart: its 401 ends the session the same way.
	p.waitFor(`document.getElementById('chart-area').dataset.state === 'ready'`)
	// Wait for the view's other reads too (sub-accounts with their trends,
	// the triggers panel): one still in flight when the session expires
	// would end it before the chart's request does.
	p.waitFor(`!document.getElementById('triggers').hidden && !document.getElementById('subaccounts').hidden &&
		[...document.querySelectorAll('#sub-table tbody tr')].every((tr) => tr.querySelector('td[data-field="trend"] svg'))`)
	expire()
	p.click(`button.category[data-category="sms"]`)
	p.waitFor(`!document.getElementById('signin').hidden`)
	if got := p.text("#signin-message"); got != "Your session has expired. Please sign in again." {
		t.Errorf("sign-in message after the chart's 401: %q", got)
	}
}

// ---------- the server ----------

// demoServer is `billing serve --demo` running in this process.
type demoServer struct {
	url       string
	db        string
	dataDir   string
	passwords map[string]string
}

var (
	demoURLLine  = regexp.MustCompile(`Billing service \(demo\) at (\S+)`)
	demoUserLine = regexp.MustCompile(`user (\S+)\s+password (\S+)`)
)

func startDemo(t *testing.T, backend string) *demoServer {
	t.Helper()
	for _, v := range []string{"BILLING_JWT_ALGORITHM", "BILLING_JWT_SECRET", "BILLING_JWT_ISSUER", "BILLING_JWT_AUDIENCE", "BILLING_SESSION_TTL", "BILLING_TRUSTED_PROXIES"} {
		t.Setenv(v, "")
	}
	t.Setenv("BILLING_LOG_LEVEL", "warn")
	srv := &demoServer{db: repotest.NewDatabase(t, backend), dataDir: t.TempDir(), passwords: map[string]string{}}

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"serve", "--demo", "--addr", "127.0.0.1:0", "--db", srv.db, "--data-dir", srv.dataDir}, pw)
		pw.CloseWithError(fmt.Errorf("serve ended: %v", err))
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})

	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		if m := demoURLLine.FindStringSubmatch(line); m != nil {
			srv.url = m[1]
		}
		if m := demoUserLine.FindStringSubmatch(line); m != nil {
			srv.passwords[m[1]] = m[2]
		}
		if strings.Contains(line, "Tokens, valid") {
			break
		}
	}
	if err := sc.Err(); err != nil || srv.url == "" || len(srv.passwords) != 2 {
		t.Fatalf("serve --demo printed no URL and passwords (%v)", err)
	}
	go io.Copy(io.Discard, pr)
	return srv
}

// signIn signs in through the API and returns the bearer token.
func (s *demoServer) signIn(t *testing.T, name, password string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"userName": name, "password": password})
	res, err := http.Post(s.url+"/auth/credentials", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out servicestack.AuthenticateResponse
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("sign-in as %s: %d %v", name, res.StatusCode, err)
	}
	return out.BearerToken
}

func (s *demoServer) get(t *testing.T, token, path string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// apiRecord is a usage record as the API answers it, with exact amounts.
type apiRecord struct {
	Category string          `json:"category"`
	Count    *int64          `json:"count"`
	Usage    decimal.Decimal `json:"usage"`
	Price    decimal.Decimal `json:"price"`
}

// usage asks the API itself for an account's records over the page's range.
func (s *demoServer) usage(t *testing.T, token, account string, pageRange func() (string, string)) []apiRecord {
	t.Helper()
	start, end := pageRange()
	res := s.get(t, token, "/billing/usage?"+url.Values{"AccountId": {account}, "StartDate": {start}, "EndDate": {end}}.Encode())
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /billing/usage: %d", res.StatusCode)
	}
	var out []apiRecord
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// ---------- the browser ----------

// startBrowser starts Chromium headless with a fresh profile and every
// background connection off: the machine has no network but loopback.
func startBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// page is one tab in its own browser context (its own cookies).
type page struct {
	t   *testing.T
	ctx context.Context
	srv *demoServer
}

func newPage(t *testing.T, browser context.Context, srv *demoServer) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first run opens the tab, which lives as long as that run's context:
	// it must have no deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return &page{t: t, ctx: ctx, srv: srv}
}

const stepTimeout = 30 * time.Second

func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.fail(err)
	}
}

func evalJS[T any](p *page, expr string, opts ...chromedp.EvaluateOption) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		p.fail(fmt.Errorf("%s: %w", expr, err))
	}
	return v
}

// fail stops the test, saying what the page showed.
func (p *page) fail(err error) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + ' | status: ' + document.getElementById('status').textContent +
		' | error: ' + document.getElementById('error').textContent + ' | sign-in: ' + document.getElementById('signin-error').textContent`))
	p.t.Fatalf("%v\npage: %s", err, state)
}

// waitFor waits until a JavaScript expression is true.
func (p *page) waitFor(expr string) {
	p.t.Helper()
	p.do(func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))(ctx, t)
		if err != nil {
			return chromedp.Void{}, fmt.Errorf("waiting for %s: %w", expr, err)
		}
		return chromedp.Void{}, nil
	})
}

// waitReady waits until the view has loaded and drawn every category.
func (p *page) waitReady() {
	p.t.Helper()
	p.waitFor(`!document.getElementById('dashboard').hidden && document.getElementById('dashboard').getAttribute('aria-busy') === 'false' &&
		!document.getElementById('view').hidden && document.querySelectorAll('#usage-table tr[data-category]').length === 26`)
}

func (p *page) navigate(u string) { p.t.Helper(); p.do(chromedp.Navigate(u)) }

func (p *page) location() string { p.t.Helper(); return evalJS[string](p, `location.href`) }

func (p *page) text(sel string) string {
	p.t.Helper()
	return evalJS[string](p, fmt.Sprintf(`document.querySelector(%q).textContent.trim()`, sel))
}

func (p *page) attr(sel, name string) string {
	p.t.Helper()
	return evalJS[string](p, fmt.Sprintf(`document.querySelector(%q).getAttribute(%q)`, sel, name))
}

func (p *page) click(sel string) { p.t.Helper(); p.do(chromedp.Click(chromedp.CSS(sel))) }

// choose picks an option of a select as a user does: the value changes and
// the change event fires.
func (p *page) choose(sel, value string) {
	p.t.Helper()
	evalJS[chromedp.Void](p, fmt.Sprintf(`(s => { s.focus(); s.value = %q; s.dispatchEvent(new Event('change', {bubbles: true})); })(document.querySelector(%q))`, value, sel))
}

func (p *page) setDate(sel, day string) {
	p.t.Helper()
	evalJS[chromedp.Void](p, fmt.Sprintf(`(i => { i.value = %q; i.dispatchEvent(new Event('input', {bubbles: true})); })(document.querySelector(%q))`, day, sel))
}

func (p *page) signIn(name, password string) {
	p.t.Helper()
	if !strings.HasPrefix(p.location(), p.srv.url) {
		p.navigate(p.srv.url + "/")
	}
	p.do(chromedp.WaitVisible(chromedp.ID("username")))
	evalJS[chromedp.Void](p, `document.getElementById('username').value = ''`)
	p.do(
		chromedp.SendKeys(chromedp.ID("username"), name),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("signin-button")),
	)
	// An account's view, or the accounts overview for a user of several accounts.
	p.waitFor(`!document.getElementById('dashboard').hidden && document.getElementById('dashboard').getAttribute('aria-busy') === 'false' &&
		((!document.getElementById('view').hidden && document.querySelectorAll('#usage-table tr[data-category]').length === 26) ||
		 (!document.getElementById('overview').hidden && document.querySelectorAll('#overview-table tbody tr').length > 0))`)
}

func (p *page) screenshot(path string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	abs, _ := filepath.Abs(path)
	p.t.Logf("screenshot: %s", abs)
}

// downloadRange reads the range of the view from its JSON download link.
func (p *page) downloadRange() (string, string) {
	p.t.Helper()
	u, err := url.Parse(evalJS[string](p, `document.getElementById('dl-json').href`))
	if err != nil {
		p.t.Fatal(err)
	}
	return u.Query().Get("StartDate"), u.Query().Get("EndDate")
}

func (p *page) visibleRows() int {
	p.t.Helper()
	return evalJS[int](p, `Array.from(document.querySelectorAll('#usage-table tr[data-category]')).filter(r => getComputedStyle(r).display !== 'none').length`)
}

// pageRow is what the table shows for one category.
type pageRow struct {
	Category string `json:"category"`
	Depth    string `json:"depth"`
	Count    string `json:"count"`
	Usage    string `json:"usage"`
	Price    string `json:"price"`
	Text     string `json:"text"`
}

// checkAgainstAPI compares the table and the summary with the API's own
// answer for the same account and range.
func (p *page) checkAgainstAPI(token, account string) {
	p.t.Helper()
	want := p.srv.usage(p.t, token, account, p.downloadRange)
	rows := evalJS[[]pageRow](p, `Array.from(document.querySelectorAll('#usage-table tr[data-category]')).map(r => ({
		category: r.dataset.category,
		depth: r.className.match(/depth-\d/)[0],
		count: r.querySelector('[data-field=count]').dataset.value,
		usage: r.querySelector('[data-field=usage]').dataset.value,
		price: r.querySelector('[data-field=price]').dataset.value,
		text: r.innerText,
	}))`)
	if len(rows) != len(want) {
		p.t.Fatalf("the table has %d rows, the API %d records", len(rows), len(want))
	}
	byCat := map[string]apiRecord{}
	for i, w := range want {
		byCat[w.Category] = w
		r := rows[i]
		if r.Category != w.Category {
			p.t.Errorf("row %d is %s, the API's record %s", i, r.Category, w.Category)
			continue
		}
		count := ""
		if w.Count != nil {
			count = strconv.FormatInt(*w.Count, 10)
		}
		if r.Count != count || !sameDecimal(r.Usage, w.Usage) || !sameDecimal(r.Price, w.Price) {
			p.t.Errorf("%s: page count %q usage %q price %q; API count %q usage %s price %s", w.Category, r.Count, r.Usage, r.Price, count, w.Usage, w.Price)
		}
		if w.Category == "totalprice" && !strings.Contains(r.Text, "$") {
			p.t.Errorf("the total is not shown in dollars: %q", r.Text)
		}
	}
	summary := evalJS[map[string]string](p, `({price: document.getElementById('sum-price').dataset.value,
		minutes: document.getElementById('sum-minutes').dataset.value, messages: document.getElementById('sum-messages').dataset.value})`)
	if !sameDecimal(summary["price"], byCat["totalprice"].Price) || !sameDecimal(summary["minutes"], byCat["calls"].Usage) || !sameDecimal(summary["messages"], byCat["sms"].Usage) {
		p.t.Errorf("summary %v; API total price %s, call minutes %s, messages %s", summary, byCat["totalprice"].Price, byCat["calls"].Usage, byCat["sms"].Usage)
	}
}

// checkHierarchy checks that children are indented under their parents.
func (p *page) checkHierarchy() {
	p.t.Helper()
	depths := evalJS[map[string]string](p, `Object.fromEntries(Array.from(document.querySelectorAll('#usage-table tr[data-category]')).map(r => [r.dataset.category, r.className.match(/depth-\d/)[0]]))`)
	for cat, want := range map[string]string{"calls": "depth-0", "calls-inbound": "depth-1", "calls-inbound-local": "depth-2", "sms-outbound-longcode": "depth-2", "recordings": "depth-0", "totalprice": "depth-0"} {
		if depths[cat] != want {
			p.t.Errorf("%s is drawn at %s, want %s", cat, depths[cat], want)
		}
	}
	indent := evalJS[[]float64](p, `['calls', 'calls-inbound', 'calls-inbound-local'].map(c =>
		document.querySelector('tr[data-category="' + c + '"] button.category').getBoundingClientRect().left)`)
	if !(indent[0] < indent[1] && indent[1] < indent[2]) {
		p.t.Errorf("children are not indented under their parents: %v", indent)
	}
}

func sameDecimal(text string, want decimal.Decimal) bool {
	d, err := decimal.NewFromString(text)
	return err == nil && d.Equal(want)
}

// lastMonth is the first and last day of the month before now's, in UTC.
func lastMonth(now time.Time) (string, string) {
	now = now.UTC()
	first := time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, time.UTC)
	return first.Format(time.DateOnly), first.AddDate(0, 1, -1).Format(time.DateOnly)
}

// ---------- the chart ----------

// testChart checks the chart against the Usage Records API: by day up to 92
// days, by month beyond, one bar per period, with the API's figures; its
// reading of every page; its error state; and its redrawing on a phone.
func testChart(t *testing.T, browser context.Context, srv *demoServer) {
	p := newPage(t, browser, srv)
	p.signIn("manager", srv.passwords["manager"])
	token := srv.signIn(t, "manager", srv.passwords["manager"])
	today := time.Now().UTC()
	day := func(d int) string { return today.AddDate(0, 0, d).Format(time.DateOnly) }

	// 92 days are drawn by day, 93 by month: a bookmark of each.
	for _, c := range []struct {
		start, by string
	}{{day(-91), "day"}, {day(-92), "month"}, {day(-400), "month"}, {day(0), "day"}} {
		p.navigate(srv.url + "/?" + url.Values{"account": {demoSupport}, "period": {"custom"}, "start": {c.start}, "end": {day(0)}, "category": {"calls"}}.Encode())
		p.waitReady()
		p.checkChart(token, c.by)
	}

	// The chart reads every page the API gives: with pages of 7 records, a
	// 92-day answer takes 14 requests and gives the same 92 points.
	view := fmt.Sprintf(`{account: %q, start: %q, end: %q, category: 'sms'}`, demoParent, day(-91), day(0))
	paged := evalJS[[]chartPoint](p, `(async () => {
		const m = await import('/static/chart.js');
		const urls = [];
		const get = (u) => { urls.push(u); return fetch(u).then((r) => r.json()); };
		const series = await m.loadSeries(`+view+`, get, 7);
		if (urls.length !== 14 || !urls.slice(1).every((u) => u.includes('PageToken='))) throw new Error('pages read: ' + urls.join(' '));
		return series.points.map((p) => ({start: p.start, end: p.end, value: p.usage}));
	})()`, chromedp.EvalAwaitPromise)
	want := srv.series(t, token, demoParent, day(-91), day(0), "sms", "Daily")
	if len(paged) != 92 || len(want) != 92 {
		t.Fatalf("paged series: %d points, the API %d records", len(paged), len(want))
	}
	for i, w := range want {
		if paged[i].Start != w.StartDate || paged[i].End != w.EndDate || !sameDecimal(paged[i].Value, w.Usage) {
			t.Errorf("point %d: %+v, API %+v", i, paged[i], w)
		}
	}

	// When the API cannot be reached the chart says so, and the table stays.
	p.navigate(srv.url + "/?" + url.Values{"account": {demoParent}, "period": {"last-30-days"}}.Encode())
	p.waitReady()
	p.checkChart(token, "day")
	p.blockURLs("*://*:*/2010-04-01/*")
	p.click(`button.category[data-category="calls"]`)
	p.waitFor(`document.getElementById('chart-area').dataset.state === 'error'`)
	if got := p.text("#chart-area [role=alert]"); !strings.HasPrefix(got, "The chart cannot be drawn") {
		t.Errorf("chart error %q", got)
	}
	if evalJS[bool](p, `document.getElementById('view').hidden || !document.getElementById('error').hidden`) {
		t.Error("a chart that cannot load hides the view")
	}
	p.blockURLs()
	p.click(`button.category[data-category="sms"]`)
	p.checkChart(token, "day")

	// On a phone the chart is drawn again to the narrower box.
	p.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	p.waitFor(`document.getElementById('chart-area').dataset.state === 'ready' && Number(document.querySelector('#chart-area svg').getAttribute('width')) < 390`)
	p.checkChart(token, "day")
	p.do(chromedp.EmulateReset())
}

// chartPoint is one period of a chart: a bar, a row of its table, or a point
// the chart module read.
type chartPoint struct {
	Start string `json:"start"`
	End   string `json:"end"`
	Value string `json:"value"`
	Count string `json:"count"`
	Usage string `json:"usage"`
	Price string `json:"price"`
}

// checkChart waits for the chart of the view in the address bar and compares
// it with the Usage Records API's Daily or Monthly answer for the same
// account, category and range: one bar and one table row per period, each
// with the API's figures; by is "day" or "month", as the range's length says.
func (p *page) checkChart(token, by string) {
	p.t.Helper()
	start, end := p.downloadRange()
	state := evalJS[map[string]string](p, `Object.fromEntries(new URLSearchParams(location.search))`)
	account, category := state["account"], state["category"]
	if category == "" {
		category = "totalprice"
	}
	key := strings.Join([]string{account, start, end, category}, "/")
	p.waitFor(fmt.Sprintf(`document.getElementById('chart-area').dataset.state === 'ready' && document.getElementById('chart-area').dataset.key === %q`, key))

	// The number of periods, counted here from the dates alone.
	first, err1 := time.Parse(time.DateOnly, start)
	last, err2 := time.Parse(time.DateOnly, end)
	if err1 != nil || err2 != nil {
		p.t.Fatalf("range %s..%s", start, end)
	}
	periods := int(last.Sub(first).Hours()/24) + 1
	granularity := "Daily"
	if by == "month" {
		periods = (last.Year()*12 + int(last.Month())) - (first.Year()*12 + int(first.Month())) + 1
		granularity = "Monthly"
	}
	want := p.srv.series(p.t, token, account, start, end, category, granularity)

	svg := evalJS[map[string]string](p, `(s => ({by: s.dataset.by, role: s.getAttribute('role'), title: s.querySelector('title').textContent,
		desc: s.querySelector('desc').textContent, labelled: s.getAttribute('aria-labelledby'), heading: document.getElementById('chart-title').textContent}))(document.querySelector('#chart-area svg'))`)
	if svg["by"] != by || !strings.Contains(svg["heading"], "by "+by) || !strings.Contains(svg["title"], "by "+by) {
		p.t.Errorf("%s %s..%s is charted %+v, want by %s", category, start, end, svg, by)
	}
	if svg["role"] != "img" || svg["labelled"] != "chart-svg-title" || svg["desc"] == "" {
		p.t.Errorf("the chart is not an image with a title and a description: %+v", svg)
	}
	bars := evalJS[[]chartPoint](p, `Array.from(document.querySelectorAll('#chart-area svg rect.bar')).map(b => ({start: b.dataset.start, end: b.dataset.end, value: b.dataset.value}))`)
	rows := evalJS[[]chartPoint](p, `Array.from(document.querySelectorAll('#chart-area table tbody tr')).map(r => {
		const v = (f) => { const c = r.querySelector('[data-field=' + f + ']'); return c ? c.dataset.value : ''; };
		return {start: r.dataset.start, end: r.dataset.end, count: v('count'), usage: v('usage'), price: v('price')};
	})`)
	if len(bars) != periods || len(want) != periods || len(rows) != periods {
		p.t.Fatalf("%s %s..%s by %s: %d bars and %d table rows, the API %d records; %d periods", category, start, end, by, len(bars), len(rows), len(want), periods)
	}
	for i, w := range want {
		value := w.Usage
		if category == "totalprice" {
			value = w.Price
		}
		if bars[i].Start != w.StartDate || bars[i].End != w.EndDate || !sameDecimal(bars[i].Value, value) {
			p.t.Errorf("%s bar %d: %+v; API %s..%s %s", category, i, bars[i], w.StartDate, w.EndDate, value)
		}
		r := rows[i]
		if r.Start != w.StartDate || r.End != w.EndDate || !sameDecimal(r.Price, w.Price) ||
			(category != "totalprice" && (!sameDecimal(r.Usage, w.Usage) || r.Count != w.Count)) {
			p.t.Errorf("%s table row %d: %+v; API %+v", category, i, r, w)
		}
	}
}

// twilioRecord is a record of the Usage Records API (Twilio's JSON).
type twilioRecord struct {
	Category  string          `json:"category"`
	StartDate string          `json:"start_date"`
	EndDate   string          `json:"end_date"`
	Count     string          `json:"count"`
	Usage     decimal.Decimal `json:"usage"`
	Price     decimal.Decimal `json:"price"`
}

// series asks the Usage Records API for one category of an account alone,
// by day or month, following next_page_uri to the end.
func (s *demoServer) series(t *testing.T, token, account, start, end, category, granularity string) []twilioRecord {
	t.Helper()
	q := url.Values{"Category": {category}, "StartDate": {start}, "EndDate": {end}, "IncludeSubaccounts": {"false"}, "PageSize": {"50"}}
	next := "/2010-04-01/Accounts/" + account + "/Usage/Records/" + granularity + ".json?" + q.Encode()
	var out []twilioRecord
	for next != "" {
		res := s.get(t, token, next)
		var page struct {
			Records []twilioRecord `json:"usage_records"`
			Next    *string        `json:"next_page_uri"`
		}
		if err := json.NewDecoder(res.Body).Decode(&page); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v", next, res.StatusCode, err)
		}
		out = append(out, page.Records...)
		next = ""
		if page.Next != nil {
			next = *page.Next
		}
	}
	return out
}

// blockURLs makes the browser fail requests to URLs matching the patterns;
// none unblocks.
func (p *page) blockURLs(patterns ...string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		p.t.Fatal(err)
	}
	blocks := []*network.BlockPattern{}
	for _, pat := range patterns {
		blocks = append(blocks, &network.BlockPattern{URLPattern: pat, Block: true})
	}
	if _, err := chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: blocks}); err != nil {
		p.t.Fatal(err)
	}
}

// ---------- downloads ----------

// testDownloads saves the view's CSV as a user does (Chrome writes it to a
// folder) and compares its rows with the API's records; the JSON, XML and JSV
// links answer the same records with their content types, on the session
// cookie alone.
func testDownloads(t *testing.T, chrome context.Context, srv *demoServer) {
	p := newPage(t, chrome, srv)
	p.signIn("manager", srv.passwords["manager"])
	token := srv.signIn(t, "manager", srv.passwords["manager"])
	p.navigate(srv.url + "/?" + url.Values{"account": {demoSupport}, "period": {"last-month"}, "category": {"calls"}}.Encode())
	p.waitReady()
	start, end := p.downloadRange()
	want := srv.usage(t, token, demoSupport, p.downloadRange)

	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir, BrowserContextID: chromedp.FromContext(p.ctx).BrowserContextID,
	})
	if err != nil {
		t.Fatal(err)
	}
	p.click("#dl-csv")
	name := fmt.Sprintf("usage-%s-%s-%s.csv", demoSupport, start, end)
	body := waitForFile(t, filepath.Join(dir, name))
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("the CSV download: %v\n%s", err, body)
	}
	header := "AccountSid,Category,Count,CountUnit,Description,EndDate,Price,PriceUnit,StartDate,Usage,UsageUnit,Uri"
	if len(rows) == 0 || strings.Join(rows[0], ",") != header {
		t.Fatalf("the CSV download's header: %q", rows)
	}
	if len(rows)-1 != len(want) {
		t.Fatalf("the CSV download has %d rows, the API %d records", len(rows)-1, len(want))
	}
	for i, w := range want {
		r := rows[i+1]
		count := ""
		if w.Count != nil {
			count = strconv.FormatInt(*w.Count, 10)
		}
		if r[0] != demoSupport || r[1] != w.Category || r[2] != count || !sameDecimal(r[6], w.Price) || r[8] != start || r[5] != end || !sameDecimal(r[9], w.Usage) {
			t.Errorf("CSV row %d %q; API %s count %s usage %s price %s", i, r, w.Category, count, w.Usage, w.Price)
		}
	}

	// The other formats, fetched from the page with the session cookie only.
	type answer struct {
		Status      int    `json:"status"`
		ContentType string `json:"contentType"`
		Body        string `json:"body"`
		Download    string `json:"download"`
	}
	answers := evalJS[map[string]answer](p, `Promise.all(['json', 'xml', 'jsv'].map(async (f) => {
		const a = document.getElementById('dl-' + f);
		const r = await fetch(a.href);
		return [f, {status: r.status, contentType: r.headers.get('content-type'), body: await r.text(), download: a.download}];
	})).then(Object.fromEntries)`, chromedp.EvalAwaitPromise)
	for f, ct := range map[string]string{"json": "application/json; charset=utf-8", "xml": "application/xml; charset=utf-8", "jsv": "text/jsv; charset=utf-8"} {
		a := answers[f]
		if a.Status != http.StatusOK || a.ContentType != ct || a.Download != strings.TrimSuffix(name, ".csv")+"."+f {
			t.Errorf("%s download: %d %q, file name %q", f, a.Status, a.ContentType, a.Download)
		}
	}
	var fromJSON []apiRecord
	if err := json.Unmarshal([]byte(answers["json"].Body), &fromJSON); err != nil || len(fromJSON) != len(want) {
		t.Errorf("JSON download: %d records, %v", len(fromJSON), err)
	}
	var fromXML struct {
		Records []struct{ Category, Usage, Price string } `xml:"UsageRecord"`
	}
	if err := xml.Unmarshal([]byte(answers["xml"].Body), &fromXML); err != nil || len(fromXML.Records) != len(want) {
		t.Errorf("XML download: %d records, %v", len(fromXML.Records), err)
	}
	var fromJSV []servicestack.UsageRecord
	if err := jsv.Unmarshal([]byte(answers["jsv"].Body), &fromJSV); err != nil || len(fromJSV) != len(want) {
		t.Errorf("JSV download: %d records, %v", len(fromJSV), err)
	}
	for i, w := range want {
		if i < len(fromXML.Records) && (fromXML.Records[i].Category != w.Category || !sameDecimal(fromXML.Records[i].Usage, w.Usage) || !sameDecimal(fromXML.Records[i].Price, w.Price)) {
			t.Errorf("XML record %d %+v; API %+v", i, fromXML.Records[i], w)
		}
		if i < len(fromJSV) && (fromJSV[i].Category != w.Category || !sameDecimal(fromJSV[i].Usage, w.Usage) || !fromJSV[i].Price.Equal(w.Price)) {
			t.Errorf("JSV record %d %+v; API %+v", i, fromJSV[i], w)
		}
	}
}

// waitForFile waits until Chrome has finished writing a download.
func waitForFile(t *testing.T, path string) []byte {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for time.Now().Before(deadline) {
		body, err := os.ReadFile(path)
		if _, partial := os.Stat(path + ".crdownload"); err == nil && os.IsNotExist(partial) {
			return body
		}
		time.Sleep(50 * time.Millisecond)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	t.Fatalf("no download at %s; the folder holds %v", path, names)
	return nil
}

// testTriggers: the manager sees a trigger of the account with its progress
// bar at the value the API answers, creates one through the form (server
// errors shown by their fields first) and deletes one.
func testTriggers(t *testing.T, browser context.Context, srv *demoServer) {
	token := srv.signIn(t, "manager", srv.passwords["manager"])
	triggersURL := srv.url + "/2010-04-01/Accounts/" + demoParent + "/Usage/Triggers"
	send := func(method, url string, form url.Values) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(form.Encode()))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %v", method, url, res.StatusCode, err)
		}
		return out
	}
	count := func() int {
		l := send(http.MethodGet, triggersURL+".json", nil)
		return len(l["usage_triggers"].([]any))
	}
	// A public documentation address (TEST-NET-3), far from its threshold: it never fires.
	tr := send(http.MethodPost, triggersURL+".json", url.Values{"UsageCategory": {"calls"}, "TriggerValue": {"1000000"},
		"Recurring": {"monthly"}, "CallbackUrl": {"https://203.0.113.10/hook"}, "FriendlyName": {"Calls cap"}})
	sid := tr["sid"].(string)
	tr = send(http.MethodGet, triggersURL+"/"+sid+".json", nil)
	current := tr["current_value"].(string)

	p := newPage(t, browser, srv)
	p.signIn("manager", srv.passwords["manager"])
	// The manager sees several accounts, so sign-in opens the overview.
	p.navigate(srv.url + "/?account=" + demoParent + "&period=this-month")
	row := fmt.Sprintf(`#triggers-table tr[data-trigger=%q]`, sid)
	p.waitFor(`!document.getElementById('triggers').hidden && document.querySelector('` + row + `') !== null`)
	if got := p.attr(row+" progress", "value"); !sameDecimal(got, decimal.RequireFromString(current)) {
		t.Errorf("progress value %q, the API says %s", got, current)
	}
	if got := p.attr(row+" progress", "max"); got != "1000000.000000" {
		t.Errorf("progress max %q", got)
	}
	if text := p.text(row + " .progress-text"); !strings.HasPrefix(text, current+" of 1000000") {
		t.Errorf("progress text %q, current value %s", text, current)
	}
	if text := p.text(row); !strings.Contains(text, "Monthly") || !strings.Contains(text, "Never") {
		t.Errorf("row %q", text)
	}

	set := func(id, v string) {
		evalJS[chromedp.Void](p, fmt.Sprintf(`document.getElementById(%q).value = %q`, id, v))
	}
	// Bad values: each error beside its field, nothing created.
	p.choose("#trigger-UsageCategory", "sms")
	set("trigger-TriggerValue", "-5")
	set("trigger-CallbackUrl", "ftp://example")
	p.click("#trigger-create")
	p.waitFor(`!document.getElementById('trigger-error-TriggerValue').hidden && !document.getElementById('trigger-error-CallbackUrl').hidden`)
	if !strings.Contains(p.text("#trigger-error-CallbackUrl"), "CallbackUrl") || !hiddenByID(p, "trigger-error-UsageCategory") {
		t.Errorf("field errors: %q", p.text("#trigger-error-CallbackUrl"))
	}
	if n := count(); n != 1 {
		t.Fatalf("%d triggers after a refused form", n)
	}
	// Good values: created.
	set("trigger-TriggerValue", "+50")
	set("trigger-CallbackUrl", "https://203.0.113.10/sms")
	set("trigger-FriendlyName", "SMS alarm")
	p.click("#trigger-create")
	p.waitFor(`document.querySelectorAll('#triggers-table tbody tr').length === 2`)
	if n := count(); n != 2 {
		t.Fatalf("%d triggers after the form, want 2", n)
	}
	// Delete the first one.
	p.click(row + " button[data-delete]")
	p.waitFor(`document.querySelector('` + row + `') === null && document.querySelectorAll('#triggers-table tbody tr').length === 1`)
	if n := count(); n != 1 {
		t.Fatalf("%d triggers after deleting one, want 1", n)
	}
}

// hiddenByID reports whether an element is hidden.
func hiddenByID(p *page, id string) bool {
	return evalJS[bool](p, fmt.Sprintf(`document.getElementById(%q).hidden`, id))
}
