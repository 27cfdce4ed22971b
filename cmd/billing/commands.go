package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/models"
	"github.com/evovoice/billing/repo"
)

func runMigrate(ctx context.Context, args []string, out io.Writer) error {
	f := newFlags("migrate")
	if err := parse(f, args); err != nil {
		return err
	}
	store, err := f.Config.openDB(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintf(out, "%s database is up to date\n", store.Dialect())
	return nil
}

func runAccountAdd(ctx context.Context, args []string, out io.Writer) error {
	f := newFlags("account add")
	name := f.String("name", "", "the account's name (required)")
	sid := f.String("sid", "", "the SID to use (default: a new random one)")
	parent := f.String("parent", "", "the parent account's SID, for a sub-account")
	currency := f.String("currency", "", "ISO 4217 currency (default: the parent's, or usd)")
	if err := parse(f, args); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return errors.New("account add: --name is required")
	}
	a := models.Account{Name: strings.TrimSpace(*name), Sid: models.NewAccountSid(), CreatedAt: time.Now().UTC()}
	if *sid != "" {
		s, ok := models.NormalizeAccountSid(*sid)
		if !ok {
			return fmt.Errorf("account add: --sid %q is not AC followed by 32 hex digits", *sid)
		}
		a.Sid = s
	}
	store, err := f.Config.openDB(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	a.Currency = "usd"
	if *parent != "" {
		p, ok := models.NormalizeAccountSid(*parent)
		if !ok {
			return fmt.Errorf("account add: --parent %q is not AC followed by 32 hex digits", *parent)
		}
		pa, err := store.Account(ctx, p)
		if errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("account add: parent account %s does not exist", p)
		} else if err != nil {
			return err
		}
		a.ParentSid, a.Currency = p, pa.Currency
	}
	if *currency != "" {
		c, ok := models.NormalizeCurrency(*currency)
		if !ok {
			return fmt.Errorf("account add: --currency %q is not a three-letter ISO 4217 code", *currency)
		}
		a.Currency = c
	}
	box, err := f.Config.tokenBox(false)
	if err != nil {
		return err
	}
	token := models.NewAuthToken()
	if err := store.CreateAccount(ctx, a, models.HashAuthToken(token)); err != nil {
		return fmt.Errorf("account add: %w", err)
	}
	if box != nil {
		// A failure here leaves an account whose callbacks cannot be signed
		// until it rotates its token: safe, and said below.
		if err := store.SetAuthToken(ctx, a.Sid, models.HashAuthToken(token), sealToken(box, a.Sid, token)); err != nil {
			return fmt.Errorf("account add: sealing the auth token: %w", err)
		}
	}
	fmt.Fprintf(out, "ACCOUNT_SID=%s\nAUTH_TOKEN=%s\n", a.Sid, token)
	fmt.Fprintln(os.Stderr, "The auth token is shown only this once; it is stored only hashed and sealed.")
	warnUnsealed(box)
	return nil
}

func runAccountRotateToken(ctx context.Context, args []string, out io.Writer) error {
	f := newFlags("account rotate-token")
	if err := parse(f, args); err != nil {
		return err
	}
	if f.NArg() != 1 {
		return errors.New("account rotate-token: give exactly one account SID")
	}
	sid, ok := models.NormalizeAccountSid(f.Arg(0))
	if !ok {
		return fmt.Errorf("account rotate-token: %q is not AC followed by 32 hex digits", f.Arg(0))
	}
	store, err := f.Config.openDB(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	box, err := f.Config.tokenBox(false)
	if err != nil {
		return err
	}
	token := models.NewAuthToken()
	if err := store.SetAuthToken(ctx, sid, models.HashAuthToken(token), sealToken(box, sid, token)); errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("account rotate-token: account %s does not exist", sid)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(out, "ACCOUNT_SID=%s\nAUTH_TOKEN=%s\n", sid, token)
	fmt.Fprintln(os.Stderr, "The old auth token no longer works. The new one is shown only this once.")
	warnUnsealed(box)
	return nil
}

// warnUnsealed says what a missing secret key costs.
func warnUnsealed(box *auth.TokenBox) {
	if box == nil {
		fmt.Fprintln(os.Stderr, "No BILLING_SECRET_KEY: the token is stored only hashed, so this account's usage trigger callbacks cannot be signed until its token is rotated with the key set.")
	}
}

func runToken(ctx context.Context, args []string, out io.Writer) error {
	f := newFlags("token")
	sub := f.String("sub", "", "the subject: who the token is for (required)")
	name := f.String("name", "", "a display name")
	roles := f.String("roles", "", "comma-separated roles: SystemAdministrator, Manager")
	accounts := f.String("accounts", "", "comma-separated account SIDs the token names")
	ttl := f.Duration("ttl", time.Hour, "how long the token is valid")
	if err := parse(f, args); err != nil {
		return err
	}
	if *sub == "" {
		return errors.New("token: --sub is required")
	}
	if *ttl <= 0 {
		return errors.New("token: --ttl must be positive")
	}
	var sids []string
	for _, s := range splitList(*accounts) {
		sid, ok := models.NormalizeAccountSid(s)
		if !ok {
			return fmt.Errorf("token: %q is not AC followed by 32 hex digits", s)
		}
		sids = append(sids, sid)
	}
	cfg, err := f.Config.jwtConfig(false)
	if err != nil {
		return err
	}
	signer, err := f.Config.newSigner(cfg)
	if err != nil {
		return err
	}
	token, err := signer.Sign(*sub, *name, splitList(*roles), sids, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, token)
	return nil
}

// ingestBatch is how many NDJSON lines one transaction takes.
const ingestBatch = models.MaxBatchEvents

func runIngest(ctx context.Context, args []string, out io.Writer) error {
	f := newFlags("ingest")
	if err := parse(f, args); err != nil {
		return err
	}
	if f.NArg() != 1 {
		return errors.New("ingest: give one NDJSON file, or - for standard input")
	}
	in := io.Reader(os.Stdin)
	if name := f.Arg(0); name != "-" {
		file, err := os.Open(name)
		if err != nil {
			return err
		}
		defer file.Close()
		in = file
	}
	// Check the whole file before storing anything, so that a typo on the
	// last line does not leave the file half ingested.
	batches, err := readEvents(in)
	if err != nil {
		return err
	}
	store, err := f.Config.openDB(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	return ingestBatches(ctx, store, batches, out)
}

// eventBatch is up to ingestBatch validated events and the lines they came from.
type eventBatch struct {
	events []models.UsageEvent
	lines  []int
}

// readEvents parses and validates NDJSON, one event per non-blank line.
func readEvents(r io.Reader) ([]eventBatch, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var (
		batches  []eventBatch
		inputs   []models.UsageEventInput
		lines    []int
		problems []string
	)
	flush := func() {
		if len(inputs) == 0 {
			return
		}
		events, err := models.ValidateBatch(inputs)
		if err != nil {
			problems = append(problems, byLine(err, lines)...)
		} else {
			batches = append(batches, eventBatch{events: events, lines: lines})
		}
		inputs, lines = nil, nil
	}
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		inputs, lines = append(inputs, models.DecodeUsageEventJSON([]byte(text))), append(lines, n)
		if len(inputs) == ingestBatch {
			flush()
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading events: %w", err)
	}
	flush()
	if len(problems) > 0 {
		return nil, fmt.Errorf("nothing was stored; %d problem(s):\n  %s", len(problems), strings.Join(limit(problems, 50), "\n  "))
	}
	return batches, nil
}

func ingestBatches(ctx context.Context, store *repo.Store, batches []eventBatch, out io.Writer) error {
	var accepted, duplicates int
	for _, b := range batches {
		res, err := store.RecordUsageEvents(ctx, b.events)
		if err != nil {
			fmt.Fprintf(out, "accepted %d, duplicates %d before the failure (ingesting the file again is safe)\n", accepted, duplicates)
			return fmt.Errorf("lines %d-%d were not stored:\n  %s", b.lines[0], b.lines[len(b.lines)-1], strings.Join(limit(byLine(err, b.lines), 50), "\n  "))
		}
		accepted += res.Accepted
		duplicates += len(res.Duplicates)
	}
	fmt.Fprintf(out, "accepted %d, duplicates %d\n", accepted, duplicates)
	return nil
}

// byLine restates a batch error's messages with file line numbers, by the
// index of the event each one concerns.
func byLine(err error, lines []int) []string {
	var fields []models.FieldError
	var ve *models.ValidationError
	var ce *models.ConflictError
	switch {
	case errors.As(err, &ce):
		fields = ce.Errors
	case errors.As(err, &ve):
		fields = ve.Errors
	default:
		return []string{err.Error()}
	}
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.Message
		if n, msg, ok := f.Event(); ok && n < len(lines) {
			out[i] = fmt.Sprintf("line %d: %s", lines[n], msg)
		}
	}
	return out
}

func limit(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("… and %d more", len(s)-n))
	}
	return s
}

func runCheck(ctx context.Context, args []string, out io.Writer) error {
	f := newFlags("check")
	u := f.String("url", "http://127.0.0.1:8080/readyz", "the URL to check")
	if err := parse(f, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *u, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", *u, res.Status)
	}
	fmt.Fprintln(out, "ok")
	return nil
}
