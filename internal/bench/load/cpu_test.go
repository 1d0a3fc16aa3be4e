package load

import (
	"os"
	"runtime"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// A name may hold spaces and parentheses; the last ')' ends it.
	line := "4242 (post (gres) x) S 1 4242 4242 0 -1 4194560 1 2 3 4 175 25 0 0 20 0 1 0 99 1000 10 18446744073709551615\n"
	if n, name := parseStat(line); n != 200 || name != "post (gres) x" {
		t.Fatalf("parseStat = %d ticks, name %q; want 200 (175 user + 25 system), %q", n, name, "post (gres) x")
	}
	for _, bad := range []string{"", "4242 postgres S 1", "4242 (postgres) S 1 2 3", "4242 (postgres) S 1 4242 4242 0 -1 4194560 1 2 3 4 x 25"} {
		if n, name := parseStat(bad); n != 0 || name != "" {
			t.Errorf("parseStat(%q) = %d, %q; want nothing", bad, n, name)
		}
	}
}

// CPU this process burns shows as its own and as the machine's.
func TestReadCPU(t *testing.T) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc here")
	}
	start := readCPU(os.Getpid())
	var x uint64
	for until := time.Now().Add(300 * time.Millisecond); time.Now().Before(until); {
		for i := range 1000 {
			x += uint64(i) * x
		}
	}
	runtime.KeepAlive(x)
	u := readCPU(os.Getpid()).since(start)
	// Portal and LoadProc are both this process, read one after the
	// other while the package's other tests may run.
	if !u.OK || u.LoadProc < 200*time.Millisecond || u.Portal < 200*time.Millisecond || u.Busy <= 0 || u.Busy > 1 {
		t.Fatalf("after 300 ms of spinning: %+v; want this process's 200 ms or more, as portal too, and the machine busy", u)
	}
}
