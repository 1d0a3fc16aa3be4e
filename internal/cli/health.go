package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"time"
)

// healthcheck asks the local instance's /healthz (or /readyz) and exits 0
// if it answers 200, else 1. It is the image's HEALTHCHECK and a probe
// command: the image has no shell or curl, the binary is the check.
func (a *app) healthcheck(ctx context.Context, args []string) error {
	var ready, asJSON bool
	var target string
	var timeout time.Duration
	if err := a.flags("healthcheck", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&ready, "ready", false, "ask /readyz (database, schema and master keys) instead of /healthz (the process)")
		fs.StringVar(&target, "url", "", "the instance's base URL (default: http:// and UWSPORTAL_ADDR, with a wildcard host read as loopback)")
		fs.DurationVar(&timeout, "timeout", 5*time.Second, "give up after this long")
		fs.BoolVar(&asJSON, "json", false, "print the status as JSON")
	}); err != nil {
		return err
	}
	if target == "" {
		target = "http://" + localAddr(a.getenv("UWSPORTAL_ADDR"))
	}
	path := "/healthz"
	if ready {
		path = "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	status, body, err := get(ctx, strings.TrimRight(target, "/")+path)
	if asJSON {
		out := map[string]any{"url": strings.TrimRight(target, "/") + path, "status": status, "healthy": err == nil && status == http.StatusOK}
		if err != nil {
			out["error"] = err.Error()
		}
		if jerr := json.NewEncoder(a.stdout).Encode(out); jerr != nil {
			return jerr
		}
	} else if err == nil {
		fmt.Fprintf(a.stdout, "%s %d %s\n", path, status, strings.TrimSpace(body))
	}
	switch {
	case err != nil:
		return &exitError{code: 1, err: fmt.Errorf("healthcheck %s: %w", path, err)}
	case status != http.StatusOK:
		return &exitError{code: 1, err: fmt.Errorf("healthcheck %s: answered %d", path, status)}
	}
	return nil
}

func get(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 4096))
	return res.StatusCode, string(b), err
}

// localAddr turns a listen address into one to connect to: a wildcard or
// empty host is this machine's loopback.
func localAddr(listen string) string {
	if listen == "" {
		listen = "127.0.0.1:8080"
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

// version prints the version (and, with --json, the Go version too).
func (a *app) version(args []string) error {
	var asJSON bool
	if err := a.flags("version", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	}); err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(a.stdout).Encode(map[string]string{"version": Version, "go": runtime.Version()})
	}
	fmt.Fprintln(a.stdout, Version)
	return nil
}
