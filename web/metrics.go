package web

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/uwsportal/uwsportal/internal/metrics"
)

type webMetrics struct {
	m *metrics.Metrics
	// routes are the registered route templates: the only route labels.
	routes map[string]bool
}

func (w webMetrics) observeRequest(route, method string, status int, d time.Duration) {
	if w.m == nil {
		return
	}
	if !w.routes[route] {
		route = "unmatched"
	}
	method = methodLabel(method)
	w.m.HTTPRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	w.m.HTTPDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// methodLabel maps a request method to a fixed set: a client invents
// methods freely, and every distinct label value is a series kept forever.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// metricsOnMainListener reports whether /metrics may be served on the main
// listener: only when no separate address is set and the main listener is
// bound to loopback. A portal listening on every interface keeps its
// metrics for UWSPORTAL_METRICS_ADDR.
func metricsOnMainListener(addr, metricsAddr string) bool {
	if metricsAddr != "" {
		return false
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
