package handlers

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are what GET /metrics exposes. Labels carry route templates
// (/2010-04-01/Accounts/:sid/…), never a request's own path or query, so
// that no account SID or other caller data reaches the metrics.
type metrics struct {
	registry   *prometheus.Registry
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	inFlight   prometheus.Gauge
	ingested   prometheus.Counter
	duplicates prometheus.Counter
}

func newMetrics(dbStats func() sql.DBStats, more ...prometheus.Collector) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "billing_http_requests_total",
			Help: "HTTP requests answered, by route template, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "billing_http_request_duration_seconds",
			Help: "Time from receiving a request to having written its answer, by route template, method and status.",
			// From a cached index probe to the request timeout.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "billing_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		ingested: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "billing_ingested_events_total",
			Help: "Usage events newly stored in the ledger.",
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "billing_ingested_duplicate_events_total",
			Help: "Usage events received again with the same content, acknowledged without effect.",
		}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.inFlight, m.ingested, m.duplicates,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		dbStatsCollector(dbStats),
	)
	m.registry.MustRegister(more...)
	return m
}

// ingestedEvents counts what an accepted batch stored and what it repeated.
func (m *metrics) ingestedEvents(accepted, duplicates int) {
	m.ingested.Add(float64(accepted))
	m.duplicates.Add(float64(duplicates))
}

// middleware counts and times every request by the route it matched.
func (m *metrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		err := next(c)
		if err != nil {
			c.Error(err) // write it now, so that the status counted is the one sent
		}
		route := c.Path()
		if route == "" {
			route = "unmatched" // never the raw path: it is the caller's data
		}
		labels := prometheus.Labels{"route": route, "method": methodLabel(c.Request().Method), "status": strconv.Itoa(c.Response().Status)}
		m.requests.With(labels).Inc()
		m.duration.With(labels).Observe(time.Since(start).Seconds())
		return nil
	}
}

// methodLabel keeps the label set small whatever methods clients invent.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

func (m *metrics) handler() echo.HandlerFunc {
	return echo.WrapHandler(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
}

// dbStatsCollector exposes the connection pool, read when scraped.
func dbStatsCollector(stats func() sql.DBStats) prometheus.Collector {
	return &poolCollector{stats: stats}
}

type poolCollector struct{ stats func() sql.DBStats }

var (
	poolMaxOpen   = prometheus.NewDesc("billing_db_max_open_connections", "Most database connections the pool opens.", nil, nil)
	poolOpen      = prometheus.NewDesc("billing_db_open_connections", "Database connections open, in use or idle.", nil, nil)
	poolInUse     = prometheus.NewDesc("billing_db_in_use_connections", "Database connections serving a query.", nil, nil)
	poolIdle      = prometheus.NewDesc("billing_db_idle_connections", "Database connections idle in the pool.", nil, nil)
	poolWaits     = prometheus.NewDesc("billing_db_wait_count_total", "Times a query waited for a free connection.", nil, nil)
	poolWaitTime  = prometheus.NewDesc("billing_db_wait_duration_seconds_total", "Time spent waiting for a free connection.", nil, nil)
	poolIdleClose = prometheus.NewDesc("billing_db_closed_max_idle_time_total", "Connections closed after being idle too long.", nil, nil)
)

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolMaxOpen, poolOpen, poolInUse, poolIdle, poolWaits, poolWaitTime, poolIdleClose} {
		ch <- d
	}
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := p.stats()
	ch <- prometheus.MustNewConstMetric(poolMaxOpen, prometheus.GaugeValue, float64(s.MaxOpenConnections))
	ch <- prometheus.MustNewConstMetric(poolOpen, prometheus.GaugeValue, float64(s.OpenConnections))
	ch <- prometheus.MustNewConstMetric(poolInUse, prometheus.GaugeValue, float64(s.InUse))
	ch <- prometheus.MustNewConstMetric(poolIdle, prometheus.GaugeValue, float64(s.Idle))
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(s.WaitCount))
	ch <- prometheus.MustNewConstMetric(poolWaitTime, prometheus.CounterValue, s.WaitDuration.Seconds())
	ch <- prometheus.MustNewConstMetric(poolIdleClose, prometheus.CounterValue, float64(s.MaxIdleTimeClosed))
}
