package api

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// apiMetrics are the API's own metrics.
type apiMetrics struct {
	accepted prometheus.Counter
	rejected *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newAPIMetrics(reg *prometheus.Registry) (*apiMetrics, error) {
	m := &apiMetrics{
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tend_events_accepted_total",
			Help: "Events accepted by POST /v1/events: handed to Temporal.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tend_events_rejected_total",
			Help: "Events refused by POST /v1/events, by reason; requests when the events could not be counted (malformed, too_large, unauthorized).",
		}, []string{"reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tend_http_request_duration_seconds",
			Help:    "Duration of API requests, by method, route pattern and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route", "status"}),
	}
	var err error
	if m.accepted, err = register(reg, m.accepted); err != nil {
		return nil, err
	}
	if m.rejected, err = register(reg, m.rejected); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	for _, r := range []string{reasonInvalid, reasonTooLarge, reasonRateLimited, reasonUnauthorized, reasonUnavailable, reasonMalformed, reasonFailed} {
		m.rejected.WithLabelValues(r)
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// its name, so that two servers can share a registry.
func register[C prometheus.Collector](reg *prometheus.Registry, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if old, ok := are.ExistingCollector.(C); ok {
			return old, nil
		}
	}
	return c, fmt.Errorf("api: register metrics: %w", err)
}

// MetricsHandler adapts the Temporal SDK's metrics to Prometheus: pass it as
// client.Options.MetricsHandler when dialing, and serve reg (GET /metrics
// does, given as Options.Registry). Counters become counters, gauges gauges
// and timers histograms in seconds. Names are sanitised to [a-zA-Z0-9_] and
// prefixed temporal_; tags become labels. A metric keeps the label names it
// was first used with: a later use with other tags fills the missing labels
// with "" and drops the extra tags, as Prometheus requires one label set
// per name. Handlers for the same registry share their collectors.
func MetricsHandler(reg *prometheus.Registry) client.MetricsHandler {
	v, _ := sdkRegistries.LoadOrStore(reg, &sdkMetrics{reg: reg, families: map[string]*family{}})
	return &promHandler{m: v.(*sdkMetrics)}
}

// sdkRegistries maps each registry given to MetricsHandler to its collectors.
var sdkRegistries sync.Map

type sdkMetrics struct {
	reg      *prometheus.Registry
	mu       sync.Mutex
	families map[string]*family
}

type metricKind int

const (
	kindCounter metricKind = iota
	kindGauge
	kindTimer
)

func (k metricKind) String() string {
	return [...]string{"counter", "gauge", "timer"}[k]
}

// family is one metric name: its kind, label names and collector. A nil
// collector means it could not be registered, and its uses do nothing.
type family struct {
	kind    metricKind
	labels  []string
	counter *prometheus.CounterVec
	gauge   *prometheus.GaugeVec
	timer   *prometheus.HistogramVec
}

// timerBuckets span a fast RPC to a long poll.
var timerBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}

func (m *sdkMetrics) family(name string, kind metricKind, tags map[string]string) *family {
	name = metricName(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if f, ok := m.families[name]; ok {
		if f.kind != kind {
			return nil
		}
		return f
	}
	f := &family{kind: kind}
	for k := range tags {
		if l := labelName(k); !slices.Contains(f.labels, l) {
			f.labels = append(f.labels, l)
		}
	}
	slices.Sort(f.labels)
	help := fmt.Sprintf("Temporal SDK %s %s.", kind, name)
	var err error
	switch kind {
	case kindCounter:
		f.counter, err = register(m.reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, f.labels))
	case kindGauge:
		f.gauge, err = register(m.reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, f.labels))
	case kindTimer:
		f.timer, err = register(m.reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help + " In seconds.", Buckets: timerBuckets}, f.labels))
	}
	if err != nil {
		f.counter, f.gauge, f.timer = nil, nil, nil
	}
	m.families[name] = f
	return f
}

// values are the label values of tags, in the family's label order.
func (f *family) values(tags map[string]string) []string {
	byLabel := make(map[string]string, len(tags))
	for k, v := range tags {
		byLabel[labelName(k)] = v
	}
	out := make([]string, len(f.labels))
	for i, l := range f.labels {
		out[i] = byLabel[l]
	}
	return out
}

// metricName sanitises an SDK metric name and prefixes it temporal_.
func metricName(name string) string {
	name = sanitize(name)
	if !strings.HasPrefix(name, "temporal_") {
		name = "temporal_" + strings.TrimLeft(name, "_")
	}
	return name
}

// labelName sanitises a tag key into a label name; names starting with __
// are reserved by Prometheus.
func labelName(k string) string {
	l := sanitize(k)
	if l == "" || strings.HasPrefix(l, "__") {
		l = "tag" + l
	}
	return l
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			b[i] = '_'
		}
	}
	if len(b) > 0 && '0' <= b[0] && b[0] <= '9' {
		return "_" + string(b)
	}
	return string(b)
}

// promHandler is a client.MetricsHandler with a set of tags.
type promHandler struct {
	m    *sdkMetrics
	tags map[string]string
}

// WithTags returns a handler with the tags added to (or replacing) its own.
func (h *promHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return &promHandler{m: h.m, tags: merged}
}

// Counter returns the counter of that name with the handler's tags.
func (h *promHandler) Counter(name string) client.MetricsCounter {
	f := h.m.family(name, kindCounter, h.tags)
	if f == nil || f.counter == nil {
		return nopMetric{}
	}
	c, err := f.counter.GetMetricWithLabelValues(f.values(h.tags)...)
	if err != nil {
		return nopMetric{}
	}
	return counter{c}
}

// Gauge returns the gauge of that name with the handler's tags.
func (h *promHandler) Gauge(name string) client.MetricsGauge {
	f := h.m.family(name, kindGauge, h.tags)
	if f == nil || f.gauge == nil {
		return nopMetric{}
	}
	g, err := f.gauge.GetMetricWithLabelValues(f.values(h.tags)...)
	if err != nil {
		return nopMetric{}
	}
	return gauge{g}
}

// Timer returns the timer (a histogram in seconds) of that name with the
// handler's tags.
func (h *promHandler) Timer(name string) client.MetricsTimer {
	f := h.m.family(name, kindTimer, h.tags)
	if f == nil || f.timer == nil {
		return nopMetric{}
	}
	o, err := f.timer.GetMetricWithLabelValues(f.values(h.tags)...)
	if err != nil {
		return nopMetric{}
	}
	return timer{o}
}

type counter struct{ c prometheus.Counter }

func (c counter) Inc(d int64) {
	if d > 0 {
		c.c.Add(float64(d))
	}
}

type gauge struct{ g prometheus.Gauge }

func (g gauge) Update(v float64) { g.g.Set(v) }

type timer struct{ o prometheus.Observer }

func (t timer) Record(d time.Duration) { t.o.Observe(d.Seconds()) }

type nopMetric struct{}

func (nopMetric) Inc(int64)            {}
func (nopMetric) Update(float64)       {}
func (nopMetric) Record(time.Duration) {}
