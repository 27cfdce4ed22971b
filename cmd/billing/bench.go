package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/evovoice/billing/cmd/billing/internal/synth"
	"io"
	"time"

	"github.com/evovoice/billing/cmd/billing/internal/bench"
	"github.com/evovoice/billing/models"
)

// datasetFlags name the synthetic dataset; every bench subcommand takes them
// so that the load uses the accounts the seed wrote.
type datasetFlags struct {
	seed     *uint64
	accounts *int
	days     *int
	end      *string
}

func (f flags) dataset() datasetFlags {
	return datasetFlags{
		seed:     f.Uint64("seed", 1, "dataset seed: the same seed, counts and end day give the same data"),
		accounts: f.Int("accounts", 1000, "number of accounts"),
		days:     f.Int("days", 730, "days of history"),
		end:      f.String("end", "", "last day of the history, YYYY-MM-DD (default: today, UTC)"),
	}
}

func (d datasetFlags) dataset() (synth.Dataset, error) {
	end := models.DateOf(time.Now())
	if *d.end != "" {
		var err error
		if end, err = models.ParseDate(*d.end); err != nil {
			return synth.Dataset{}, fmt.Errorf("--end: %w", err)
		}
	}
	if *d.accounts < 1 || *d.days < 1 {
		return synth.Dataset{}, errors.New("--accounts and --days must be at least 1")
	}
	return synth.Dataset{Seed: *d.seed, Accounts: *d.accounts, Days: *d.days, End: end}, nil
}

func runBenchSeed(ctx context.Context, args []string, out io.Writer) error {
	f := newFlags("bench seed")
	ds := f.dataset()
	check := f.Bool("check", true, "recount the ledger afterwards and compare every rollup row")
	if err := parse(f, args); err != nil {
		return err
	}
	d, err := ds.dataset()
	if err != nil {
		return err
	}
	store, err := f.Config.openDB(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintf(out, "seeding %s: %d accounts, %d days %s..%s, seed %d\n", store.Dialect(), d.Accounts, d.Days, d.Start(), d.End, d.Seed)
	start := time.Now()
	st, err := bench.Seed(ctx, store, d)
	if err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Fprintf(out, "wrote %d accounts, %d events, %d daily, %d monthly and %d yearly or account total rollup rows in %s (%.0f events/s)\n",
		st.Accounts, st.Events, st.DailyRows, st.MonthlyRows, st.SummaryRows, took.Round(time.Millisecond), float64(st.Events)/took.Seconds())
	if !*check {
		return nil
	}
	start = time.Now()
	bad, err := store.CheckRollups(ctx, 20)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		for _, m := range bad {
			fmt.Fprintln(out, "  ", m)
		}
		return fmt.Errorf("%d or more rollup rows differ from a recount of the ledger", len(bad))
	}
	fmt.Fprintf(out, "every rollup row equals a recount of the ledger (checked in %s)\n", time.Since(start).Round(time.Millisecond))
	return nil
}
