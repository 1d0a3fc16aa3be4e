package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/uwsportal/uwsportal/internal/bench/load"
)

// renderLoad writes the load run and returns the targets it missed.
func renderLoad(p printf, info runInfo) []string {
	p("## Load\n\n")
	if info.Load == nil {
		p("Not run.\n\n")
		return nil
	}
	l := info.Load
	renderLoadMethod(p, l)
	p("| endpoint | connections | requests | req/s | p50 | p95 | p99 | max | errors | peak DB connections | peak RSS | target | met |\n")
	p("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n")
	var missed []string
	for _, e := range l.Endpoints {
		met := "yes"
		if e.Errors > 0 {
			met = "**no**"
			missed = append(missed, fmt.Sprintf("load, %s at %d connections: %d errors", e.Name, e.Conns, e.Errors))
		}
		p("| %s `%s %s` | %d | %s | %s | %s | %s | %s | %s | %d | %d | %s | 0 errors | %s |\n", e.Name, e.Method, mdEscape(e.Path), e.Conns,
			thousands(float64(e.Requests)), thousands(e.RPS()), dur(e.P50), dur(e.P95), dur(e.P99), dur(e.Max), e.Errors, e.PeakDBConns, bytesStr(float64(e.PeakRSS)), met)
	}
	p("\n")
	missed = append(missed, renderLogins(p, l.Logins)...)
	renderLoadErrors(p, info)
	if info.LoadErr != nil {
		missed = append(missed, "load: "+info.LoadErr.Error())
	}
	return missed
}

// renderLoadMethod says how the load was made, so the figures can be read.
func renderLoadMethod(p printf, l *load.Result) {
	p("`make bench` builds `cmd/uwsportal` and runs `uwsportal serve` as a separate process (its database pool of 20 connections, the scheduler off) on a database of its own, ")
	p("with the ThingSpace simulator on loopback as ThingSpace. ")
	p("That database holds %s audit events and %d departments with credentials. ", thousands(float64(l.Events)), l.Departments)
	p("%d of them, `fleet` and `fleet2`, each have an account of %s devices on the simulator; %s API clients are allowed to list them, shared between the two (the devices page reads `fleet`). ", l.Fleets, thousands(float64(l.Devices)), thousands(float64(l.Clients)))
	p("A break-glass admin signs in once through `POST /login/local`; every page request carries that session. ")
	p("Each API client gets its token and its session through the gateway once (client credentials, then the M2M session login); each gateway connection takes turns among %d clients, so one client's own rate limit (10 calls/s) is not what is measured, and each department's ceiling is set to its highest, 1,000 calls/s, so that the gateway's load, split between the two departments, measures the portal rather than one department's ceiling. ", l.AppsPerConn)
	p("Each endpoint is loaded with %s keep-alive connections in turn, for %s each, one after the other; each connection sends its next request when the answer has come. ", joinInts(l.Conns), l.Duration)
	p("They ask for gzip as a browser does. ")
	p("Every status other than 200 (200 or 202 for the gateway's list, as ThingSpace answers it) and every transport error counts as an error. ")
	p("Peak DB connections are sampled from `pg_stat_activity` for the load database every 100 ms. ")
	p("Peak RSS is the portal process's alone (its peak, `VmHWM`, reset before each row, and `VmRSS` sampled every 100 ms); the load generator and the simulator run in the benchreport process, so they share the cores with the portal and Postgres but not its memory.\n\n")
}

// renderLogins writes the upstream logins the simulator saw, one row per
// account, and returns the targets missed: the session is shared, so one
// login should serve every page and gateway call.
func renderLogins(p printf, logins []load.Logins) []string {
	if len(logins) == 0 {
		return nil
	}
	p("Upstream logins the simulator saw during the whole run (devices page and gateway at every concurrency); every person and application shares the department's session:\n\n")
	p("| account (UWS user) | logins | target | met |\n|---|--:|---|---|\n")
	var missed []string
	for _, l := range logins {
		met := "yes"
		if l.Logins > 1 {
			met = "**no**"
			missed = append(missed, fmt.Sprintf("load, account %s: %d upstream logins", l.Account, l.Logins))
		}
		p("| %s (`%s`) | %d | ≤ 1 | %s |\n", l.Account, l.User, l.Logins, met)
	}
	p("\n")
	return missed
}

// renderLoadErrors details the errors of each row that had some, the run's
// failure and the portal's own error log lines.
func renderLoadErrors(p printf, info runInfo) {
	l := info.Load
	for _, e := range l.Endpoints {
		if e.Errors == 0 {
			continue
		}
		var st []string
		for _, code := range slices.Sorted(maps.Keys(e.Statuses)) {
			st = append(st, fmt.Sprintf("%d × %d", e.Statuses[code], code))
		}
		p("%s at %d connections: %d transport errors; statuses %s; first: %s\n\n", e.Name, e.Conns, e.TransportErrors, strings.Join(st, ", "), mdEscape(e.FirstError))
	}
	if info.LoadErr != nil {
		p("The load run failed: %s\n\n", mdEscape(info.LoadErr.Error()))
	}
	if l.ServerErrorCount > 0 {
		p("The portal logged %d errors during the load; the first:\n\n", l.ServerErrorCount)
		for _, s := range l.ServerErrors {
			p("    %s\n", s)
		}
		p("\n")
	}
}

// joinInts is "50 and 200", or "50, 100 and 200".
func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
