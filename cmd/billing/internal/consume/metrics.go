package consume

import "github.com/prometheus/client_golang/prometheus"

// Metrics count what the consumer did, for /metrics.
type Metrics struct {
	Stored        prometheus.Counter
	Duplicates    prometheus.Counter
	DeadLetters   prometheus.Counter
	Batches       prometheus.Counter
	StoreFailures prometheus.Counter
	Pending       prometheus.Gauge
	Latency       prometheus.Histogram
}

func NewMetrics() *Metrics {
	return &Metrics{
		Stored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "billing_nats_events_stored_total", Help: "Usage events from NATS newly stored in the ledger.",
		}),
		Duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "billing_nats_duplicate_events_total", Help: "Usage events from NATS the ledger already held with the same content.",
		}),
		DeadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "billing_nats_dead_letters_total", Help: "Messages sent to the dead-letter subject: not JSON, invalid, or conflicting with the ledger.",
		}),
		Batches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "billing_nats_batches_total", Help: "Batches of messages stored and acknowledged.",
		}),
		StoreFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "billing_nats_store_failures_total", Help: "Batches that could not be stored (database unreachable) and were handed back for later.",
		}),
		Pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "billing_nats_pending_messages", Help: "Messages of the stream not yet delivered to the consumer, as of its last batch: the lag.",
		}),
		Latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "billing_nats_publish_to_stored_seconds",
			Help:    "Time from a message reaching the stream to its event being committed (or dead-lettered).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
	}
}

// Collectors are the metrics to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.Stored, m.Duplicates, m.DeadLetters, m.Batches, m.StoreFailures, m.Pending, m.Latency}
}
