# uwsportal: the two commands a new user needs are `make demo` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: demo test lint generate build bench tools soak mutate

demo: tools
	$(GO) run ./cmd/demo

test: tools
	$(GO) test -count=1 -race -timeout 15m ./...

lint: tools
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	@cp go.mod .tidy.mod && cp go.sum .tidy.sum; $(GO) mod tidy; ok=0; cmp -s go.mod .tidy.mod && cmp -s go.sum .tidy.sum || ok=1; \
	  mv .tidy.mod go.mod; mv .tidy.sum go.sum; if [ $$ok = 1 ]; then echo "go mod tidy changes go.mod or go.sum: run it and commit the result"; exit 1; fi
	$(GO) run ./internal/lint/sizes
	$(GO) run ./internal/lint/rules/cmd
	@if [ "$(VULNCHECK)" = 0 ]; then echo "govulncheck skipped (VULNCHECK=0)"; \
	elif ! curl -fsS -m 10 -o /dev/null https://vuln.go.dev/index/db.json.gz 2>/dev/null; then \
	  echo "govulncheck NOT RUN: https://vuln.go.dev does not answer from here; run make lint where it does"; \
	else $(GO) tool govulncheck ./...; fi

generate: tools
	$(GO) tool templ generate

build: tools
	mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ ./cmd/...

# Every benchmark, then the load run (30 s per endpoint and concurrency): BENCHMARKS.md.
# A short load alone: make bench BENCHFLAGS='-only load -out /tmp/load.md' UWSPORTAL_LOAD_DURATION=10s
bench: tools
	$(GO) run ./internal/bench/cmd/benchreport $(BENCHFLAGS)

# The randomized fault schedule over SEEDS random seeds (default 20) (UWSPORTAL_FAULT_SEED=N replays one).
soak: tools
	UWSPORTAL_FAULT_SEEDS=$(or $(SEEDS),20) $(GO) test -count=1 -timeout 0 -run 'TestFaultSchedule$$' -v ./internal/faults/

# The mutation check: each deliberate one-line breakage in internal/faults/mutations, applied to a copy
# of the tree, must fail the fault schedule (SEEDS seeds, default 20) or the unit tests; prints the table.
mutate: tools
	$(GO) run ./internal/faults/mutations/cmd -seeds $(or $(SEEDS),20) $(if $(ONLY),-only '$(ONLY)')

# A missing tool gets one line saying what to do.
tools:
	@command -v $(GO) >/dev/null 2>&1 || { echo "Go is not installed: install Go 1.26 or newer (https://go.dev/dl/) and run make again"; exit 1; }
