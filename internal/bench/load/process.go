package load

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// build compiles the portal's command into dir, so the load measures it
// as a process of its own: its RSS is the portal's alone.
func build(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "uwsportal")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/uwsportal")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/uwsportal: %w: %s", err, bytes.TrimSpace(out))
	}
	return bin, nil
}

// portalProcess is `uwsportal serve` running as a child process.
type portalProcess struct {
	cmd    *exec.Cmd
	exited chan error
	logs   *errorLog
	done   bool // stopped
}

// startPortal runs bin serve with exactly env (and PATH and HOME), its
// error-level log lines kept in logs, and waits until it is ready.
func startPortal(ctx context.Context, bin string, env map[string]string, logs *errorLog) (*portalProcess, error) {
	cmd := exec.Command(bin, "serve")
	for _, k := range []string{"PATH", "HOME"} {
		cmd.Env = append(cmd.Env, k+"="+os.Getenv(k))
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &portalProcess{cmd: cmd, exited: make(chan error, 1), logs: logs}
	cmd.Stdout, cmd.Stderr = io.Discard, logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.exited <- cmd.Wait() }()
	if err := waitReady(ctx, "http://"+env["UWSPORTAL_ADDR"], p.exited); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// stop asks the portal to shut down as an operator's SIGTERM does, and
// kills it if it has not within 30 s.
func (p *portalProcess) stop() {
	if p.done {
		return
	}
	p.done = true
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return
	}
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// rssWatch follows the resident memory of process pid: the kernel's peak
// (VmHWM) is reset at the start where Linux allows it, and VmRSS is also
// sampled, so the peak is right either way.
type rssWatch struct {
	pid     int
	hwmOK   bool
	sampled int64
}

func newRSSWatch(pid int) *rssWatch {
	w := &rssWatch{pid: pid}
	// "5" resets the peak resident set size to the current one.
	w.hwmOK = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
	return w
}

func (w *rssWatch) sample() {
	if v, ok := procStatus(w.pid, "VmRSS"); ok {
		w.sampled = max(w.sampled, v)
	}
}

// peak is the most bytes resident since newRSSWatch.
func (w *rssWatch) peak() int64 {
	w.sample()
	if w.hwmOK {
		if v, ok := procStatus(w.pid, "VmHWM"); ok {
			return max(v, w.sampled)
		}
	}
	return w.sampled
}

// procStatus reads one "kB" field of /proc/pid/status, in bytes.
func procStatus(pid int, field string) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		rest, ok := strings.CutPrefix(line, field+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		return kb << 10, err == nil
	}
	return 0, false
}

// errorLog keeps the portal's error-level log lines (JSON, one a line).
type errorLog struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	n       int
}

func (l *errorLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	i := bytes.LastIndexByte(l.partial, '\n')
	if i < 0 {
		return len(p), nil
	}
	sc := bufio.NewScanner(bytes.NewReader(l.partial[:i+1]))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, `"level":"ERROR"`) {
			l.n++
			if len(l.lines) < 5 {
				l.lines = append(l.lines, line)
			}
		}
	}
	l.partial = append(l.partial[:0], l.partial[i+1:]...)
	return len(p), nil
}

func (l *errorLog) snapshot() ([]string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines), l.n
}

// errStopped says the portal exited while it should have been serving.
var errStopped = errors.New("the portal stopped")
