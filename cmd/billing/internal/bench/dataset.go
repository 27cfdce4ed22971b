// Package bench is the load harness behind `billing bench`: a reproducible
// synthetic dataset, a closed-loop query load over HTTP or straight to the
// database, and a sustained ingestion load with an exactly-once check.
package bench

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
	"github.com/evovoice/billing/repo"
)

// Dataset names a synthetic history: the same fields give the same accounts
// and events, byte for byte, on any machine.
type Dataset struct {
	Seed     uint64
	Accounts int
	Days     int         // length of the history, ending on End
	End      models.Date // last day with usage
}

// Account is a generated account and what the load needs to know about it.
type Account struct {
	models.Account
	Profile     string
	Descendants []string // the account and all of its sub-accounts, sorted
	Active      models.DateRange
	scale       float64
	index       int
}

// Start is the first day of the history.
func (d Dataset) Start() models.Date { return d.End - models.Date(d.Days) + 1 }

// profile is a kind of customer: events per weekday by category.
type profile struct {
	name      string
	weight    int
	perDay    map[string]float64 // leaf category -> mean events (calls, messages…) per weekday
	minutes   map[string]float64 // voice category -> mean billed minutes per call
	weekend   float64            // weekend volume relative to a weekday
	numbers   map[string]int64   // monthly items: phone numbers, short codes
	recording bool               // recorded minutes accrue storage, billed monthly
}

var profiles = []profile{
	{name: "contact-center", weight: 20, weekend: 0.3,
		perDay: map[string]float64{
			"calls-inbound-local": 140, "calls-inbound-tollfree": 90, "calls-outbound": 40, "calls-sip": 25,
			"sms-inbound-longcode": 30, "sms-outbound-longcode": 45, "calleridlookups": 60,
			"recordings": 120, "transcriptions": 30,
		},
		minutes: map[string]float64{"calls-inbound-local": 4.1, "calls-inbound-tollfree": 5.3, "calls-outbound": 2.8, "calls-sip": 6.0, "recordings": 4.4, "transcriptions": 3.9},
		numbers: map[string]int64{"phonenumbers-local": 12, "phonenumbers-tollfree": 3}, recording: true},
	{name: "sales-dialer", weight: 15, weekend: 0.15,
		perDay: map[string]float64{
			"calls-outbound": 320, "calls-inbound-local": 35, "calleridlookups": 300,
			"sms-outbound-longcode": 80, "sms-inbound-longcode": 20, "recordings": 90,
		},
		minutes: map[string]float64{"calls-outbound": 1.7, "calls-inbound-local": 3.2, "recordings": 2.1},
		numbers: map[string]int64{"phonenumbers-local": 40}, recording: true},
	{name: "messaging", weight: 20, weekend: 0.6,
		perDay: map[string]float64{
			"sms-outbound-shortcode": 2400, "sms-inbound-shortcode": 180, "sms-outbound-longcode": 600,
			"sms-inbound-longcode": 90, "calls-inbound-tollfree": 6, "calleridlookups": 15,
		},
		minutes: map[string]float64{"calls-inbound-tollfree": 2.5},
		numbers: map[string]int64{"phonenumbers-local": 5, "phonenumbers-tollfree": 1, "shortcodes-random": 1, "shortcodes-vanity": 1}},
	{name: "app", weight: 15, weekend: 0.7,
		perDay: map[string]float64{
			"calls-client": 220, "calls-sip": 60, "calls-outbound": 30, "calls-inbound-local": 25,
			"sms-outbound-longcode": 140, "sms-inbound-longcode": 60, "recordings": 20, "transcriptions": 8,
		},
		minutes: map[string]float64{"calls-client": 6.5, "calls-sip": 8.0, "calls-outbound": 3.0, "calls-inbound-local": 3.5, "recordings": 5.0, "transcriptions": 4.0},
		numbers: map[string]int64{"phonenumbers-local": 3}, recording: true},
	{name: "small-business", weight: 20, weekend: 0.2,
		perDay: map[string]float64{
			"calls-inbound-local": 9, "calls-outbound": 5, "sms-outbound-longcode": 6, "sms-inbound-longcode": 4,
			"calleridlookups": 2, "recordings": 1.5,
		},
		minutes: map[string]float64{"calls-inbound-local": 3.6, "calls-outbound": 2.4, "recordings": 3.0},
		numbers: map[string]int64{"phonenumbers-local": 1}, recording: true},
	{name: "idle", weight: 10},
}

// rates are prices per unit of usage, in micro-dollars.
var rates = map[string]models.Micros{
	"calls-inbound-local": 8_500, "calls-inbound-tollfree": 22_000, "calls-outbound": 13_000,
	"calls-client": 4_000, "calls-sip": 4_000,
	"sms-inbound-longcode": 7_900, "sms-inbound-shortcode": 7_500, "sms-outbound-longcode": 7_900, "sms-outbound-shortcode": 10_000,
	"phonenumbers-local": 1_150_000, "phonenumbers-tollfree": 2_150_000,
	"shortcodes-random": 1_000_000_000, "shortcodes-vanity": 1_500_000_000, "shortcodes-customerowned": 500_000_000,
	"calleridlookups": 10_000, "recordings": 2_500, "transcriptions": 50_000, "recordingstorage": 500,
}

// AccountList generates the accounts: a few parents with many sub-accounts
// (some nested a level deeper), standalone accounts, a mix of profiles and
// sizes, accounts opened during the history and accounts that stopped.
func (d Dataset) AccountList() []Account {
	rng := rand.New(rand.NewPCG(d.Seed, 0xacc0))
	n := max(d.Accounts, 1)
	parents := max(1, n/40)
	start := d.Start()
	out := make([]Account, n)
	totalWeight := 0
	for _, p := range profiles {
		totalWeight += p.weight
	}
	for i := range out {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], rng.Uint64())
		binary.BigEndian.PutUint64(b[8:], rng.Uint64())
		a := Account{index: i}
		a.Sid = "AC" + hex.EncodeToString(b[:])
		a.Currency = "usd"
		a.Profile = pickProfile(rng, totalWeight).name
		a.scale = math.Exp(rng.NormFloat64() * 0.9) // sizes spread over about two orders of magnitude
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
	children := map[string][]string{}
	for _, a := range out {
		if a.ParentSid != "" {
			children[a.ParentSid] = append(children[a.ParentSid], a.Sid)
		}
	}
	for i := range out {
		var walk func(sid string)
		walk = func(sid string) {
			out[i].Descendants = append(out[i].Descendants, sid)
			for _, c := range children[sid] {
				walk(c)
			}
		}
		walk(out[i].Sid)
		slices.Sort(out[i].Descendants)
	}
	return out
}

func pickProfile(rng *rand.Rand, total int) profile {
	n := rng.IntN(total)
	for _, p := range profiles {
		if n < p.weight {
			return p
		}
		n -= p.weight
	}
	return profiles[len(profiles)-1]
}

func profileNamed(name string) profile {
	for _, p := range profiles {
		if p.name == name {
			return p
		}
	}
	return profile{}
}

// BulkAccounts are the accounts as the store bulk-loads them.
func (d Dataset) BulkAccounts(accounts []Account) []repo.BulkAccount {
	out := make([]repo.BulkAccount, len(accounts))
	for i, a := range accounts {
		out[i] = repo.BulkAccount{Account: a.Account, AuthTokenHash: models.HashAuthToken(d.AuthToken(a.Sid))}
	}
	return out
}

// AuthToken is the account's auth token, derived from the seed so that a
// Basic-auth load can compute it. Bench data only: never seed a real database.
func (d Dataset) AuthToken(sid string) string {
	h := sha256.New()
	fmt.Fprintf(h, "billing-bench\x00%d\x00%s", d.Seed, sid)
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// History generates one account's events: per active day and category a
// daily aggregate (two, morning and afternoon, on busy days), weekday-heavy,
// growing a little each month; numbers, short codes and recording storage
// billed on the first of each month. It depends only on the dataset and the
// account, so accounts can be generated in any order.
func (d Dataset) History(a Account) []models.UsageEvent {
	p := profileNamed(a.Profile)
	if len(p.perDay) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(d.Seed, uint64(a.index)+1))
	cats := make([]string, 0, len(p.perDay))
	for _, c := range models.CategoryNames() {
		if _, ok := p.perDay[c]; ok {
			cats = append(cats, c)
		}
	}
	monthly := make([]string, 0, len(p.numbers))
	for _, c := range models.CategoryNames() {
		if _, ok := p.numbers[c]; ok {
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
			Count:      count, Usage: usage, Price: usage * rates[cat] / 1_000_000,
		})
	}
	for day := a.Active.Start; day <= a.Active.End; day++ {
		t := day.Time()
		shape := 1.0
		if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
			shape = p.weekend
		}
		growth := math.Pow(1.02, float64(day-a.Active.Start)/30.4)
		for _, cat := range cats {
			n := Poisson(rng, p.perDay[cat]*a.scale*shape*growth)
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
				if avg, voice := p.minutes[cat]; voice {
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
				k := max(1, int64(math.Round(float64(p.numbers[cat])*math.Sqrt(a.scale))))
				if strings.HasPrefix(cat, "shortcodes") {
					k = p.numbers[cat]
				}
				add(day, cat, 1, time.Duration(rng.IntN(3600))*time.Second, k, models.Micros(k)*1_000_000)
			}
			if p.recording && storedMinutes > 0 && t.Day() == 1 {
				add(day, "recordingstorage", 1, time.Duration(rng.IntN(3600))*time.Second, storedMinutes/4, models.Micros(storedMinutes)*1_000_000)
			}
		}
	}
	return events
}

// Poisson draws a count with mean lambda (normal approximation above 30).
func Poisson(rng *rand.Rand, lambda float64) int64 {
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
