package main

const pkgRequests = "/internal/requests"

// requestsArea is following device requests to their end: the callback
// listener's recording rate beside the same writes through pgx, and the
// status reads polling spends per request.
func requestsArea() area {
	return area{
		title: "Device requests (callbacks and polling)",
		intro: "Callbacks: 8 at once, each checked (username, sealed password), its request locked and ended and its audit event chained, in one transaction. " +
			"The floor is the same update and audit append through pgx, without reading the body, the listener or the request. " +
			"Status reads: 20 pending requests polled over a simulated day without callbacks (10 s, 30 s, 2 min, 10 min, then every 30 min).",
		rows: []row{
			{label: "Callbacks recorded", value: ref{pkgRequests, "BenchmarkCallbacksRecorded", "callbacks/s"},
				floor: &ref{pkgRequests, "BenchmarkCallbacksRecordedPgx", "callbacks/s"}, floorNote: "same writes through pgx",
				target: "≥ 1,000 callbacks/s", met: ge(1000)},
			{label: "Status reads per request, done after 5 min", value: ref{pkgRequests, "BenchmarkStatusCallsPerRequest/done-after-5m", "calls/request"},
				target: "≤ 10", met: func(v, _ float64) bool { return v <= 10 }},
			{label: "Status reads per request, never done (gives up after a day)", value: ref{pkgRequests, "BenchmarkStatusCallsPerRequest/never-done", "calls/request"}},
		},
	}
}
