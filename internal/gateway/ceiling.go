package gateway

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// MaxCeiling bounds the ceiling an admin may set (calls per second).
const MaxCeiling = 1000

// The Uwsportal-Limit header of a 429 names the limit that was hit.
const (
	HeaderLimit      = "Uwsportal-Limit"
	LimitClient      = "client"      // the client's own token bucket
	LimitDepartment  = "department"  // the department's ceiling, all its clients together
	LimitConcurrency = "concurrency" // the client's calls in flight in this instance
)

// Ceiling is a department's ceiling on calls per second to ThingSpace
// through the gateway, all its API clients together.
type Ceiling struct {
	PerSecond float64
	Default   bool // no admin set one: the portal's default applies
}

// ceiling is the department's answer for a device call, whose token
// callerWay took with the caller: 429 naming the department's ceiling when
// its bucket was empty.
func ceiling(w store.GatewayWay) error {
	if w.Taken {
		return nil
	}
	return throttled(w.Wait, LimitDepartment, "department_ceiling",
		fmt.Sprintf("The department's ceiling of %s calls per second to ThingSpace, shared by all its API clients, was reached.", perSecond(w.Rate)))
}

// refund gives back the department's token a device call took with its
// caller and was then refused for (its scope, its body, a replay...): it
// sent nothing upstream.
func (s *Service) refund(q *request, w store.GatewayWay) {
	if !w.Taken {
		return
	}
	if err := s.db.RefundGatewayWay(context.WithoutCancel(q.r.Context()), q.client.DepartmentID, w.Rate); err != nil {
		s.log.ErrorContext(q.r.Context(), "gateway: give back the department's token", "client", q.client.ID, "request_id", q.meta.RequestID, "err", err)
	}
}

// Ceiling reads dept's ceiling (for those who manage its clients).
func (s *Service) Ceiling(ctx context.Context, p *models.Principal, slug string) (Ceiling, error) {
	if err := p.Require(models.PermManageAPIClients, slug); err != nil {
		return Ceiling{}, err
	}
	d, err := s.db.Department(ctx, slug)
	if err != nil {
		return Ceiling{}, err
	}
	v, set, err := s.db.GatewayCeiling(ctx, d.ID)
	if err != nil || !set {
		return Ceiling{PerSecond: s.limits.DepartmentPerSecond, Default: true}, err
	}
	return Ceiling{PerSecond: v}, nil
}

// SetCeiling sets dept's ceiling (admins; 0: back to the default). It
// holds from the next call on every instance.
func (s *Service) SetCeiling(ctx context.Context, p *models.Principal, meta models.RequestMeta, slug string, perSec float64) error {
	if err := p.Require(models.PermManageDepartments, slug); err != nil {
		return err
	}
	if math.IsNaN(perSec) || perSec < 0 || perSec > MaxCeiling || (perSec > 0 && perSec < 0.1) {
		return models.Errorf(models.ErrInvalid, "The ceiling is between 0.1 and %d calls per second (empty or 0: the default, %s).", MaxCeiling, perSecond(s.limits.DepartmentPerSecond))
	}
	d, err := s.db.Department(ctx, slug)
	if err != nil {
		return err
	}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		if err := s.db.SetGatewayCeiling(ctx, tx, d.ID, perSec, p.Actor, s.now()); err != nil {
			return err
		}
		e := models.NewEvent(models.EvDepartmentUpdated, p, meta).With("changes", []string{"gateway_ceiling"},
			"gateway_ceiling", perSecond(perSec))
		e.Department, e.Target = slug, "department:"+slug
		return s.db.Audit(ctx, tx, e)
	})
}

// perSecond writes a rate for people ("default" for 0).
func perSecond(v float64) string {
	if v == 0 {
		return "default"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// rateText describes the client's own bucket for its 429.
func (l Limits) rateText() string {
	return fmt.Sprintf("This API client's rate limit (%s calls per second, bursts of %s) was reached.", perSecond(l.PerSecond), perSecond(l.Burst))
}
