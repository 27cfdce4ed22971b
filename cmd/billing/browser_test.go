package main

import (
	"bufio"
	"context"
	"encoding/json"
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

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/handlers"
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
			t.Run("wrong password", func(t *testing.T) { testWrongPassword(t, browser, srv) })
			t.Run("manager of a sub-account", func(t *testing.T) { testSubAccountManager(t, browser, srv) })
			t.Run("expired session", func(t *testing.T) { testExpiredSession(t, browser, srv, backend) })
		})
	}
}

func testManagerView(t *testing.T, browser context.Context, srv *demoServer, backend string) {
	p := newPage(t, browser, srv)
	p.signIn("manager", srv.passwords["manager"])

	// The page opens on the manager's top account, this month, with the
	// breadcrumb naming it.
	p.waitFor(`location.search.includes("account=` + demoParent + `") && location.search.includes("period=this-month")`)
	if got := p.text("#view-title"); got != "Acme Voice" {
		t.Errorf("title %q, want Acme Voice", got)
	}
	token := srv.signIn(t, "manager", srv.passwords["manager"])
	p.checkAgainstAPI(token, demoParent)
	p.checkHierarchy()
	p.screenshot(filepath.Join(artifactDir, "dashboard-"+backend+".png"))

	// Every account the manager may read is offered, with its path.
	options := evalJS[[]string](p, `Array.from(document.querySelectorAll('#account option')).map(o => o.value + '=' + o.textContent)`)
	want := []string{demoMarketing + "=Acme Voice › Acme Marketing", demoSupport + "=Acme Voice › Acme Support", demoParent + "=Acme Voice"}
	if strings.Join(options, "\n") != strings.Join(want, "\n") {
		t.Errorf("account options:\n%s\nwant:\n%s", strings.Join(options, "\n"), strings.Join(want, "\n"))
	}

	// Last month, watching the loading state show on the way.
	evalJS[chromedp.Void](p, `window.seenLoading = false; new MutationObserver(() => {
		const s = document.getElementById('status');
		if (s.classList.contains('busy') && s.textContent === 'Loading usage…' && s.getBoundingClientRect().width > 1 &&
			document.getElementById('dashboard').getAttribute('aria-busy') === 'true') window.seenLoading = true;
	}).observe(document.getElementById('status'), {attributes: true, childList: true, subtree: true, characterData: true})`)
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

	// A category chosen in the table is the chart's.
	p.click(`button.category[data-category="sms"]`)
	p.waitFor(`location.search.includes("category=sms") && document.querySelector('#chart-area [data-category]').dataset.category === "sms"`)
	if got := p.attr(`button.category[data-category="sms"]`, "aria-pressed"); got != "true" {
		t.Errorf("the chosen category's button has aria-pressed=%q", got)
	}
	if got := p.text("#chart-title"); !strings.Contains(got, "by day") {
		t.Errorf("chart title %q: a month is charted by day", got)
	}
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

	// This year is charted by month.
	p.choose("#period", "this-year")
	p.waitFor(`location.search.includes("period=this-year")`)
	p.waitReady()
	p.checkAgainstAPI(token, demoParent)
	if got := p.text("#chart-title"); today.YearDay() > 92 && !strings.Contains(got, "by month") {
		t.Errorf("chart title %q: a long range is charted by month", got)
	}

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
	p.waitFor(`location.search.includes("account=` + demoParent + `")`)

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
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	_, err = chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{
		Name: auth.CookieName, Value: expired, URL: srv.url + "/", Path: "/", HTTPOnly: new(true), SameSite: network.CookieSameSiteStrict,
	})
	if err != nil {
		t.Fatal(err)
	}

	p.choose("#period", "last-30-days")
	p.waitFor(`!document.getElementById('signin').hidden`)
	if got := p.text("#signin-message"); got != "Your session has expired. Please sign in again." {
		t.Errorf("sign-in message %q", got)
	}
	p.screenshot(filepath.Join(artifactDir, "signin-expired-"+backend+".png"))
	// Signing in again returns to the view the URL names.
	p.signIn("manager", srv.passwords["manager"])
	p.waitFor(`location.search.includes("period=last-30-days") && document.getElementById('period').value === 'last-30-days'`)
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
	var out handlers.AuthenticateResponse
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
	p.waitReady()
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
