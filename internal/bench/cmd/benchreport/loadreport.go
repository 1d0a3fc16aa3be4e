package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

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
		name, conns, rss := e.Name, fmt.Sprint(e.PeakDBConns), bytesStr(float64(e.PeakRSS))
		if e.Offered > 0 {
			name += ", paced at " + thousands(e.Offered) + "/s"
		}
		if e.Direct {
			conns, rss = "–", "–"
		}
		p("| %s `%s %s` | %d | %s | %s | %s | %s | %s | %s | %d | %s | %s | 0 errors | %s |\n", name, e.Method, mdEscape(e.Path), e.Conns,
			thousands(float64(e.Requests)), thousands(e.RPS()), dur(e.P50), dur(e.P95), dur(e.P99), dur(e.Max), e.Errors, conns, rss, met)
	}
	p("\n")
	renderLoadCPU(p, l.Endpoints)
	missed = append(missed, renderPaced(p, l.Endpoints)...)
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
	p("Each endpoint is loaded with %s keep-alive connections in turn, for %s each, one after the other; each connection sends its next request when the answer has come (the paced rows excepted, below). ", joinInts(l.Conns), l.Duration)
	p("They ask for gzip as a browser does. ")
	p("Every status other than 200 (200 or 202 for the gateway's list, as ThingSpace answers it) and every transport error counts as an error. ")
	p("Peak DB connections are sampled from `pg_stat_activity` for the load database every 100 ms. ")
	p("Peak RSS is the portal process's alone (its peak, `VmHWM`, reset before each row, and `VmRSS` sampled every 100 ms); the load generator and the simulator run in the benchreport process, so they share the cores with the portal and Postgres but not its memory.\n\n")
}

// renderLoadCPU writes where the CPU went in each row: how busy the
// cores were and each process's CPU time per request.
func renderLoadCPU(p printf, es []load.Endpoint) {
	if !slices.ContainsFunc(es, func(e load.Endpoint) bool { return e.CPU.OK }) {
		return
	}
	p("Where the CPU went in each row, read from `/proc` at its start and its end: the share of the cores' time that was not idle (of it, stolen: given by the hypervisor to other machines), ")
	p("and the CPU time per request of the portal process, of Postgres's processes (its backends, WAL writer and checkpointer: the machine's whole server, as the load database is all it serves here), ")
	p("and of the benchreport process, which generates the load and plays ThingSpace. Ticks are 10 ms, so a row's figures are good to a few per cent.\n\n")
	p("| endpoint | connections | req/s | cores busy | stolen | portal CPU per request | Postgres CPU per request | generator and simulator CPU per request | all three |\n")
	p("|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, e := range es {
		if !e.CPU.OK {
			continue
		}
		name, portal, pg := e.Name, dur(e.PerRequest(e.CPU.Portal)), "–"
		if e.Offered > 0 {
			name += ", paced"
		}
		all := e.CPU.LoadProc + e.CPU.Postgres
		if e.Direct {
			portal = "–"
		} else {
			all += e.CPU.Portal
		}
		if e.CPU.Postgres > 0 {
			pg = dur(e.PerRequest(e.CPU.Postgres))
		}
		p("| %s | %d | %s | %s%% | %s%% | %s | %s | %s | %s |\n", name, e.Conns, thousands(e.RPS()), trim(100*e.CPU.Busy, 0), trim(100*e.CPU.Stolen, 1),
			portal, pg, dur(e.PerRequest(e.CPU.LoadProc)), dur(e.PerRequest(all)))
	}
	p("\n")
}

// pacedTarget is the gateway's most added latency at 100 paced callers,
// at p95 (issue 27).
const pacedTarget = 5 * time.Millisecond

// renderPaced writes the gateway's added latency at the paced rows'
// concurrency, the paced gateway's p95 less the direct list's, and
// returns the target missed.
func renderPaced(p printf, es []load.Endpoint) []string {
	var via, direct *load.Endpoint
	for i, e := range es {
		switch {
		case e.Offered > 0 && e.Direct:
			direct = &es[i]
		case e.Offered > 0:
			via = &es[i]
		}
	}
	if via == nil || direct == nil {
		return nil
	}
	added := via.P95 - direct.P95
	met := "yes"
	var missed []string
	if added > pacedTarget {
		met = "**no**"
		missed = append(missed, fmt.Sprintf("load, the gateway's added latency at %d paced connections, p95: %s", via.Conns, ms(msOf(added))))
	}
	p("The paced rows: %d connections offer together half the gateway's best throughput above, each request timed from when it was due, after %s of the same load untimed on the fresh process; ", via.Conns, dur(via.Warmed))
	p("then the same lists go straight to the simulator at the same rate, each fleet's with a ThingSpace session of its own user, while no portal runs. ")
	p("The gateway's added latency at that concurrency is the difference of their p95s, with the portal in a process of its own, as in production, ")
	p("but sharing the 2 cores with Postgres and with the process that generates the load and plays ThingSpace, three schedulers where production would give the portal its own cores ")
	p("(the gateway benchmark above measures the same with its callers and the simulator in the portal's process).\n\n")
	p("| figure | value | floor | ratio | target | met |\n|---|--:|--:|--:|---|---|\n")
	p("| Gateway's added latency at %d paced connections, p95 (the portal alone) | %s | %s (the direct list, same rate) | %s× | ≤ %s | %s |\n\n",
		via.Conns, ms(msOf(added)), dur(direct.P95), trim(float64(via.P95)/float64(direct.P95), 2), dur(pacedTarget), met)
	return missed
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

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
