package web

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/devices"
	"github.com/uwsportal/uwsportal/models"
)

var hrefOf = func(id string) *regexp.Regexp {
	return regexp.MustCompile(`href="([^"]+)" id="` + regexp.QuoteMeta(id) + `"`)
}

// follow opens the link with the given id on a page, failing if it has none.
func follow(t *testing.T, ts *testServer, c *http.Client, body, id string) string {
	t.Helper()
	m := hrefOf(id).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no link %s on the page: %.1500s", id, body)
	}
	res, next := do(t, c, http.MethodGet, ts.URL+html.UnescapeString(m[1]), nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %.300s", id, res.StatusCode, next)
	}
	return next
}

// A fleet of 250 devices reads in pages that say where they are
// ("101–200, more"; the total once the last page is reached), with
// previous and next links, the action buttons above and below the list
// and a "select all" that needs no script.
func TestDevicesPagesSayWhereTheyAre(t *testing.T) {
	t.Parallel()
	ts, sim, lead := devicesServer(t)
	sim.SeedDevices("0000123456-00001", 220, 6)
	res, body := do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/devices", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "1–100, more") || strings.Contains(body, `id="devices-prev"`) {
		t.Fatalf("first page: %d %.1500s", res.StatusCode, body)
	}
	for _, id := range []string{`id="act-top-suspend"`, `id="act-suspend"`, `id="select-all"`} {
		if !strings.Contains(body, id) {
			t.Fatalf("the first page has no %s", id)
		}
	}
	if strings.Contains(body, "checked") {
		t.Fatal("a box is ticked before anyone asked")
	}
	all := follow(t, ts, lead, body, "select-all")
	if n := strings.Count(all, `name="id"`); n != 100 || strings.Count(all, " checked") != n {
		t.Fatalf("select all: %d boxes, %d ticked", n, strings.Count(all, " checked"))
	}
	second := follow(t, ts, lead, body, "devices-next")
	if !strings.Contains(second, "101–200, more") {
		t.Fatalf("second page: %.1500s", second)
	}
	third := follow(t, ts, lead, second, "devices-next")
	if !strings.Contains(third, "201–250 of 250") || strings.Contains(third, `id="devices-next"`) {
		t.Fatalf("last page: %.1500s", third)
	}
	if back := follow(t, ts, lead, third, "devices-prev"); !strings.Contains(back, "101–200, more") {
		t.Fatalf("previous from the last page: %.1500s", back)
	}
	if first := follow(t, ts, lead, second, "devices-prev"); !strings.Contains(first, "1–100, more") {
		t.Fatalf("previous from the second page: %.1500s", first)
	}
}

// A search by the first digits of a number is not refused: the portal
// reads the list (ThingSpace filters by whole identifiers only) and says
// how far it looked. A mistyped search keeps the heading, the field's
// error and what was typed (422). States read in words, ThingSpace's
// code on hover.
func TestDevicesPartialSearchAndStatesInWords(t *testing.T) {
	t.Parallel()
	ts, _, lead := devicesServer(t)
	admin := &models.Principal{Actor: "cli:test", Name: "test", Grants: []models.Grant{{Role: models.RoleAdmin}}}
	page, err := ts.devices.List(context.Background(), admin, models.RequestMeta{}, "fleet", devices.Query{State: "active"})
	if err != nil || len(page.Devices) == 0 || page.Devices[0].ID("mdn") == "" {
		t.Fatalf("no active device with an MDN: %v", err)
	}
	mdn := page.Devices[0].ID("mdn")
	res, body := do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/devices?q="+mdn[:3], nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, mdn) || !strings.Contains(body, "Looked through devices 1–30") {
		t.Fatalf("search %s: %d %.1500s", mdn[:3], res.StatusCode, body)
	}
	if !strings.Contains(body, `title="ThingSpace: active">Active</abbr>`) {
		t.Fatalf("states are not in words: %.1500s", body)
	}
	res, body = do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/devices?q=abc", nil)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Devices of Fleet") || !strings.Contains(body, `id="error-q"`) ||
		!strings.Contains(body, `value="abc"`) || strings.Contains(body, "Devices fleet") {
		t.Fatalf("a mistyped search: %d %.1500s", res.StatusCode, body)
	}
}

// The confirmation names devices as people write them, and counts them
// in plain words.
func TestDeviceConfirmationNamesDevices(t *testing.T) {
	t.Parallel()
	ts, _, lead := devicesServer(t)
	res, body := do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/devices/suspend?id=mdn:4158883049", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "MDN 415-888-3049") || !strings.Contains(body, "suspend 1 device<") ||
		strings.Contains(body, "device(s)") || !strings.Contains(body, `value="mdn:4158883049"`) {
		t.Fatalf("confirmation: %d %.1500s", res.StatusCode, body)
	}
}

// An action asked for with no device ticked, or with a pasted list that
// does not read, shows the devices page again with the message beside the
// list, what was pasted and ticked kept (422), never a bare error page.
func TestDeviceActionMistakesKeepTheDevicesPage(t *testing.T) {
	t.Parallel()
	ts, _, lead := devicesServer(t)
	res, body := do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/devices/suspend?ids=", nil)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="error-ids"`) ||
		!strings.Contains(body, "Give at least one device.") || !strings.Contains(body, `id="devices"`) {
		t.Fatalf("nothing ticked: %d %.2000s", res.StatusCode, body)
	}
	res, body = do(t, lead, http.MethodGet, ts.URL+"/departments/fleet/devices/suspend?id=mdn:4158883049&ids=4155550100%0Anot-a-device", nil)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="error-ids"`) ||
		!strings.Contains(body, "4155550100\nnot-a-device</textarea>") || !strings.Contains(body, `value="mdn:4158883049" id="pick-mdn:4158883049" aria-label="select mdn:4158883049" checked`) {
		t.Fatalf("a paste that does not read: %d %.3000s", res.StatusCode, body)
	}
}
