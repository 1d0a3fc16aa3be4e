package main

import (
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/bench/load"
)

func loadResult() *load.Result {
	ep := func(name string, conns int, errs int64) load.Endpoint {
		e := load.Endpoint{Name: name, Method: "GET", Path: "/", Conns: conns, Requests: 30_000, Elapsed: 30 * time.Second,
			P50: 40 * time.Millisecond, P95: 70 * time.Millisecond, P99: 90 * time.Millisecond, Max: 300 * time.Millisecond,
			PeakDBConns: 21, PeakRSS: 64 << 20, Errors: errs, Statuses: map[int]int64{}}
		if errs > 0 {
			e.Statuses[429] = errs
			e.FirstError = "status 429"
		}
		return e
	}
	return &load.Result{Conns: []int{50, 200}, Duration: 30 * time.Second, Events: 100_000, Departments: 21, Devices: 1000, Clients: 400,
		Endpoints: []load.Endpoint{ep("dashboard", 50, 0), ep("dashboard", 200, 0),
			{Name: "gateway list", Method: "POST", Path: "/api/m2m/v1/devices/actions/list", Conns: 200, Requests: 9_000, Elapsed: 30 * time.Second,
				P50: 500 * time.Millisecond, P95: 900 * time.Millisecond, P99: 1200 * time.Millisecond, Max: 2 * time.Second,
				PeakDBConns: 20, PeakRSS: 80 << 20, Errors: 7, Statuses: map[int]int64{429: 7}, FirstError: "status 429 (request ID x)"}},
		Logins: []load.Logins{{Account: "0000123456-00001", User: "fleet_uws", Logins: 1}}}
}

func TestRenderLoadRows(t *testing.T) {
	var b strings.Builder
	missed := renderLoad(printer(&b), runInfo{Load: loadResult()})
	out := b.String()
	for _, want := range []string{
		"| dashboard `GET /` | 50 | 30,000 | 1,000 | 40 ms | 70 ms | 90 ms | 300 ms | 0 | 21 | 64 MiB | 0 errors | yes |",
		"| dashboard `GET /` | 200 |",
		"| gateway list `POST /api/m2m/v1/devices/actions/list` | 200 | 9,000 | 300 | 500 ms | 900 ms | 1.2 s | 2 s | 7 | 20 | 80 MiB | 0 errors | **no** |",
		"| 0000123456-00001 (`fleet_uws`) | 1 | ≤ 1 | yes |",
		"7 × 429",
		"separate process",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the load section lacks %q:\n%s", want, out)
		}
	}
	if len(missed) != 1 || !strings.Contains(missed[0], "gateway list at 200 connections: 7 errors") {
		t.Fatalf("missed = %q", missed)
	}
}

func TestRenderLoadLoginsMissed(t *testing.T) {
	l := loadResult()
	l.Logins[0].Logins = 3
	var b strings.Builder
	missed := renderLoad(printer(&b), runInfo{Load: l})
	if !strings.Contains(b.String(), "| 0000123456-00001 (`fleet_uws`) | 3 | ≤ 1 | **no** |") {
		t.Fatalf("the logins row does not say the target was missed:\n%s", b.String())
	}
	if len(missed) != 2 || !strings.Contains(missed[1], "3 upstream logins") {
		t.Fatalf("missed = %q", missed)
	}
}

func TestRenderLoadNotRun(t *testing.T) {
	var b strings.Builder
	if missed := renderLoad(printer(&b), runInfo{}); len(missed) != 0 || !strings.Contains(b.String(), "Not run.") {
		t.Fatalf("missed %q, section %q", missed, b.String())
	}
}

func TestParseFlagsLoad(t *testing.T) {
	env := map[string]string{"UWSPORTAL_LOAD_DURATION": "10s"}
	o, err := parseFlags([]string{"benchreport", "-only", "load", "-conns", "5,20"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if !o.noBench || o.noLoad || o.load.Duration != 10*time.Second || len(o.load.Conns) != 2 || o.load.Conns[0] != 5 || o.load.Conns[1] != 20 {
		t.Fatalf("%+v", o)
	}
	o, err = parseFlags([]string{"benchreport", "-load-duration", "2s"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if o.load.Duration != 2*time.Second || o.noBench || o.noLoad || len(o.load.Conns) != 2 || o.load.Conns[0] != 50 {
		t.Fatalf("the flag does not win over the environment: %+v", o)
	}
	for _, bad := range [][]string{{"benchreport", "-only", "nothing"}, {"benchreport", "-conns", "0"}, {"benchreport", "-conns", "x"}} {
		if _, err := parseFlags(bad, func(string) string { return "" }); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if _, err := parseFlags([]string{"benchreport"}, func(string) string { return "soon" }); err == nil {
		t.Error("a bad UWSPORTAL_LOAD_DURATION is not refused")
	}
}

// The paced rows say their rate, the direct one has no portal's figures,
// and the gateway's added latency is the difference of their p95s, held
// to its target.
func TestRenderLoadPaced(t *testing.T) {
	paced := func(direct bool, p95 time.Duration) load.Endpoint {
		return load.Endpoint{Name: "list", Method: "POST", Path: "/l", Conns: 100, Offered: 650.4, Warmed: 5 * time.Second, Direct: direct, Requests: 19_500, Elapsed: 30 * time.Second,
			P50: time.Millisecond, P95: p95, P99: 2 * p95, Max: 4 * p95, PeakDBConns: 20, PeakRSS: 64 << 20, Statuses: map[int]int64{}}
	}
	for _, c := range []struct {
		via    time.Duration
		row    string
		missed int
	}{
		{via: 6500 * time.Microsecond, row: "| 4.5 ms | 2 ms (the direct list, same rate) | 3.25× | ≤ 5 ms | yes |"},
		{via: 7500 * time.Microsecond, row: "| 5.5 ms | 2 ms (the direct list, same rate) | 3.75× | ≤ 5 ms | **no** |", missed: 1},
	} {
		l := loadResult()
		l.Endpoints = append(l.Endpoints[:2], paced(false, c.via), paced(true, 2*time.Millisecond))
		var b strings.Builder
		missed := renderLoad(printer(&b), runInfo{Load: l})
		out := b.String()
		for _, want := range []string{
			"| list, paced at 650/s `POST /l` | 100 | 19,500 | 650 |",
			"| list, paced at 650/s `POST /l` | 100 | 19,500 | 650 | 1 ms | 2 ms | 4 ms | 8 ms | 0 | – | – | 0 errors | yes |",
			"Gateway's added latency at 100 paced connections, p95 (the portal alone) " + c.row,
			"after 5 s of the same load untimed",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("the load section lacks %q:\n%s", want, out)
			}
		}
		if len(missed) != c.missed {
			t.Errorf("missed = %q, want %d", missed, c.missed)
		}
	}
}

// Each row's CPU is spread over its requests; a direct row has no portal,
// and a row whose CPU was not read is left out.
func TestRenderLoadCPU(t *testing.T) {
	l := loadResult()
	l.Endpoints[0].CPU = load.CPUUse{OK: true, Busy: 0.934, Stolen: 0.012, Portal: 21 * time.Second, Postgres: 15 * time.Second, LoadProc: 9 * time.Second}
	l.Endpoints = append(l.Endpoints, load.Endpoint{Name: "direct", Conns: 100, Offered: 500, Direct: true, Requests: 15_000, Elapsed: 30 * time.Second,
		CPU: load.CPUUse{OK: true, Busy: 0.25, Portal: 6 * time.Second, LoadProc: 6 * time.Second}})
	var b strings.Builder
	renderLoad(printer(&b), runInfo{Load: l})
	out := b.String()
	for _, want := range []string{
		"| dashboard | 50 | 1,000 | 93% | 1.2% | 700 µs | 500 µs | 300 µs | 1.5 ms |",
		"| direct, paced | 100 | 500 | 25% | 0% | – | – | 400 µs | 400 µs |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the CPU table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "| gateway list | 200 | 300 |") {
		t.Errorf("a row whose CPU was not read is in the CPU table:\n%s", out)
	}
	l.Endpoints = l.Endpoints[:0]
	b.Reset()
	renderLoad(printer(&b), runInfo{Load: l})
	if strings.Contains(b.String(), "Where the CPU went") {
		t.Errorf("a CPU table without a row read:\n%s", b.String())
	}
}
