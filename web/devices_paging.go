package web

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/uwsportal/uwsportal/internal/devices"
	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/templates"
)

// ThingSpace's list gives a cursor and "more data", never a total: the
// devices page carries where it is in the list (from: the place of its
// first device) and the pages before it (back: "cursor:from", newest
// last), so it can say "101–200, more", go back, and give the total once
// the last page is reached.

// maxBack bounds the pages a devices page remembers behind it; further
// back, the first page is one link away.
const maxBack = 20

// place is where a devices page is in the account's list.
type place struct {
	After int64
	From  int // 1-based
	Back  []mark
}

// mark is a page left behind: its cursor and the place of its first device.
type mark struct {
	After int64
	From  int
}

// parsePlace reads the page's place from its query; anything malformed
// starts from the top rather than failing.
func parsePlace(c interface{ QueryParam(string) string }) (place, error) {
	var p place
	if a := c.QueryParam("after"); a != "" {
		after, err := strconv.ParseInt(a, 10, 64)
		if err != nil || after < 0 {
			return place{}, models.Errorf(models.ErrInvalid, "The page cursor is not valid.")
		}
		p.After = after
	}
	p.From = 1
	if f, err := strconv.Atoi(c.QueryParam("from")); err == nil && f > 0 && p.After > 0 {
		p.From = f
	}
	for _, part := range strings.Split(c.QueryParam("back"), ",") {
		a, f, ok := strings.Cut(part, ":")
		after, err1 := strconv.ParseInt(a, 10, 64)
		from, err2 := strconv.Atoi(f)
		if ok && err1 == nil && err2 == nil && after >= 0 && from > 0 && len(p.Back) < maxBack {
			p.Back = append(p.Back, mark{After: after, From: from})
		}
	}
	return p, nil
}

// pagingView fills the devices page's range and its previous and next
// links. listed is how many devices ThingSpace gave for this page.
func pagingView(v *templates.DevicesView, q devices.Query, at place, page devices.Page) {
	last := at.From + page.Listed - 1
	switch {
	case page.Listed == 0 && at.From == 1:
		v.Range = "No devices"
	case page.Listed == 0:
		v.Range = "No more devices after " + thousands(at.From-1)
	case page.Next > 0:
		v.Range = thousands(at.From) + "–" + thousands(last) + ", more"
	default:
		v.Range = thousands(at.From) + "–" + thousands(last) + " of " + thousands(last)
	}
	if q.State != "" && q.Prefix() == "" {
		v.Range += " · " + plural(len(page.Devices), strings.ToLower(devices.StateName(q.State))+" device") + " among them"
	}
	base := url.Values{}
	if q.Q != "" {
		base.Set("q", q.Q)
	}
	if q.State != "" {
		base.Set("state", q.State)
	}
	if page.Next > 0 {
		next := cloneValues(base)
		next.Set("after", strconv.FormatInt(page.Next, 10))
		next.Set("from", strconv.Itoa(last+1))
		if back := append(at.Back, mark{After: at.After, From: at.From}); len(back) > 0 {
			next.Set("back", joinMarks(back[max(0, len(back)-maxBack):]))
		}
		v.NextHref = devicesHref(v.Slug, next)
	}
	if at.From > 1 || at.After > 0 {
		prev := cloneValues(base)
		if n := len(at.Back); n > 0 {
			b := at.Back[n-1]
			if b.After > 0 {
				prev.Set("after", strconv.FormatInt(b.After, 10))
				prev.Set("from", strconv.Itoa(b.From))
			}
			if n > 1 {
				prev.Set("back", joinMarks(at.Back[:n-1]))
			}
		}
		v.PrevHref = devicesHref(v.Slug, prev)
		if len(at.Back) > 0 && at.Back[0].After > 0 {
			v.FirstHref = devicesHref(v.Slug, base)
		}
	}
	if prefix := q.Prefix(); prefix != "" {
		v.Searched = "Looked through devices " + thousands(at.From) + "–" + thousands(max(last, at.From)) +
			" for an MDN, ICCID or IMEI starting with " + prefix + ": " + plural(len(page.Devices), "device") + " found."
		if page.Next > 0 {
			v.Searched += " ThingSpace searches whole numbers only, so the portal reads the list " + thousands(devices.ScanPages*devices.PageSize) +
				" devices at a time: the next page searches on."
		}
	}
}

func devicesHref(slug string, q url.Values) string {
	if len(q) == 0 {
		return "/departments/" + slug + "/devices"
	}
	return "/departments/" + slug + "/devices?" + q.Encode()
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func joinMarks(ms []mark) string {
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		parts = append(parts, strconv.FormatInt(m.After, 10)+":"+strconv.Itoa(m.From))
	}
	return strings.Join(parts, ",")
}

// thousands writes n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// plural is "1 device", "3 devices".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return thousands(n) + " " + noun + "s"
}

// deviceName is a device identifier in people's terms: "MDN 415-888-3049",
// "ICCID 89148000001234567890".
func deviceName(id models.DeviceID) string {
	kind := strings.ToUpper(id.Kind)
	if id.Kind == "mdn" && len(id.ID) == 10 {
		return kind + " " + id.ID[:3] + "-" + id.ID[3:6] + "-" + id.ID[6:]
	}
	return kind + " " + id.ID
}
