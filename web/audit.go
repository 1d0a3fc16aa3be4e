package web

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/templates"
)

// auditZone is the zone the audit pages read and show times in.
func (s *Server) auditZone() *time.Location { return time.UTC }

// auditList is GET /audit: the filter form and one page of results.
func (s *Server) auditList(c echo.Context) error {
	loc := s.auditZone()
	f, err := models.ParseAuditFilter(c.QueryParams(), loc, s.now())
	if err != nil {
		errs, ok := formProblem(err, "q")
		if !ok {
			return err
		}
		return s.renderAuditForm(c, errs)
	}
	p := principal(c)
	side := s.auditSideReads(c) // beside the search, not after it
	page, err := s.trail.SearchAudit(c.Request().Context(), p, f)
	if err != nil {
		return err
	}
	v := templates.AuditListView{
		Since: f.FormatSince(), Until: f.FormatUntil(), Actor: f.Actor, Department: f.Department,
		Event: f.CodePrefix, Outcome: string(f.Outcome), Text: f.Text,
		Zone: loc.String(), Filtered: len(f.Unpaged().Query()) > 0,
	}
	pg, err := s.auditPage(c, &v, <-side)
	if err != nil {
		return err
	}
	links := newAuditLinks(f)
	v.Rows = make([]templates.AuditRow, 0, len(page.Events))
	for _, e := range page.Events {
		v.Rows = append(v.Rows, auditRow(e, links, loc))
	}
	if n := len(page.Events); n > 0 {
		if page.HasNewer {
			newer := f
			newer.Before, newer.After = 0, page.Events[0].ID
			v.NewerHref = auditHref("/audit", newer)
		}
		if page.HasOlder {
			older := f
			older.Before, older.After = page.Events[n-1].ID, 0
			v.OlderHref = auditHref("/audit", older)
		}
	} else if f.Before > 0 || f.After > 0 {
		// Off either end of the results: offer the way back to the start.
		v.NewerHref = auditHref("/audit", f.Unpaged())
	}
	if p.Can(models.PermExportAudit, "") {
		v.ExportCSVHref = auditHref("/audit/export.csv", f.Unpaged())
		v.ExportNDJSONHref = auditHref("/audit/export.ndjson", f.Unpaged())
	}
	if p.Can(models.PermVerifyAudit, "") {
		v.VerifyHref = "/audit/verify"
	}
	return render(c, http.StatusOK, templates.AuditList(pg, v))
}

// renderAuditForm shows the filter as typed with its error, and no results:
// a mistake in a date is not a reason to lose the other fields.
func (s *Server) renderAuditForm(c echo.Context, errs templates.FieldErrors) error {
	q := c.QueryParams()
	get := func(name string) string {
		v := strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return -1
			}
			return r
		}, q.Get(name))
		return models.Clip(strings.TrimSpace(v), 200)
	}
	v := templates.AuditListView{Since: get("since"), Until: get("until"), Actor: get("actor"), Department: get("department"),
		Event: get("event"), Outcome: get("outcome"), Text: get("q"), Zone: s.auditZone().String(), Filtered: true, Errors: errs}
	pg, err := s.auditPage(c, &v, <-s.auditSideReads(c))
	if err != nil {
		return err
	}
	return render(c, formStatus, templates.AuditList(pg, v))
}

// auditSide is what an audit page reads beside its search: the people
// the filter suggests, and the approvals link.
type auditSide struct {
	people    []models.User
	err       error
	approvals bool
	pending   int
}

// auditSideReads makes them off the page's critical path, side by side:
// the search, read beside the session (prefetch), may be done before the
// page asks for them. They only read; the channel holds the answer, so a
// page that fails first leaves nothing waiting.
func (s *Server) auditSideReads(c echo.Context) <-chan auditSide {
	out := make(chan auditSide, 1)
	p, ctx := principal(c), c.Request().Context()
	go func() {
		var r auditSide
		var people sync.WaitGroup
		if p.Can(models.PermViewUsers, "") {
			people.Go(func() { r.people, r.err = s.people.Contacts(ctx, p) })
		}
		r.approvals, r.pending = s.approvalsNav(ctx, p)
		people.Wait()
		out <- r
	}()
	return out
}

// auditPage is the page around v, its suggestions filled from r.
func (s *Server) auditPage(c echo.Context, v *templates.AuditListView, r auditSide) (templates.Page, error) {
	for _, spec := range models.Catalogue {
		v.Codes = append(v.Codes, spec.Code)
	}
	for _, u := range r.people {
		v.People = append(v.People, templates.Option{Value: u.Email, Label: u.Name})
	}
	return s.pageWith(c, "Audit trail", func(*models.Principal) (bool, int) { return r.approvals, r.pending }), r.err
}

func auditRow(e models.AuditEvent, links *auditLinks, loc *time.Location) templates.AuditRow {
	name := e.ActorName
	if name == "" {
		name = e.Actor
	}
	return templates.AuditRow{
		ID: e.ID, Href: "/audit/" + strconv.FormatInt(e.ID, 10),
		Time: e.Time.In(loc).Format("2006-01-02 15:04:05"), Code: e.Code,
		Actor: e.Actor, ActorName: name, ActorHref: links.actor(e.Actor),
		Department: e.Department, DepartmentHref: links.department(e.Department),
		Target: e.Target, Outcome: string(e.Outcome), SourceIP: e.SourceIP,
	}
}

// auditLinks are a page's links that narrow its filter to one row's actor
// or department, each made once: a page's events share a few of them.
type auditLinks struct {
	f                   models.AuditFilter // the page's, unpaged
	actors, departments map[string]string
}

func newAuditLinks(f models.AuditFilter) *auditLinks {
	return &auditLinks{f: f.Unpaged(), actors: map[string]string{}, departments: map[string]string{}}
}

func (l *auditLinks) actor(a string) string {
	return l.link(l.actors, a, func(f *models.AuditFilter) { f.Actor = a })
}

func (l *auditLinks) department(d string) string {
	return l.link(l.departments, d, func(f *models.AuditFilter) { f.Department = d })
}

// link is made[key], made by narrowing the page's filter with narrow.
func (l *auditLinks) link(made map[string]string, key string, narrow func(*models.AuditFilter)) string {
	href, ok := made[key]
	if !ok {
		f := l.f
		narrow(&f)
		href = auditHref("/audit", f)
		made[key] = href
	}
	return href
}

// auditHref is path with the filter's query, if any.
func auditHref(path string, f models.AuditFilter) string {
	if f.Limit == 0 {
		f.Limit = models.AuditPageDefault
	}
	q := f.Query()
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// auditEvent is GET /audit/:id: one event with every field.
func (s *Server) auditEvent(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return models.Errorf(models.ErrNotFound, "There is no audit event %q.", models.Clip(c.Param("id"), 40))
	}
	e, err := s.trail.AuditEvent(c.Request().Context(), principal(c), id)
	if err != nil {
		return err
	}
	loc := s.auditZone()
	v := templates.AuditEventView{
		ID: e.ID, Time: e.Time.In(loc).Format("2006-01-02 15:04:05.000000 MST"), TimeUTC: e.Time.UTC().Format(time.RFC3339Nano),
		Code: e.Code, Actor: e.Actor, ActorName: e.ActorName, Roles: strings.Join(e.ActorRoles, ", "),
		Department: e.Department, Target: e.Target, Outcome: string(e.Outcome), SourceIP: e.SourceIP,
		UserAgent: e.UserAgent, RequestID: e.RequestID, Detail: prettyDetail(e.Detail),
		PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash),
		NextHref: "/audit/" + strconv.FormatInt(e.ID+1, 10),
	}
	if e.ID > 1 {
		v.PrevHref = "/audit/" + strconv.FormatInt(e.ID-1, 10)
	}
	for _, spec := range models.Catalogue {
		if spec.Code == e.Code {
			v.Meaning = spec.Meaning
		}
	}
	return render(c, http.StatusOK, templates.AuditEvent(s.page(c, "Audit event "+strconv.FormatInt(e.ID, 10)), v))
}

// prettyDetail indents the detail for reading; keys come out sorted.
func prettyDetail(d map[string]any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // templ escapes for HTML
	enc.SetIndent("", "  ")
	if d == nil {
		d = map[string]any{}
	}
	if err := enc.Encode(d); err != nil {
		return "{}"
	}
	return strings.TrimSpace(b.String())
}
