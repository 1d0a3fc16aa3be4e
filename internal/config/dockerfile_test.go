package config

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// The image listens on every interface: its metrics must have their own
// listener there, never the public one (issue 16.1).
func TestDockerfileKeepsMetricsOffThePublicListener(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	re := regexp.MustCompile(`(UWSPORTAL_[A-Z_]+)=(\S+)`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for _, m := range re.FindAllStringSubmatch(sc.Text(), -1) {
			env[m[1]] = m[2]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	host, _, err := net.SplitHostPort(env["UWSPORTAL_ADDR"])
	if err != nil {
		t.Fatalf("the Dockerfile sets no UWSPORTAL_ADDR: %v", err)
	}
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && env["UWSPORTAL_METRICS_ADDR"] == "" {
		t.Fatalf("the image listens on %s and serves /metrics there: set UWSPORTAL_METRICS_ADDR", env["UWSPORTAL_ADDR"])
	}
}
