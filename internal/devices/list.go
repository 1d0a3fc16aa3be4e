package devices

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"sync"

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
// credential, as p may see them. Listing is audited (device.list): List
// returns once the event is durable.
func (s *Service) List(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, q Query) (Page, error) {
	page, audited, err := s.ListPage(ctx, p, meta, slug, q)
	if err == nil {
		err = audited()
	}
	if err != nil {
		return Page{}, err
	}
	return page, nil
}

// ListPage is List for a page that is prepared while the device.list
// event commits (in the audit's group commit): audited waits until the
// event is durable, and the page must not be answered unless it returns
// nil. A failed list is audited before ListPage returns.
func (s *Service) ListPage(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, q Query) (page Page, audited func() error, err error) {
	q, err = ParseQuery(q.Q, q.State, q.After)
	if err != nil {
		return Page{}, nil, err
	}
	if p.Anonymous() {
		return Page{}, nil, models.ErrUnauthorized
	}
	// The department, its policy, its credential and the shared session
	// in one round trip.
	way, err := s.deviceWay(ctx, slug)
	if err != nil {
		return Page{}, nil, err
	}
	d, policy := way.Department, way.Policy
	if err := s.permit(ctx, p, meta, slug, models.OpList, policy); err != nil {
		return Page{}, nil, err
	}
	// open's look at the shared session and the list call's first look
	// each use the session as read just now (once each). A miss looks
	// again in the database under the login lock, and so does a token
	// ThingSpace says expired, so neither ever costs a login: a session
	// open logs in for is found by the call's second look.
	withRead := func(ctx context.Context) context.Context {
		if way.Credential == nil {
			return ctx
		}
		return upstream.WithSessionRead(ctx, way.Credential.Username, way.Session)
	}
	ss, err := s.openWith(withRead(ctx), p, meta, d, way.Credential)
	if err != nil {
		return Page{}, nil, err
	}
	devs, next, listed, err := s.fetch(withRead(ctx), ss, q)
	// The call may have reached ThingSpace: it is audited even if the
	// person has left the page meanwhile.
	rec := context.WithoutCancel(ctx)
	e := s.event(ss, models.OpList).With("q", q.Q, "state", q.State, "count", len(devs))
	if err != nil {
		e.Outcome = models.OutcomeFailure
		e.With("upstream_code", upstream.Code(err))
		if aerr := s.db.AuditAlone(rec, e); aerr != nil {
			return Page{}, nil, aerr
		}
		return Page{}, nil, upstreamError("List the devices", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.db.AuditAlone(rec, e) }()
	audited = sync.OnceValue(func() error { return <-done })
	return Page{Department: d, Devices: devs, Next: next, Listed: listed, Operations: policy.DeviceOperations(p, slug)}, audited, nil
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
