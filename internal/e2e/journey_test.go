package e2e

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/uwsportal/uwsportal/internal/auditlog"
)

// TestBrowserJourney walks the portal as its personas do, in one real
// browser: the admin onboards a department, the lead rotates its password,
// a member cannot, the auditor checks the trail and a person without groups
// is told so. Then nothing secret may appear in any log line, audit row or
// page.
func TestBrowserJourney(t *testing.T) {
	ensureChromium(t) // skip early, before the stack starts, when there is none
	s := startStack(t)
	t.Cleanup(func() {
		if t.Failed() {
			savePortalLog(t, s)
		}
	})
	b := newBrowser(t, s, 300*time.Second) // axe-core on every page takes its time
	alice, lena, mike, oscar, nora := b.persona("alice"), b.persona("lena"), b.persona("mike"), b.persona("oscar"), b.persona("nora")
	var exportCSV string

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"admin onboards fleet", func(t *testing.T) { adminOnboards(t, s, alice) }},
		{"lead rotates", func(t *testing.T) { leadRotates(t, s, lena) }},
		{"member cannot rotate", func(t *testing.T) { memberCannotRotate(t, s, mike) }},
		{"lead operates devices, member is refused", func(t *testing.T) { devicesJourney(t, s, alice, lena, mike) }},
		{"keyboard only: rotate and suspend", func(t *testing.T) { keyboardJourney(t, s, lena) }},
		{"reveal under dual control, with notifications", func(t *testing.T) { dualControlJourney(t, s, alice, lena) }},
		{"auditor checks the trail", func(t *testing.T) { exportCSV = auditorChecks(t, oscar) }},
		{"audit at phone width", func(t *testing.T) { phoneAudit(t, oscar) }},
		{"no groups, no access", func(t *testing.T) { noAccess(t, nora) }},
		{"every page for every role", func(t *testing.T) { sweepPages(t, alice, lena, mike, oscar) }},
		{"sign-out lands on the portal's page", func(t *testing.T) { signOut(t, s, mike) }},
		{"accessibility (axe-core: no serious or critical violation)", func(t *testing.T) { reportAccessibility(t, b) }},
		{"screenshots", func(t *testing.T) {
			if os.Getenv("UWSPORTAL_SCREENSHOTS") != "1" {
				t.Skip("set UWSPORTAL_SCREENSHOTS=1 to refresh docs/screenshots")
			}
			dir := filepath.Join("..", "..", "docs", "screenshots")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			alice.open(t, "/", "main .grid")
			alice.screenshot(t, filepath.Join(dir, "dashboard.png"))
			lena.open(t, "/departments/fleet", "#credential-status")
			lena.screenshot(t, filepath.Join(dir, "department.png"))
			lena.open(t, "/departments/fleet/devices", "#devices")
			lena.screenshot(t, filepath.Join(dir, "devices.png"))
			oscar.do(t, "open the audit trail", chromedp.Navigate(s.base+"/audit"), chromedp.WaitVisible(chromedp.CSS("table.audit-table")))
			oscar.snapshot(t)
			oscar.screenshot(t, filepath.Join(dir, "audit.png"))
			phoneScreenshot(t, oscar, "/audit", "table.audit-table", filepath.Join(dir, "audit-390.png"))
		}},
		{"portal logged no errors", func(t *testing.T) {
			for line := range strings.Lines(s.logs.String()) {
				if strings.Contains(line, `"level":"ERROR"`) {
					t.Errorf("portal error: %s", strings.TrimSpace(line))
				}
			}
		}},
		{"no secret anywhere", func(t *testing.T) {
			for _, p := range []*persona{alice, lena, oscar, nora} { // mike's was taken before he signed out
				_, cookies := p.httpClient(t)
				v, err := cookie(cookies, "uwsportal_session")
				if err != nil {
					t.Fatalf("%s: %v", p.name, err)
				}
				s.secrets.add(p.name+"'s portal session cookie", v)
			}
			scanForSecrets(t, s, b.pages.all(), exportCSV)
		}},
	}
	for _, st := range steps {
		if !t.Run(st.name, st.run) {
			return // later steps build on this one
		}
	}
}

// noAccess: nora, in no mapped group, is told she has no access yet.
func noAccess(t *testing.T, nora *persona) {
	nora.signIn(t)
	nora.do(t, "see the no-access page", chromedp.WaitVisible(chromedp.ID("no-access")))
	txt := nora.text(t, "no-access")
	if !strings.Contains(txt, "No access yet") {
		t.Errorf("nora sees %q, want the no-access page", txt)
	}
	if !strings.Contains(txt, "Alice Admin") {
		t.Errorf("the no-access page does not name the admin who signed in before: %q", txt)
	}
	if n := get(t, nora, "look for navigation", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("nav.nav a")].map(a => a.getAttribute("href"))`)); !slices.Equal(n, []string{"/"}) {
		t.Errorf("nora's navigation offers %v, want only the dashboard", n)
	}
}

// adminOnboards: alice creates the department through the form, enters its
// credential with a test login, and maps the IdP groups.
func adminOnboards(t *testing.T, s *stack, alice *persona) {
	alice.signIn(t)
	createDepartment(t, alice, "fleet", "Fleet Operations")
	if f := alice.flashes(t, "error"); f != "" {
		t.Errorf("after creating the department the page shows the error %q", f)
	}
	verify := get(t, alice, "read the verify box", chromedp.Evaluate[bool](`document.querySelector('#credential-form input[name="verify"]').checked`))
	if !verify {
		t.Errorf("the credential form does not test-log in by default")
	}
	alice.do(t, "fill the credential form",
		chromedp.SendKeys(chromedp.ID("cred-username"), fleetUWSUser),
		chromedp.SendKeys(chromedp.ID("cred-password"), s.initialPassword))
	alice.click(t, "cred-save", "credential-status")
	if f := alice.flashes(t, "error"); f != "" {
		t.Errorf("after saving the credential the page shows the error %q", f)
	}
	if st := alice.text(t, "credential-status"); st != "OK" {
		t.Errorf("after entering the credential its status is %q, want OK", st)
	}
	if c, _ := s.sim.User(fleetUWSUser); c.LoginsOK != 1 || c.LoginFailures != 0 {
		t.Errorf("the test login before saving: simulator saw %d good and %d failed logins, want 1 and 0", c.LoginsOK, c.LoginFailures)
	}
	// A second department without a credential, so the dashboard shows both kinds.
	createDepartment(t, alice, "field-ops", "Field Services")

	alice.open(t, "/admin/mappings", "#mapping-group")
	for _, m := range []struct{ group, role, dept string }{
		{"fleet-leads", "lead", "fleet"},
		{"fleet-members", "member", "fleet"},
		{"uwsportal-auditors", "auditor", ""},
	} {
		alice.do(t, "fill the mapping form for "+m.group,
			chromedp.WaitVisible(chromedp.ID("mapping-group")),
			chromedp.SetValue(chromedp.ID("mapping-group"), m.group),
			chromedp.SetValue(chromedp.ID("mapping-role"), m.role),
			chromedp.SetValue(chromedp.ID("mapping-department"), m.dept),
			chromedp.Click(chromedp.CSS(`#mapping-form button[type="submit"]`)))
		alice.waitFor(t, "the mapping of "+m.group, fmt.Sprintf(`[...document.querySelectorAll("table tbody tr")].some(tr =>
			tr.cells.length >= 3 && tr.cells[0].textContent.trim() === %q && tr.cells[1].textContent.trim() === %q &&
			tr.cells[2].textContent.includes(%q))`, m.group, m.role, m.dept))
	}
}

func createDepartment(t *testing.T, alice *persona, slug, name string) {
	t.Helper()
	alice.open(t, "/departments", "#dept-slug")
	alice.do(t, "fill the department form",
		chromedp.SendKeys(chromedp.ID("dept-slug"), slug),
		chromedp.SendKeys(chromedp.ID("dept-name"), name))
	alice.click(t, "dept-create", "cred-username")
	if loc := get(t, alice, "read the location", chromedp.Location()); loc != alice.b.stack.base+"/departments/"+slug {
		t.Fatalf("after creating %s alice is at %s", slug, loc)
	}
}

// leadRotates: lena rotates the fleet password from the department page.
func leadRotates(t *testing.T, s *stack, lena *persona) {
	lena.signIn(t)
	lena.waitFor(t, "her dashboard card", `document.querySelector('article.card a[href="/departments/fleet"]') !== null`)
	if other := get(t, lena, "look for other cards", chromedp.Evaluate[int](`document.querySelectorAll("article.card").length`)); other != 1 {
		t.Errorf("lena's dashboard shows %d cards, want only fleet's", other)
	}
	lena.do(t, "open fleet from the dashboard", chromedp.Click(chromedp.CSS(`article.card a[href="/departments/fleet"]`)), chromedp.WaitVisible(chromedp.ID("rotate")))
	lena.snapshot(t)
	lena.click(t, "rotate", "rotate-confirm")
	lena.do(t, "rotate now", chromedp.Click(chromedp.ID("rotate-confirm")))
	// The progress page refreshes itself until the rotation ends.
	lena.waitFor(t, "the rotation's end", `document.getElementById("rotation-done") !== null`)
	if f := lena.flashes(t, "success"); !strings.Contains(strings.ToLower(f), "rotated") {
		t.Errorf("after rotating the success message is %q, want one saying the password was rotated (errors: %q)", f, lena.flashes(t, "error"))
	}
	lena.click(t, "rotation-back", "credential-status")
	if st := lena.text(t, "credential-status"); st != "OK" {
		t.Errorf("after rotating the status is %q, want OK", st)
	}
	if r := lena.text(t, "last-result"); !strings.HasPrefix(r, "rotated") {
		t.Errorf("after rotating the last result is %q, want rotated", r)
	}
	row := get(t, lena, "read the history", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("#history tbody tr:first-child td")].map(td => td.textContent.trim())`))
	if len(row) < 5 || !strings.Contains(row[2], "Lena") || row[3] != "manual" || row[4] != "rotated" {
		t.Errorf("the newest history row is %q, want one by Lena, manual, rotated", row)
	}

	c, ok := s.sim.User(fleetUWSUser)
	if !ok {
		t.Fatal("the simulator lost the fleet user")
	}
	s.secrets.add("rotated UWS password", c.Password)
	if c.ResetsApplied != 1 {
		t.Errorf("simulator applied %d resets, want 1", c.ResetsApplied)
	}
	if c.Password == s.initialPassword || c.Password == "" {
		t.Errorf("the simulator's password did not change")
	}
	if c.LoginFailures != 0 {
		t.Errorf("the rotation spent %d failed logins", c.LoginFailures)
	}
	// Test login may wait on ThingSpace: the pressed button says so at once and a second press sends nothing.
	if txt := busyPress(t, lena, "test-login"); txt != "Logging in to ThingSpace…" {
		t.Errorf("the pressed Test login button says %q", txt)
	}
	lena.open(t, "/departments/fleet", "#credential-status")
}

// memberCannotRotate: mike sees the status but no rotate button, and a
// forged request from his session is refused.
func memberCannotRotate(t *testing.T, s *stack, mike *persona) {
	mike.signIn(t)
	mike.open(t, "/departments/fleet", "#credential-status")
	if st := mike.text(t, "credential-status"); st != "OK" {
		t.Errorf("mike sees status %q, want OK", st)
	}
	if buttons := get(t, mike, "look for lead actions", chromedp.Evaluate[[]string](
		`["rotate", "test-login", "reveal", "cred-save"].filter(id => document.getElementById(id) !== null)`)); len(buttons) > 0 {
		t.Errorf("mike, a member, is offered %v", buttons)
	}
	// The browser's own fetch with a valid CSRF token: only the permission stands in the way.
	status := get(t, mike, "forge a rotate POST", chromedp.Evaluate[int](`(async () => {
		const token = document.querySelector('meta[name="csrf-token"]').content;
		const res = await fetch("/departments/fleet/rotate", {method: "POST", redirect: "manual", credentials: "same-origin",
			headers: {"Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": token},
			body: "csrf_token=" + encodeURIComponent(token)});
		return res.status;
	})()`, chromedp.EvalAwaitPromise))
	if status != http.StatusForbidden {
		t.Errorf("mike's forged POST /departments/fleet/rotate got %d, want 403", status)
	}
	client, cookies := mike.httpClient(t)
	req, err := http.NewRequest(http.MethodGet, s.base+"/departments/fleet/rotate", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("mike's GET /departments/fleet/rotate got %s, want 403", res.Status)
	}
	if c, _ := s.sim.User(fleetUWSUser); c.ResetsApplied != 1 {
		t.Errorf("after mike's attempts the simulator applied %d resets, want still 1", c.ResetsApplied)
	}
}

// auditorChecks: oscar filters the trail, opens an event, exports the
// filtered set and verifies the chain. It returns the CSV.
func auditorChecks(t *testing.T, oscar *persona) string {
	oscar.signIn(t)
	oscar.do(t, "open the audit trail", chromedp.Navigate(oscar.b.stack.base+"/audit"), chromedp.WaitVisible(chromedp.CSS("table.audit-table")))
	oscar.snapshot(t)
	oscar.do(t, "filter on credential.rotate",
		chromedp.SetValue(chromedp.CSS(`form.audit-filter input[name="event"]`), "credential.rotate"),
		chromedp.Click(chromedp.CSS(`form.audit-filter button[type="submit"]`)))
	oscar.waitFor(t, "the filtered trail", `new URLSearchParams(location.search).get("event") === "credential.rotate" &&
		document.querySelector("table.audit-table tbody tr") !== null`)
	rows := get(t, oscar, "read the filtered trail", chromedp.Evaluate[[][]string](
		`[...document.querySelectorAll("table.audit-table tbody tr")].map(tr => [...tr.cells].map(td => td.textContent.trim()))`))
	var ids, codes []string
	for _, r := range rows {
		if len(r) < 5 {
			t.Fatalf("audit row %q has too few cells", r)
		}
		ids, codes = append(ids, r[0]), append(codes, r[2])
		if !strings.HasPrefix(r[2], "credential.rotate") || r[4] != "fleet" {
			t.Errorf("the filter on credential.rotate shows %q", r)
		}
	}
	for _, want := range []string{"credential.rotate.started", "credential.rotate.applied", "credential.rotate.verified"} {
		if !slices.Contains(codes, want) {
			t.Errorf("the filtered trail lacks %s: %v", want, codes)
		}
	}

	oscar.do(t, "open the newest event", chromedp.Click(chromedp.CSS(`table.audit-table tbody tr:first-child td:first-child a`)))
	oscar.waitFor(t, "the event page", `document.querySelector("dl.audit-facts") !== null`)
	facts := get(t, oscar, "read the event", chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll("dl.audit-facts dt")].map(dt => [dt.textContent.trim(), dt.nextElementSibling.textContent.trim()]))`))
	if !strings.HasPrefix(facts["Code"], "credential.rotate") || facts["Department"] != "fleet" || len(facts["Hash"]) != 64 {
		t.Errorf("the event page shows %v", facts)
	}

	body := exportCSV(t, oscar, "credential.rotate")
	recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatalf("the export is not CSV: %v", err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], auditlog.ExportColumns) {
		t.Fatalf("export header is %q, want %q", recs[:min(1, len(recs))], auditlog.ExportColumns)
	}
	col := func(name string) int { return slices.Index(recs[0], name) }
	var csvIDs []string
	for _, r := range recs[1:] {
		csvIDs = append(csvIDs, r[col("id")])
		if !strings.HasPrefix(r[col("code")], "credential.rotate") || r[col("department")] != "fleet" {
			t.Errorf("export row outside the filter: %q", r)
		}
		if r[col("code")] == "credential.rotate.started" && !strings.Contains(r[col("actor_name")], "Lena") {
			t.Errorf("the rotation was started by %q, want Lena", r[col("actor_name")])
		}
	}
	slices.Sort(ids)
	slices.Sort(csvIDs)
	if !slices.Equal(ids, csvIDs) {
		t.Errorf("export has events %v, the page showed %v", csvIDs, ids)
	}

	oscar.do(t, "verify the chain", chromedp.Navigate(oscar.b.stack.base+"/audit/verify"),
		chromedp.Click(chromedp.CSS(`form[action="/audit/verify"] button[value="full"]`)), chromedp.WaitVisible(chromedp.CSS(".verify")))
	oscar.snapshot(t)
	if v := get(t, oscar, "read the verdict", chromedp.Text(chromedp.CSS(".verify"))); !strings.Contains(v, "Intact") || !strings.Contains(v, "events verified") {
		t.Errorf("chain verification says %q", v)
	}
	return string(body)
}

// exportCSV downloads the audit export as oscar: a POST with the session's
// CSRF token (a GET only shows the form), which the page carries.
func exportCSV(t *testing.T, oscar *persona, event string) []byte {
	t.Helper()
	token := get(t, oscar, "read the CSRF token", chromedp.Evaluate[string](`document.querySelector('meta[name="csrf-token"]').content`))
	client, cookies := oscar.httpClient(t)
	form := url.Values{"event": {event}, "csrf_token": {token}}
	req, err := http.NewRequest(http.MethodPost, oscar.b.stack.base+"/audit/export.csv", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %s, %s, %s", res.Status, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
	}
	return body
}

// savePortalLog keeps the portal's log beside the failure screenshots.
func savePortalLog(t *testing.T, s *stack) {
	path := filepath.Join(failureDir, strings.ReplaceAll(t.Name(), "/", "_")+"-portal.log")
	err := os.MkdirAll(failureDir, 0o755)
	if err == nil {
		err = os.WriteFile(path, []byte(s.logs.String()), 0o644)
	}
	if err != nil {
		t.Logf("portal log not saved: %v", err)
		return
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	t.Logf("portal log saved to %s", path)
}
