package node

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// nodeMetrics are the node's Prometheus metrics, in a registry of its own
// (no package globals: two nodes in one process, as in tests, count
// apart). They are served by [Node.ServeMetrics] on a listener of their
// own, never on the API's.
//
//	parley_http_requests_total{route,status}        requests by route pattern and status (499: the client went away before the answer, see [Node.front])
//	parley_http_request_duration_seconds{route}      their durations, except those of [unmeasuredRoutes] (a private-set evaluation)
//	parley_objects_ingested_total                    object versions accepted by TAXII submissions (status successes)
//	parley_private_evaluations_total                 elements evaluated against private sets
//	parley_log_entries                               entries sequenced (acknowledged)
//	parley_log_checkpoint_size                       entries in the latest signed checkpoint
//	parley_log_integration_lag_seconds               age of the oldest entry not in a checkpoint
//	parley_log_checkpoint_age_seconds                time since this process last signed a checkpoint
//	parley_store_probe_seconds                       the store's time to answer the log-state reads
//	parley_witness_refused_inconsistent_size{witness}              the size of the latest checkpoint the witness (its key name) refused as inconsistent with the checkpoint it holds (HTTP 422: the log may have forked); absent when none is refused, or once it cosigns again
//	parley_witness_refused_inconsistent_timestamp_seconds{witness} when (unix time) it refused it
//
// The log gauges are read from the store at each scrape (bounded by
// readyProbeTimeout); a failed read leaves them out of that scrape and
// counts parley_store_probe_errors_total.
type nodeMetrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	durations   *prometheus.HistogramVec
	ingested    prometheus.Counter
	evaluations prometheus.Counter
	probe       prometheus.Histogram
	probeErrors prometheus.Counter
	// refusedSize and refusedAt: each witness refusing the log's
	// checkpoints as inconsistent ([nodeMetrics.witnessRefused]).
	refusedSize, refusedAt *prometheus.GaugeVec
	// lastCheckpoint is when this process last signed a checkpoint (unix
	// nanoseconds; 0: not yet).
	lastCheckpoint atomic.Int64
}

func newNodeMetrics(n *Node) *nodeMetrics {
	m := &nodeMetrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_http_requests_total", Help: "HTTP requests by route pattern and status.",
		}, []string{"route", "status"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "parley_http_request_duration_seconds", Help: "HTTP request durations by route pattern.",
			Buckets: []float64{.001, .005, .025, .1, .5, 2.5, 10, 60},
		}, []string{"route"}),
		ingested: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_objects_ingested_total", Help: "Object versions accepted by TAXII submissions (the successes of their statuses).",
		}),
		evaluations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_private_evaluations_total", Help: "Elements evaluated against private sets.",
		}),
		probe: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "parley_store_probe_seconds", Help: "Time the store took to answer the log-state reads of a scrape or readiness probe.",
			Buckets: []float64{.0005, .001, .005, .025, .1, .5, 2},
		}),
		probeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_store_probe_errors_total", Help: "Log-state reads of a scrape or readiness probe that failed.",
		}),
		refusedSize: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "parley_witness_refused_inconsistent_size", Help: "Size of the latest checkpoint the witness refused as inconsistent with the checkpoint it holds (the log may have forked, e.g. restored from an older backup); absent when it doesn't refuse.",
		}, []string{"witness"}),
		refusedAt: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "parley_witness_refused_inconsistent_timestamp_seconds", Help: "When (unix time) the witness refused that checkpoint as inconsistent.",
		}, []string{"witness"}),
	}
	m.reg.MustRegister(m.requests, m.durations, m.ingested, m.evaluations, m.probe, m.probeErrors, m.refusedSize, m.refusedAt,
		&logCollector{n: n, m: m},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observeRequest counts one request, and times it unless its route is
// one of [unmeasuredRoutes]: the time of an evaluation against a private
// set tells how many values the member checked, which the access log
// leaves out, and so must the metrics, stored by the scraper.
func (m *nodeMetrics) observeRequest(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	if _, unmeasured := unmeasuredRoutes[route]; unmeasured {
		return
	}
	m.durations.WithLabelValues(route).Observe(d.Seconds())
}

// witnessRefused records that the witness (its key name) refused the
// checkpoint of that size at t as inconsistent with the one it holds, or,
// with size 0, that it refuses none (it cosigned again).
func (m *nodeMetrics) witnessRefused(name string, size int64, t time.Time) {
	if size == 0 {
		m.refusedSize.DeleteLabelValues(name)
		m.refusedAt.DeleteLabelValues(name)
		return
	}
	m.refusedSize.WithLabelValues(name).Set(float64(size))
	m.refusedAt.WithLabelValues(name).Set(float64(t.UnixNano()) / 1e9)
}

// checkpointSigned records that this process signed a checkpoint at t.
func (m *nodeMetrics) checkpointSigned(t time.Time) { m.lastCheckpoint.Store(t.UnixNano()) }

var (
	descLogEntries = prometheus.NewDesc("parley_log_entries", "Log entries sequenced (acknowledged).", nil, nil)
	descCheckpoint = prometheus.NewDesc("parley_log_checkpoint_size", "Entries covered by the latest signed checkpoint.", nil, nil)
	descLag        = prometheus.NewDesc("parley_log_integration_lag_seconds", "Age of the oldest log entry not yet in a signed checkpoint (0 when none).", nil, nil)
	descCPAge      = prometheus.NewDesc("parley_log_checkpoint_age_seconds", "Time since this process last signed a checkpoint (absent before the first).", nil, nil)
)

// logCollector reads the log's state from the store at each scrape.
type logCollector struct {
	n *Node
	m *nodeMetrics
}

func (c *logCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descLogEntries
	ch <- descCheckpoint
	ch <- descLag
	ch <- descCPAge
}

func (c *logCollector) Collect(ch chan<- prometheus.Metric) {
	if t := c.m.lastCheckpoint.Load(); t != 0 {
		ch <- prometheus.MustNewConstMetric(descCPAge, prometheus.GaugeValue, c.n.now().Sub(time.Unix(0, t)).Seconds())
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyProbeTimeout)
	defer cancel()
	st, err := c.n.probeLog(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(descLogEntries, prometheus.GaugeValue, float64(st.sequenced))
	ch <- prometheus.MustNewConstMetric(descCheckpoint, prometheus.GaugeValue, float64(st.integrated))
	ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, st.lag.Seconds())
}

// probeLog is [Node.logState], timed into the store probe metrics.
func (n *Node) probeLog(ctx context.Context) (logState, error) {
	st, err := n.logState(ctx)
	if err != nil {
		n.metrics.probeErrors.Inc()
		return st, err
	}
	n.metrics.probe.Observe(st.probe.Seconds())
	return st, nil
}

// MetricsHandler returns the handler of the node's Prometheus metrics
// (text exposition format). Serve it apart from the API (see
// [Node.ServeMetrics]): it needs no token and is meant for the operator's
// network only.
func (n *Node) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(n.metrics.reg, promhttp.HandlerOpts{})
}

// ServeMetrics serves GET /metrics ([Node.MetricsHandler]) on ln until ctx
// is done, then closes it. It is meant for a listener of its own
// (`parley serve --metrics-listen`, config.json metrics_listen).
func (n *Node) ServeMetrics(ctx context.Context, ln net.Listener, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", n.MetricsHandler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: time.Duration(n.cfg.ReadHeaderTimeout),
		IdleTimeout:       time.Duration(n.cfg.IdleTimeout),
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return n.serveUntil(ctx, srv, ln)
}
