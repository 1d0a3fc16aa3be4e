package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// maxTabs bounds the Tab presses from one control to the next.
const maxTabs = 80

// focusState describes the focused element and whether its focus shows:
// it matches :focus-visible and draws an outline or a box-shadow.
const focusState = `(() => {
	const e = document.activeElement;
	if (!e || e === document.body) return {id: "", visible: false, what: "nothing"};
	const s = getComputedStyle(e);
	const drawn = (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || (s.boxShadow && s.boxShadow !== "none");
	return {id: e.id, visible: e.matches(":focus-visible") && drawn,
		what: e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + " " + (e.textContent || e.value || "").trim().slice(0, 40)};
})()`

type focused struct {
	ID      string `json:"id"`
	Visible bool   `json:"visible"`
	What    string `json:"what"`
}

// press sends one key as a person's keyboard does (key down, up), with
// Shift held when shift is set.
func (p *persona) press(t testing.TB, key string, shift bool) {
	t.Helper()
	var opts []chromedp.KeyOption
	if shift {
		opts = append(opts, chromedp.KeyModifiers(chromedp.ModifierShift))
	}
	p.do(t, fmt.Sprintf("press %q", key), chromedp.KeyEvent(key, opts...))
}

// focus reads the focused element; the test fails if its focus does not
// show.
func (p *persona) focus(t testing.TB) focused {
	t.Helper()
	f := get(t, p, "read the focus", chromedp.Evaluate[focused](focusState))
	if f.What != "nothing" && !f.Visible {
		t.Errorf("%s: the focus on %s does not show (no outline or box-shadow on :focus-visible)", p.name, f.What)
	}
	return f
}

// tabTo presses Tab (Shift-Tab when back) until the element with id has
// the focus, checking at every step that the focus shows.
func (p *persona) tabTo(t testing.TB, id string, back bool) {
	t.Helper()
	var path []string
	for range maxTabs {
		p.press(t, kb.Tab, back)
		f := p.focus(t)
		if f.ID == id {
			return
		}
		path = append(path, f.What)
	}
	t.Fatalf("%s: #%s not reached in %d presses of Tab (went through %s)", p.name, id, maxTabs, strings.Join(path, " → "))
}

// fromSkipLink starts a page's keyboard journey: the first Tab reaches the
// skip link, whose Enter moves on to the content.
func (p *persona) fromSkipLink(t testing.TB, path, waitFor string) {
	t.Helper()
	p.open(t, path, waitFor)
	p.press(t, kb.Tab, false)
	if f := p.focus(t); !strings.Contains(f.What, "Skip to content") {
		t.Fatalf("%s: the first Tab on %s reaches %s, not the skip link", p.name, path, f.What)
	}
	p.press(t, kb.Enter, false)
	p.waitFor(t, "the skip link's jump", `document.activeElement && document.activeElement.id === "main"`)
}

// keyboardJourney: lena rotates the password and suspends a device with
// the keyboard alone (Tab, Shift-Tab, Enter, Space), from the skip link to
// the end, her focus visible at every step.
func keyboardJourney(t *testing.T, s *stack, lena *persona) {
	lena.fromSkipLink(t, "/departments/fleet", "#rotate")
	lena.tabTo(t, "rotate", false)
	lena.press(t, kb.Enter, false)
	lena.waitFor(t, "the rotation's confirmation", `document.getElementById("rotate-confirm") !== null && document.readyState === "complete"`)
	lena.tabTo(t, "rotate-confirm", false)
	lena.press(t, kb.Enter, false)
	lena.waitFor(t, "the rotation's end", `document.getElementById("rotation-done") !== null`)
	if f := lena.flashes(t, "success"); !strings.Contains(strings.ToLower(f), "rotated") {
		t.Errorf("the keyboard rotation ends with %q", f)
	}
	// The current password now: the one the reveal under dual control
	// shows later, on its one page.
	c, _ := s.sim.User(fleetUWSUser)
	s.secrets.add("rotated UWS password", c.Password)

	lena.open(t, "/departments/fleet/devices", "#devices")
	mdn := get(t, lena, "find an active device", chromedp.Evaluate[string](`(() => {
		for (const tr of document.querySelectorAll("#devices tbody tr")) {
			const box = tr.querySelector("input[name=id]");
			if (box && tr.querySelector('abbr[title="ThingSpace: active"]') && box.value.startsWith("mdn:")) return box.value.slice(4);
		}
		return "";
	})()`))
	if mdn == "" {
		t.Fatal("no active device with an MDN")
	}
	lena.fromSkipLink(t, "/departments/fleet/devices?q="+mdn, "#devices")
	lena.tabTo(t, "pick-mdn:"+mdn, false)
	lena.press(t, " ", false)
	if !get(t, lena, "read the box", chromedp.Evaluate[bool](`document.activeElement.checked`)) {
		t.Fatal("Space did not tick the device's box")
	}
	lena.tabTo(t, "act-top-suspend", true) // back up to the buttons above the list
	lena.press(t, kb.Enter, false)
	lena.waitFor(t, "the suspend confirmation", `document.getElementById("confirm-go") !== null && document.readyState === "complete"`)
	lena.tabTo(t, "confirm-go", false)
	lena.press(t, kb.Enter, false)
	lena.waitFor(t, "the results", `document.getElementById("results") !== null`)
	if out := lena.text(t, "results"); !strings.Contains(out, "accepted") {
		t.Errorf("the keyboard suspend: the results say %q", out)
	}
	if d, _ := s.sim.Device(fleetAccount, mdn); d.State() != "suspend" {
		t.Errorf("after the keyboard suspend the device is %q", d.State())
	}
}
