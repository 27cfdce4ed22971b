package triggers

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the engine's figures for /metrics.
type Metrics struct {
	firings    prometheus.Counter
	deliveries *prometheus.CounterVec
	outbox     *outboxCollector
}

func newMetrics(store Store) *Metrics {
	return &Metrics{
		firings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "billing_trigger_firings_total",
			Help: "Usage trigger firings recorded by this instance.",
		}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "billing_trigger_deliveries_total",
			Help: "Callback attempts finished by this instance, by outcome: delivered, retry (failed, to be retried) or failed (given up).",
		}, []string{"outcome"}),
		outbox: &outboxCollector{store: store},
	}
}

// Collectors are the engine's metrics, to register with the server's registry.
func (e *Engine) Collectors() []prometheus.Collector {
	return []prometheus.Collector{e.metrics.firings, e.metrics.deliveries, e.metrics.outbox}
}

var (
	outboxDepth  = prometheus.NewDesc("billing_trigger_outbox_pending", "Callbacks waiting to be delivered (all instances).", nil, nil)
	outboxOldest = prometheus.NewDesc("billing_trigger_outbox_oldest_pending_age_seconds", "Age of the oldest callback waiting to be delivered; 0 when none.", nil, nil)
)

// outboxCollector reads the outbox when scraped.
type outboxCollector struct{ store Store }

func (o *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDepth
	ch <- outboxOldest
}

func (o *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	pending, oldest, err := o.store.OutboxStats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxDepth, err)
		return
	}
	age := 0.0
	if !oldest.IsZero() {
		age = time.Since(oldest).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(outboxDepth, prometheus.GaugeValue, float64(pending))
	ch <- prometheus.MustNewConstMetric(outboxOldest, prometheus.GaugeValue, age)
}
