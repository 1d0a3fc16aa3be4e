// Package service holds the portal's use cases. Each method takes a context,
// the acting principal and plain arguments (never an echo.Context), checks
// the permission, does the work and writes its audit event in one
// transaction.
package service

import (
	"log/slog"
	"time"

	"github.com/uwsportal/uwsportal/internal/metrics"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// Service is the set of use cases; one per process.
type Service struct {
	DB      *store.DB
	Log     *slog.Logger
	Metrics *metrics.Metrics
	Now     func() time.Time
	// Keyring seals credentials and cached sessions; Upstream reaches
	// ThingSpace (upstream.go). Both are needed by the credential use cases.
	Keyring  *secret.Keyring
	Upstream *Upstream
	// AdminGroups are IdP groups whose members are admins (bootstrap).
	AdminGroups []string
}

// New builds the service layer over db.
func New(db *store.DB, log *slog.Logger, m *metrics.Metrics) *Service {
	s := &Service{DB: db, Log: log, Metrics: m, Now: time.Now}
	if m != nil {
		db.AuditSink = auditSink{m: m, log: log}
	}
	return s
}

// require returns a forbidden error unless p holds perm for dept.
func require(p *models.Principal, perm models.Permission, dept string) error {
	if p.Anonymous() {
		return models.ErrUnauthorized
	}
	if !p.Can(perm, dept) {
		return models.Errorf(models.ErrForbidden, "You do not have permission to do that.")
	}
	return nil
}

type auditSink struct {
	m   *metrics.Metrics
	log *slog.Logger
}

func (a auditSink) AuditWritten() { a.m.AuditWrites.Inc() }

func (a auditSink) AuditFailed(err error) {
	a.m.AuditFailures.Inc()
	a.log.Error("audit write failed; the change it recorded was refused", "err", err)
}
