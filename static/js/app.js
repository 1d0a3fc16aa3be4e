// Progressive enhancement only: every action works without this file.
document.addEventListener("click", function (ev) {
  var btn = ev.target.closest("[data-copy]");
  if (!btn) return;
  var src = document.getElementById(btn.getAttribute("data-copy"));
  if (!src || !navigator.clipboard) return;
  navigator.clipboard.writeText(src.textContent.trim()).then(function () {
    btn.textContent = "Copied";
  });
});
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  var msg = form.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) {
    ev.preventDefault();
    return;
  }
  // A download leaves the page in place: it may be asked for again.
  if (form.method.toLowerCase() !== "post" || form.hasAttribute("data-repeatable")) return;
  // A second press sends nothing: the first is under way, and says so.
  if (form.getAttribute("data-sent") === "yes") {
    ev.preventDefault();
    return;
  }
  form.setAttribute("data-sent", "yes");
  var btn = ev.submitter || form.querySelector("button[type=submit]");
  if (!btn) return;
  var busy = btn.getAttribute("data-busy");
  if (busy) btn.textContent = busy;
  btn.setAttribute("aria-disabled", "true");
  // Disabled after this event, so the button's own value is still sent.
  window.setTimeout(function () { btn.disabled = true; }, 0);
  var live = document.getElementById("busy-status");
  if (live && busy) live.textContent = busy;
});
// Back/forward cache: a page shown again is ready for a new submission.
window.addEventListener("pageshow", function (ev) {
  if (!ev.persisted) return;
  document.querySelectorAll("form[data-sent]").forEach(function (f) {
    f.removeAttribute("data-sent");
    f.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; b.removeAttribute("aria-disabled"); });
  });
});
// A page following a long operation reloads itself (without JavaScript,
// its <noscript> meta refresh does the same).
(function () {
  var m = document.querySelector('meta[name="uwsportal-refresh"]');
  if (!m) return;
  var secs = parseInt(m.getAttribute("content"), 10);
  if (!(secs > 0)) return;
  var url = m.getAttribute("data-url") || window.location.href;
  var timer = window.setTimeout(function () { window.location.replace(url); }, secs * 1000);
  // A page the person asked for while this one waits to reload wins: the
  // reload, firing mid-way, would otherwise replace it with this page.
  window.addEventListener("beforeunload", function () { window.clearTimeout(timer); });
})();
// "All" on the devices page ticks (or clears) every box of its form in
// place; without this, its link reloads the page with the boxes ticked.
document.addEventListener("click", function (ev) {
  var link = ev.target.closest("[data-select-all]");
  if (!link) return;
  var form = document.getElementById(link.getAttribute("data-select-all"));
  if (!form) return;
  ev.preventDefault();
  var boxes = form.querySelectorAll("input[type=checkbox][name=id]");
  var all = Array.prototype.some.call(boxes, function (b) { return !b.checked; });
  boxes.forEach(function (b) { b.checked = all; });
  link.firstChild.textContent = all ? "Clear " : "All ";
});
