// Package auditlog holds the auditors' use cases: search the trail, open
// one event, export the filtered set, verify the chain. The trail itself
// (append-only, hash-chained) is written by internal/store.
package auditlog

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// Service is the audit trail's use cases.
type Service struct {
	db  *store.DB
	log *slog.Logger
	now func() time.Time
}

// New builds the service.
func New(db *store.DB, log *slog.Logger, now func() time.Time) *Service {
	return &Service{db: db, log: log, now: now}
}

// auditScope is the departments whose events p may read: nil for all
// (admins, auditors), otherwise the lead's own departments (never nil, so an
// empty list sees nothing).
func auditScope(p *models.Principal) []string {
	if p.SeesAll(models.PermViewAudit) {
		return nil
	}
	d := p.Departments(models.PermViewAudit)
	if d == nil {
		d = []string{}
	}
	return d
}

// SearchAudit returns one page of the trail as p may see it, newest first.
func (s *Service) SearchAudit(ctx context.Context, p *models.Principal, f models.AuditFilter) (models.AuditPage, error) {
	if err := p.Require(models.PermViewAudit, ""); err != nil {
		return models.AuditPage{}, err
	}
	f = pageFilter(f)
	limit := f.Limit - 1
	events, err := s.search(ctx, f, auditScope(p))
	if err != nil {
		return models.AuditPage{}, err
	}
	page := models.AuditPage{Events: events}
	more := len(events) > limit
	if f.After > 0 {
		// Ids just above the cursor: the surplus is the newest.
		if more {
			page.Events = events[1:]
		}
		page.HasNewer, page.HasOlder = more, true
	} else {
		if more {
			page.Events = events[:limit]
		}
		page.HasNewer, page.HasOlder = f.Before > 0, more
	}
	return page, nil
}

// AuditEvent returns one event. A lead asking for another department's
// event is told it does not exist, not that it is forbidden: the trail does
// not confirm what it holds to those who may not read it.
func (s *Service) AuditEvent(ctx context.Context, p *models.Principal, id int64) (models.AuditEvent, error) {
	if err := p.Require(models.PermViewAudit, ""); err != nil {
		return models.AuditEvent{}, err
	}
	e, err := s.db.GetAuditEvent(ctx, id)
	if err != nil {
		return e, err
	}
	if scope := auditScope(p); scope != nil && !slices.Contains(scope, e.Department) {
		return models.AuditEvent{}, models.Errorf(models.ErrNotFound, "There is no audit event %d.", id)
	}
	return e, nil
}

// Export formats.
const (
	ExportCSV    = "csv"
	ExportNDJSON = "ndjson"
)

// ExportAudit writes every event matching f (page cursor ignored) to w as
// CSV or NDJSON, streamed row by row, and then records the export in the
// trail with its format, filters and row count. An export cut short (the
// client left, the database failed) is recorded as a failure with the rows
// written so far.
func (s *Service) ExportAudit(ctx context.Context, p *models.Principal, meta models.RequestMeta, f models.AuditFilter, format string, w io.Writer) (int64, error) {
	if err := p.Require(models.PermExportAudit, ""); err != nil {
		return 0, err
	}
	s.flushAuditWindows(ctx)
	var enc exportEncoder
	switch format {
	case ExportCSV:
		enc = newCSVExport(w)
	case ExportNDJSON:
		enc = newNDJSONExport(w)
	default:
		return 0, models.Errorf(models.ErrInvalid, "format: use csv or ndjson, not %q.", models.Clip(format, 20))
	}
	f = f.Unpaged()
	var scope []string
	if !p.SeesAll(models.PermExportAudit) {
		scope = []string{}
	}
	n, err := s.exportRows(ctx, f, scope, enc)
	e := models.NewEvent(models.EvAuditExported, p, meta).
		With("format", format, "filters", filterDetail(f), "rows", n)
	if err != nil {
		e.Outcome = models.OutcomeFailure
		e.With("reason", "interrupted")
	}
	// Recorded even when the request was cancelled: rows may have left.
	if aerr := s.db.AuditAlone(context.WithoutCancel(ctx), e); aerr != nil {
		return n, errors.Join(err, fmt.Errorf("record export: %w", aerr))
	}
	return n, err
}

func (s *Service) exportRows(ctx context.Context, f models.AuditFilter, scope []string, enc exportEncoder) (int64, error) {
	if err := enc.Header(); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	n, err := s.db.ExportAudit(ctx, f, scope, enc.Event)
	if err != nil {
		return n, fmt.Errorf("export after %d rows: %w", n, err)
	}
	if err := enc.Close(); err != nil {
		return n, fmt.Errorf("export: %w", err)
	}
	return n, nil
}

// filterDetail is the filter as the audit detail records it.
func filterDetail(f models.AuditFilter) map[string]any {
	out := map[string]any{}
	for k, v := range f.Query() {
		out[k] = v[0]
	}
	return out
}

// VerifyAudit walks the whole chain and records that it was checked, with
// the result: a broken chain is recorded as a failure so that it stands out.
func (s *Service) VerifyAudit(ctx context.Context, p *models.Principal, meta models.RequestMeta) (store.VerifyResult, error) {
	return s.verify(ctx, p, meta, s.db.VerifyAudit)
}

// VerifyAuditIncremental walks the chain from its latest checkpoint (the
// last successful verification, full or not), so it costs the events
// written since; without a checkpoint it walks the whole chain. An edit
// before the checkpoint is found only by VerifyAudit.
func (s *Service) VerifyAuditIncremental(ctx context.Context, p *models.Principal, meta models.RequestMeta) (store.VerifyResult, error) {
	return s.verify(ctx, p, meta, s.db.VerifyAuditIncremental)
}

// verify runs walk and records the audit.verified event. A successful one
// is the next checkpoint: it names the last event walked and its hash, and
// being chained itself, it cannot be edited or forged in place without
// breaking the chain after the point it names.
func (s *Service) verify(ctx context.Context, p *models.Principal, meta models.RequestMeta,
	walk func(context.Context) (store.VerifyResult, error)) (store.VerifyResult, error) {
	if err := p.Require(models.PermVerifyAudit, ""); err != nil {
		return store.VerifyResult{}, err
	}
	s.flushAuditWindows(ctx)
	res, err := walk(ctx)
	if err != nil {
		return res, fmt.Errorf("verify audit chain: %w", err)
	}
	e := models.NewEvent(models.EvAuditVerified, p, meta).With("ok", res.OK, "events", res.Events, "full", res.Full, "from", res.From)
	if res.Checkpoint != 0 {
		e.With("checkpoint", res.Checkpoint)
	}
	if res.OK {
		e.With(store.CheckpointThrough, res.Through, store.CheckpointHash, hex.EncodeToString(res.ThroughHash))
	} else {
		e.Outcome = models.OutcomeFailure
		e.With("first_bad", res.FirstBad, "reason", res.Reason)
	}
	if err := s.db.AuditAlone(ctx, e); err != nil {
		return res, fmt.Errorf("record verification: %w", err)
	}
	return res, nil
}

// flushAuditWindows writes the counts of ended anonymous-failure windows
// before the trail is read, so a reader sees them. A failure is logged: the
// counts wait for the next flush and the reader still gets the trail.
func (s *Service) flushAuditWindows(ctx context.Context) {
	if err := s.db.FlushAuditWindows(ctx, s.now()); err != nil {
		s.log.Error("flush audit windows", "err", err)
	}
}
