package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// phoneWidth is a common phone's width in CSS pixels.
const phoneWidth, phoneHeight = 390, 844

// narrowCheck finds what a phone-width audit page hides or cuts: per row,
// the actor and the outcome must show whole inside the viewport and the
// event code must not be clipped; the page must not scroll sideways.
const narrowCheck = `(() => {
	const out = [], w = window.innerWidth;
	const whole = (td, what, i) => {
		if (!td) { out.push("row " + i + ": no " + what + " cell"); return; }
		const r = td.getBoundingClientRect(), s = getComputedStyle(td);
		if (s.display === "none" || s.visibility === "hidden" || r.width === 0 || r.height === 0) out.push("row " + i + ": " + what + " hidden");
		else if (r.left < 0 || r.right > w + 0.5) out.push("row " + i + ": " + what + " outside the screen (" + r.left + "–" + r.right + ")");
		else if (td.scrollWidth > td.clientWidth + 1) out.push("row " + i + ": " + what + " clipped (" + td.scrollWidth + " > " + td.clientWidth + ")");
	};
	const rows = [...document.querySelectorAll("table.audit-table tbody tr")];
	if (rows.length === 0) out.push("no rows");
	rows.forEach((tr, i) => {
		whole(tr.querySelector(".c-actor"), "actor", i);
		whole(tr.querySelector(".c-outcome"), "outcome", i);
		whole(tr.querySelector(".c-code"), "event code", i);
	});
	const sw = document.documentElement.scrollWidth;
	if (sw > w) out.push("the page scrolls sideways: " + sw + " > " + w);
	return out;
})()`

// phoneAudit: oscar reads the audit trail at 390 px: every row keeps its
// actor and outcome in view, event codes whole, no sideways scroll.
func phoneAudit(t *testing.T, oscar *persona) {
	oscar.do(t, "narrow the window", chromedp.EmulateViewport(phoneWidth, phoneHeight))
	defer oscar.do(t, "widen the window again", chromedp.EmulateViewport(viewportW, viewportH))
	oscar.open(t, "/audit", "table.audit-table")
	for _, problem := range get(t, oscar, "measure the rows", chromedp.Evaluate[[]string](narrowCheck)) {
		t.Errorf("audit at %d px: %s", phoneWidth, problem)
	}
}

// phoneScreenshot saves path at phone width, scrolled to the element
// waitFor names.
func phoneScreenshot(t *testing.T, p *persona, path, waitFor, file string) {
	p.do(t, "narrow the window", chromedp.EmulateViewport(phoneWidth, phoneHeight))
	defer p.do(t, "widen the window again", chromedp.EmulateViewport(viewportW, viewportH))
	p.open(t, path, waitFor)
	p.do(t, "scroll to "+waitFor, chromedp.ScrollIntoView(chromedp.CSS(waitFor)))
	p.screenshot(t, file)
}
