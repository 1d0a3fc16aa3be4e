package e2e

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/uwsportal/uwsportal/static"
)

// A page that reloads itself (the requests page while one is open) must
// not take back a page the person asked for meanwhile: here the reload
// is due 1 s after the page loads, and the link's page takes 3 s to
// answer, so the reload falls while the link's page is on its way. The
// browser journey lost a step this way: the requests page's reload
// replaced the reveal page it had just asked for.
func TestAPageThatReloadsItselfLetsANavigationFinish(t *testing.T) {
	t.Parallel()
	js, err := static.FS.ReadFile("js/app.js")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/app.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		write(t, w, string(js))
	})
	mux.HandleFunc("/following", func(w http.ResponseWriter, _ *http.Request) {
		write(t, w, `<!doctype html><html><head><meta name="uwsportal-refresh" content="1" data-url="/following">`+
			`<script src="/app.js" defer></script></head><body><a id="go" href="/slow">go</a></body></html>`)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
			return
		}
		write(t, w, `<!doctype html><html><body><p id="arrived">here</p></body></html>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p := newBrowser(t, nil, 60*time.Second).persona("reader")
	p.do(t, "open the following page", chromedp.Navigate(srv.URL+"/following"), chromedp.WaitVisible(chromedp.ID("go")))
	p.do(t, "follow the link and arrive", chromedp.Click(chromedp.ID("go")), chromedp.WaitVisible(chromedp.ID("arrived")))
}

// write answers body; a failed write is the test's error (the browser
// would then wait for nothing).
func write(t *testing.T, w http.ResponseWriter, body string) {
	if _, err := w.Write([]byte(body)); err != nil {
		t.Errorf("answer the browser: %v", err)
	}
}
