package main

const (
	pkgStore      = "/internal/store"
	pkgWeb        = "/web"
	pkgThingSpace = "/internal/thingspace"
	pkgRotation   = "/internal/rotation"
	pkgDevices    = "/internal/devices"
	pkgGateway    = "/internal/gateway"
	pkgTestDB     = "/internal/testdb"
	pkgSecret     = "/internal/secret"
	pkgModels     = "/models"
)

// ref names one figure: a unit of a benchmark in a package (by suffix of
// its import path).
type ref struct {
	pkg, bench, unit string
}

// row is one line of an area's table.
type row struct {
	label string
	value ref
	// floor is what the same work costs without the portal, if measured.
	floor     *ref
	floorNote string
	target    string
	// met decides the target from the value and the ratio to the floor
	// (NaN without a floor); nil means the figure has no target.
	met func(v, ratio float64) bool
}

type area struct {
	title, intro string
	rows         []row
}

// areas are the report's sections, in the order they are printed.
func areas() []area {
	return []area{auditArea(), webArea(), thingSpaceArea(), rotationArea(), devicesArea(), gatewayArea(), requestsArea(), otherArea()}
}

// lt and ge are the common targets: a figure below, or at least, a limit.
func lt(limit float64) func(v, _ float64) bool { return func(v, _ float64) bool { return v < limit } }
func ge(limit float64) func(v, _ float64) bool { return func(v, _ float64) bool { return v >= limit } }

// auditArea is the audit trail: search pages, exports, verification and
// audited writes. Every export is held against Postgres's own COPY TO. The
// store's figures are at 1M and 3M seeded events (the sub-benchmarks
// events=N; UWSPORTAL_BENCH_AUDIT_SIZES chooses the sizes).
func auditArea() area {
	copyFloor := &ref{pkgStore, "BenchmarkAuditExportCopy", "rows/s"}
	copyRSS := &ref{pkgStore, "BenchmarkAuditExportCopy", "peak-rss-MB"}
	rows := []row{
		{label: "Filtered first page over HTTP, p95 (1M)", value: ref{pkgWeb, "BenchmarkAuditPageHTTP", "http-p95-ms"},
			floor: &ref{pkgWeb, "BenchmarkAuditPageHTTP", "sql-p95-ms"}, floorNote: "same query through pgx",
			target: "< 50 ms and ≤ 2× pgx", met: func(v, r float64) bool { return v < 50 && r <= 2 }},
	}
	for _, size := range []struct{ label, sub string }{{"1M", "/events=1000000"}, {"3M", "/events=3000000"}} {
		rows = append(rows, auditSizeRows(size.label, size.sub, copyFloor, copyRSS)...)
	}
	rows = append(rows,
		row{label: "Verify the whole chain, extrapolated to 10M from 3M (linear: one pass in id order)",
			value: ref{pkgStore, "BenchmarkAuditVerify/events=3000000", "s-at-10M"}},
		row{label: "Audited writes, 8 writers (store writer, group commit)", value: ref{pkgStore, "BenchmarkAuditConcurrentWrites", "writes/s"},
			floor: &ref{pkgStore, "BenchmarkAuditConcurrentWritesPgx", "writes/s"}, floorNote: "one pgx transaction per event",
			target: "≥ 2,000 writes/s", met: ge(2000)},
		row{label: "Export CSV over HTTP (1M)", value: ref{pkgWeb, "BenchmarkAuditExportHTTP/csv", "rows/s"},
			floor: copyFloor, floorNote: "COPY TO", target: "≥ 100,000 rows/s", met: ge(100_000)},
		row{label: "Export NDJSON over HTTP (1M)", value: ref{pkgWeb, "BenchmarkAuditExportHTTP/ndjson", "rows/s"},
			floor: copyFloor, floorNote: "COPY TO", target: "≥ 100,000 rows/s", met: ge(100_000)},
		row{label: "Peak RSS, CSV over HTTP (1M)", value: ref{pkgWeb, "BenchmarkAuditExportHTTP/csv", "peak-rss-MB"},
			floor: copyRSS, floorNote: "COPY TO", target: "< 100 MB", met: lt(100)},
		row{label: "Peak RSS, NDJSON over HTTP (1M)", value: ref{pkgWeb, "BenchmarkAuditExportHTTP/ndjson", "peak-rss-MB"},
			floor: copyRSS, floorNote: "COPY TO", target: "< 100 MB", met: lt(100)},
	)
	return area{
		title: "Audit trail (1,000,000 and 3,000,000 seeded events)",
		intro: "The seeded trail has an event every 30 s (2,880 a day; 1M span a year, 3M about three): 200 actors, 20 departments. " +
			"The filtered page is one actor in one department over the last 30 days; the past window, one department over 30 days that ended half a year before the trail's end. The free-text search is \"seeded event 4242\": two words every event holds and a number. " +
			"The incremental verification walks the last day's 2,880 events from a checkpoint, as the daily automatic check does. " +
			"Exports stream the whole trail. The COPY floor (1M) is the same columns, in id order, written by `COPY (SELECT …) TO STDOUT (FORMAT csv)`. Only the client counts the bytes. " +
			"Peak RSS is sampled every 50 ms. Over HTTP it covers the server and the client, which share one process. " +
			"10M is not seeded (about half an hour): the full walk is extrapolated linearly from 3M. The incremental walk reads one day's events whatever the trail's size. " +
			"The search and the page read the events holding the searched word or the filtered actor, which grow with the trail: at 10M expect their 3M figure times the 1M→3M ratio once more.",
		rows: rows,
	}
}

// auditSizeRows are the store's figures at one seeded size.
func auditSizeRows(label, sub string, copyFloor, copyRSS *ref) []row {
	full := row{label: "Verify the whole chain (" + label + ")", value: ref{pkgStore, "BenchmarkAuditVerify" + sub, "s/verify"}}
	if label == "1M" {
		full.target, full.met = "< 10 s", lt(10)
	}
	return []row{
		{label: "Filtered first page in the store, p95 (" + label + ")", value: ref{pkgStore, "BenchmarkAuditSearchFilteredPage" + sub, "p95-ms"},
			target: "< 50 ms", met: lt(50)},
		{label: "A department over 30 days half a year back, p95 (" + label + ")", value: ref{pkgStore, "BenchmarkAuditSearchPastWindow" + sub, "p95-ms"},
			target: "< 50 ms", met: lt(50)},
		{label: "Free-text search page, p95 (" + label + ")", value: ref{pkgStore, "BenchmarkAuditSearchTextPage" + sub, "p95-ms"},
			target: "≤ 50 ms", met: func(v, _ float64) bool { return v <= 50 }},
		{label: "Export through the store, decode only (" + label + ")", value: ref{pkgStore, "BenchmarkAuditExportRows" + sub, "rows/s"},
			floor: copyFloor, floorNote: "COPY TO, 1M", target: "≥ 100,000 rows/s", met: ge(100_000)},
		{label: "Peak RSS, export through the store (" + label + ")", value: ref{pkgStore, "BenchmarkAuditExportRows" + sub, "peak-rss-MB"},
			floor: copyRSS, floorNote: "COPY TO, 1M", target: "< 100 MB", met: lt(100)},
		full,
		{label: "Verify one day from the checkpoint, 2,880 events (" + label + ")", value: ref{pkgStore, "BenchmarkAuditVerifyIncremental" + sub, "s/verify"},
			target: "< 1 s", met: lt(1)},
	}
}

// webArea is the dashboard through the whole stack, against a bare Echo
// handler.
func webArea() area {
	return area{
		title: "Web: the dashboard through the whole stack",
		intro: "The dashboard is `GET /` for a signed-in admin with 5 departments and credentials, served in process with no sockets. " +
			"The request passes request ID, access log, recover, security headers, the session and the principal from Postgres (one round trip), CSRF and authorisation. " +
			"The floor is a bare Echo router whose one handler writes the same page from memory. " +
			"So the ratio is the whole cost of the portal's middleware, database reads and template.",
		rows: []row{
			{label: "Dashboard, mean per request", value: ref{pkgWeb, "BenchmarkDashboardHandler", "ns/op"},
				floor: &ref{pkgWeb, "BenchmarkBareEchoHandler", "ns/op"}, floorNote: "bare Echo"},
			{label: "Dashboard, p95", value: ref{pkgWeb, "BenchmarkDashboardHandler", "p95-ms"},
				floor: &ref{pkgWeb, "BenchmarkBareEchoHandler", "p95-ms"}, floorNote: "bare Echo"},
			{label: "Dashboard, allocations per request", value: ref{pkgWeb, "BenchmarkDashboardHandler", "allocs/op"},
				floor: &ref{pkgWeb, "BenchmarkBareEchoHandler", "allocs/op"}, floorNote: "bare Echo"},
		},
	}
}

// thingSpaceArea is the ThingSpace client, against plain net/http.
func thingSpaceArea() area {
	return area{
		title: "ThingSpace client (against the simulator on loopback)",
		intro: "The floor makes the same HTTP exchanges with plain net/http: JSON encoding, headers, reading and decoding.",
		rows: []row{
			{label: "Login and logout", value: ref{pkgThingSpace, "BenchmarkClientLogin", "ns/op"},
				floor: &ref{pkgThingSpace, "BenchmarkBareHTTPLogin", "ns/op"}, floorNote: "bare net/http",
				target: "≤ 1.2× bare", met: func(_, r float64) bool { return r <= 1.2 }},
			{label: "Authenticated call (device list)", value: ref{pkgThingSpace, "BenchmarkClientCall", "ns/op"},
				floor: &ref{pkgThingSpace, "BenchmarkBareHTTPCall", "ns/op"}, floorNote: "bare net/http",
				target: "≤ 1.2× bare", met: func(_, r float64) bool { return r <= 1.2 }},
		},
	}
}

// rotationArea is a rotation and the time the portal adds to its upstream
// round trips.
func rotationArea() area {
	return area{
		title: "Rotation (against the simulator on loopback)",
		intro: "One rotation is a reset, a login with the new password, then a logout. " +
			"Each iteration also makes the same upstream round trips with the bare backend, so the portal's added time is measured in pairs under the same load.",
		rows: []row{
			{label: "Rotation, p95", value: ref{pkgRotation, "BenchmarkRotation", "total-p95-ms"},
				floor: &ref{pkgRotation, "BenchmarkRotation", "bare-p95-ms"}, floorNote: "bare round trips"},
			{label: "Portal's added time per rotation, p95", value: ref{pkgRotation, "BenchmarkRotation", "added-p95-ms"},
				target: "< 10 ms", met: lt(10)},
			{label: "Portal's added time per rotation, p50", value: ref{pkgRotation, "BenchmarkRotation", "added-p50-ms"}},
			{label: "Scheduler pass over 100 due credentials", value: ref{pkgRotation, "BenchmarkSchedulerPass100", "ns/op"}},
		},
	}
}

// dbFloorNote names the floor of an audited request's added time: the
// least database work it must do (testdb.RoundTripFloor).
const dbFloorNote = "a read and a durable commit through pgx, at the same pace"

// devicesArea is people's device work through the portal.
func devicesArea() area {
	return area{
		title: "Devices (against the simulator on loopback)",
		intro: "A page of 100 devices through the whole portal, paired with the same list call made directly with the client. " +
			"The portal's added time is each pair's difference (the page less the list call), at p95: " +
			"the session with its person, the department with its policy and credential, the shared session, the durable audit of the list, rendering. " +
			"Its floor is the least database work an audited page must do, through pgx: one read before the list call and one durable commit after it, made around a third list call after each pair, so at the page's pace " +
			"(on a machine whose idle cores sleep, a round trip to a database that waited through the list call costs more than one made back to back).",
		rows: []row{
			{label: "Devices page, portal's added time p95", value: ref{pkgWeb, "BenchmarkDevicesPage", "added-p95-ms"},
				floor: &ref{pkgWeb, "BenchmarkDevicesPage", "db-floor-p95-ms"}, floorNote: dbFloorNote,
				target: "≤ 2 ms", met: func(v, _ float64) bool { return v <= 2 }},
			{label: "Devices page, portal's added time p50", value: ref{pkgWeb, "BenchmarkDevicesPage", "added-p50-ms"},
				floor: &ref{pkgWeb, "BenchmarkDevicesPage", "db-floor-p50-ms"}, floorNote: dbFloorNote},
			{label: "Devices page, p95", value: ref{pkgWeb, "BenchmarkDevicesPage", "portal-p95-ms"},
				floor: &ref{pkgWeb, "BenchmarkDevicesPage", "direct-p95-ms"}, floorNote: "the list call alone"},
			{label: "Upstream logins per 1,000 operations, two instances, one session expiry", value: ref{pkgDevices, "BenchmarkLoginsPer1000Operations", "logins/1000ops"},
				target: "≤ 2 (one per session)", met: func(v, _ float64) bool { return v <= 2 }},
		},
	}
}

// gatewayArea is applications' calls through the gateway.
func gatewayArea() area {
	return area{
		title: "Gateway (against the simulator on loopback)",
		intro: "A device list through the gateway (token, handle, client, scopes, rate limit, the department's ceiling, the shared session, audit), paired with the same call made directly with the client: " +
			"one caller at a time; then 100 concurrent callers through the gateway and 100 direct, 30 s each, as fast as they can (capacity: on these 2 cores both paths saturate the CPU, so latency there is the concurrency over the throughput); " +
			"then 100 concurrent callers offering half the gateway's measured throughput, the same rate on both paths, 30 s each, each call timed from when it was due (the added latency at 100 callers). " +
			"The one caller's added latency stands beside the least database work an audited call must do, through pgx: one read before a direct call and one durable commit after it, at the same pace.",
		rows: []row{
			{label: "Gateway call, p95", value: ref{pkgGateway, "BenchmarkGatewayAddedLatency", "gateway-p95-ms"},
				floor: &ref{pkgGateway, "BenchmarkGatewayAddedLatency", "direct-p95-ms"}, floorNote: "the direct call"},
			{label: "Gateway's added latency per call, p95 (one caller)", value: ref{pkgGateway, "BenchmarkGatewayAddedLatency", "added-p95-ms"},
				floor: &ref{pkgGateway, "BenchmarkGatewayAddedLatency", "db-floor-p95-ms"}, floorNote: dbFloorNote,
				target: "≤ 1 ms", met: func(v, _ float64) bool { return v <= 1 }},
			{label: "Gateway's added latency per call, p50 (one caller)", value: ref{pkgGateway, "BenchmarkGatewayAddedLatency", "added-p50-ms"},
				floor: &ref{pkgGateway, "BenchmarkGatewayAddedLatency", "db-floor-p50-ms"}, floorNote: dbFloorNote},
			{label: "100 concurrent callers, all four runs: errors", value: ref{pkgGateway, "BenchmarkGatewayConcurrent", "errors"},
				target: "0", met: func(v, _ float64) bool { return v == 0 }},
			{label: "100 concurrent callers at full speed: calls per second through the gateway", value: ref{pkgGateway, "BenchmarkGatewayConcurrent", "gateway-calls/s"},
				floor: &ref{pkgGateway, "BenchmarkGatewayConcurrent", "direct-calls/s"}, floorNote: "direct, 100 concurrent"},
			{label: "100 concurrent callers at full speed: gateway call, p95", value: ref{pkgGateway, "BenchmarkGatewayConcurrent", "gateway-p95-ms"},
				floor: &ref{pkgGateway, "BenchmarkGatewayConcurrent", "direct-p95-ms"}, floorNote: "the direct call, 100 concurrent"},
			{label: "100 concurrent callers at full speed: p95 less the direct p95 (CPU per call, not waiting)", value: ref{pkgGateway, "BenchmarkGatewayConcurrent", "saturated-added-p95-ms"}},
			{label: "100 concurrent callers, paced: calls per second offered to each path", value: ref{pkgGateway, "BenchmarkGatewayConcurrent", "paced-offered-calls/s"}},
			{label: "100 concurrent callers, paced: gateway call, p95", value: ref{pkgGateway, "BenchmarkGatewayConcurrent", "paced-gateway-p95-ms"},
				floor: &ref{pkgGateway, "BenchmarkGatewayConcurrent", "paced-direct-p95-ms"}, floorNote: "the direct call, same rate and callers"},
			{label: "100 concurrent callers, paced: gateway's added latency, p95", value: ref{pkgGateway, "BenchmarkGatewayConcurrent", "added-p95-ms"},
				target: "≤ 5 ms", met: func(v, _ float64) bool { return v <= 5 }},
			{label: "Upstream logins per 1,000 calls from 10 clients", value: ref{pkgGateway, "BenchmarkGatewayLoginsPer1000Calls", "logins/1000calls"},
				target: "1", met: func(v, _ float64) bool { return v <= 1 }},
		},
	}
}

// otherArea holds the figures that have no floor of their own.
func otherArea() area {
	return area{
		title: "Other",
		rows: []row{
			{label: "Test database creation (clone of the template)", value: ref{pkgTestDB, "BenchmarkNewDatabase", "ns/op"},
				target: "well under 200 ms", met: lt(200e6)},
			{label: "Password policy check, typical password (zxcvbn)", value: ref{pkgModels, "BenchmarkCheckPassword/typical", "ns/op"}},
			{label: "Password policy check, worst case (l33t)", value: ref{pkgModels, "BenchmarkCheckPassword/l33t_worst_case", "ns/op"}},
			{label: "Seal a secret (AES-256-GCM)", value: ref{pkgSecret, "BenchmarkSeal", "ns/op"}},
			{label: "Open a secret", value: ref{pkgSecret, "BenchmarkOpen", "ns/op"}},
		},
	}
}
