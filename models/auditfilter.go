package models

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// AuditFilter is an auditor's question to the trail. The zero value asks
// for the newest page of everything.
type AuditFilter struct {
	Since, Until time.Time // Since inclusive, Until exclusive; zero: open
	Actor        string    // exact audit actor (user id, "system", "cli:<user>")
	Department   string    // exact department slug
	CodePrefix   string    // event code prefix, such as "credential.rotate"
	Outcome      Outcome
	Text         string // free text over actor, name, target and detail
	// Before and After are keyset cursors on the gapless event id: a page
	// holds ids < Before (older) or ids > After (newer), newest first.
	Before, After int64
	Limit         int
}

// AuditPage is one page of search results, newest first, and whether the
// pages on either side may hold more.
type AuditPage struct {
	Events   []AuditEvent
	HasNewer bool
	HasOlder bool
}

// Limits of the audit search.
const (
	AuditPageDefault = 50
	AuditPageMax     = 500
	auditParamMax    = 200
)

// auditTimeLayouts are accepted for since and until, tried in order; the
// ones without a zone are read in the page's zone.
var auditTimeLayouts = []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05"}

// ParseAuditFilter reads the query parameters of /audit (and its exports and
// the command line). Every problem is an ErrInvalid naming the parameter, so
// bad input is a 400 with a clear message, never a 500. Times without a zone
// are read in loc; an "until" given as a bare date includes that whole day.
//
// The parameters are read in a fixed order (time range, then the narrowing
// fields, then the page) so that the first problem reported is always the
// same one for the same input.
func ParseAuditFilter(q url.Values, loc *time.Location, now time.Time) (AuditFilter, error) {
	if loc == nil {
		loc = time.UTC
	}
	f := AuditFilter{Limit: AuditPageDefault}
	get := auditParamReader(q)
	if err := parseAuditRange(&f, q, get, loc, now); err != nil {
		return f, err
	}
	if err := parseAuditNarrowing(&f, get); err != nil {
		return f, err
	}
	if err := parseAuditPage(&f, q, get); err != nil {
		return f, err
	}
	return f, nil
}

// auditParamGetter returns one trimmed query parameter, or an ErrInvalid
// when it is too long or holds control characters.
type auditParamGetter func(name string) (string, error)

// auditParamReader checks every parameter the same way before it is read,
// so no step can forget the length and control-character limits.
func auditParamReader(q url.Values) auditParamGetter {
	return func(name string) (string, error) {
		v := strings.TrimSpace(q.Get(name))
		if len(v) > auditParamMax {
			return "", Invalidf(name, "%s: at most %d characters, please.", name, auditParamMax)
		}
		if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
			return "", Invalidf(name, "%s: control characters are not allowed.", name)
		}
		return v, nil
	}
}

// parseAuditRange reads since and until. A bare-date until is moved to the
// next midnight because Until is exclusive and the person meant "through
// that day". The messages quote the raw parameters, as typed.
func parseAuditRange(f *AuditFilter, q url.Values, get auditParamGetter, loc *time.Location, now time.Time) error {
	v, err := get("since")
	if err != nil {
		return err
	}
	if f.Since, _, err = parseAuditTime("since", v, loc); err != nil {
		return err
	}
	if v, err = get("until"); err != nil {
		return err
	}
	var dateOnly bool
	if f.Until, dateOnly, err = parseAuditTime("until", v, loc); err != nil {
		return err
	}
	if dateOnly {
		f.Until = f.Until.AddDate(0, 0, 1)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return Invalidf("since", "since: the start (%s) must be before the end (%s).", q.Get("since"), q.Get("until"))
	}
	if !f.Since.IsZero() && f.Since.After(now.Add(24*time.Hour)) {
		return Invalidf("since", "since: %s is in the future.", q.Get("since"))
	}
	return nil
}

// parseAuditNarrowing reads the fields that narrow the search: actor,
// department, event prefix, outcome and free text.
func parseAuditNarrowing(f *AuditFilter, get auditParamGetter) error {
	var err error
	if f.Actor, err = get("actor"); err != nil {
		return err
	}
	if f.Department, err = get("department"); err != nil {
		return err
	}
	if f.CodePrefix, err = get("event"); err != nil {
		return err
	}
	if f.CodePrefix != "" && !KnownEventPrefix(f.CodePrefix) {
		return Invalidf("event", "event: %q is not the start of any event code (see docs/audit-events.md), such as credential.rotate or auth.signin.", ClipMark(f.CodePrefix, 40))
	}
	v, err := get("outcome")
	if err != nil {
		return err
	}
	if v != "" {
		if !slices.Contains(Outcomes, Outcome(v)) {
			return Invalidf("outcome", "outcome: use success, failure or denied, not %q.", ClipMark(v, 40))
		}
		f.Outcome = Outcome(v)
	}
	f.Text, err = get("q")
	return err
}

// parseAuditPage reads the keyset cursors (at most one of them) and the
// page size.
func parseAuditPage(f *AuditFilter, q url.Values, get auditParamGetter) error {
	var err error
	if f.Before, err = parseCursor(q, "before", get); err != nil {
		return err
	}
	if f.After, err = parseCursor(q, "after", get); err != nil {
		return err
	}
	if f.Before != 0 && f.After != 0 {
		return Errorf(ErrInvalid, "before and after: use one page cursor, not both.")
	}
	v, err := get("limit")
	if err != nil {
		return err
	}
	if v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > AuditPageMax {
			return Errorf(ErrInvalid, "limit: a whole number from 1 to %d, please.", AuditPageMax)
		}
		f.Limit = n
	}
	return nil
}

func parseCursor(q url.Values, name string, get auditParamGetter) (int64, error) {
	v, err := get(name)
	if err != nil || v == "" {
		return 0, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, Errorf(ErrInvalid, "%s: a page cursor is a positive event id.", name)
	}
	return n, nil
}

// parseAuditTime reads one of the accepted layouts; dateOnly reports a bare
// date, whose end of day the caller may want.
func parseAuditTime(name, v string, loc *time.Location) (t time.Time, dateOnly bool, err error) {
	if v == "" {
		return time.Time{}, false, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return checkYear(name, v, t.In(loc))
	}
	for i, layout := range auditTimeLayouts {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			t, _, err := checkYear(name, v, t)
			return t, i == 0, err
		}
	}
	return time.Time{}, false, Invalidf(name, "%s: %q is not a date or time; use 2024-01-31, 2024-01-31T09:30 or RFC 3339 (2024-01-31T09:30:00Z).", name, ClipMark(v, 40))
}

// checkYear keeps times inside what Postgres and a person mean by a date.
func checkYear(name, v string, t time.Time) (time.Time, bool, error) {
	if t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, false, Invalidf(name, "%s: %q is out of range (years 1970 to 9999).", name, ClipMark(v, 40))
	}
	return t, false, nil
}

// Query rebuilds the query parameters that ParseAuditFilter reads back to
// the same filter, for page, export and "older/newer" links. Times are
// written in the zone they carry (the page's zone after parsing).
func (f AuditFilter) Query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !f.Since.IsZero() {
		q.Set("since", formatAuditTime(f.Since, false))
	}
	if !f.Until.IsZero() {
		q.Set("until", formatAuditTime(f.Until, true))
	}
	set("actor", f.Actor)
	set("department", f.Department)
	set("event", f.CodePrefix)
	set("outcome", string(f.Outcome))
	set("q", f.Text)
	if f.Before > 0 {
		q.Set("before", strconv.FormatInt(f.Before, 10))
	}
	if f.After > 0 {
		q.Set("after", strconv.FormatInt(f.After, 10))
	}
	if f.Limit > 0 && f.Limit != AuditPageDefault {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

// Unpaged is the filter without its page cursor: what an export covers.
func (f AuditFilter) Unpaged() AuditFilter {
	f.Before, f.After, f.Limit = 0, 0, 0
	return f
}

// formatAuditTime writes t in the shortest layout that reads back exactly.
// An exclusive end at midnight is written as the day before, as a person
// typed it.
func formatAuditTime(t time.Time, exclusiveEnd bool) string {
	switch {
	case t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0:
		if exclusiveEnd {
			return t.AddDate(0, 0, -1).Format("2006-01-02")
		}
		return t.Format("2006-01-02")
	case t.Second() == 0 && t.Nanosecond() == 0:
		return t.Format("2006-01-02T15:04")
	}
	return t.Format(time.RFC3339Nano)
}

// FormatSince is the since parameter as a person would type it, for forms
// and file names.
func (f AuditFilter) FormatSince() string {
	if f.Since.IsZero() {
		return ""
	}
	return formatAuditTime(f.Since, false)
}

// FormatUntil is the until parameter as a person would type it.
func (f AuditFilter) FormatUntil() string {
	if f.Until.IsZero() {
		return ""
	}
	return formatAuditTime(f.Until, true)
}
