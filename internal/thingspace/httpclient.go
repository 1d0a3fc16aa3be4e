package thingspace

import (
	"net"
	"net/http"
	"time"
)

// DefaultTimeout bounds one upstream request, answer included.
const DefaultTimeout = 30 * time.Second

// NewHTTPClient returns the one *http.Client a process should share between
// backends: pooled keep-alive connections, bounded dial/TLS/header waits, and
// a total per-request timeout (DefaultTimeout if timeout <= 0). It never
// follows redirects, so credentials never travel to another host.
func NewHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
