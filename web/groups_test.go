package web

import (
	"slices"
	"testing"

	"github.com/uwsportal/uwsportal/internal/sso"
)

func TestGroupClaimShapes(t *testing.T) {
	for _, tc := range []struct {
		in    any
		want  []string
		found bool
	}{
		{"Fleet Leads", []string{"Fleet Leads"}, true},
		{"  ", []string{}, true},
		{[]any{"a b", "", 3, "c"}, []string{"a b", "c"}, true},
		{nil, []string{}, false},
		{42.0, []string{}, false},
	} {
		got, found := sso.GroupList(tc.in)
		if found != tc.found || !slices.Equal(got, tc.want) {
			t.Errorf("sso.GroupList(%#v) = %q %v, want %q %v", tc.in, got, found, tc.want, tc.found)
		}
	}
}

// FuzzGroupList: a groups claim given as one string is one group, never
// split into several (which could grant a role for a group the person is
// not in); a list keeps its non-empty strings in order.
func FuzzGroupList(f *testing.F) {
	for _, s := range []string{"Fleet Leads", "a,b", "", " x ", "uwsportal-admins"} {
		f.Add(s, "second group")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		one, found := sso.GroupList(a)
		if !found || len(one) > 1 || (len(one) == 1 && one[0] == "") {
			t.Fatalf("sso.GroupList(%q) = %q", a, one)
		}
		list, _ := sso.GroupList([]any{a, b})
		for _, g := range list {
			if g != a && g != b {
				t.Fatalf("sso.GroupList([%q %q]) invented %q", a, b, g)
			}
		}
	})
}
