package load

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/testdb"
)

// TestRun loads every endpoint briefly at a low concurrency: no errors, a
// peak RSS and DB connections measured on the portal process, and one
// upstream login for the simulator's account across every restart.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the portal and seeds a database")
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	server := testdb.ServerURL(t)
	name := "uwsportal_t_load_" + strings.ToLower(strings.Trim(secret.GenerateKey()[:8], "-_+/="))
	t.Cleanup(func() { testdb.Drop(server, name) })
	res, err := Run(context.Background(), Options{ServerURL: server, Root: root, Database: name, Events: 500,
		Conns: []int{2}, Duration: 300 * time.Millisecond, Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Endpoints) != 6 {
		t.Fatalf("%d rows, want the dashboard, the audit search, the devices page, the gateway, the paced gateway and the paced direct list", len(res.Endpoints))
	}
	for _, e := range res.Endpoints {
		if e.Requests == 0 || e.Errors != 0 || e.Conns != 2 || (!e.Direct && (e.PeakRSS <= 0 || e.PeakDBConns <= 0)) {
			t.Errorf("%s: %d requests, %d errors (%s), %d connections, peak RSS %d, peak DB connections %d",
				e.Name, e.Requests, e.Errors, e.FirstError, e.Conns, e.PeakRSS, e.PeakDBConns)
		}
		// The portal and the generator both work in every row.
		if !e.CPU.OK || e.CPU.Busy <= 0 || e.CPU.Portal <= 0 || e.CPU.LoadProc <= 0 {
			t.Errorf("%s: CPU %+v, want the machine, the portal and the generator busy", e.Name, e.CPU)
		}
	}
	via, direct := res.Endpoints[4], res.Endpoints[5]
	if gw := res.Endpoints[3]; via.Name != gw.Name || via.Direct || !direct.Direct || via.Offered != gw.RPS()/2 || direct.Offered != via.Offered {
		t.Errorf("paced rows %q (%.1f/s) and %q (direct %v, %.1f/s), want the gateway's list at half its %.1f/s, then the direct list at that rate",
			via.Name, via.Offered, direct.Name, direct.Direct, direct.Offered, gw.RPS())
	}
	// The gateway's two connections list one fleet's devices each, so
	// each account saw its one login (the direct list's own logins come
	// after they are counted).
	if len(res.Logins) != 2 || res.Logins[0].Logins != 1 || res.Logins[1].Logins != 1 {
		t.Errorf("upstream logins %+v, want one for each fleet's account", res.Logins)
	}
	if res.ServerErrorCount != 0 {
		t.Errorf("the portal logged %d errors: %q", res.ServerErrorCount, res.ServerErrors)
	}
}

func TestErrorLogJoinsLinesAcrossWrites(t *testing.T) {
	l := &errorLog{}
	for _, w := range []string{`{"level":"INFO","msg":"a"}` + "\n" + `{"level":"ER`, `ROR","msg":"b"}`, "\n", `{"level":"ERROR","msg":"c"}`} {
		if _, err := l.Write([]byte(w)); err != nil {
			t.Fatal(err)
		}
	}
	lines, n := l.snapshot()
	if n != 1 || len(lines) != 1 || !strings.Contains(lines[0], `"msg":"b"`) {
		t.Fatalf("%d errors %q, want the one whole line so far", n, lines)
	}
}

func TestProcStatus(t *testing.T) {
	rss, ok := procStatus(os.Getpid(), "VmRSS")
	if !ok || rss <= 0 {
		t.Fatalf("VmRSS = %d, %v", rss, ok)
	}
	if _, ok := procStatus(os.Getpid(), "NoSuchField"); ok {
		t.Fatal("a missing field reads as present")
	}
	w := newRSSWatch(os.Getpid())
	if p := w.peak(); p < rss/2 {
		t.Fatalf("peak %d below half the RSS %d", p, rss)
	}
}
