package requests

import (
	"cmp"
	"context"
	"slices"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// maxCallbackBatch bounds how many callbacks share one transaction.
const maxCallbackBatch = 32

// The callbacks that end an open request are recorded together (the
// service's batch, a groupcommit.Queue running endBatch): those that
// arrive while a transaction commits share the next one, so they share its
// WAL flush and one turn at the audit chain's head. Each request's end and
// its audit event still commit together.

type batchReq struct {
	ctx context.Context
	j   *job
}

// batchResult: ended, the callback's request was open and is ended;
// otherwise it was not found open and nothing was written.
type batchResult struct {
	ended bool
	err   error
}

// endOpen ends j's request if it is open (the usual callback), in a
// transaction shared with the callbacks arriving at the same moment. It
// returns once that transaction has committed or failed: even if ctx ends
// meanwhile, since the end may be committing, and ThingSpace must not be
// told it was not recorded.
func (s *Service) endOpen(ctx context.Context, j *job) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	res := s.batch.Do(batchReq{ctx: ctx, j: j})
	return res.ended, res.err
}

// endBatch records a batch of callbacks and says how each went.
func (s *Service) endBatch(reqs []batchReq) []batchResult {
	out := make([]batchResult, len(reqs))
	var live []int // the callbacks still waited for, by position
	for i, r := range reqs {
		if err := r.ctx.Err(); err != nil {
			out[i].err = err
			continue
		}
		live = append(live, i)
	}
	if len(live) == 0 {
		return out
	}
	// In request id order, so two instances' batches lock shared rows in
	// one order; a redelivery stays after the message it repeats (the one
	// endAll records).
	slices.SortStableFunc(live, func(a, b int) int { return cmp.Compare(reqs[a].j.m.RequestID, reqs[b].j.m.RequestID) })
	ctx := context.WithoutCancel(reqs[live[0]].ctx)
	batch := make([]batchReq, len(live))
	for k, i := range live {
		batch[k] = reqs[i]
	}
	ended, err := s.endAll(ctx, batch)
	if err == nil || len(live) == 1 {
		for k, i := range live {
			out[i] = batchResult{ended: err == nil && ended[k], err: err}
		}
		return out
	}
	// One bad callback must not fail its neighbours: each alone.
	for k, i := range live {
		ok, err := s.endAll(ctx, batch[k:k+1])
		out[i] = batchResult{ended: err == nil && ok[0], err: err}
	}
	return out
}

// endAll ends the open requests of reqs in one transaction of three round
// trips (store.EndOpenRequestsAudited): every request's row, then its
// application's callback and its audit event.
func (s *Service) endAll(ctx context.Context, reqs []batchReq) ([]bool, error) {
	ended, first := make([]bool, len(reqs)), make([]bool, len(reqs))
	ends := make([]store.OpenEnd, 0, len(reqs))
	hows := make(map[string]ending, len(reqs))
	for i, r := range reqs {
		j := r.j
		if _, twice := hows[j.m.RequestID]; twice {
			continue // a redelivery: the slow path finds the request ended
		}
		first[i] = true
		how := ending{status: j.st, how: models.EndedByCallback, fault: j.fault, at: s.now()}
		hows[j.m.RequestID] = how
		ends = append(ends, store.OpenEnd{RequestID: j.m.RequestID, Account: j.l.AccountName, End: how.end()})
	}
	rows, err := s.db.EndOpenRequestsAudited(ctx, ends, func(r models.DeviceRequest) *models.AuditEvent {
		return endedEvent(r, hows[r.RequestID])
	}, s.now())
	if err != nil {
		return ended, err
	}
	for i, r := range reqs {
		_, ok := rows[r.j.m.RequestID]
		ended[i] = ok && first[i]
	}
	return ended, nil
}
