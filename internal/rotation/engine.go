// Package rotation is the rotation engine: the durable state machine of a
// password reset (docs/design.md, "The rotation state machine"), the
// recovery of rotations a dead process left unfinished, and the
// scheduler that rotates credentials reaching their maximum age.
package rotation

import (
	"context"
	"log/slog"
	"time"

	"github.com/uwsportal/uwsportal/internal/approvals"
	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/internal/metrics"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/upstream"
	"github.com/uwsportal/uwsportal/models"
)

// Result is what a rotation did, for the page and the command line.
type Result struct {
	RunID        int64
	Result       string // models.RunRotated, RunRejected, RunNotRotated, RunAttention or RunUnknown
	State        models.CredentialState
	Version      int
	UpstreamCode string
	Message      string // safe to show
}

// Rotated reports whether the credential now has a new, verified password.
func (r Result) Rotated() bool { return r.Result == models.RunRotated }

// Deps are what Engine is built from.
type Deps struct {
	DB          *store.DB
	Keys        *secret.Keyring
	Upstream    *upstream.Service
	Departments *departments.Service
	// Approvals spends a second person's approval where the department
	// requires one to rotate now (manual rotations only).
	Approvals *approvals.Service
	Log       *slog.Logger
	Metrics   *metrics.Metrics // may be nil
	Now       func() time.Time
}

// Engine runs rotations. Every run is detached from its caller's
// cancellation (a closed browser tab or a SIGTERM must not leave a reset
// half done); Wait lets shutdown give in-flight runs their grace period.
type Engine struct {
	db      *store.DB
	keys    *secret.Keyring
	up      *upstream.Service
	depts   *departments.Service
	appr    *approvals.Service
	log     *slog.Logger
	metrics *metrics.Metrics
	now     func() time.Time

	inflight flights
}

// New builds the engine.
func New(d Deps) *Engine {
	return &Engine{db: d.DB, keys: d.Keys, up: d.Upstream, depts: d.Departments, appr: d.Approvals, log: d.Log, metrics: d.Metrics, now: d.Now}
}

// Wait is for shutdown: from its call on no rotation starts (one asked
// for is refused as unavailable), and it blocks until every rotation in
// flight has ended or ctx ends. Each rotation ends by its own deadline
// (upstream's RotationDeadline), so shutdown gives Wait that long,
// whatever its own grace period: closing the database under a rotation
// that holds a new password would lose it.
func (e *Engine) Wait(ctx context.Context) error { return e.inflight.wait(ctx) }

// Deadline is how long a rotation may run; shutdown waits that long.
func (e *Engine) Deadline() time.Duration { return e.up.RotationDeadline() }

// run is one run of the state machine.
type run struct {
	id      int64
	row     store.CredentialRow // as it was when the run started (or was recovered)
	old     secret.Secret       // the password at row.Version
	p       *models.Principal
	meta    models.RequestMeta
	held    *upstream.AccountLock // the account's lock, held for the whole run
	lease   *upstream.Lease       // reserved for the next login, if any
	session string                // the cached session the reset may use
	// recovered: recovery took the run over from a dead process (whose
	// account lock it holds), so that process's lease may be taken over.
	recovered bool
}

func (r *run) slug() string           { return r.row.Slug }
func (r *run) proto() models.Protocol { return models.Protocol(r.row.Protocol) }
func (r *run) who(purpose string) upstream.Who {
	return upstream.Who{P: r.p, Meta: r.meta, Purpose: purpose, Department: r.row.Slug, Protocol: r.proto(), Run: r.id, TakeOver: r.recovered}
}

func (e *Engine) event(r *run, code string) *models.AuditEvent {
	ev := models.NewEvent(code, r.p, r.meta).With("run_id", r.id)
	ev.Department, ev.Target = r.slug(), "credential:"+r.slug()
	return ev
}

// Rotate asks ThingSpace for a new password for the department's
// credential, stores it the moment it arrives, and verifies it with a login.
// The returned error says the rotation could not start (permission,
// conflict, guard); once started it runs to a defined end, reported in the
// result, even if ctx is cancelled.
func (e *Engine) Rotate(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, trigger models.RotationTrigger) (Result, error) {
	if err := p.Require(models.PermRotate, slug); err != nil {
		return Result{}, err
	}
	switch trigger {
	case "":
		trigger = models.TriggerManual
	case models.TriggerManual, models.TriggerScheduled, models.TriggerCLI:
	default:
		return Result{}, models.Errorf(models.ErrInvalid, "Unknown rotation trigger %q.", models.Clip(string(trigger), 20))
	}
	return e.rotate(context.WithoutCancel(ctx), p, meta, slug, trigger, 0)
}

// RotateNow is a person's manual rotation ("rotate now"). Where the
// department requires approval to rotate, approval is the person's
// approved request, spent in the transaction that starts the rotation,
// before anything is sent upstream; else it is ignored. Scheduled and
// command-line rotations (Rotate) never need one.
func (e *Engine) RotateNow(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, approval int64) (Result, error) {
	if err := p.Require(models.PermRotate, slug); err != nil {
		return Result{}, err
	}
	return e.rotate(context.WithoutCancel(ctx), p, meta, slug, models.TriggerManual, approval)
}

func (e *Engine) rotate(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, trigger models.RotationTrigger, approval int64) (Result, error) {
	return e.rotateFrom(ctx, p, meta, slug, starting{trigger: trigger, approval: approval}, nil)
}

// rotateFrom runs a rotation; started, if not nil, hears the run's id the
// moment its start is committed (before anything is sent upstream).
func (e *Engine) rotateFrom(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, how starting, started func(int64)) (Result, error) {
	if !e.inflight.begin() {
		return Result{}, errStopping
	}
	defer e.inflight.end()
	ctx, cancel := context.WithTimeout(ctx, e.up.RotationDeadline())
	defer cancel()
	pre, err := e.depts.Credential(ctx, slug)
	if err != nil {
		return Result{}, err
	}
	if err := e.up.Configured(models.Protocol(pre.Protocol)); err != nil {
		return Result{}, err
	}
	if err := e.rotatable(&pre); err != nil {
		return Result{}, err
	}
	// One holder per account: recovery skips a rotation whose owner lives,
	// and another instance wanting the account's session waits for it.
	held, err := e.up.LockAccount(ctx, pre.Username)
	if err != nil {
		return Result{}, err
	}
	defer held.Unlock()
	r, err := e.start(ctx, p, meta, pre, how, held)
	if err != nil {
		return Result{}, err
	}
	if started != nil {
		started(r.id)
	}
	res := e.reset(ctx, r)
	e.count(res)
	return res, nil
}

func (e *Engine) count(res Result) {
	if e.metrics != nil {
		e.metrics.Rotations.WithLabelValues(res.Result).Inc()
	}
}

// start moves the credential from idle to resetting and records the run,
// committed before anything is sent upstream (the first durability
// point). The row lock and the version read before the account lock make
// one rotation per credential across every instance. When no session is
// cached, the login's lease is reserved in the same transaction.
func (e *Engine) start(ctx context.Context, p *models.Principal, meta models.RequestMeta, pre store.CredentialRow, how starting, held *upstream.AccountLock) (*run, error) {
	trigger := how.trigger
	r := &run{p: p, meta: meta, held: held}
	tok, cached, err := e.up.Sessions().Get(ctx, store.AccountKey(pre.Username))
	if err != nil {
		return nil, err
	}
	err = e.db.WithTx(ctx, func(tx *store.Tx) error {
		row, err := e.db.Credential(ctx, tx, pre.Slug, true)
		if err != nil {
			return err
		}
		if row.Version != pre.Version || row.Username != pre.Username {
			return models.Errorf(models.ErrConflict, "A rotation of %s (or a replacement of its credential) was already in progress when this one was asked for; it has ended, and nothing more was done.", pre.Slug)
		}
		if err := e.rotatable(&row); err != nil {
			return err
		}
		used, err := e.appr.Consume(ctx, tx, p, meta, approvals.Need{DepartmentID: row.DepartmentID, Department: row.Slug,
			Required: row.ApproveRotate && trigger == models.TriggerManual, Action: models.ApproveRotate, ID: how.approval})
		if err != nil {
			return err
		}
		if r.old, err = upstream.Open(e.keys, &row); err != nil {
			return err
		}
		if r.id, err = e.db.InsertRun(ctx, tx, row.ID, row.DepartmentID, actorOf(p), p.Name, trigger); err != nil {
			return err
		}
		if err := e.db.StartRotation(ctx, tx, row.ID, r.id); err != nil {
			return err
		}
		r.row = row
		if !cached {
			if r.lease, err = e.up.Guard().TryReserve(ctx, tx, r.held, r.who(upstream.PurposeRotate), false); err != nil {
				return err
			}
		}
		if used != nil {
			if err := e.db.Audit(ctx, tx, used); err != nil {
				return err
			}
		}
		return e.db.Audit(ctx, tx, e.event(r, models.EvRotateStarted).With("trigger", string(trigger), "version", row.Version))
	})
	if err != nil {
		return nil, err
	}
	if cached {
		r.session = tok
	}
	return r, nil
}

// starting is how a run is asked for: its trigger and the approval a
// person offers for a manual one (0: none).
type starting struct {
	trigger  models.RotationTrigger
	approval int64
}

// rotatable says why a credential cannot start a rotation, if it cannot.
func (e *Engine) rotatable(row *store.CredentialRow) error {
	switch st := row.CredState(); {
	case st.Rotating():
		return models.Errorf(models.ErrConflict, "A rotation is already in progress for %s.", row.Slug)
	case st == models.StateQuarantined:
		return models.Errorf(models.ErrConflict, "The credential of %s is quarantined: %s", row.Slug, models.QuarantineAdvice(row.Username))
	case st == models.StateAttention:
		return models.Errorf(models.ErrConflict, "The credential of %s needs an administrator: %s", row.Slug, models.AttentionAdvice(row.Username))
	}
	return e.up.Rule().Refusal(row.CredState(), row.ConsecutiveFailures, row.FailuresSinceSuccess, false)
}

func actorOf(p *models.Principal) string {
	if p.Anonymous() {
		return models.ActorSystem
	}
	return p.Actor
}
