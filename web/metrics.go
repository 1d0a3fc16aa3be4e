package web

import (
	"strconv"
	"time"

	"github.com/uwsportal/uwsportal/internal/metrics"
)

type webMetrics struct{ m *metrics.Metrics }

func (w webMetrics) observeRequest(route, method string, status int, d time.Duration) {
	if w.m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	w.m.HTTPRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	w.m.HTTPDuration.WithLabelValues(route, method).Observe(d.Seconds())
}
