package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// devicesJourney: alice sets fleet's ThingSpace account; lena suspends an
// active device through its confirmation page, then restores it; mike, a
// member (signed in by an earlier step), sees the devices but no action,
// and is refused one.
func devicesJourney(t *testing.T, s *stack, alice, lena, mike *persona) {
	alice.open(t, "/departments/fleet", "#dept-account")
	alice.do(t, "set the account name", chromedp.SendKeys(chromedp.ID("dept-account"), fleetAccount))
	alice.do(t, "save the settings", chromedp.Click(chromedp.ID("settings-save")))
	// The department page had the link before the save: wait for the
	// page that answers the save, with its flash.
	alice.waitFor(t, "the saved settings", `document.querySelector("main .flash.success") !== null && document.getElementById("dept-account").value === "`+fleetAccount+`"`)

	lena.open(t, "/departments/fleet/devices", "#devices")
	mdn := get(t, lena, "pick an active device", chromedp.Evaluate[string](`(() => {
		for (const tr of document.querySelectorAll("#devices tbody tr")) {
			const box = tr.querySelector("input[name=id]");
			if (box && tr.querySelector('abbr[title="ThingSpace: active"]') && box.value.startsWith("mdn:")) {
				box.checked = true; return box.value.slice(4);
			}
		}
		return "";
	})()`))
	if mdn == "" {
		t.Fatal("no active device with an MDN on lena's page")
	}
	for _, step := range []struct{ op, want string }{{"suspend", "suspend"}, {"restore", "active"}} {
		if step.op == "restore" {
			lena.open(t, "/departments/fleet/devices?q="+mdn, "#devices")
			lena.do(t, "select the device", chromedp.Click(chromedp.CSS(`#devices input[name=id]`)))
		}
		lena.click(t, "act-"+step.op, "confirm-go")
		if txt, want := lena.text(t, "confirm-devices"), "MDN "+mdn[:3]+"-"+mdn[3:6]+"-"+mdn[6:]; !strings.Contains(txt, want) {
			t.Fatalf("the confirmation of %s names %q, not %s", step.op, txt, want)
		}
		if d, _ := s.sim.Device(fleetAccount, mdn); step.op == "suspend" && d.State() != "active" {
			t.Fatalf("the device changed before the confirmation: %s", d.State())
		}
		lena.click(t, "confirm-go", "results")
		if out := lena.text(t, "results"); !strings.Contains(out, "accepted") {
			t.Fatalf("%s: the results say %q", step.op, out)
		}
		if d, _ := s.sim.Device(fleetAccount, mdn); d.State() != step.want {
			t.Fatalf("after %s the device is %q, want %q", step.op, d.State(), step.want)
		}
	}

	mike.open(t, "/departments/fleet/devices", "#devices")
	if n := get(t, mike, "count action buttons", chromedp.Evaluate[int](`document.querySelectorAll("[id^=act-]").length`)); n != 0 {
		t.Errorf("a member is offered %d actions", n)
	}
	mike.do(t, "ask to suspend anyway", chromedp.Navigate(fmt.Sprintf("%s/departments/fleet/devices/suspend?id=mdn:%s", s.base, mdn)),
		chromedp.WaitVisible(chromedp.CSS("main")))
	if body := get(t, mike, "read the page", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(body, "does not let you") {
		t.Errorf("a member asking to suspend sees %q", body)
	}
}
