package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/uwsportal/uwsportal/internal/devidp"
)

// wellKnownSecret is public on purpose: devidp is for development only
// and the portal's local configuration can then work out of the box.
const wellKnownSecret = "devidp-secret"

type options struct {
	addr, issuer, clientID, clientSecret string
	redirectURIs, postLogoutURIs         []string
	defaultSecret                        bool
}

// listFlag is a repeatable string flag whose default is replaced, not
// extended, by the first use.
type listFlag struct {
	values []string
	set    bool
}

func (l *listFlag) String() string { return strings.Join(l.values, ",") }

func (l *listFlag) Set(v string) error {
	if !l.set {
		l.values, l.set = nil, true
	}
	l.values = append(l.values, v)
	return nil
}

func parseOptions(args []string, getenv func(string) string) (options, error) {
	var o options
	fs := flag.NewFlagSet("devidp", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the caller prints the returned error once
	redirects := &listFlag{values: []string{"http://127.0.0.1:8080/auth/callback"}}
	postLogout := &listFlag{values: []string{"http://127.0.0.1:8080/"}}
	fs.StringVar(&o.addr, "addr", "127.0.0.1:9091", "loopback `host:port` to listen on")
	fs.StringVar(&o.issuer, "issuer", "", "issuer `URL` (default http://<addr>)")
	fs.StringVar(&o.clientID, "client-id", "uwsportal", "the relying party's client ID")
	fs.StringVar(&o.clientSecret, "client-secret", "", "the relying party's client secret (default $DEVIDP_CLIENT_SECRET, else "+wellKnownSecret+")")
	fs.Var(redirects, "redirect-uri", "allowed redirect `URI` (repeatable)")
	fs.Var(postLogout, "post-logout-redirect-uri", "allowed post-logout redirect `URI` (repeatable)")
	if len(args) > 0 {
		args = args[1:]
	}
	if err := fs.Parse(args); err != nil {
		var usage strings.Builder
		fs.SetOutput(&usage)
		fs.PrintDefaults()
		return o, fmt.Errorf("%w\nusage of devidp:\n%s", err, usage.String())
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return o, fmt.Errorf("-addr %q: %w", o.addr, err)
	}
	if !devidp.LoopbackHost(host) {
		return o, fmt.Errorf("refusing to listen on %q: devidp signs anyone in without a password, so it only listens on loopback (127.0.0.0/8, ::1, localhost)", o.addr)
	}
	if o.clientSecret == "" {
		o.clientSecret = getenv("DEVIDP_CLIENT_SECRET")
	}
	if o.clientSecret == "" {
		o.clientSecret, o.defaultSecret = wellKnownSecret, true
	}
	o.redirectURIs, o.postLogoutURIs = redirects.values, postLogout.values
	return o, nil
}
