// Package templates holds the portal's templ components. Each page takes a
// typed view struct; no database record reaches a template.
package templates

import (
	"strconv"
	"strings"
)

// Page is what the layout needs on every page.
type Page struct {
	Title    string
	Version  string
	CSS      string // cache-busted stylesheet path
	JS       string // cache-busted script path
	CSRF     string
	User     *UserView
	Nav      []NavItem
	Flashes  []Flash
	Path     string
	Warnings []string // shown to every page, such as break-glass sign-in
	// Refresh reloads the page after that many seconds (0: never), at
	// RefreshURL if set: a meta refresh, which works without JavaScript
	// and under the page's CSP.
	Refresh    int
	RefreshURL string
}

// UserView is the signed-in person as the header shows them.
type UserView struct {
	Name       string
	Roles      []string
	BreakGlass bool
}

// NavItem is one navigation link; the layout marks the current one.
type NavItem struct {
	Label string
	Href  string
	Count int // shown beside the label when above 0 (pending approvals)
}

// Flash is a one-time message carried across a redirect.
type Flash struct {
	Kind    string // success, error or info
	Message string
}

// ErrorView is an error page: a safe message and the request ID to quote.
type ErrorView struct {
	Status    int
	Title     string
	Message   string
	RequestID string
}

func joinComma(s []string) string { return strings.Join(s, ", ") }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// NamedDevice is a device as a form sends it (Key: "mdn:4158883049") and
// as people read it (Name: "MDN 415-888-3049").
type NamedDevice struct{ Key, Name string }

// actionID names a device action's button: act-suspend below the list
// (the one the journeys press), act-top-suspend above it.
func actionID(where, op string) string {
	if where == "" {
		return "act-" + op
	}
	return "act-" + where + "-" + op
}

// pagerID keeps the bottom pager's links at their old ids (devices-next).
func pagerID(link, where string) string {
	if where == "bottom" {
		return "devices-" + link
	}
	return "devices-" + link + "-" + where
}
