package synth_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/evovoice/billing/cmd/billing/internal/synth"
	"github.com/evovoice/billing/models"
)

func TestDatasetIsReproducible(t *testing.T) {
	small := synth.Dataset{Seed: 7, Accounts: 40, Days: 75, End: models.NewDate(2024, 3, 15)}
	a, b := small.AccountList(), small.AccountList()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same dataset gave different accounts")
	}
	for i := range a {
		if !reflect.DeepEqual(small.History(a[i]), small.History(b[i])) {
			t.Fatalf("account %d: the same dataset gave different events", i)
		}
	}
	other := small
	other.Seed++
	if reflect.DeepEqual(other.AccountList()[0].Sid, a[0].Sid) {
		t.Fatal("another seed gave the same accounts")
	}

	profiles, parents, subs, events := map[string]int{}, 0, 0, 0
	bySid := map[string]synth.Account{}
	for _, acc := range a {
		bySid[acc.Sid] = acc
	}
	for _, acc := range a {
		if _, ok := models.NormalizeAccountSid(acc.Sid); !ok {
			t.Fatalf("bad SID %q", acc.Sid)
		}
		profiles[acc.Profile.Name]++
		if acc.ParentSid == "" && len(acc.Descendants) > 1 {
			parents++
		}
		if acc.ParentSid != "" {
			subs++
			if !slices.Contains(bySid[acc.ParentSid].Descendants, acc.Sid) {
				t.Fatalf("%s is not among its parent's descendants", acc.Sid)
			}
		}
		if !slices.Contains(acc.Descendants, acc.Sid) {
			t.Fatalf("%s is not among its own descendants", acc.Sid)
		}
		h := small.History(acc)
		events += len(h)
		ids := map[string]bool{}
		for _, e := range h {
			if ids[e.ID] {
				t.Fatalf("%s: event id %s twice", acc.Sid, e.ID)
			}
			ids[e.ID] = true
			if d := e.Day(); !acc.Active.Contains(d) || d < small.Start() || d > small.End {
				t.Fatalf("%s: event on %s outside %v", acc.Sid, d, acc.Active)
			}
			if _, ok := models.LookupCategory(e.Category); !ok || len(models.Subtree(e.Category)) != 1 {
				t.Fatalf("%s: %q is not a leaf category", acc.Sid, e.Category)
			}
		}
		if acc.Profile.Name == synth.Idle && len(h) > 0 {
			t.Fatalf("idle account %s has events", acc.Sid)
		}
	}
	if parents == 0 || subs == 0 || profiles["idle"] == 0 || len(profiles) < 4 || events == 0 {
		t.Fatalf("not a varied dataset: %d parents, %d sub-accounts, profiles %v, %d events", parents, subs, profiles, events)
	}
}

// BenchmarkHistory generates every event of 50 accounts over a year (125,621
// events): the part of `bench seed` that is not the database's.
func BenchmarkHistory(b *testing.B) {
	d := synth.Dataset{Seed: 1, Accounts: 50, Days: 365, End: models.NewDate(2025, 6, 30)}
	accounts := d.AccountList()
	events := 0
	for b.Loop() {
		for _, a := range accounts {
			events += len(d.History(a))
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
