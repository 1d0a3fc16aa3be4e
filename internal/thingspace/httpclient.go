package thingspace

import (
	"net"
	"net/http"
	"time"
)

// DefaultTimeout bounds one upstream request, answer included.
const DefaultTimeout = 30 * time.Second

// maxIdleConns is how many connections to ThingSpace stay open between
// calls: the portal calls one host, and as many calls at once as the
// gateway's callers make must find a connection when they come again
// rather than each open one (over TLS, a handshake). Over HTTP/2 they
// share one anyway.
const maxIdleConns = 128

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
		MaxIdleConns:          maxIdleConns,
		MaxIdleConnsPerHost:   maxIdleConns,
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

// forbidReplay makes req impossible for the transport to send twice. Go's
// HTTP/2 transport resends a request on a new connection after a GOAWAY, a
// refused or reset stream whenever it can rewind the body through GetBody
// (which http.NewRequest sets for in-memory bodies), and HTTP/1 does the same
// for requests it deems idempotent. A resent login is a second lockout
// attempt, a resent reset a second password change whose answer is lost, a
// resent device action a second action: the client alone decides about
// retries. Without GetBody the transport can retry only a request whose body
// it never read.
func forbidReplay(req *http.Request) {
	req.GetBody = nil
}
