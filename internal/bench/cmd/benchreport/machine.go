package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// machine is what the figures were measured on.
type machine struct {
	CPU, OS, Kernel, Go, Postgres, PostgresSource string
	Cores                                         int
	RAMGiB                                        float64
}

func describeMachine(ctx context.Context, server, source string) machine {
	m := machine{Go: goVersion(), PostgresSource: source, Cores: cpuCount()}
	m.CPU = firstField("/proc/cpuinfo", "model name", ":")
	if kb := firstField("/proc/meminfo", "MemTotal", ":"); kb != "" {
		var n float64
		fmt.Sscan(strings.TrimSuffix(kb, " kB"), &n)
		m.RAMGiB = n / (1 << 20)
	}
	m.OS = strings.Trim(firstField("/etc/os-release", "PRETTY_NAME", "="), `"`)
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(cctx, server); err == nil {
		_ = conn.QueryRow(cctx, "SELECT version()").Scan(&m.Postgres)
		conn.Close(cctx)
	}
	return m
}

// loadAvg is the 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

func goVersion() string {
	b, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func cpuCount() int {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "processor") {
			n++
		}
	}
	return n
}

// firstField is the value of the first "key<sep>value" line of a file.
func firstField(path, key, sep string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
