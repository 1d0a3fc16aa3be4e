package metrics

import (
	"context"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// SetBuildInfo exports uwsportal_build_info{version,goversion} = 1.
func (m *Metrics) SetBuildInfo(version string) {
	if m == nil {
		return
	}
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "uwsportal_build_info", Help: "Always 1: the running binary's version and Go version.",
	}, []string{"version", "goversion"})
	g.WithLabelValues(version, runtime.Version()).Set(1)
	m.register(g)
}

func (m *Metrics) register(c prometheus.Collector) {
	m.Registry.MustRegister(c)
	m.ours = append(m.ours, c)
}

var descName = regexp.MustCompile(`fqName: "([^"]+)"`)

// Names lists every uwsportal_* series name registered, series or not yet
// (README's list and the alert rules are checked against it).
func (m *Metrics) Names() []string {
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		for _, c := range m.ours {
			c.Describe(ch)
		}
		close(ch)
	}()
	var out []string
	for d := range ch {
		if n := descName.FindStringSubmatch(d.String()); n != nil {
			out = append(out, n[1])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// DeviceOp counts one device's action by operation and outcome (accepted,
// refused, unknown).
func (m *Metrics) DeviceOp(op, outcome string) {
	if m == nil {
		return
	}
	m.DeviceOps.WithLabelValues(op, outcome).Inc()
}

// Ops are the database-wide numbers read at each scrape. Every instance
// reports the same values: aggregate them with max(), not sum().
type Ops struct {
	CredentialStates map[string]int64
	NotifyBacklog    int64     // messages not yet sent or given up, and events not yet fanned out
	NotifyOldest     time.Time // when the oldest of them happened (zero: none)
}

// WatchDatabase exports the pools' statistics, labelled with each pool's
// name, and, at each scrape, the database-wide ops numbers (read within a
// second; on error those series are left out of that scrape, so absent()
// alerts notice).
func (m *Metrics) WatchDatabase(pools func() []NamedPool, ops func(context.Context) (Ops, error), now func() time.Time) {
	if m == nil {
		return
	}
	m.register(&dbCollector{pools: pools, ops: ops, now: now})
}

// NamedPool is one connection pool's statistics and its name (the pool
// label).
type NamedPool struct {
	Name string
	Stat PoolStat
}

var (
	poolConns = prometheus.NewDesc("uwsportal_db_pool_connections", "Database connections by pool (requests, commits) and state (acquired, idle, constructing).", []string{"pool", "state"}, nil)
	poolMax   = prometheus.NewDesc("uwsportal_db_pool_max_connections", "The pool's size limit.", []string{"pool"}, nil)
	poolAcq   = prometheus.NewDesc("uwsportal_db_pool_acquires_total", "Connections acquired from the pool.", []string{"pool"}, nil)
	poolWait  = prometheus.NewDesc("uwsportal_db_pool_acquire_wait_seconds_total", "Time spent acquiring connections.", []string{"pool"}, nil)
	poolEmpty = prometheus.NewDesc("uwsportal_db_pool_empty_acquires_total", "Acquires that had to wait for a connection (the pool was empty).", []string{"pool"}, nil)
	poolCanc  = prometheus.NewDesc("uwsportal_db_pool_canceled_acquires_total", "Acquires canceled before a connection came.", []string{"pool"}, nil)
	credState = prometheus.NewDesc("uwsportal_credentials", "Credentials by rotation state (idle, resetting, verifying, unknown, attention, quarantined).", []string{"state"}, nil)
	backlog   = prometheus.NewDesc("uwsportal_notification_backlog", "Notifications waiting to be sent.", nil, nil)
	oldest    = prometheus.NewDesc("uwsportal_notification_oldest_pending_seconds", "Age of the oldest notification waiting to be sent (0: none).", nil, nil)
)

type dbCollector struct {
	pools func() []NamedPool
	ops   func(context.Context) (Ops, error)
	now   func() time.Time
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolConns, poolMax, poolAcq, poolWait, poolEmpty, poolCanc, credState, backlog, oldest} {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.pools() {
		st, name := p.Stat, p.Name
		ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(st.AcquiredConns()), name, "acquired")
		ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(st.IdleConns()), name, "idle")
		ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(st.ConstructingConns()), name, "constructing")
		ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(st.MaxConns()), name)
		ch <- prometheus.MustNewConstMetric(poolAcq, prometheus.CounterValue, float64(st.AcquireCount()), name)
		ch <- prometheus.MustNewConstMetric(poolWait, prometheus.CounterValue, st.AcquireDuration().Seconds(), name)
		ch <- prometheus.MustNewConstMetric(poolEmpty, prometheus.CounterValue, float64(st.EmptyAcquireCount()), name)
		ch <- prometheus.MustNewConstMetric(poolCanc, prometheus.CounterValue, float64(st.CanceledAcquireCount()), name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	o, err := c.ops(ctx)
	if err != nil {
		return
	}
	for state, n := range o.CredentialStates {
		ch <- prometheus.MustNewConstMetric(credState, prometheus.GaugeValue, float64(n), state)
	}
	ch <- prometheus.MustNewConstMetric(backlog, prometheus.GaugeValue, float64(o.NotifyBacklog))
	age := 0.0
	if !o.NotifyOldest.IsZero() {
		age = max(0, c.now().Sub(o.NotifyOldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(oldest, prometheus.GaugeValue, age)
}

// gatewayCalls derives uwsportal_gateway_calls_total{operation,outcome}
// from the requests counter's status codes at each scrape, so the gateway
// counts in one place.
type gatewayCalls struct{ requests *prometheus.CounterVec }

var gatewayOutcome = prometheus.NewDesc("uwsportal_gateway_calls_total",
	"Gateway calls by operation and outcome: ok (2xx), refused (4xx but 429), throttled (429), unknown (502, 504: the outcome upstream is unknown), error (other 5xx).",
	[]string{"operation", "outcome"}, nil)

func (g gatewayCalls) Describe(ch chan<- *prometheus.Desc) { ch <- gatewayOutcome }

func (g gatewayCalls) Collect(ch chan<- prometheus.Metric) {
	sums := map[[2]string]float64{}
	mc := make(chan prometheus.Metric, 64)
	go func() {
		g.requests.Collect(mc)
		close(mc)
	}()
	for metric := range mc {
		var pb dto.Metric
		if metric.Write(&pb) != nil {
			continue
		}
		var op, status string
		for _, l := range pb.GetLabel() {
			switch l.GetName() {
			case "operation":
				op = l.GetValue()
			case "status":
				status = l.GetValue()
			}
		}
		sums[[2]string{op, outcomeOf(status)}] += pb.GetCounter().GetValue()
	}
	for k, v := range sums {
		ch <- prometheus.MustNewConstMetric(gatewayOutcome, prometheus.CounterValue, v, k[0], k[1])
	}
}

func outcomeOf(status string) string {
	code, err := strconv.Atoi(status)
	switch {
	case err != nil:
		return "error"
	case code == 429:
		return "throttled"
	case code == 502 || code == 504:
		return "unknown"
	case code >= 500:
		return "error"
	case code >= 400:
		return "refused"
	}
	return "ok"
}

// PoolStat is what the pool metrics read from the database pool (pgx's
// *pgxpool.Stat has it); the store owns the pool, metrics only reads it.
type PoolStat interface {
	AcquiredConns() int32
	IdleConns() int32
	ConstructingConns() int32
	MaxConns() int32
	AcquireCount() int64
	AcquireDuration() time.Duration
	EmptyAcquireCount() int64
	CanceledAcquireCount() int64
}
