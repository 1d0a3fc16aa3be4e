package load

import (
	"os"
	"runtime"
	"syscall"
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

// CPU this process burns shows as its own and as the machine's, as the
// kernel's getrusage counts it (in ticks of 10 ms at each end).
func TestReadCPU(t *testing.T) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc here")
	}
	used := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := readCPU(os.Getpid())
	from := used()
	// Spin until this process has used 300 ms of CPU (on a busy machine
	// that takes longer than 300 ms).
	var x uint64
	for deadline := time.Now().Add(20 * time.Second); used()-from < 300*time.Millisecond && time.Now().Before(deadline); {
		for i := range 1000 {
			x += uint64(i) * x
		}
	}
	runtime.KeepAlive(x)
	spent := used() - from
	u := readCPU(os.Getpid()).since(start)
	near := func(d time.Duration) bool { return d >= spent-30*time.Millisecond && d <= spent+200*time.Millisecond }
	if !u.OK || spent < 300*time.Millisecond || !near(u.LoadProc) || !near(u.Portal) || u.Busy <= 0 || u.Busy > 1 {
		t.Fatalf("after spinning %s of CPU: %+v; want this process's as much, as portal too, and the machine busy", spent, u)
	}
}
