package main

import (
	"github.com/evovoice/billing/repo"
	"github.com/prometheus/client_golang/prometheus"
)

// replicaCollector shows each read replica's state on /metrics.
type replicaCollector struct {
	store                    *repo.Store
	up, lag, reads, fallback *prometheus.Desc
}

func newReplicaCollector(store *repo.Store) *replicaCollector {
	l := []string{"replica"}
	return &replicaCollector{
		store:    store,
		up:       prometheus.NewDesc("billing_replica_up", "1 while the read replica answers and lags within BILLING_REPLICA_MAX_LAG, so that it serves reads.", l, nil),
		lag:      prometheus.NewDesc("billing_replica_lag_seconds", "How far the read replica's data is behind the primary, as of its last check (every 500 ms).", l, nil),
		reads:    prometheus.NewDesc("billing_replica_reads_total", "Read statements the replica served.", l, nil),
		fallback: prometheus.NewDesc("billing_replica_fallbacks_total", "Reads that failed on the replica because it could not be reached, served by the primary instead.", l, nil),
	}
}

func (c *replicaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	ch <- c.lag
	ch <- c.reads
	ch <- c.fallback
}

func (c *replicaCollector) Collect(ch chan<- prometheus.Metric) {
	for _, r := range c.store.ReplicaStates() {
		up := 0.0
		if r.Healthy {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up, r.Name)
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, r.Lag.Seconds(), r.Name)
		ch <- prometheus.MustNewConstMetric(c.reads, prometheus.CounterValue, float64(r.Reads), r.Name)
		ch <- prometheus.MustNewConstMetric(c.fallback, prometheus.CounterValue, float64(r.Fallbacks), r.Name)
	}
}
