package e2e

import (
	_ "embed"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core (testdata/axe-core: its version and licence), the
// accessibility engine the browser tests run on every portal page.
//
//go:embed testdata/axe-core/axe.min.js
var axeSource string

// axeLog keeps, per persona and path, the serious and critical violations
// axe-core found; each page is checked once per persona.
type axeLog struct {
	mu         sync.Mutex
	checked    map[string]bool
	violations []string
}

func (l *axeLog) first(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.checked == nil {
		l.checked = map[string]bool{}
	}
	if l.checked[key] {
		return false
	}
	l.checked[key] = true
	return true
}

func (l *axeLog) add(v ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.violations = append(l.violations, v...)
}

func (l *axeLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]string(nil), l.violations...)
	sort.Strings(out)
	return out
}

// axeRun injects axe-core (DevTools evaluation is not bound by the page's
// CSP) and returns one line per serious or critical violation.
const axeRun = `(async () => {
	if (!window.axe) { (0, eval)(%s); }
	const res = await axe.run(document, {resultTypes: ["violations"]});
	return res.violations.filter(v => v.impact === "serious" || v.impact === "critical")
		.map(v => v.impact + " " + v.id + ": " + v.help + " — " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join("; "));
})()`

// checkAccessibility runs axe-core on the portal page the persona sees
// (not the IdP's), once per persona and path.
func (p *persona) checkAccessibility(t testing.TB, loc string) {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(loc, p.b.stack.base) {
		return
	}
	if !p.b.axe.first(p.name + " " + u.Path) {
		return
	}
	found := get(t, p, "run axe-core", chromedp.Evaluate[[]string](fmt.Sprintf(axeRun, quoteJS(axeSource)), chromedp.EvalAwaitPromise))
	for _, v := range found {
		p.b.axe.add(p.name + " " + u.Path + ": " + v)
	}
}

// quoteJS makes a JavaScript string literal of s.
func quoteJS(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "`", "\\`", "${", "\\${")
	return "`" + r.Replace(s) + "`"
}

// sweepPages opens the portal's pages as each persona, so that axe-core
// checks every page for every role (a forbidden page shows the error page,
// which is checked too).
func sweepPages(t *testing.T, personas ...*persona) {
	paths := []string{"/", "/departments", "/departments/fleet", "/departments/fleet/rotate", "/departments/fleet/reveal",
		"/departments/fleet/api-clients", "/departments/fleet/devices", "/audit", "/audit/1", "/audit/verify", "/approvals",
		"/admin/users", "/admin/mappings", "/admin/notifications"}
	for _, p := range personas {
		for _, path := range paths {
			p.open(t, path, "main")
		}
	}
}

// reportAccessibility fails on every serious or critical violation found.
func reportAccessibility(t *testing.T, b *browser) {
	for _, v := range b.axe.all() {
		t.Errorf("accessibility: %s", v)
	}
}

// busyPress presses the button with id while holding the submission back
// (a listener on window cancels it, after the page's own script ran), then
// submits the form again: the button must be disabled, say what is
// happening, and the second submission be dropped. It returns the button's
// text.
func busyPress(t *testing.T, p *persona, id string) string {
	t.Helper()
	got := get(t, p, "press #"+id+" with the submission held", chromedp.Evaluate[[]string](fmt.Sprintf(`(async () => {
		const seen = [];
		document.addEventListener("submit", ev => seen.push(ev.defaultPrevented));
		window.addEventListener("submit", ev => ev.preventDefault());
		const b = document.getElementById(%q);
		b.form.requestSubmit(b);
		await new Promise(r => setTimeout(r, 50));
		b.form.requestSubmit();
		await new Promise(r => setTimeout(r, 50));
		return [b.textContent.trim(), String(b.disabled), String(seen[0]), String(seen[1])];
	})()`, id), chromedp.EvalAwaitPromise))
	if len(got) != 4 {
		t.Fatalf("%s: pressing #%s answered %v", p.name, id, got)
	}
	if got[1] != "true" || got[2] != "false" || got[3] != "true" {
		t.Errorf("%s: pressing #%s: disabled %s, first sent %v, second dropped %v; want disabled, sent, dropped",
			p.name, id, got[1], got[2] == "false", got[3] == "true")
	}
	return got[0]
}
