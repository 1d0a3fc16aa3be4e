package web

import (
	"testing"

	"github.com/uwsportal/uwsportal/models"
)

// A row's links narrow the page's filter (its cursor and page size dropped) to the row's
// actor or department, each row its own even where they are made once.
func TestAuditRowLinksNarrowThePageFilter(t *testing.T) {
	links := newAuditLinks(models.AuditFilter{CodePrefix: "device", Department: "fleet", Before: 90, Limit: 20})
	for _, tc := range []struct{ got, want string }{
		{links.actor("7"), "/audit?actor=7&department=fleet&event=device"},
		{links.actor("8"), "/audit?actor=8&department=fleet&event=device"},
		{links.actor("7"), "/audit?actor=7&department=fleet&event=device"},
		{links.department("billing"), "/audit?department=billing&event=device"},
		{links.department("fleet"), "/audit?department=fleet&event=device"},
		{links.department("7"), "/audit?department=7&event=device"},
		{links.actor("a&b"), "/audit?actor=a%26b&department=fleet&event=device"},
	} {
		if tc.got != tc.want {
			t.Errorf("link %q, want %q", tc.got, tc.want)
		}
	}
}
