package load

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// CPUUse is where the machine's CPU time went while a phase ran: how busy
// its cores were, and the CPU time of the portal process, of Postgres's
// processes (its backends and its background writers) and of this
// process, which generates the load and plays ThingSpace. Read from
// /proc: on another system, or where Postgres runs on another machine,
// the parts not found are zero and OK says whether the machine's were
// read.
type CPUUse struct {
	OK bool
	// Busy is the share of all cores' time that was not idle, Stolen the
	// share the hypervisor gave to others (within Busy).
	Busy, Stolen               float64
	Portal, Postgres, LoadProc time.Duration
}

// PerRequest is d spread over the phase's requests.
func (e Endpoint) PerRequest(d time.Duration) time.Duration {
	if e.Requests == 0 {
		return 0
	}
	return d / time.Duration(e.Requests)
}

// cpuTick is Linux's USER_HZ, the unit of /proc's CPU times: 100 a
// second on every architecture Go runs Linux on (sysconf(_SC_CLK_TCK)
// would need cgo).
const cpuTick = 10 * time.Millisecond

// cpuSnapshot is /proc's CPU counters at one moment, in ticks.
type cpuSnapshot struct {
	ok                  bool
	busy, total, stolen int64
	portal, self        int64
	postgres            map[int]int64 // by pid
}

// readCPU reads the machine's counters, the portal's (process pid) and
// this process's, and those of every process named postgres.
func readCPU(pid int) cpuSnapshot {
	s := cpuSnapshot{postgres: map[int]int64{}}
	s.ok = s.readMachine()
	s.portal, _ = procCPU(pid)
	s.self, _ = procCPU(os.Getpid())
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return s
	}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if t, name := procCPU(p); name == "postgres" {
			s.postgres[p] = t
		}
	}
	return s
}

// readMachine reads the first line of /proc/stat: user, nice, system,
// idle, iowait, irq, softirq, steal (guest time is within user).
func (s *cpuSnapshot) readMachine() bool {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return false
	}
	var v [8]int64
	for i := range v {
		if v[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return false
		}
	}
	for _, x := range v {
		s.total += x
	}
	s.busy, s.stolen = s.total-v[3]-v[4], v[7]
	return true
}

// procCPU is the user and system ticks process pid has used, and its
// name, from /proc/pid/stat.
func procCPU(pid int) (int64, string) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, ""
	}
	return parseStat(string(b))
}

// parseStat reads a /proc/pid/stat line: fields 14 and 15 (utime, stime),
// after the name in parentheses, which may itself hold spaces and
// parentheses (the last ')' ends it).
func parseStat(line string) (int64, string) {
	open, end := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return 0, ""
	}
	// After the name: state (field 3) … utime (14), stime (15).
	f := strings.Fields(line[end+1:])
	if len(f) < 13 {
		return 0, ""
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, ""
	}
	return u + st, line[open+1 : end]
}

// since is the CPU used from start to s. A Postgres process that began
// meanwhile counts whole; one that ended meanwhile is lost, which
// undercounts Postgres by its last ticks.
func (s cpuSnapshot) since(start cpuSnapshot) CPUUse {
	u := CPUUse{OK: s.ok && start.ok}
	if total := s.total - start.total; u.OK && total > 0 {
		u.Busy = float64(s.busy-start.busy) / float64(total)
		u.Stolen = float64(s.stolen-start.stolen) / float64(total)
	}
	u.Portal = ticks(s.portal - start.portal)
	u.LoadProc = ticks(s.self - start.self)
	for p, t := range s.postgres {
		u.Postgres += ticks(t - start.postgres[p])
	}
	return u
}

func ticks(n int64) time.Duration { return time.Duration(max(n, 0)) * cpuTick }
