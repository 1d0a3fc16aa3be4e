package auditlog_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/auditlog"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

var (
	admin   = &models.Principal{Actor: "1", Name: "Ada", Grants: []models.Grant{{Role: models.RoleAdmin}}}
	auditor = &models.Principal{Actor: "2", Name: "Aud", Grants: []models.Grant{{Role: models.RoleAuditor}}}
	lead    = &models.Principal{Actor: "3", Name: "Lee", Grants: []models.Grant{{Role: models.RoleLead, Department: "fleet"}}}
	member  = &models.Principal{Actor: "4", Name: "Mem", Grants: []models.Grant{{Role: models.RoleMember, Department: "fleet"}}}
	meta    = models.RequestMeta{SourceIP: "192.0.2.1", UserAgent: "test", RequestID: "req-1"}
)

func newService(t *testing.T) (*auditlog.Service, *store.DB) {
	t.Helper()
	db := testdb.New(t)
	return auditlog.New(db, slog.New(slog.DiscardHandler), time.Now), db
}

// seed writes n events across two departments, with hostile cell values.
func seed(t *testing.T, db *store.DB, n int) {
	t.Helper()
	for i := range n {
		p := &models.Principal{Actor: fmt.Sprint(10 + i%3), Name: []string{"=HYPERLINK(\"http://evil\")", "+1+1", "Plain"}[i%3]}
		e := models.NewEvent(models.EvCredentialTested, p, models.RequestMeta{SourceIP: "10.0.0.9", UserAgent: "@agent", RequestID: fmt.Sprint("r", i)}).
			With("result", "ok", "note", "-2+3", "html", "<b>&</b>")
		e.Department = []string{"fleet", "billing"}[i%2]
		e.Target = "\tTAB"
		if err := db.AuditAlone(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

func pageIDs(p models.AuditPage) []int64 {
	var out []int64
	for _, e := range p.Events {
		out = append(out, e.ID)
	}
	return out
}

func TestSearchAuditPermissionsAndScope(t *testing.T) {
	t.Parallel()
	svc, db := newService(t)
	seed(t, db, 10)
	ctx := context.Background()
	for _, p := range []*models.Principal{admin, auditor} {
		page, err := svc.SearchAudit(ctx, p, models.AuditFilter{})
		if err != nil || len(page.Events) != 10 {
			t.Fatalf("%s: %v %d", p.Name, err, len(page.Events))
		}
	}
	page, err := svc.SearchAudit(ctx, lead, models.AuditFilter{})
	if err != nil || !slices.Equal(pageIDs(page), []int64{9, 7, 5, 3, 1}) {
		t.Fatalf("lead sees %v (%v)", pageIDs(page), err)
	}
	if _, err := svc.SearchAudit(ctx, member, models.AuditFilter{}); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("member: %v", err)
	}
	if _, err := svc.SearchAudit(ctx, nil, models.AuditFilter{}); !errors.Is(err, models.ErrUnauthorized) {
		t.Fatalf("anonymous: %v", err)
	}
	if e, err := svc.AuditEvent(ctx, lead, 3); err != nil || e.Department != "fleet" {
		t.Fatalf("own department: %v %+v", err, e)
	}
	if _, err := svc.AuditEvent(ctx, lead, 2); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("another department must look absent: %v", err)
	}
	if _, err := svc.AuditEvent(ctx, auditor, 2); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*models.Principal{lead, member} {
		if _, err := svc.ExportAudit(ctx, p, meta, models.AuditFilter{}, "csv", io.Discard); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("%s export: %v", p.Name, err)
		}
		if _, err := svc.VerifyAudit(ctx, p, meta); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("%s verify: %v", p.Name, err)
		}
	}
}

func TestSearchAuditPageLinks(t *testing.T) {
	t.Parallel()
	svc, db := newService(t)
	seed(t, db, 7)
	ctx := context.Background()
	p1, err := svc.SearchAudit(ctx, admin, models.AuditFilter{Limit: 3})
	if err != nil || !slices.Equal(pageIDs(p1), []int64{7, 6, 5}) || p1.HasNewer || !p1.HasOlder {
		t.Fatalf("first: %v %+v", err, p1)
	}
	p2, err := svc.SearchAudit(ctx, admin, models.AuditFilter{Limit: 3, Before: 5})
	if err != nil {
		t.Fatalf("second: %v", err)
	}
	if !slices.Equal(pageIDs(p2), []int64{4, 3, 2}) || !p2.HasNewer || !p2.HasOlder {
		t.Fatalf("second: %+v", p2)
	}
	p3, err := svc.SearchAudit(ctx, admin, models.AuditFilter{Limit: 3, Before: 2})
	if err != nil {
		t.Fatalf("last: %v", err)
	}
	if !slices.Equal(pageIDs(p3), []int64{1}) || p3.HasOlder {
		t.Fatalf("last: %+v", p3)
	}
	back, err := svc.SearchAudit(ctx, admin, models.AuditFilter{Limit: 3, After: 4})
	if err != nil {
		t.Fatalf("newer: %v", err)
	}
	if !slices.Equal(pageIDs(back), []int64{7, 6, 5}) || back.HasNewer {
		t.Fatalf("newer: %+v", back)
	}
	back, err = svc.SearchAudit(ctx, admin, models.AuditFilter{Limit: 3, After: 1})
	if err != nil {
		t.Fatalf("newer from the end: %v", err)
	}
	if !slices.Equal(pageIDs(back), []int64{4, 3, 2}) || !back.HasNewer {
		t.Fatalf("newer from the end: %+v", back)
	}
}

// The export holds exactly the events the pages show, in both formats, with
// formula cells neutralised, and is itself recorded.
func TestExportAuditMatchesPagesAndIsAudited(t *testing.T) {
	t.Parallel()
	svc, db := newService(t)
	seed(t, db, 25)
	ctx := context.Background()
	f := models.AuditFilter{Department: "fleet", Limit: 4}
	want := pagedIDsOldestFirst(t, svc, auditor, f)
	checkCSVExport(t, svc, f, want)
	checkNDJSONExport(t, svc, f, want)
	// Both exports were recorded, with their filters and row counts; the
	// newest record is the NDJSON export, made second.
	page, err := svc.SearchAudit(ctx, auditor, models.AuditFilter{CodePrefix: models.EvAuditExported})
	if err != nil || len(page.Events) != 2 {
		t.Fatalf("%v %d", err, len(page.Events))
	}
	e := page.Events[0]
	if e.Actor != auditor.Actor || e.SourceIP != meta.SourceIP || e.Detail["format"] != "ndjson" ||
		fmt.Sprint(e.Detail["rows"]) != strconv.Itoa(len(want)) || fmt.Sprint(e.Detail["filters"]) != "map[department:fleet]" {
		t.Fatalf("%+v", e)
	}
	if _, err := svc.ExportAudit(ctx, auditor, meta, f, "xlsx", io.Discard); !errors.Is(err, models.ErrInvalid) {
		t.Fatalf("format: %v", err)
	}
}

// pagedIDsOldestFirst follows the "older" links from the newest page of f
// to the last one: what a person paging through the search sees, in the
// export's (oldest first) order.
func pagedIDsOldestFirst(t *testing.T, svc *auditlog.Service, p *models.Principal, f models.AuditFilter) []int64 {
	t.Helper()
	var ids []int64
	for {
		page, err := svc.SearchAudit(context.Background(), p, f)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, pageIDs(page)...)
		if !page.HasOlder {
			break
		}
		f.Before = page.Events[len(page.Events)-1].ID
	}
	slices.Reverse(ids)
	return ids
}

// checkCSVExport exports f as CSV and checks the header, that every cell a
// spreadsheet would run as a formula is neutralised, and that the rows are
// exactly want, in order.
func checkCSVExport(t *testing.T, svc *auditlog.Service, f models.AuditFilter, want []int64) {
	t.Helper()
	var buf bytes.Buffer
	n, err := svc.ExportAudit(context.Background(), auditor, meta, f, auditlog.ExportCSV, &buf)
	if err != nil || n != int64(len(want)) {
		t.Fatalf("csv: %v %d", err, n)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], auditlog.ExportColumns) {
		t.Fatalf("header %v", recs[0])
	}
	var got []int64
	for _, r := range recs[1:] {
		id, err := strconv.ParseInt(r[0], 10, 64)
		if err != nil {
			t.Fatalf("csv id %q: %v", r[0], err)
		}
		got = append(got, id)
		checkCSVRowNeutralised(t, r)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("csv %v\npages %v", got, want)
	}
}

// checkCSVRowNeutralised checks one row of the seeded events: no cell
// starts a formula, the hostile values are quoted, and the detail is
// still the JSON that was written.
func checkCSVRowNeutralised(t *testing.T, r []string) {
	t.Helper()
	for i, cell := range r {
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Fatalf("column %s not neutralised: %q", auditlog.ExportColumns[i], cell)
		}
	}
	if r[4] != "Plain" && !strings.HasPrefix(r[4], "'") {
		t.Fatalf("actor_name %q", r[4])
	}
	if r[7] != "'\tTAB" || r[10] != "'@agent" || len(r[14]) != 64 || !strings.HasPrefix(r[1], "20") {
		t.Fatalf("row %v", r)
	}
	var detail map[string]any
	if err := json.Unmarshal([]byte(r[12]), &detail); err != nil || detail["html"] != "<b>&</b>" {
		t.Fatalf("detail %q: %v", r[12], err)
	}
}

// checkNDJSONExport exports f as NDJSON and checks that every line is a
// whole event, values unescaped (NDJSON is not for spreadsheets), and that
// the lines are exactly want, in order.
func checkNDJSONExport(t *testing.T, svc *auditlog.Service, f models.AuditFilter, want []int64) {
	t.Helper()
	var buf bytes.Buffer
	n, err := svc.ExportAudit(context.Background(), auditor, meta, f, auditlog.ExportNDJSON, &buf)
	if err != nil || n != int64(len(want)) {
		t.Fatalf("ndjson: %v %d", err, n)
	}
	var got []int64
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var line struct {
			ID         int64          `json:"id"`
			Department string         `json:"department"`
			ActorRoles []string       `json:"actor_roles"`
			Detail     map[string]any `json:"detail"`
			Hash       string         `json:"hash"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("%s: %v", sc.Bytes(), err)
		}
		if line.Department != "fleet" || line.Detail["note"] != "-2+3" || len(line.Hash) != 64 || line.ActorRoles == nil {
			t.Fatalf("line %s", sc.Bytes())
		}
		got = append(got, line.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ndjson %v\npages %v", got, want)
	}
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("client went away")
	}
	w.after--
	return len(p), nil
}

func TestExportCutShortIsRecordedAsFailure(t *testing.T) {
	t.Parallel()
	svc, db := newService(t)
	seed(t, db, 3000) // more than the 64 KiB buffer
	ctx := context.Background()
	if _, err := svc.ExportAudit(ctx, admin, meta, models.AuditFilter{}, auditlog.ExportCSV, &failingWriter{after: 1}); err == nil {
		t.Fatal("want the write error")
	}
	page, err := svc.SearchAudit(ctx, admin, models.AuditFilter{CodePrefix: models.EvAuditExported})
	if err != nil || len(page.Events) != 1 || page.Events[0].Outcome != models.OutcomeFailure {
		t.Fatalf("%v %+v", err, page.Events)
	}
}

func TestVerifyAuditIsRecorded(t *testing.T) {
	t.Parallel()
	svc, db := newService(t)
	seed(t, db, 5)
	ctx := context.Background()
	res, err := svc.VerifyAudit(ctx, auditor, meta)
	if err != nil || !res.OK || res.Events != 5 {
		t.Fatalf("%v %+v", err, res)
	}
	e, err := svc.AuditEvent(ctx, auditor, 6)
	if err != nil || e.Code != models.EvAuditVerified || e.Outcome != models.OutcomeSuccess || fmt.Sprint(e.Detail["events"]) != "5" {
		t.Fatalf("%v %+v", err, e)
	}
	for _, stmt := range []string{"ALTER TABLE audit_events DISABLE TRIGGER USER", "UPDATE audit_events SET actor = 'mallory' WHERE id = 3", "ALTER TABLE audit_events ENABLE TRIGGER USER"} {
		if _, err := db.Pool.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	res, err = svc.VerifyAudit(ctx, admin, meta)
	if err != nil || res.OK || res.FirstBad != 3 {
		t.Fatalf("%v %+v", err, res)
	}
	e, err = svc.AuditEvent(ctx, admin, 7)
	if err != nil || e.Outcome != models.OutcomeFailure || fmt.Sprint(e.Detail["first_bad"]) != "3" {
		t.Fatalf("%v %+v", err, e)
	}
}
