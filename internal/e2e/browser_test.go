package e2e

import (
	"context"
	"errors"
	"fmt"
	"github.com/uwsportal/uwsportal/internal/testutil"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

const (
	viewportW, viewportH = 1280, 900
	failureDir           = "testdata/failures"
)

// browser is one headless Chromium for a test; each persona gets a browser
// context of its own (separate cookies), as separate people would.
type browser struct {
	t        *testing.T
	ctx      context.Context // the browser; has no deadline, so a timed-out step leaves it usable for screenshots
	deadline time.Time       // the test's own time limit, applied to every step
	stack    *stack
	pages    *pageLog
	axe      axeLog // accessibility violations found on the pages loaded
}

// newBrowser starts Chromium for t; every step after this must finish
// within timeout.
func newBrowser(t *testing.T, s *stack, timeout time.Duration) *browser {
	t.Helper()
	exec := ensureChromium(t)
	var out testutil.Buffer
	// chromedp's defaults (Puppeteer's), then what this suite needs.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exec),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(viewportW, viewportH),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.CombinedOutput(&out),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	// The first Run ties the browser's life to its context, so it gets ctx
	// itself; a timer bounds the start instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	var err error
	select {
	case err = <-started:
	case <-time.After(60 * time.Second):
		cancelBrowser()
		err = errors.New("no answer within 60s")
	}
	if err != nil {
		t.Fatalf("start Chromium (%s): %v\nits output:\n%s", exec, err, tail(out.String(), 4000))
	}
	return &browser{t: t, ctx: ctx, deadline: time.Now().Add(timeout), stack: s, pages: &pageLog{}}
}

// persona is one person's browser context: a tab with its own cookies.
type persona struct {
	b    *browser
	name string // the devidp user, e.g. "alice"
	tab  context.Context
	used bool // a step ran: worth a screenshot when the test fails
}

// persona opens a fresh browser context for the devidp user name. When the
// test fails, the persona's current page is saved as a full-page PNG.
func (b *browser) persona(name string) *persona {
	b.t.Helper()
	tab, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	p := &persona{b: b, name: name, tab: tab}
	b.t.Cleanup(func() {
		if b.t.Failed() && p.used {
			p.saveFailureScreenshot()
		}
		cancel()
	})
	// The first Run binds the tab to its context for good, so it opens the
	// tab with tab itself; steps then run under contexts with deadlines.
	if err := chromedp.Do(tab, chromedp.EmulateViewport(viewportW, viewportH)); err != nil {
		b.t.Fatalf("%s: open a browser context: %v", name, err)
	}
	return p
}

func (p *persona) saveFailureScreenshot() {
	t := p.b.t
	ctx, cancel := context.WithTimeout(p.tab, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("%s: no failure screenshot: %v", p.name, err)
		return
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		loc = fmt.Sprintf("an unknown page (%v)", err)
	}
	path := filepath.Join(failureDir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+p.name+".png")
	if err := os.MkdirAll(failureDir, 0o755); err != nil {
		t.Logf("%s: no failure screenshot: %v", p.name, err)
		return
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("%s: no failure screenshot: %v", p.name, err)
		return
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	t.Logf("%s: screenshot of %s saved to %s", p.name, loc, path)
}

// stepCtx bounds one step by the test's deadline.
func (p *persona) stepCtx() (context.Context, context.CancelFunc) {
	p.used = true
	return context.WithDeadline(p.tab, p.b.deadline)
}

// do runs actions in the persona's tab and fails the test with what on
// error.
func (p *persona) do(t testing.TB, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := p.stepCtx()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %s: %v", p.name, what, err)
	}
}

// get runs one action that returns a value.
func get[T any](t testing.TB, p *persona, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := p.stepCtx()
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %s: %v", p.name, what, err)
	}
	return v
}

// waitFor polls a JavaScript predicate in the page until it is true; it
// runs again after each navigation, so it can wait for a form's answer page.
func (p *persona) waitFor(t testing.TB, what, predicate string) {
	t.Helper()
	ctx, cancel := p.stepCtx()
	defer cancel()
	deadline := time.Now().Add(20 * time.Second)
	var last error
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](predicate))
		if err == nil && ok {
			break
		}
		last = err
		if ctx.Err() != nil || time.Now().After(deadline) {
			t.Fatalf("%s: wait for %s: not true within 20s (last error: %v): %s", p.name, what, last, predicate)
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.snapshot(t)
}

// open navigates to a portal path and waits until the element that the CSS
// selector waitFor names is visible.
func (p *persona) open(t testing.TB, path, waitFor string) {
	t.Helper()
	p.do(t, "open "+path, chromedp.Navigate(p.b.stack.base+path), chromedp.WaitVisible(chromedp.CSS(waitFor)))
	p.snapshot(t)
}

// click clicks the element with id and waits for the element with id
// waitID on the page that follows.
func (p *persona) click(t testing.TB, id, waitID string) {
	t.Helper()
	p.do(t, "click #"+id, chromedp.WaitVisible(chromedp.ID(id)), chromedp.Click(chromedp.ID(id)), chromedp.WaitVisible(chromedp.ID(waitID)))
	p.snapshot(t)
}

// text is the visible text of the element with id.
func (p *persona) text(t testing.TB, id string) string {
	t.Helper()
	return strings.TrimSpace(get(t, p, "read #"+id, chromedp.Text(chromedp.ID(id))))
}

// flashes is the text of the page's flash messages of a kind ("success",
// "error").
func (p *persona) flashes(t testing.TB, kind string) string {
	t.Helper()
	return get(t, p, "read the flashes", chromedp.Evaluate[string](fmt.Sprintf(
		`[...document.querySelectorAll("main .flash.%s")].map(f => f.textContent.trim()).join(" | ")`, kind)))
}

// signIn visits the portal, which sends the browser to the IdP, and picks
// the persona's demo user there.
func (p *persona) signIn(t testing.TB) {
	t.Helper()
	p.do(t, "reach the IdP's sign-in page", chromedp.Navigate(p.b.stack.base+"/"), chromedp.WaitVisible(chromedp.ID("user-"+p.name)))
	p.snapshot(t)
	p.do(t, "pick the user on the IdP", chromedp.Click(chromedp.ID("user-"+p.name)))
	p.waitFor(t, "the portal after sign-in",
		fmt.Sprintf(`location.origin === %q && document.querySelector("header.topbar .who") !== null`, p.b.stack.base))
}

// snapshot records the page the persona sees now, for the secret scan.
func (p *persona) snapshot(t testing.TB) {
	t.Helper()
	html := get(t, p, "read the page", chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	loc := get(t, p, "read the location", chromedp.Location())
	p.b.pages.add(p.name, loc, html)
	p.checkAccessibility(t, loc)
}

// httpClient is a plain HTTP client carrying the persona's cookies for the
// portal, for downloads and forged requests.
func (p *persona) httpClient(t testing.TB) (*http.Client, []*http.Cookie) {
	t.Helper()
	ctx, cancel := p.stepCtx()
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{p.b.stack.base + "/"}})
	if err != nil {
		t.Fatalf("%s: read cookies: %v", p.name, err)
	}
	var cookies []*http.Cookie
	for _, c := range res.Cookies {
		cookies = append(cookies, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	client := &http.Client{
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return client, cookies
}

// screenshot saves the viewport (viewportW × viewportH, set when the
// persona's tab opened) as a PNG at path.
func (p *persona) screenshot(t testing.TB, path string) {
	t.Helper()
	png := get(t, p, "screenshot", chromedp.CaptureScreenshot())
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s", path)
}

// pageLog keeps every page the browsers loaded.
type pageLog struct {
	mu    sync.Mutex
	pages []loadedPage
}

type loadedPage struct{ persona, url, html string }

func (l *pageLog) add(persona, url, html string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pages = append(l.pages, loadedPage{persona, url, html})
}

func (l *pageLog) all() []loadedPage {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]loadedPage(nil), l.pages...)
}

var errNoCookie = errors.New("no such cookie")

// cookie returns the value of the named cookie.
func cookie(cookies []*http.Cookie, name string) (string, error) {
	for _, c := range cookies {
		if c.Name == name {
			return c.Value, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, errNoCookie)
}
