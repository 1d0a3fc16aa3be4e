package devices

import (
	"context"
	"regexp"
	"slices"
	"strings"

	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/internal/upstream"
	"github.com/uwsportal/uwsportal/models"
)

// Query is a devices page request: a search (an MDN, ICCID or IMEI, whole
// or its first digits), a state, and the cursor of the page (ThingSpace's
// largest device id seen).
type Query struct {
	Q     string
	State string
	After int64
}

// Prefix is the digits a partial search looks for at the start of an MDN,
// ICCID or IMEI ("" when Q is empty or a whole identifier).
func (q Query) Prefix() string {
	if q.Q == "" {
		return ""
	}
	if _, err := models.ParseDeviceID(q.Q); err == nil {
		return ""
	}
	return cleanDigits(q.Q)
}

// ScanPages bounds a partial search: ThingSpace's list filters by a whole
// identifier only, so the first digits are matched here, over at most
// this many pages from the cursor; the page says how far it looked.
const ScanPages = 10

// States are the device states ThingSpace names.
var States = []string{thingspace.StateActive, thingspace.StateSuspend, thingspace.StateDeactive, thingspace.StatePreActive}

// PageSize is how many devices one page asks ThingSpace for.
const PageSize = 100

// Page is one page of a department's devices.
type Page struct {
	Department models.Department
	Devices    []models.Device
	// Next is the cursor of the next page (0: the last page).
	Next int64
	// Listed is how many devices ThingSpace returned for this page, before
	// the state and partial search kept some (the page's place in the
	// account's list moves by that many).
	Listed int
	// Operations are what the person may do here (the actions on each row).
	Operations []models.Operation
}

// ParseQuery checks a devices query from a person.
func ParseQuery(q, state string, after int64) (Query, error) {
	q, state = strings.TrimSpace(q), strings.TrimSpace(state)
	if q != "" {
		if _, err := models.ParseDeviceID(q); err != nil && !partial.MatchString(cleanDigits(q)) {
			return Query{}, models.Invalidf("q", "%q is not the start of an MDN, ICCID or IMEI: give digits (the first few are enough).", models.ClipMark(q, 40))
		}
	}
	if state != "" && !slices.ContainsFunc(States, func(st string) bool { return thingspace.SameState(st, state) }) {
		return Query{}, models.Errorf(models.ErrInvalid, "Unknown device state %q: use %s.", models.ClipMark(state, 20), strings.Join(States, ", "))
	}
	if after < 0 {
		return Query{}, models.Errorf(models.ErrInvalid, "The page cursor is not valid.")
	}
	return Query{Q: q, State: state, After: after}, nil
}

// List returns one page of the department's devices, read through its
// credential, as p may see them. Listing is audited (device.list).
func (s *Service) List(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, q Query) (Page, error) {
	q, err := ParseQuery(q.Q, q.State, q.After)
	if err != nil {
		return Page{}, err
	}
	d, policy, err := s.authorize(ctx, p, meta, slug, models.OpList)
	if err != nil {
		return Page{}, err
	}
	ss, err := s.open(ctx, p, meta, d)
	if err != nil {
		return Page{}, err
	}
	page := Page{Department: d}
	devs, next, listed, err := s.fetch(ctx, ss, q)
	e := s.event(ss, models.OpList).With("q", q.Q, "state", q.State, "count", len(devs))
	if err != nil {
		e.Outcome = models.OutcomeFailure
		e.With("upstream_code", upstream.Code(err))
	}
	if aerr := s.db.AuditAlone(ctx, e); aerr != nil {
		return Page{}, aerr
	}
	if err != nil {
		return Page{}, upstreamError("List the devices", err)
	}
	page.Devices, page.Next, page.Listed = devs, next, listed
	page.Operations = policy.DeviceOperations(p, slug)
	return page, nil
}

// fetch reads one page upstream (or the one device searched for, or the
// pages a partial search scans) and keeps those in the state asked for;
// it returns the next cursor and how many devices ThingSpace listed.
func (s *Service) fetch(ctx context.Context, ss *session, q Query) ([]models.Device, int64, int, error) {
	var devs []models.Device
	var next int64
	var err error
	switch prefix := q.Prefix(); {
	case prefix != "":
		return s.scan(ctx, ss, q, prefix)
	case q.Q != "":
		id, _ := models.ParseDeviceID(q.Q) // checked by ParseQuery
		devs, err = s.lookup(ctx, ss, id)
	default:
		devs, next, err = s.listPage(ctx, ss, q.After)
	}
	listed := len(devs)
	return keepState(devs, q.State), next, listed, err
}

// scan reads up to ScanPages pages from q's cursor and keeps the devices
// one of whose MDN, ICCID or IMEI starts with prefix (and in q's state);
// it stops early once a page's worth matched.
func (s *Service) scan(ctx context.Context, ss *session, q Query, prefix string) ([]models.Device, int64, int, error) {
	var found []models.Device
	after, listed := q.After, 0
	for range ScanPages {
		devs, next, err := s.listPage(ctx, ss, after)
		if err != nil {
			return found, 0, listed, err
		}
		listed += len(devs)
		found = append(found, keepState(slices.DeleteFunc(devs, func(d models.Device) bool { return !startsWith(d, prefix) }), q.State)...)
		if after = next; after == 0 || len(found) >= PageSize {
			break
		}
	}
	return found, after, listed, nil
}

// partial is what a partial search may be: digits, at most an ICCID's.
var partial = regexp.MustCompile(`^[0-9]{1,20}$`)

// cleanDigits drops what people type between digits (spaces, dashes,
// dots, brackets).
func cleanDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(" -.()\t", r) {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

func startsWith(d models.Device, prefix string) bool {
	for _, kind := range []string{"mdn", "iccid", "imei"} {
		if id := d.ID(kind); id != "" && strings.HasPrefix(id, prefix) {
			return true
		}
	}
	return false
}

func keepState(devs []models.Device, state string) []models.Device {
	if state == "" {
		return devs
	}
	return slices.DeleteFunc(devs, func(d models.Device) bool { return !thingspace.SameState(d.State, state) })
}

func (s *Service) event(ss *session, op models.Operation) *models.AuditEvent {
	e := models.NewEvent("device."+string(op), ss.who.P, ss.who.Meta).
		With("operation", string(op), "account", ss.dept.AccountName, "username", ss.row.Username)
	e.Department, e.Target = ss.dept.Slug, "devices:"+ss.dept.Slug
	return e
}

// StateName is a device state in words ("Active", "Suspended",
// "Deactivated", "Pre-active"), or ThingSpace's own spelling for a state
// it has not documented.
func StateName(code string) string {
	for _, st := range []struct{ code, name string }{
		{thingspace.StateActive, "Active"}, {thingspace.StateSuspend, "Suspended"},
		{thingspace.StateDeactive, "Deactivated"}, {thingspace.StatePreActive, "Pre-active"},
	} {
		if thingspace.SameState(code, st.code) {
			return st.name
		}
	}
	return code
}
