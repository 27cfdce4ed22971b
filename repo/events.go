package repo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// maxParams keeps every statement well under both databases' bind limits.
const maxParams = 8_000

// eventKey is the ledger's idempotency key.
type eventKey struct{ account, id string }

// RecordUsageEvents stores a batch of validated events and updates the rollups
// in one transaction. The batch is all or nothing: an unknown account, a wrong
// currency or an id reused with other content (in the batch or in the ledger)
// rejects it whole, with every bad event named by index. Events already in the
// ledger with the same content are reported as duplicates and change nothing.
func (s *Store) RecordUsageEvents(ctx context.Context, events []models.UsageEvent) (models.IngestResult, error) {
	res, rejected, err := s.record(ctx, events, false)
	if err != nil || len(rejected) == 0 {
		return res, err
	}
	return models.IngestResult{}, rejectionError(rejected)
}

// Rejection is an event RecordUsageEventsIsolated left out, and why.
type Rejection struct {
	Index  int
	Code   string // models.CodeConflict, CodeNotFound or CodeInvalid
	Reason string // about the event alone, without its index
}

// RecordUsageEventsIsolated is RecordUsageEvents for events that stand alone,
// such as the messages of a stream: the events RecordUsageEvents would reject
// the batch for are left out and returned, and the others are stored in one
// transaction, so that one bad event never holds back the rest.
func (s *Store) RecordUsageEventsIsolated(ctx context.Context, events []models.UsageEvent) (models.IngestResult, []Rejection, error) {
	res, rejected, err := s.record(ctx, events, true)
	out := make([]Rejection, len(rejected))
	for i, r := range rejected {
		out[i] = Rejection{Index: r.index, Code: r.field.Code, Reason: r.reason}
	}
	return res, out, err
}

// rejection is one event refused by ingestion: the error of the batch API,
// and the same said of the event alone.
type rejection struct {
	index    int
	conflict bool // found in the ledger: a ConflictError rather than a ValidationError
	field    models.FieldError
	reason   string
}

func reject(i int, field, code, message, reason string) rejection {
	var v models.ValidationError
	v.AddEvent(i, field, code, message)
	if reason == "" {
		reason = message
	}
	return rejection{index: i, field: v.Errors[0], reason: reason}
}

// rejectionError is the batch error for rejected events: a conflict with the
// ledger when that is all there is, else a validation error.
func rejectionError(rejected []rejection) error {
	var bad models.ValidationError
	conflictOnly := true
	for _, r := range rejected {
		bad.Errors = append(bad.Errors, r.field) // keeps the event's index
		conflictOnly = conflictOnly && r.conflict
	}
	if conflictOnly {
		return &models.ConflictError{ValidationError: bad}
	}
	return &bad
}

// record runs ingestion; isolate leaves rejected events out rather than
// rejecting the batch. In both modes, every rejection found is returned.
func (s *Store) record(ctx context.Context, events []models.UsageEvent, isolate bool) (models.IngestResult, []rejection, error) {
	if len(events) > models.MaxBatchEvents {
		return models.IngestResult{}, nil, fmt.Errorf("a batch holds at most %d events", models.MaxBatchEvents)
	}
	unique, batchDups, firstOf, rejected := dedupeBatch(events)
	if len(rejected) > 0 && !isolate {
		return models.IngestResult{}, rejected, nil
	}
	var res models.IngestResult
	var more []rejection
	err := s.retry(ctx, func() error {
		var inserted int
		var dups []int
		var err error
		inserted, dups, more, err = s.ingest(ctx, events, unique, isolate)
		res = models.IngestResult{Accepted: inserted, Duplicates: append(slices.Clone(batchDups), dups...)}
		return err
	})
	if err != nil {
		return models.IngestResult{}, nil, err
	}
	rejected = append(rejected, more...)
	// A repeat inside the batch shares the fate of its first occurrence.
	out := map[int]rejection{}
	for _, r := range rejected {
		out[r.index] = r
	}
	res.Duplicates = slices.DeleteFunc(res.Duplicates, func(i int) bool {
		r, bad := out[firstOf[i]]
		if bad {
			r.index = i
			rejected = append(rejected, r)
		}
		return bad
	})
	slices.Sort(res.Duplicates)
	slices.SortFunc(rejected, func(a, b rejection) int { return cmp.Compare(a.index, b.index) })
	if len(rejected) > 0 && !isolate {
		return models.IngestResult{}, rejected, nil
	}
	if d := s.dir.Load(); d != nil {
		// Committed: the next request of this process sees the new first
		// usage days (duplicates repeat stored days, which changes nothing;
		// rejected events were not stored, so they move nothing).
		d.noteUsage(storedEvents(events, rejected))
	}
	if s.ingested != nil && res.Accepted > 0 {
		s.ingested(eventAccounts(events))
	}
	return res, rejected, nil
}

// storedEvents is the batch less its rejected events.
func storedEvents(events []models.UsageEvent, rejected []rejection) []models.UsageEvent {
	if len(rejected) == 0 {
		return events
	}
	bad := make(map[int]bool, len(rejected))
	for _, r := range rejected {
		bad[r.index] = true
	}
	out := make([]models.UsageEvent, 0, len(events)-len(bad))
	for i, e := range events {
		if !bad[i] {
			out = append(out, e)
		}
	}
	return out
}

// eventAccounts lists the distinct accounts of a batch.
func eventAccounts(events []models.UsageEvent) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range events {
		if !seen[e.AccountSid] {
			seen[e.AccountSid] = true
			out = append(out, e.AccountSid)
		}
	}
	return out
}

// dedupeBatch finds ids repeated inside the batch: a repeat with the same
// content is a duplicate (firstOf names its first occurrence), with other
// content a rejection. It returns the indexes of the first occurrences,
// sorted by key so that concurrent batches take their locks in one order,
// and the indexes of the repeats.
func dedupeBatch(events []models.UsageEvent) (unique, dups []int, firstOf map[int]int, rejected []rejection) {
	first := make(map[eventKey]int, len(events))
	firstOf = map[int]int{}
	unique = make([]int, 0, len(events))
	for i, e := range events {
		k := eventKey{e.AccountSid, e.ID}
		j, seen := first[k]
		switch {
		case !seen:
			first[k] = i
			unique = append(unique, i)
		case events[j].SameContent(e):
			dups = append(dups, i)
			firstOf[i] = j
		default:
			rejected = append(rejected, reject(i, "id", models.CodeConflict,
				fmt.Sprintf("id %q repeats the id of events[%d] with other content", e.ID, j),
				fmt.Sprintf("an earlier event of the same batch has the id %q with other content", e.ID)))
		}
	}
	slices.SortFunc(unique, func(a, b int) int {
		return cmp.Or(strings.Compare(events[a].AccountSid, events[b].AccountSid), strings.Compare(events[a].ID, events[b].ID))
	})
	return unique, dups, firstOf, rejected
}

// ingest runs one attempt of the transaction. Without isolate, a rejected
// event stops it before anything is written.
func (s *Store) ingest(ctx context.Context, events []models.UsageEvent, unique []int, isolate bool) (inserted int, dups []int, rejected []rejection, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		bad, err := s.checkAccounts(tx, events, unique)
		if err != nil {
			return err
		}
		if len(bad) > 0 && !isolate {
			rejected = bad
			return nil
		}
		rejected = bad
		refused := map[int]bool{}
		for _, r := range bad {
			refused[r.index] = true
		}
		unique := slices.DeleteFunc(slices.Clone(unique), func(i int) bool { return refused[i] })
		stored, err := s.insertEvents(tx, events, unique)
		if err != nil {
			return err
		}
		var fresh []int
		var existing []int
		for _, i := range unique {
			if stored[eventKey{events[i].AccountSid, events[i].ID}] {
				fresh = append(fresh, i)
			} else {
				existing = append(existing, i)
			}
		}
		var conflicts []rejection
		if dups, conflicts, err = s.compareExisting(tx, events, existing); err != nil {
			return err
		}
		rejected = append(rejected, conflicts...)
		if len(conflicts) > 0 && !isolate {
			return errRejected // roll back what was inserted
		}
		inserted = len(fresh)
		return s.applyRollups(tx, events, fresh)
	})
	if errors.Is(err, errRejected) {
		return 0, nil, rejected, nil
	}
	return inserted, dups, rejected, err
}

// errRejected rolls back a batch that holds a conflicting event.
var errRejected = errors.New("the batch holds rejected events")

// checkAccounts rejects events of unknown accounts or in another currency.
func (s *Store) checkAccounts(tx *gorm.DB, events []models.UsageEvent, unique []int) ([]rejection, error) {
	seen := map[string]bool{}
	var sids []string
	for _, i := range unique {
		if sid := events[i].AccountSid; !seen[sid] {
			seen[sid] = true
			sids = append(sids, sid)
		}
	}
	currencies, err := s.accountCurrencies(tx, sids)
	if err != nil {
		return nil, err
	}
	var bad []rejection
	for _, i := range unique {
		e := events[i]
		cur, ok := currencies[e.AccountSid]
		switch {
		case !ok:
			bad = append(bad, reject(i, "accountSid", models.CodeNotFound,
				fmt.Sprintf("accountSid: account %s does not exist", e.AccountSid), ""))
		case e.Currency != "" && e.Currency != cur:
			bad = append(bad, reject(i, "currency", models.CodeInvalid,
				fmt.Sprintf("currency is %s but account %s is billed in %s", e.Currency, e.AccountSid, cur), ""))
		}
	}
	return bad, nil
}

const eventColumns = 9

// insertEvents adds the events the ledger does not hold yet and returns the
// keys it stored. A concurrent transaction holding the same key makes this one
// wait for it, then skip the row: the ledger stores each key exactly once.
func (s *Store) insertEvents(tx *gorm.DB, events []models.UsageEvent, unique []int) (map[eventKey]bool, error) {
	stored := make(map[eventKey]bool, len(unique))
	now := time.Now().UTC()
	var keys []struct{ AccountSid, EventID string }
	if s.dialect == Postgres {
		// One statement whatever the batch size: columns as arrays.
		c := newEventArrays(len(unique))
		for _, i := range unique {
			c.add(events[i])
		}
		err := tx.Raw(`INSERT INTO usage_events (account_sid, event_id, category, occurred_at, day, count, usage_micros, price_micros, ingested_at)
			SELECT a, i, c, o, d, n, u, p, ? FROM unnest(?::text[], ?::text[], ?::text[], ?::timestamptz[], ?::date[], ?::bigint[], ?::bigint[], ?::bigint[]) AS t(a, i, c, o, d, n, u, p)
			ON CONFLICT (account_sid, event_id) DO NOTHING RETURNING account_sid, event_id`,
			now, array(c.account), array(c.id), array(c.category), array(c.occurred), array(c.day), array(c.count), array(c.usage), array(c.price)).Find(&keys).Error
		if err != nil {
			return nil, err
		}
	}
	for start := 0; s.dialect != Postgres && start < len(unique); start += maxParams / eventColumns {
		chunk := unique[start:min(start+maxParams/eventColumns, len(unique))]
		var sql strings.Builder
		sql.WriteString("INSERT INTO usage_events (account_sid, event_id, category, occurred_at, day, count, usage_micros, price_micros, ingested_at) VALUES ")
		args := make([]any, 0, len(chunk)*eventColumns)
		for n, i := range chunk {
			if n > 0 {
				sql.WriteByte(',')
			}
			sql.WriteString("(?,?,?,?,?,?,?,?,?)")
			e := events[i]
			args = append(args, e.AccountSid, e.ID, e.Category, e.OccurredAt, e.Day(), e.Count, int64(e.Usage), int64(e.Price), now)
		}
		sql.WriteString(" ON CONFLICT (account_sid, event_id) DO NOTHING RETURNING account_sid, event_id")
		var part []struct{ AccountSid, EventID string }
		if err := tx.Raw(sql.String(), args...).Find(&part).Error; err != nil {
			return nil, err
		}
		keys = append(keys, part...)
	}
	for _, k := range keys {
		stored[eventKey{k.AccountSid, k.EventID}] = true
	}
	return stored, nil
}

// eventArrays holds events column by column, for unnest on Postgres.
type eventArrays struct {
	account, id, category []string
	occurred, day         []time.Time
	count, usage, price   []int64
}

func newEventArrays(n int) *eventArrays {
	return &eventArrays{
		account: make([]string, 0, n), id: make([]string, 0, n), category: make([]string, 0, n),
		occurred: make([]time.Time, 0, n), day: make([]time.Time, 0, n),
		count: make([]int64, 0, n), usage: make([]int64, 0, n), price: make([]int64, 0, n),
	}
}

func (c *eventArrays) add(e models.UsageEvent) {
	c.account = append(c.account, e.AccountSid)
	c.id = append(c.id, e.ID)
	c.category = append(c.category, e.Category)
	c.occurred = append(c.occurred, e.OccurredAt)
	c.day = append(c.day, e.Day().Time())
	c.count = append(c.count, e.Count)
	c.usage = append(c.usage, int64(e.Usage))
	c.price = append(c.price, int64(e.Price))
}

// storedEvent is a ledger row read back to compare with a resent event.
type storedEvent struct {
	AccountSid  string
	EventID     string
	Category    string
	OccurredAt  time.Time
	Count       int64
	UsageMicros int64
	PriceMicros int64
}

// compareExisting sorts events the ledger already holds into duplicates (same
// content) and conflicts (other content), which reject the batch.
func (s *Store) compareExisting(tx *gorm.DB, events []models.UsageEvent, existing []int) ([]int, []rejection, error) {
	if len(existing) == 0 {
		return nil, nil, nil
	}
	var found []storedEvent
	if s.dialect == Postgres {
		accounts, ids := make([]string, len(existing)), make([]string, len(existing))
		for n, i := range existing {
			accounts[n], ids[n] = events[i].AccountSid, events[i].ID
		}
		err := tx.Raw(`SELECT account_sid, event_id, category, occurred_at, count, usage_micros, price_micros FROM usage_events
			WHERE (account_sid, event_id) IN (SELECT * FROM unnest(?::text[], ?::text[]))`, array(accounts), array(ids)).Find(&found).Error
		if err != nil {
			return nil, nil, err
		}
	}
	for start := 0; s.dialect != Postgres && start < len(existing); start += maxParams / 2 {
		chunk := existing[start:min(start+maxParams/2, len(existing))]
		var sql strings.Builder
		sql.WriteString("SELECT account_sid, event_id, category, occurred_at, count, usage_micros, price_micros FROM usage_events WHERE (account_sid, event_id) IN (")
		args := make([]any, 0, 2*len(chunk))
		for n, i := range chunk {
			if n > 0 {
				sql.WriteByte(',')
			}
			sql.WriteString("(?,?)")
			args = append(args, events[i].AccountSid, events[i].ID)
		}
		sql.WriteByte(')')
		var rows []storedEvent
		if err := tx.Raw(sql.String(), args...).Find(&rows).Error; err != nil {
			return nil, nil, err
		}
		found = append(found, rows...)
	}
	ledger := make(map[eventKey]models.UsageEvent, len(found))
	for _, r := range found {
		ledger[eventKey{r.AccountSid, r.EventID}] = models.UsageEvent{
			ID: r.EventID, AccountSid: r.AccountSid, Category: r.Category, OccurredAt: r.OccurredAt.UTC(),
			Count: r.Count, Usage: models.Micros(r.UsageMicros), Price: models.Micros(r.PriceMicros),
		}
	}
	var dups []int
	var bad []rejection
	for _, i := range existing {
		e := events[i]
		old, ok := ledger[eventKey{e.AccountSid, e.ID}]
		if !ok {
			// Inserted and gone again in between: impossible, events are never deleted.
			return nil, nil, fmt.Errorf("event %q of %s vanished during ingestion", e.ID, e.AccountSid)
		}
		if old.SameContent(e) {
			dups = append(dups, i)
			continue
		}
		r := reject(i, "id", models.CodeConflict,
			fmt.Sprintf("id %q was already recorded for %s with other content", e.ID, e.AccountSid), "")
		r.conflict = true
		bad = append(bad, r)
	}
	return dups, bad, nil
}

// rollupKey addresses one rollup row.
type rollupKey struct {
	account  string
	period   models.Date
	category string
}

// rollupTier is one table of the rollup hierarchy: sums per account and
// period (day, month or year: its first day), per category or, for a total
// tier, over every category (what totalprice reads).
type rollupTier struct {
	table, period string // the table and its period column
	start         func(models.Date) models.Date
	total         bool
}

// rollupTiers lists the hierarchy, finest first: ingestion, bulk loading and
// CheckRollups all keep every tier.
func rollupTiers() []rollupTier {
	day := func(d models.Date) models.Date { return d }
	return []rollupTier{
		{table: "usage_daily", period: "day", start: day},
		{table: "usage_monthly", period: "month", start: models.Date.MonthStart},
		{table: "usage_yearly", period: "year", start: models.Date.YearStart},
		{table: "usage_monthly_total", period: "month", start: models.Date.MonthStart, total: true},
		{table: "usage_yearly_total", period: "year", start: models.Date.YearStart, total: true},
	}
}

// keyColumns are the tier's key columns, as in its primary key.
func (t rollupTier) keyColumns() string {
	if t.total {
		return "account_sid, " + t.period
	}
	return "account_sid, " + t.period + ", category"
}

// rollups sums events into the rows of every tier (in rollupTiers' order;
// a total tier's keys have no category): the one definition of a rollup,
// shared by ingestion and by bulk loading.
func rollups(events []models.UsageEvent, idx []int) []map[rollupKey]models.Sums {
	tiers := rollupTiers()
	out := make([]map[rollupKey]models.Sums, len(tiers))
	for n := range out {
		out[n] = map[rollupKey]models.Sums{}
	}
	for _, i := range idx {
		e := events[i]
		add := models.Sums{Count: e.Count, Usage: e.Usage, Price: e.Price}
		day := e.Day()
		for n, t := range tiers {
			k := rollupKey{e.AccountSid, t.start(day), e.Category}
			if t.total {
				k.category = ""
			}
			v := out[n][k]
			v.Add(add)
			out[n][k] = v
		}
	}
	return out
}

// sortedKeys orders rollup keys as the primary keys do.
func sortedKeys(sums map[rollupKey]models.Sums) []rollupKey {
	keys := make([]rollupKey, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b rollupKey) int {
		return cmp.Or(strings.Compare(a.account, b.account), cmp.Compare(a.period, b.period), strings.Compare(a.category, b.category))
	})
	return keys
}

// applyRollups adds the newly stored events to every rollup tier, each in
// key order and the tiers always in one order, so that concurrent batches
// lock rows in one order.
func (s *Store) applyRollups(tx *gorm.DB, events []models.UsageEvent, fresh []int) error {
	sums := rollups(events, fresh)
	for n, t := range rollupTiers() {
		if err := s.upsertRollups(tx, t, sums[n]); err != nil {
			return err
		}
	}
	return nil
}

const rollupColumns = 6

func (s *Store) upsertRollups(tx *gorm.DB, t rollupTier, sums map[rollupKey]models.Sums) error {
	keys := sortedKeys(sums)
	// A total tier's rows have no category: its column and value drop out.
	columns, cols := t.keyColumns()+", count, usage_micros, price_micros", rollupColumns
	if t.total {
		cols--
	}
	set := fmt.Sprintf(` ON CONFLICT (%[2]s) DO UPDATE SET
			count = %[1]s.count + excluded.count,
			usage_micros = %[1]s.usage_micros + excluded.usage_micros,
			price_micros = %[1]s.price_micros + excluded.price_micros`, t.table, t.keyColumns())
	if s.dialect == Postgres && len(keys) > 0 {
		n := len(keys)
		accounts, categories := make([]string, n), make([]string, n)
		periods := make([]time.Time, n)
		counts, usages, prices := make([]int64, n), make([]int64, n), make([]int64, n)
		for i, k := range keys {
			v := sums[k]
			accounts[i], periods[i], categories[i] = k.account, k.period.Time(), k.category
			counts[i], usages[i], prices[i] = v.Count, int64(v.Usage), int64(v.Price)
		}
		// WITH ORDINALITY keeps the key order, in which rows are locked.
		if t.total {
			return tx.Exec(`INSERT INTO `+t.table+` (`+columns+`)
			SELECT a, p, n, u, v FROM unnest(?::text[], ?::date[], ?::bigint[], ?::bigint[], ?::bigint[]) WITH ORDINALITY AS t(a, p, n, u, v, o) ORDER BY o`+set,
				array(accounts), array(periods), array(counts), array(usages), array(prices)).Error
		}
		return tx.Exec(`INSERT INTO `+t.table+` (`+columns+`)
			SELECT a, p, c, n, u, v FROM unnest(?::text[], ?::date[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[]) WITH ORDINALITY AS t(a, p, c, n, u, v, o) ORDER BY o`+set,
			array(accounts), array(periods), array(categories), array(counts), array(usages), array(prices)).Error
	}
	for start := 0; s.dialect != Postgres && start < len(keys); start += maxParams / rollupColumns {
		chunk := keys[start:min(start+maxParams/rollupColumns, len(keys))]
		q := "INSERT INTO " + t.table + " (" + columns + ") VALUES " + placeholders(len(chunk), cols) + set
		if err := tx.Exec(q, t.rowArgs(chunk, sums)...).Error; err != nil {
			return err
		}
	}
	return nil
}

// rowArgs are the column values of rollup rows, in the order of keyColumns
// then the sums.
func (t rollupTier) rowArgs(keys []rollupKey, sums map[rollupKey]models.Sums) []any {
	args := make([]any, 0, len(keys)*rollupColumns)
	for _, k := range keys {
		v := sums[k]
		args = append(args, k.account, k.period)
		if !t.total {
			args = append(args, k.category)
		}
		args = append(args, v.Count, int64(v.Usage), int64(v.Price))
	}
	return args
}

// retry runs a transaction again when the database aborted it for a reason
// that a second attempt cures (a deadlock, a serialization failure).
func (s *Store) retry(ctx context.Context, attempt func() error) error {
	var err error
	for n := 0; n < 5; n++ {
		if err = attempt(); err == nil || !transient(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(n+1) * 20 * time.Millisecond):
		}
	}
	return err
}

// transient recognises errors that retrying the whole transaction cures.
func transient(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40P01" || pg.Code == "40001" // deadlock, serialization failure
	}
	return strings.Contains(err.Error(), "database is locked") // SQLite, past busy_timeout
}
