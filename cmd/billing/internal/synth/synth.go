// Package synth generates reproducible synthetic usage: the accounts and
// events of `billing bench seed`, and the demo's three accounts. Everything it
// draws comes from seeded PCG streams, so the same inputs give the same data,
// byte for byte, on any machine.
package synth

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/evovoice/billing/models"
)

// Dataset names a synthetic history: the same fields give the same accounts
// and events, byte for byte, on any machine.
type Dataset struct {
	Seed     uint64
	Accounts int
	Days     int         // length of the history, ending on End
	End      models.Date // last day with usage
}

// Account is an account, the usage it generates, and what a load needs to
// know about it.
type Account struct {
	models.Account
	Profile     Profile
	Descendants []string         // the account and all of its sub-accounts, sorted
	Active      models.DateRange // the days with usage
	Scale       float64          // volume relative to the profile's
	Stream      uint64           // the account's random stream: accounts are generated independently
}

// Start is the first day of the history.
func (d Dataset) Start() models.Date { return d.End - models.Date(d.Days) + 1 }

// Profile is a kind of customer: events per weekday by category.
type Profile struct {
	Name      string
	Weight    int                // share of the generated accounts
	PerDay    map[string]float64 // leaf category -> mean events (calls, messages…) per weekday
	Minutes   map[string]float64 // voice category -> mean billed minutes per call
	Weekend   float64            // weekend volume relative to a weekday
	Monthly   map[string]int64   // items billed monthly: phone numbers, short codes
	Recording bool               // recorded minutes accrue storage, billed monthly
}

// Idle is the profile of an account without usage.
const Idle = "idle"

// profiles are the kinds of customer a Dataset mixes, by weight.
func profiles() []Profile {
	return []Profile{
		{Name: "contact-center", Weight: 20, Weekend: 0.3,
			PerDay: map[string]float64{
				"calls-inbound-local": 140, "calls-inbound-tollfree": 90, "calls-outbound": 40, "calls-sip": 25,
				"sms-inbound-longcode": 30, "sms-outbound-longcode": 45, "calleridlookups": 60,
				"recordings": 120, "transcriptions": 30,
			},
			Minutes: map[string]float64{"calls-inbound-local": 4.1, "calls-inbound-tollfree": 5.3, "calls-outbound": 2.8, "calls-sip": 6.0, "recordings": 4.4, "transcriptions": 3.9},
			Monthly: map[string]int64{"phonenumbers-local": 12, "phonenumbers-tollfree": 3}, Recording: true},
		{Name: "sales-dialer", Weight: 15, Weekend: 0.15,
			PerDay: map[string]float64{
				"calls-outbound": 320, "calls-inbound-local": 35, "calleridlookups": 300,
				"sms-outbound-longcode": 80, "sms-inbound-longcode": 20, "recordings": 90,
			},
			Minutes: map[string]float64{"calls-outbound": 1.7, "calls-inbound-local": 3.2, "recordings": 2.1},
			Monthly: map[string]int64{"phonenumbers-local": 40}, Recording: true},
		{Name: "messaging", Weight: 20, Weekend: 0.6,
			PerDay: map[string]float64{
				"sms-outbound-shortcode": 2400, "sms-inbound-shortcode": 180, "sms-outbound-longcode": 600,
				"sms-inbound-longcode": 90, "calls-inbound-tollfree": 6, "calleridlookups": 15,
			},
			Minutes: map[string]float64{"calls-inbound-tollfree": 2.5},
			Monthly: map[string]int64{"phonenumbers-local": 5, "phonenumbers-tollfree": 1, "shortcodes-random": 1, "shortcodes-vanity": 1}},
		{Name: "app", Weight: 15, Weekend: 0.7,
			PerDay: map[string]float64{
				"calls-client": 220, "calls-sip": 60, "calls-outbound": 30, "calls-inbound-local": 25,
				"sms-outbound-longcode": 140, "sms-inbound-longcode": 60, "recordings": 20, "transcriptions": 8,
			},
			Minutes: map[string]float64{"calls-client": 6.5, "calls-sip": 8.0, "calls-outbound": 3.0, "calls-inbound-local": 3.5, "recordings": 5.0, "transcriptions": 4.0},
			Monthly: map[string]int64{"phonenumbers-local": 3}, Recording: true},
		{Name: "small-business", Weight: 20, Weekend: 0.2,
			PerDay: map[string]float64{
				"calls-inbound-local": 9, "calls-outbound": 5, "sms-outbound-longcode": 6, "sms-inbound-longcode": 4,
				"calleridlookups": 2, "recordings": 1.5,
			},
			Minutes: map[string]float64{"calls-inbound-local": 3.6, "calls-outbound": 2.4, "recordings": 3.0},
			Monthly: map[string]int64{"phonenumbers-local": 1}, Recording: true},
		{Name: Idle, Weight: 10},
	}
}

// Rates is the rate card of every generated event: prices per unit of usage,
// in micro-dollars.
func Rates() map[string]models.Micros {
	return map[string]models.Micros{
		"calls-inbound-local": 8_500, "calls-inbound-tollfree": 22_000, "calls-outbound": 13_000,
		"calls-client": 4_000, "calls-sip": 4_000,
		"sms-inbound-longcode": 7_900, "sms-inbound-shortcode": 7_500, "sms-outbound-longcode": 7_900, "sms-outbound-shortcode": 10_000,
		"phonenumbers-local": 1_150_000, "phonenumbers-tollfree": 2_150_000,
		"shortcodes-random": 1_000_000_000, "shortcodes-vanity": 1_500_000_000, "shortcodes-customerowned": 500_000_000,
		"calleridlookups": 10_000, "recordings": 2_500, "transcriptions": 50_000, "recordingstorage": 500,
	}
}

// AccountList generates the accounts: a few parents with many sub-accounts
// (some nested a level deeper), standalone accounts, a mix of profiles and
// sizes, accounts opened during the history and accounts that stopped.
func (d Dataset) AccountList() []Account {
	rng := rand.New(rand.NewPCG(d.Seed, 0xacc0))
	n := max(d.Accounts, 1)
	parents := max(1, n/40)
	start := d.Start()
	kinds := profiles()
	totalWeight := 0
	for _, p := range kinds {
		totalWeight += p.Weight
	}
	out := make([]Account, n)
	for i := range out {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], rng.Uint64())
		binary.BigEndian.PutUint64(b[8:], rng.Uint64())
		a := Account{Stream: uint64(i) + 1}
		a.Sid = "AC" + hex.EncodeToString(b[:])
		a.Currency = "usd"
		a.Profile = Pick(rng, kinds, func(p Profile) int { return p.Weight }, totalWeight)
		a.Scale = math.Exp(rng.NormFloat64() * 0.9) // sizes spread over about two orders of magnitude
		switch {
		case i < parents:
			a.Name = fmt.Sprintf("Bench parent %d", i)
		case rng.Float64() < 0.6:
			// Sub-account of a parent, bigger parents first (Zipf-like).
			p := int(float64(parents) * math.Pow(rng.Float64(), 2))
			a.ParentSid = out[p].Sid
			a.Name = fmt.Sprintf("Bench sub-account %d", i)
			if i > parents+10 && rng.Float64() < 0.1 {
				// A level deeper: under an earlier sub-account.
				q := parents + rng.IntN(i-parents)
				if out[q].ParentSid != "" {
					a.ParentSid = out[q].Sid
				}
			}
		default:
			a.Name = fmt.Sprintf("Bench account %d", i)
		}
		first, last := start, d.End
		if rng.Float64() < 0.25 {
			first = start + models.Date(rng.IntN(max(d.Days, 1)))
		}
		if rng.Float64() < 0.1 {
			last = first + models.Date(rng.IntN(int(d.End-first)+1))
		}
		a.Active = models.DateRange{Start: first, End: last}
		a.CreatedAt = first.Time()
		out[i] = a
	}
	SetDescendants(out)
	return out
}

// SetDescendants fills in each account's Descendants from the ParentSids.
func SetDescendants(accounts []Account) {
	children := map[string][]string{}
	for _, a := range accounts {
		if a.ParentSid != "" {
			children[a.ParentSid] = append(children[a.ParentSid], a.Sid)
		}
	}
	for i := range accounts {
		var walk func(sid string)
		walk = func(sid string) {
			accounts[i].Descendants = append(accounts[i].Descendants, sid)
			for _, c := range children[sid] {
				walk(c)
			}
		}
		accounts[i].Descendants = nil
		walk(accounts[i].Sid)
		slices.Sort(accounts[i].Descendants)
	}
}

// Pick draws one of items, each with probability weight/total.
func Pick[T any](rng *rand.Rand, items []T, weight func(T) int, total int) T {
	n := rng.IntN(total)
	for _, it := range items {
		w := weight(it)
		if n < w {
			return it
		}
		n -= w
	}
	return items[len(items)-1]
}

// AuthToken is the account's auth token, derived from the seed so that a
// Basic-auth load can compute it. Synthetic data only: never seed a real database.
func (d Dataset) AuthToken(sid string) string {
	h := sha256.New()
	fmt.Fprintf(h, "billing-bench\x00%d\x00%s", d.Seed, sid)
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// History generates the dataset's events of one account (see [History]).
func (d Dataset) History(a Account) []models.UsageEvent { return History(d.Seed, a) }

// History generates one account's events over its active days: per day and
// category a daily aggregate (two, morning and afternoon, on busy days),
// weekday-heavy, growing 2% a month; numbers and short codes billed on the
// first of each month and on the first active day, recording storage on the
// first of each month. It depends only on the seed and the account, so
// accounts can be generated in any order.
func History(seed uint64, a Account) []models.UsageEvent {
	p := a.Profile
	if len(p.PerDay) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(seed, a.Stream))
	price := Rates()
	cats := make([]string, 0, len(p.PerDay))
	for _, c := range models.CategoryNames() {
		if _, ok := p.PerDay[c]; ok {
			cats = append(cats, c)
		}
	}
	monthly := make([]string, 0, len(p.Monthly))
	for _, c := range models.CategoryNames() {
		if _, ok := p.Monthly[c]; ok {
			monthly = append(monthly, c)
		}
	}
	var (
		events        []models.UsageEvent
		storedMinutes int64
		id            []byte
	)
	add := func(day models.Date, cat string, part int, at time.Duration, count int64, usage models.Micros) {
		id = append(append(append(id[:0], day.String()...), '.'), cat...)
		id = strconv.AppendInt(append(id, '.'), int64(part), 10)
		events = append(events, models.UsageEvent{
			ID: string(id), AccountSid: a.Sid, Category: cat,
			OccurredAt: day.Time().Add(at),
			Count:      count, Usage: usage, Price: usage * price[cat] / 1_000_000,
		})
	}
	for day := a.Active.Start; day <= a.Active.End; day++ {
		t := day.Time()
		shape := 1.0
		if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
			shape = p.Weekend
		}
		growth := math.Pow(1.02, float64(day-a.Active.Start)/30.4)
		for _, cat := range cats {
			n := poisson(rng, p.PerDay[cat]*a.Scale*shape*growth)
			if n == 0 {
				continue
			}
			parts := int64(1)
			if n >= 100 {
				parts = 2
			}
			for part := int64(1); part <= parts; part++ {
				k := n / parts
				if part == parts {
					k = n - (parts-1)*(n/parts)
				}
				usage := models.Micros(k) * 1_000_000
				if avg, voice := p.Minutes[cat]; voice {
					// Billed minutes: each call rounds up to a whole minute.
					mins := int64(math.Ceil(float64(k) * (avg + 0.5) * (1 + 0.1*rng.NormFloat64())))
					usage = models.Micros(max(mins, k)) * 1_000_000
					if cat == "recordings" {
						storedMinutes += max(mins, k)
					}
				}
				hour := time.Duration(8+rng.IntN(5)+int(part-1)*5) * time.Hour
				add(day, cat, int(part), hour+time.Duration(rng.IntN(3600))*time.Second, k, usage)
			}
		}
		if t.Day() == 1 || day == a.Active.Start {
			for _, cat := range monthly {
				k := max(1, int64(math.Round(float64(p.Monthly[cat])*math.Sqrt(a.Scale))))
				if strings.HasPrefix(cat, "shortcodes") {
					k = p.Monthly[cat]
				}
				add(day, cat, 1, time.Duration(rng.IntN(3600))*time.Second, k, models.Micros(k)*1_000_000)
			}
			if p.Recording && storedMinutes > 0 && t.Day() == 1 {
				add(day, "recordingstorage", 1, time.Duration(rng.IntN(3600))*time.Second, storedMinutes/4, models.Micros(storedMinutes)*1_000_000)
			}
		}
	}
	return events
}

// poisson draws a count with mean lambda (normal approximation above 30).
func poisson(rng *rand.Rand, lambda float64) int64 {
	if lambda > 30 {
		return max(0, int64(math.Round(lambda+math.Sqrt(lambda)*rng.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), int64(0), 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
