package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/evovoice/billing/cmd/billing/internal/synth"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
)

// Request is one kind of read in a load mix: a URL template for the HTTP
// service and, for the SQL baselines, the store call that produces the
// answer. Placeholders: {account}, {category}, {today}, {today-N} (N days
// before today), {month-N} and {monthend-N} (first and last day of the month
// N months before this one), all as YYYY-MM-DD where they are dates.
type Request struct {
	Name     string
	Weight   int
	Template string
	// Answer reads the usage the answer is made of; nil when no SQL
	// equivalent is known (custom templates).
	Answer func(ctx context.Context, s *repo.Store, p Params) error
	// What the service reads besides the answer, for the "sql" baseline.
	DefaultStart bool // the range starts at the account's first usage: FirstUsageDay
	Subaccounts  bool // the account and its sub-accounts: Descendants
	NoAccount    bool // names no account (the accounts overview): no AccountOverview first
}

// Params are the random choices behind one request.
type Params struct {
	Account  synth.Account
	Category string
	Today    models.Date
}

// queryCategories are the categories {category} draws from: the ones a
// dashboard shows first.
var queryCategories = []string{"calls", "calls-inbound", "calls-outbound", "sms", "sms-outbound", "recordings", "phonenumbers", "totalprice"}

// stored mirrors the handlers: the categories whose rollups answer a filter.
func stored(category string) []string {
	if category == "" || category == models.TotalPrice {
		return nil
	}
	return models.Subtree(category)
}

func allTime(ctx context.Context, s *repo.Store, p Params) error {
	_, err := s.UsageTotals(ctx, models.UsageQuery{Accounts: []string{p.Account.Sid}, Range: models.DateRange{Start: min(models.DateOf(p.Account.CreatedAt), p.Today), End: p.Today}})
	return err
}

// serviceReads issues what the service reads for a request, in its order,
// through the same store methods: the account overview (account, lineage
// for the scope check, first usage day); with sub-accounts, their list and,
// for a default start, their first usage day; then the answer. With the
// store's account directory started, as the service starts it, all but the
// answer come from memory.
func serviceReads(ctx context.Context, s *repo.Store, r Request, p Params) error {
	if r.NoAccount {
		return r.Answer(ctx, s, p)
	}
	if _, err := s.AccountOverview(ctx, p.Account.Sid); err != nil {
		return err
	}
	if r.Subaccounts {
		if _, err := s.Descendants(ctx, p.Account.Sid); err != nil {
			return err
		}
		if r.DefaultStart {
			if _, _, err := s.FirstUsageDay(ctx, p.Account.Descendants); err != nil {
				return err
			}
		}
	}
	return r.Answer(ctx, s, p)
}

// Presets are the reads of the standard mix. daily90 and monthly2y use the
// Restcomm/Twilio routes (IncludeSubaccounts defaults to true there); the
// alltime .xml, .jsv and .csv kinds ServiceStack's format negotiation.
var Presets = []Request{
	{Name: "alltime", Weight: 3, Template: "/billing/usage?AccountId={account}", Answer: allTime, DefaultStart: true},
	{Name: "lastmonth", Weight: 2, Template: "/billing/usage?AccountId={account}&StartDate={month-1}&EndDate={monthend-1}",
		Answer: func(ctx context.Context, s *repo.Store, p Params) error {
			last := p.Today.MonthStart() - 1
			_, err := s.UsageTotals(ctx, models.UsageQuery{Accounts: []string{p.Account.Sid}, Range: models.DateRange{Start: last.MonthStart(), End: last}})
			return err
		}},
	{Name: "category90", Weight: 2, Template: "/billing/usage?AccountId={account}&Category={category}&StartDate={today-89}&EndDate={today}",
		Answer: func(ctx context.Context, s *repo.Store, p Params) error {
			_, err := s.UsageTotals(ctx, models.UsageQuery{Accounts: []string{p.Account.Sid}, Categories: stored(p.Category), Range: models.DateRange{Start: p.Today - 89, End: p.Today}})
			return err
		}},
	{Name: "daily90", Weight: 3, Template: "/2010-04-01/Accounts/{account}/Usage/Records/Daily.json?Category={category}&StartDate={today-89}&EndDate={today}&PageSize=1000",
		Subaccounts: true, Answer: daily90},
	// Restcomm's own prefix without a suffix: XML, what its clients get.
	{Name: "daily90.xml", Weight: 1, Template: "/2012-04-24/Accounts/{account}/Usage/Records/Daily?Category={category}&StartDate={today-89}&EndDate={today}&PageSize=1000",
		Subaccounts: true, Answer: daily90},
	{Name: "monthly2y", Weight: 1, Template: "/2012-04-24/Accounts/{account}/Usage/Records/Monthly.json?StartDate={today-729}&EndDate={today}&PageSize=1000",
		Subaccounts: true,
		Answer: func(ctx context.Context, s *repo.Store, p Params) error {
			_, err := s.UsageByPeriod(ctx, models.UsageQuery{Accounts: p.Account.Descendants, Range: models.DateRange{Start: p.Today - 729, End: p.Today}}, models.GranularityMonth)
			return err
		}},
	{Name: "alltime.xml", Weight: 1, Template: "/billing/usage?AccountId={account}&format=xml", Answer: allTime, DefaultStart: true},
	{Name: "alltime.jsv", Weight: 1, Template: "/billing/usage?AccountId={account}&format=jsv", Answer: allTime, DefaultStart: true},
	{Name: "alltime.csv", Weight: 1, Template: "/billing/usage?AccountId={account}&format=csv", Answer: allTime, DefaultStart: true},
	// The accounts overview as a SystemAdministrator sees it (the bench
	// token's role): every account ranked, the dashboard's first page.
	{Name: "overview.month", Weight: 1, NoAccount: true,
		Template: "/billing/usage/accounts?StartDate={month-1}&EndDate={monthend-1}&Category={category}&CountPerPage=50",
		Answer: func(ctx context.Context, s *repo.Store, p Params) error {
			last := p.Today.MonthStart() - 1
			return overview(ctx, s, p, last.MonthStart(), last)
		}},
	{Name: "overview.year", Weight: 1, NoAccount: true,
		Template: "/billing/usage/accounts?StartDate={month-12}&EndDate={monthend-1}&Category={category}&CountPerPage=50",
		Answer: func(ctx context.Context, s *repo.Store, p Params) error {
			last := p.Today.MonthStart() - 1
			return overview(ctx, s, p, models.DateOf(last.MonthStart().Time().AddDate(0, -11, 0)), last)
		}},
}

// overview reads the accounts overview of every account, as the handler does.
func overview(ctx context.Context, s *repo.Store, p Params, start, end models.Date) error {
	q, err := models.CheckAccountUsage(models.AccountUsageInput{StartDate: start.String(), EndDate: end.String(), Category: p.Category, CountPerPage: "50"}, p.Today)
	if err != nil {
		return err
	}
	_, err = s.ListAccountUsage(ctx, models.Readable{Every: true}, q)
	return err
}

// DefaultMix is every preset with its standard weight.
const DefaultMix = "alltime,lastmonth,category90,daily90,daily90.xml,monthly2y,alltime.xml,alltime.jsv,alltime.csv,overview.month,overview.year"

func daily90(ctx context.Context, s *repo.Store, p Params) error {
	_, err := s.UsageByPeriod(ctx, models.UsageQuery{Accounts: p.Account.Descendants, Categories: stored(p.Category), Range: models.DateRange{Start: p.Today - 89, End: p.Today}}, models.GranularityDay)
	return err
}

// ParseMix reads "name[:weight],…" over the presets, then adds each custom
// template given as "name:weight:/path?query" (no SQL equivalent).
func ParseMix(spec string, templates []string) ([]Request, error) {
	var out []Request
	seen := map[string]bool{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, w, hasWeight := strings.Cut(item, ":")
		var r *Request
		for i := range Presets {
			if Presets[i].Name == name {
				r = &Presets[i]
			}
		}
		if r == nil {
			return nil, fmt.Errorf("unknown request %q in the mix; presets are %s", name, presetNames())
		}
		req := *r
		if hasWeight {
			n, err := strconv.Atoi(w)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("weight of %q must be a whole number ≥ 0", name)
			}
			req.Weight = n
		}
		if seen[name] {
			return nil, fmt.Errorf("%q appears twice in the mix", name)
		}
		seen[name] = true
		if req.Weight > 0 {
			out = append(out, req)
		}
	}
	for _, t := range templates {
		parts := strings.SplitN(t, ":", 3)
		if len(parts) != 3 || !strings.HasPrefix(parts[2], "/") {
			return nil, fmt.Errorf("template %q: want name:weight:/path?query", t)
		}
		n, err := strconv.Atoi(parts[1])
		if err != nil || n < 1 {
			return nil, fmt.Errorf("template %q: the weight must be a whole number ≥ 1", t)
		}
		if seen[parts[0]] || slices.ContainsFunc(Presets, func(r Request) bool { return r.Name == parts[0] }) {
			return nil, fmt.Errorf("template %q: %q is already a request of the mix or a preset", t, parts[0])
		}
		seen[parts[0]] = true
		if _, err := expand(parts[2], Params{Account: synth.Account{Account: models.Account{Sid: "AC0"}}, Category: "calls"}); err != nil {
			return nil, fmt.Errorf("template %q: %w", t, err)
		}
		out = append(out, Request{Name: parts[0], Weight: n, Template: parts[2]})
	}
	if len(out) == 0 {
		return nil, errors.New("the mix is empty")
	}
	return out, nil
}

func presetNames() string {
	names := make([]string, len(Presets))
	for i, p := range Presets {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// expand fills a URL template's placeholders.
func expand(tmpl string, p Params) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			b.WriteString(tmpl)
			return b.String(), nil
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("unclosed { in %q", tmpl)
		}
		b.WriteString(tmpl[:i])
		v, err := placeholder(tmpl[i+1:i+j], p)
		if err != nil {
			return "", err
		}
		b.WriteString(url.QueryEscape(v))
		tmpl = tmpl[i+j+1:]
	}
}

func placeholder(name string, p Params) (string, error) {
	switch name {
	case "account":
		return p.Account.Sid, nil
	case "category":
		return p.Category, nil
	case "today":
		return p.Today.String(), nil
	}
	base, arg, _ := strings.Cut(name, "-")
	n, err := strconv.Atoi(arg)
	if err != nil || n < 0 {
		return "", fmt.Errorf("unknown placeholder {%s}", name)
	}
	switch base {
	case "today":
		return (p.Today - models.Date(n)).String(), nil
	case "month", "monthend":
		t := p.Today.Time()
		first := models.NewDate(t.Year(), t.Month()-time.Month(n), 1)
		if base == "monthend" {
			return first.MonthEnd().String(), nil
		}
		return first.String(), nil
	}
	return "", fmt.Errorf("unknown placeholder {%s}", name)
}

// QueryConfig is one closed-loop read load.
type QueryConfig struct {
	// HTTP mode: the service's base URL and a bearer token.
	BaseURL, Token string
	// SQL mode (a baseline): the store to read directly; BaseURL is ignored.
	Store *repo.Store
	// AnswerOnly makes the SQL mode read only each answer's usage, not the
	// scope and account reads the service also makes.
	AnswerOnly  bool
	Concurrency int
	Duration    time.Duration
	Warmup      time.Duration // run before measuring, not counted
	Mix         []Request
	Accounts    []synth.Account
	Today       models.Date
	Seed        uint64 // random choices; the same seed draws the same sequence per worker
	MetricsURL  string // sampled for the server's RSS during the run; "" skips
	Timeout     time.Duration
}

// QueryReport is what a load run measured.
type QueryReport struct {
	Mode              string           `json:"mode"` // http or sql
	Target            string           `json:"target"`
	Concurrency       int              `json:"concurrency"`
	Seconds           float64          `json:"seconds"`
	Mix               map[string]int   `json:"mix"`
	All               Stats            `json:"all"`
	ByRequest         map[string]Stats `json:"byRequest"`
	ServerRSSMaxBytes int64            `json:"serverRssMaxBytes,omitempty"`
	LoadAvgBefore     string           `json:"loadAvgBefore"`
	LoadAvgAfter      string           `json:"loadAvgAfter"`
	Started           time.Time        `json:"started"`
}

// RunQuery runs the load: Concurrency workers, each sending its next request
// as soon as the previous one is answered, for Warmup plus Duration. Each
// kind of request is tried once first, so that a route that does not exist
// fails the run instead of filling it with errors.
func RunQuery(ctx context.Context, cfg QueryConfig, progress io.Writer) (QueryReport, error) {
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 1
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if len(cfg.Accounts) == 0 {
		return QueryReport{}, errors.New("no accounts to query")
	}
	rep := QueryReport{Mode: "http", Target: cfg.BaseURL, Concurrency: cfg.Concurrency, Mix: map[string]int{}, Started: time.Now().UTC()}
	if cfg.Store != nil {
		rep.Mode, rep.Target = "sql", string(cfg.Store.Dialect())
		if cfg.AnswerOnly {
			rep.Mode = "answer"
		}
		for _, r := range cfg.Mix {
			if r.Answer == nil {
				return rep, fmt.Errorf("%s has no SQL equivalent; leave it out of the baseline's mix", r.Name)
			}
		}
	}
	total := 0
	for _, r := range cfg.Mix {
		rep.Mix[r.Name] = r.Weight
		total += r.Weight
	}
	client := &http.Client{
		Timeout: cfg.Timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: cfg.Concurrency,
			DisableCompression:  true,
		},
	}
	defer client.CloseIdleConnections()
	send := func(ctx context.Context, r Request, p Params) string {
		if cfg.Store != nil {
			read := serviceReads
			if cfg.AnswerOnly {
				read = func(ctx context.Context, s *repo.Store, r Request, p Params) error { return r.Answer(ctx, s, p) }
			}
			if err := read(ctx, cfg.Store, r, p); err != nil {
				return errorKind(err)
			}
			return ""
		}
		return get(ctx, client, cfg.BaseURL, cfg.Token, r, p)
	}

	// Probe every kind once, with an account that has usage.
	probe := cfg.Accounts[0]
	for _, a := range cfg.Accounts {
		if a.Profile.Name != synth.Idle {
			probe = a
			break
		}
	}
	for _, r := range cfg.Mix {
		if kind := send(ctx, r, Params{Account: probe, Category: "calls", Today: cfg.Today}); kind != "" {
			path, _ := expand(r.Template, Params{Account: probe, Category: "calls", Today: cfg.Today})
			return rep, fmt.Errorf("%s failed before the run (%s) on %s; leave it out with --mix", r.Name, kind, path)
		}
	}

	var rss rssSampler
	if cfg.MetricsURL != "" && cfg.Store == nil {
		stop := rss.start(client, cfg.MetricsURL)
		defer stop()
	}
	rep.LoadAvgBefore = loadAvg()
	begin := time.Now()
	measureFrom := begin.Add(cfg.Warmup)
	end := measureFrom.Add(cfg.Duration)
	recs := make([]*recorder, cfg.Concurrency)
	var wg sync.WaitGroup
	for w := range recs {
		rec := newRecorder()
		recs[w] = rec
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(w)))
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				r := synth.Pick(rng, cfg.Mix, func(r Request) int { return r.Weight }, total)
				p := Params{Account: cfg.Accounts[rng.IntN(len(cfg.Accounts))], Category: queryCategories[rng.IntN(len(queryCategories))], Today: cfg.Today}
				rctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
				kind := send(rctx, r, p)
				cancel()
				if t0.After(measureFrom) {
					rec.add(r.Name, time.Since(t0), kind)
				}
			}
		})
	}
	if progress != nil {
		fmt.Fprintf(progress, "%s load: %d workers, %s warm-up, %s measured…\n", rep.Mode, cfg.Concurrency, cfg.Warmup, cfg.Duration)
	}
	wg.Wait()
	elapsed := time.Since(measureFrom)
	rep.LoadAvgAfter = loadAvg()
	rep.Seconds = elapsed.Seconds()
	rep.All, rep.ByRequest = summarize(recs, elapsed)
	rep.ServerRSSMaxBytes = rss.max()
	return rep, ctx.Err()
}

// get sends one HTTP request and reads the whole answer; it returns "" for a
// 2xx answer, else the kind of failure.
func get(ctx context.Context, client *http.Client, base, token string, r Request, p Params) string {
	path, err := expand(r.Template, p)
	if err != nil {
		return "template"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return "template"
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return errorKind(err)
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		return strconv.Itoa(res.StatusCode)
	}
	if err != nil {
		return errorKind(err)
	}
	return ""
}

// errorKind names a failure for the error table.
func errorKind(err error) string {
	var ne net.Error
	var se *statusError
	switch {
	case errors.As(err, &se):
		return strconv.Itoa(se.status)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return "transport"
	}
	return "error"
}

// loadAvg is the machine's 1, 5 and 15 minute load averages, to note beside
// figures measured on a shared machine.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// rssSampler polls the server's process_resident_memory_bytes.
type rssSampler struct {
	mu   sync.Mutex
	peak int64
}

func (s *rssSampler) start(client *http.Client, metricsURL string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			if v, ok := scrapeGauge(ctx, client, metricsURL, "process_resident_memory_bytes"); ok {
				s.mu.Lock()
				s.peak = max(s.peak, int64(v))
				s.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (s *rssSampler) max() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// scrapeGauge reads one unlabelled sample from a Prometheus text endpoint.
func scrapeGauge(ctx context.Context, client *http.Client, u, name string) (float64, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, false
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, false
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}
