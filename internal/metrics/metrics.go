// Package metrics defines every Prometheus series the portal exports, on a
// registry of its own (no global state, so tests can run several portals).
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds the collectors; a nil *Metrics is valid and records nothing.
type Metrics struct {
	Registry *prometheus.Registry
	// ours are the collectors of uwsportal_* series, for Names.
	ours []prometheus.Collector

	HTTPRequests     *prometheus.CounterVec
	HTTPDuration     *prometheus.HistogramVec
	Rotations        *prometheus.CounterVec
	UpstreamLogins   *prometheus.CounterVec
	AuditWrites      prometheus.Counter
	AuditFailures    prometheus.Counter
	SchedulerRuns    *prometheus.CounterVec
	Quarantined      prometheus.Gauge
	CredentialAgeMax prometheus.Gauge
	CredentialAge    *prometheus.GaugeVec
	// Gateway series are labelled by API client ID: bounded, because only
	// admins and leads create clients.
	GatewayRequests *prometheus.CounterVec
	GatewayDuration *prometheus.HistogramVec
	// Notifications counts delivery attempts by channel kind and result
	// (sent, retry, failed).
	Notifications *prometheus.CounterVec
	// DeviceOps counts device actions by operation and outcome.
	DeviceOps *prometheus.CounterVec
}

// New registers every series on a fresh registry.
func New() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: r,
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uwsportal_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "uwsportal_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		Rotations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uwsportal_rotations_total", Help: "Password rotations by result.",
		}, []string{"result"}),
		UpstreamLogins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uwsportal_upstream_logins_total", Help: "ThingSpace logins by result.",
		}, []string{"result"}),
		AuditWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "uwsportal_audit_writes_total", Help: "Audit events appended.",
		}),
		AuditFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "uwsportal_audit_write_failures_total", Help: "Audit appends that failed (the change they recorded was refused).",
		}),
		SchedulerRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uwsportal_scheduler_runs_total", Help: "Scheduler passes by result (leader, follower, error).",
		}, []string{"result"}),
		Quarantined: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "uwsportal_quarantined_credentials", Help: "Credentials quarantined after failed upstream logins.",
		}),
		CredentialAgeMax: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "uwsportal_credential_age_max_seconds", Help: "Age of the oldest credential password.",
		}),
		CredentialAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "uwsportal_credential_age_seconds", Help: "Age of each department's credential password.",
		}, []string{"department"}),
	}
	f := func(c prometheus.Collector) {
		r.MustRegister(c)
		m.ours = append(m.ours, c)
	}
	m.GatewayRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "uwsportal_gateway_requests_total", Help: "Gateway requests by API client, operation and status.",
	}, []string{"client", "operation", "status"})
	m.GatewayDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "uwsportal_gateway_request_duration_seconds", Help: "Gateway latency by API client and operation, ThingSpace included.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"client", "operation"})
	m.Notifications = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "uwsportal_notifications_total", Help: "Notification delivery attempts by channel kind and result (sent, retry, failed).",
	}, []string{"kind", "result"})
	m.DeviceOps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "uwsportal_device_operations_total", Help: "Device actions by people (pages and the command line) by operation and outcome (accepted, refused, unknown).",
	}, []string{"operation", "outcome"})
	f(m.DeviceOps)
	f(gatewayCalls{requests: m.GatewayRequests})
	f(m.Notifications)
	f(m.GatewayRequests)
	f(m.GatewayDuration)
	f(m.HTTPRequests)
	f(m.HTTPDuration)
	f(m.Rotations)
	f(m.UpstreamLogins)
	f(m.AuditWrites)
	f(m.AuditFailures)
	f(m.SchedulerRuns)
	f(m.Quarantined)
	f(m.CredentialAgeMax)
	f(m.CredentialAge)
	return m
}
