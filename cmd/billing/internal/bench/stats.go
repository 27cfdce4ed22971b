package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// Latency summarises a set of request latencies, in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Stats are the figures of one kind of request, or of all of them.
type Stats struct {
	Requests int            `json:"requests"`
	Errors   int            `json:"errors"`
	PerSec   float64        `json:"perSecond"`
	Latency  Latency        `json:"latencyMs"`
	ByError  map[string]int `json:"errorsByKind,omitempty"` // HTTP status or "transport", "timeout"…
}

// recorder collects the outcome of requests, one recorder per worker so that
// recording takes no lock.
type recorder struct {
	ok     map[string][]time.Duration
	failed map[string][]time.Duration
	kinds  map[string]map[string]int
}

func newRecorder() *recorder {
	return &recorder{ok: map[string][]time.Duration{}, failed: map[string][]time.Duration{}, kinds: map[string]map[string]int{}}
}

// add records one request: errKind is "" for a success.
func (r *recorder) add(name string, d time.Duration, errKind string) {
	if errKind == "" {
		r.ok[name] = append(r.ok[name], d)
		return
	}
	r.failed[name] = append(r.failed[name], d)
	if r.kinds[name] == nil {
		r.kinds[name] = map[string]int{}
	}
	r.kinds[name][errKind]++
}

// summarize merges the workers' recorders into per-name and overall stats.
// Latency percentiles are over every request, failed ones included: a fast
// error must not make the service look faster, and a slow one must show.
func summarize(recs []*recorder, elapsed time.Duration) (all Stats, byName map[string]Stats) {
	byName = map[string]Stats{}
	var every []time.Duration
	names := map[string]bool{}
	for _, r := range recs {
		for n := range r.ok {
			names[n] = true
		}
		for n := range r.failed {
			names[n] = true
		}
	}
	all.ByError = map[string]int{}
	for _, n := range slices.Sorted(maps.Keys(names)) {
		var ds []time.Duration
		s := Stats{ByError: map[string]int{}}
		for _, r := range recs {
			ds = append(ds, r.ok[n]...)
			ds = append(ds, r.failed[n]...)
			s.Errors += len(r.failed[n])
			for k, c := range r.kinds[n] {
				s.ByError[k] += c
				all.ByError[k] += c
			}
		}
		s.Requests = len(ds)
		s.PerSec = float64(s.Requests) / elapsed.Seconds()
		s.Latency = latency(ds)
		if len(s.ByError) == 0 {
			s.ByError = nil
		}
		byName[n] = s
		every = append(every, ds...)
		all.Errors += s.Errors
	}
	all.Requests = len(every)
	all.PerSec = float64(all.Requests) / elapsed.Seconds()
	all.Latency = latency(every)
	if len(all.ByError) == 0 {
		all.ByError = nil
	}
	return all, byName
}

func latency(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(q float64) float64 {
		// Nearest rank: the smallest latency at least q of the requests did not exceed.
		i := int(float64(len(ds))*q+0.999999) - 1
		return ms(ds[min(max(i, 0), len(ds)-1)])
	}
	return Latency{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ms(ds[len(ds)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// PrintStats writes one table row per kind of request and a total.
func PrintStats(w io.Writer, all Stats, byName map[string]Stats) {
	fmt.Fprintf(w, "%-14s %9s %8s %9s %8s %8s %8s %8s\n", "request", "count", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms")
	row := func(name string, s Stats) {
		fmt.Fprintf(w, "%-14s %9d %8d %9.1f %8.2f %8.2f %8.2f %8.2f\n", name, s.Requests, s.Errors, s.PerSec, s.Latency.P50, s.Latency.P90, s.Latency.P99, s.Latency.Max)
	}
	for _, n := range slices.Sorted(maps.Keys(byName)) {
		row(n, byName[n])
	}
	row("all", all)
	if len(all.ByError) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(all.ByError)) {
			parts = append(parts, fmt.Sprintf("%s×%d", k, all.ByError[k]))
		}
		fmt.Fprintf(w, "errors: %s\n", strings.Join(parts, ", "))
	}
}

// WriteJSON writes a report to a file, indented.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
