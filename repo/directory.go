package repo

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evovoice/billing/models"
	"github.com/jackc/pgx/v5"
)

// The account directory holds every account a service has seen (all of them
// after the load at start) in memory: what a usage request needs before its
// usage read (the account, its lineage for the scope check, its
// sub-accounts, first usage days) and what HTTP Basic needs (the token hash),
// so that a request reads the database once, for its usage.
//
// It never decides on stale data beyond these bounds:
//   - An account it does not hold is read from the database on first use
//     (and then held); an account not found is not remembered, so one
//     created a moment later is found.
//   - A change committed by another process (account added, token rotated,
//     first usage day moved earlier) is applied within one second. On
//     Postgres, triggers NOTIFY in the changing transaction and a dedicated
//     connection LISTENs; the directory vouches for itself only until one
//     second after its last confirmed exchange with the server (a ping every
//     250 ms), and reloads whole on every (re)connection, so a notification
//     lost in a disconnect cannot matter. Until it vouches, requests read the
//     database as before. On SQLite, triggers log changed accounts in a table
//     in the changing transaction and every use first reads the log past the
//     position applied: an in-process B-tree probe (no I/O in WAL mode when
//     nothing changed), which makes a second process's change visible to the
//     very next request.
//   - Usage ingested by this process moves first usage days in the directory
//     as soon as its transaction commits, before the ingesting call returns.
//   - First usage days only move earlier (usage is never deleted), so every
//     update takes the minimum and updates commute.
//   - Parents never change: triggers refuse any UPDATE of parent_sid.
type directory struct {
	mu      sync.RWMutex
	index   map[sidKey]int32
	entries []dirEntry
	// fresh: Postgres only; until when (Unix ns) the directory vouches for itself.
	fresh atomic.Int64
	// catchUp serializes SQLite's reads of the change log, so that re-reads
	// apply in log order; seq is the last position applied.
	catchUp sync.Mutex
	seq     int64
	// loaded is closed after the first load (Postgres).
	loaded   chan struct{}
	loadOnce sync.Once
}

// sidKey is an account SID's 16 bytes (AC + 32 hex digits).
type sidKey [16]byte

// dirEntry is one account: 96 bytes plus its name (BenchmarkDirectoryMemory
// measures the whole cost per account, map included).
type dirEntry struct {
	tokenHash   [32]byte // SHA-256 of the auth token
	sid         sidKey
	name        string
	createdAt   int64 // Unix ns
	parent      int32 // index of the parent entry; -1 for a top-level account
	firstChild  int32 // -1: none
	nextSibling int32 // -1: none
	firstUsage  models.Date
	currency    [3]byte
	hasToken    bool
	unlinked    bool // has a parent not linked yet: lookups read the database
}

const (
	noEntry    int32       = -1
	noUsage    models.Date = math.MaxInt32
	freshness              = time.Second         // the staleness bound stated above
	pingEvery              = freshness / 4       // how often the listener confirms its connection
	maxRefresh             = 10_000              // more changed accounts than this reload whole
	channel                = "billing_directory" // the NOTIFY channel of migration 00003
	changeLog              = "directory_changes" // SQLite's change log, same migration
)

func keyOf(sid string) (sidKey, bool) {
	var k sidKey
	if len(sid) != 34 || sid[0] != 'A' || sid[1] != 'C' {
		return k, false
	}
	_, err := hex.Decode(k[:], []byte(sid[2:]))
	return k, err == nil
}

func (k sidKey) String() string { return "AC" + hex.EncodeToString(k[:]) }

func newDirectory(rows []accountState) *directory {
	d := &directory{index: make(map[sidKey]int32, len(rows)), entries: make([]dirEntry, 0, len(rows))}
	d.put(rows, true)
	return d
}

// accountState is an account as read from the database for the directory.
type accountState struct {
	row        accountRow
	firstUsage models.Date // noUsage when none
}

// put adds accounts, or with overwrite replaces what is held of them (first
// usage days take the minimum), then links new children to their parents.
// A parent not held leaves the child unlinked, and lookups of it read the
// database again (refresh loads parents first, so this is a safety net).
func (d *directory) put(rows []accountState, overwrite bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range rows {
		k, ok := keyOf(r.row.Sid)
		if !ok {
			continue // the schema's CHECK makes this unreachable on Postgres
		}
		e := dirEntry{sid: k, name: r.row.Name, createdAt: r.row.CreatedAt.UnixNano(), firstUsage: r.firstUsage,
			parent: noEntry, firstChild: noEntry, nextSibling: noEntry, unlinked: r.row.ParentSid.Valid}
		copy(e.currency[:], r.row.Currency)
		if n, err := hex.Decode(e.tokenHash[:], []byte(r.row.AuthTokenHash)); err == nil && n == 32 {
			e.hasToken = true
		}
		if i, held := d.index[k]; held {
			if overwrite {
				old := &d.entries[i]
				e.parent, e.firstChild, e.nextSibling, e.unlinked = old.parent, old.firstChild, old.nextSibling, old.unlinked
				e.firstUsage = min(e.firstUsage, old.firstUsage)
				*old = e
			}
			continue
		}
		i := int32(len(d.entries))
		d.entries = append(d.entries, e)
		d.index[k] = i
	}
	// Link every unlinked child whose parent is now held; at start that is all.
	for _, r := range rows {
		if !r.row.ParentSid.Valid {
			continue
		}
		k, _ := keyOf(r.row.Sid)
		pk, ok := keyOf(r.row.ParentSid.String)
		i, held := d.index[k]
		p, parentHeld := d.index[pk]
		if !ok || !held || !parentHeld || !d.entries[i].unlinked {
			continue
		}
		d.entries[i].parent, d.entries[i].unlinked = p, false
		d.entries[i].nextSibling = d.entries[p].firstChild
		d.entries[p].firstChild = i
	}
}

// noteUsage moves first usage days earlier for usage this process committed.
func (d *directory) noteUsage(events []models.UsageEvent) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range events {
		if k, ok := keyOf(e.AccountSid); ok {
			if i, held := d.index[k]; held {
				d.entries[i].firstUsage = min(d.entries[i].firstUsage, e.Day())
			}
		}
	}
}

// lookup finds an account, with its lineage; complete is false when a parent
// is not held (an account added with its parent since the load, not yet linked).
func (d *directory) lookup(sid string) (ov models.AccountOverview, hash string, found, complete bool) {
	k, ok := keyOf(sid)
	if !ok {
		return ov, "", false, false
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	i, held := d.index[k]
	if !held {
		return ov, "", false, false
	}
	e := &d.entries[i]
	ov.Account = models.Account{Sid: sid, Name: e.name, Currency: string(e.currency[:]), CreatedAt: time.Unix(0, e.createdAt).UTC()}
	if e.firstUsage != noUsage {
		first := e.firstUsage
		ov.FirstUsage = &first
	}
	if e.hasToken {
		hash = hex.EncodeToString(e.tokenHash[:])
	}
	if e.parent != noEntry {
		ov.Account.ParentSid = d.entries[e.parent].sid.String()
	}
	ov.Lineage = append(make([]string, 0, 4), sid)
	complete = !e.unlinked
	for p := e.parent; p != noEntry; p = d.entries[p].parent {
		ov.Lineage = append(ov.Lineage, d.entries[p].sid.String())
		complete = complete && !d.entries[p].unlinked
	}
	return ov, hash, true, complete
}

// subtree returns an account and its descendants, sorted, and their earliest
// first usage day; ok is false when the account is not held.
func (d *directory) subtree(sid string) (sids []string, first models.Date, ok bool) {
	k, valid := keyOf(sid)
	if !valid {
		return nil, noUsage, false
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	root, held := d.index[k]
	if !held {
		return nil, noUsage, false
	}
	first = noUsage
	stack := []int32{root}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		e := &d.entries[i]
		sids = append(sids, e.sid.String())
		first = min(first, e.firstUsage)
		for c := e.firstChild; c != noEntry; c = d.entries[c].nextSibling {
			stack = append(stack, c)
		}
	}
	slices.Sort(sids)
	return sids, first, true
}

// firstUsage is the earliest first usage day of the accounts; ok is false
// when one of them is not held.
func (d *directory) firstUsage(sids []string) (models.Date, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	first := noUsage
	for _, sid := range sids {
		k, valid := keyOf(sid)
		i, held := d.index[k]
		if !valid || !held {
			return noUsage, false
		}
		first = min(first, d.entries[i].firstUsage)
	}
	return first, true
}

// replace swaps in a freshly loaded directory's state, keeping first usage
// days this process noted meanwhile (the minimum is always right).
func (d *directory) replace(fresh *directory) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, i := range d.index {
		if j, held := fresh.index[k]; held {
			fresh.entries[j].firstUsage = min(fresh.entries[j].firstUsage, d.entries[i].firstUsage)
		}
	}
	d.index, d.entries = fresh.index, fresh.entries
}

// loadAccounts reads accounts for the directory: those named, or all.
func (s *Store) loadAccounts(ctx context.Context, sids []string) ([]accountState, error) {
	q := `SELECT a.sid, a.name, a.parent_sid, a.currency, a.auth_token_hash, a.created_at,
		       (SELECT MIN(d.day) FROM usage_daily d WHERE d.account_sid = a.sid)
		FROM accounts a`
	var out []accountState
	for start := 0; start == 0 || start < len(sids); start += maxParams {
		var args []any
		query := q
		if sids != nil {
			var cond string
			cond, args = s.anyOf("a.sid", sids[start:min(start+maxParams, len(sids))])
			query += " WHERE " + cond
		}
		rows, err := s.query(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var (
				st    accountState
				first sql.Null[models.Date]
			)
			if err := rows.Scan(&st.row.Sid, &st.row.Name, &st.row.ParentSid, &st.row.Currency, &st.row.AuthTokenHash, &st.row.CreatedAt, &first); err != nil {
				rows.Close()
				return nil, err
			}
			st.firstUsage = noUsage
			if first.Valid {
				st.firstUsage = first.V
			}
			out = append(out, st)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if sids == nil {
			break
		}
	}
	return out, nil
}

// refresh re-reads accounts into the directory with any parents it lacks,
// all in one put, so that no lookup sees a child before its parent.
func (s *Store) refresh(ctx context.Context, d *directory, sids []string, overwrite bool) error {
	var all []accountState
	read := map[string]bool{}
	for len(sids) > 0 {
		rows, err := s.loadAccounts(ctx, sids)
		if err != nil {
			return err
		}
		for _, sid := range sids {
			read[sid] = true
		}
		all = append(all, rows...)
		sids = nil
		d.mu.RLock()
		for _, r := range rows {
			if p := r.row.ParentSid; p.Valid && !read[p.String] {
				if k, ok := keyOf(p.String); ok {
					if i, held := d.index[k]; !held || d.entries[i].unlinked {
						sids = append(sids, p.String)
						read[p.String] = true
					}
				}
			}
		}
		d.mu.RUnlock()
	}
	d.put(all, overwrite)
	return nil
}

// StartDirectory loads the account directory and keeps it current until ctx
// ends; from then on account reads are answered from memory (see
// directory). It returns once the directory is loaded. On Postgres it keeps
// listening in the background, reconnecting as needed; while it cannot
// vouch for itself, reads go to the database.
func (s *Store) StartDirectory(ctx context.Context) error {
	if s.dialect == SQLite {
		d, err := s.loadSQLiteDirectory(ctx)
		if err != nil {
			return err
		}
		s.dir.Store(d)
		return nil
	}
	d := newDirectory(nil)
	d.loaded = make(chan struct{})
	s.dir.Store(d)
	ctx, stop := context.WithCancel(context.WithValue(ctx, listenerWork{}, true))
	s.stopListening.Store(&stop) // Close stops the listener
	go s.listen(ctx, d)
	select {
	case <-d.loaded:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loadSQLiteDirectory reads the change log's position, then every account:
// changes committed in between are in the log past that position and are
// applied again by the next catch-up, which is harmless.
func (s *Store) loadSQLiteDirectory(ctx context.Context) (*directory, error) {
	var seq int64
	if err := s.sqlDB.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM `+changeLog).Scan(&seq); err != nil {
		return nil, err
	}
	rows, err := s.loadAccounts(ctx, nil)
	if err != nil {
		return nil, err
	}
	d := newDirectory(rows)
	d.seq = seq
	return d, nil
}

// catchUpSQLite applies the change log past the position applied.
func (s *Store) catchUpSQLite(ctx context.Context, d *directory) error {
	d.catchUp.Lock()
	defer d.catchUp.Unlock()
	s.trace(ctx, probeSQL)
	rows, err := s.sqlDB.QueryContext(ctx, probeSQL, d.seq, maxRefresh+1)
	if err != nil {
		return err
	}
	var (
		sids []string
		last = d.seq
		gap  bool
	)
	for rows.Next() {
		var (
			seq int64
			sid string
		)
		if err := rows.Scan(&seq, &sid); err != nil {
			rows.Close()
			return err
		}
		gap = gap || seq != last+1 // pruned past our position
		last = seq
		sids = append(sids, sid)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(sids) == 0 {
		return nil
	}
	if gap || len(sids) > maxRefresh {
		fresh, err := s.loadSQLiteDirectory(ctx)
		if err != nil {
			return err
		}
		d.replace(fresh)
		d.seq = fresh.seq
		return nil
	}
	slices.Sort(sids)
	if err := s.refresh(ctx, d, slices.Compact(sids), true); err != nil {
		return err
	}
	d.seq = last
	return nil
}

// probeSQL reads SQLite's change log past a position.
const probeSQL = `SELECT seq, sid FROM ` + changeLog + ` WHERE seq > ? ORDER BY seq LIMIT ?`

// listen keeps the Postgres directory current for as long as ctx lasts,
// reconnecting after any failure.
func (s *Store) listen(ctx context.Context, d *directory) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, d)
		d.fresh.Store(0)
		if err == nil || ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// listenOnce runs one connection: LISTEN, reload whole, then apply
// notifications, confirming the connection every pingEvery.
func (s *Store) listenOnce(ctx context.Context, d *directory) error {
	conn, err := pgx.ConnectConfig(ctx, s.listenConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return err
	}
	// Loaded after LISTEN: a change committed during the load is notified.
	started := time.Now()
	rows, err := s.loadAccounts(ctx, nil)
	if err != nil {
		return err
	}
	d.replace(newDirectory(rows))
	d.fresh.Store(started.Add(freshness).UnixNano())
	d.loadOnce.Do(func() { close(d.loaded) })
	for {
		// Everything committed before this ping was signalled to our server
		// session before its commit returned, so it arrives before the ping's
		// answer or right after it, and is applied below before the directory
		// vouches for the moment the ping was sent.
		sent := time.Now()
		if err := conn.Ping(ctx); err != nil {
			return err
		}
		if err := s.applyNotifications(ctx, conn, d, sent.Add(pingEvery)); err != nil {
			return err
		}
		d.fresh.Store(sent.Add(freshness).UnixNano())
	}
}

// applyNotifications waits for notifications until the deadline, applying
// each burst as it comes.
func (s *Store) applyNotifications(ctx context.Context, conn *pgx.Conn, d *directory, deadline time.Time) error {
	wait := 10 * time.Millisecond // the first round only drains what arrived with the ping
	for {
		changed, all := map[string]bool{}, false
		for {
			wctx, cancel := context.WithTimeout(ctx, wait)
			n, err := conn.WaitForNotification(wctx)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if errors.Is(err, context.DeadlineExceeded) || wctx.Err() != nil {
					break
				}
				return err
			}
			if n.Payload == "*" {
				all = true
			} else {
				changed[n.Payload] = true
			}
			wait = time.Millisecond // drain the rest of a burst
		}
		switch {
		case all || len(changed) > maxRefresh:
			rows, err := s.loadAccounts(ctx, nil)
			if err != nil {
				return err
			}
			d.replace(newDirectory(rows))
		case len(changed) > 0:
			sids := make([]string, 0, len(changed))
			for sid := range changed {
				sids = append(sids, sid)
			}
			if err := s.refresh(ctx, d, sids, true); err != nil {
				return err
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		wait = left
	}
}

// directoryNow returns the directory when it may answer now, else nil.
func (s *Store) directoryNow(ctx context.Context) *directory {
	d := s.dir.Load()
	switch {
	case d == nil:
		return nil
	case s.dialect == SQLite:
		if s.catchUpSQLite(ctx, d) != nil {
			return nil
		}
		return d
	case time.Now().UnixNano() < d.fresh.Load():
		return d
	}
	return nil
}

// heldAccount finds an account in the directory, reading it (and any
// parents missing) from the database on a miss; ok is false when the
// directory cannot answer and the caller must read the database.
func (s *Store) heldAccount(ctx context.Context, sid string) (ov models.AccountOverview, hash string, err error, ok bool) {
	d := s.directoryNow(ctx)
	if d == nil {
		return ov, "", nil, false
	}
	ov, hash, found, complete := d.lookup(sid)
	if found && complete {
		return ov, hash, nil, true
	}
	if _, valid := keyOf(sid); !valid {
		return ov, "", ErrNotFound, true
	}
	if err := s.refresh(ctx, d, []string{sid}, false); err != nil {
		return ov, "", err, true
	}
	if ov, hash, found, _ = d.lookup(sid); !found {
		return ov, "", ErrNotFound, true // not remembered: it may be created next
	}
	return ov, hash, nil, true
}

// AccountOverview returns an account with its lineage, for the scope check,
// and its first usage day, for default ranges; ErrNotFound when the account
// does not exist. From the directory when it runs, else in one statement.
func (s *Store) AccountOverview(ctx context.Context, sid string) (models.AccountOverview, error) {
	if ov, _, err, ok := s.heldAccount(ctx, sid); ok {
		return ov, err
	}
	return s.accountOverview(ctx, sid)
}

// AuthTokenHash returns the stored hash of an account's auth token, or ErrNotFound.
func (s *Store) AuthTokenHash(ctx context.Context, sid string) (string, error) {
	if _, hash, err, ok := s.heldAccount(ctx, sid); ok {
		return hash, err
	}
	return s.authTokenHash(ctx, sid)
}

// Lineage returns the account followed by its parent, grandparent and so on up
// to the top-level account; ErrNotFound when the account does not exist.
func (s *Store) Lineage(ctx context.Context, sid string) ([]string, error) {
	if ov, _, err, ok := s.heldAccount(ctx, sid); ok {
		return ov.Lineage, err
	}
	return s.lineage(ctx, sid)
}

// Descendants returns the account and all of its sub-accounts, at any depth.
func (s *Store) Descendants(ctx context.Context, sid string) ([]string, error) {
	if d := s.directoryNow(ctx); d != nil {
		if sids, _, ok := d.subtree(sid); ok {
			return sids, nil
		}
	}
	return s.descendants(ctx, sid)
}

// FirstUsageDay is the earliest day with usage of any of the accounts.
func (s *Store) FirstUsageDay(ctx context.Context, accounts []string) (models.Date, bool, error) {
	if d := s.directoryNow(ctx); d != nil {
		if first, ok := d.firstUsage(accounts); ok {
			return first, first != noUsage, nil
		}
	}
	return s.firstUsageDay(ctx, accounts)
}
