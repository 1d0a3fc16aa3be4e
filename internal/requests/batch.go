package requests

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// maxCallbackBatch bounds how many callbacks share one transaction.
const maxCallbackBatch = 32

// batch is the callbacks that end an open request, recorded together:
// those that arrive while a transaction commits share the next one, so
// they share its WAL flush and one turn at the audit chain's head. Each
// request's end and its audit event still commit together.
type batch struct {
	once sync.Once
	reqs chan batchReq
}

type batchReq struct {
	ctx  context.Context
	j    *job
	done chan batchResult
}

// batchResult: ended, the callback's request was open and is ended;
// otherwise it was not found open and nothing was written.
type batchResult struct {
	ended bool
	err   error
}

// endOpen ends j's request if it is open (the usual callback), in a
// transaction shared with the callbacks arriving at the same moment. It
// returns once that transaction has committed or failed.
func (s *Service) endOpen(ctx context.Context, j *job) (bool, error) {
	s.batch.once.Do(func() {
		s.batch.reqs = make(chan batchReq, maxCallbackBatch)
		go s.batchLoop()
	})
	req := batchReq{ctx: ctx, j: j, done: make(chan batchResult, 1)}
	select {
	case s.batch.reqs <- req:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	// Once queued, wait for the outcome even if ctx ends: the end may be
	// committing, and ThingSpace must not be told it was not recorded.
	res := <-req.done
	return res.ended, res.err
}

func (s *Service) batchLoop() {
	for first := range s.batch.reqs {
		reqs := []batchReq{first}
	drain:
		for len(reqs) < maxCallbackBatch {
			select {
			case r := <-s.batch.reqs:
				reqs = append(reqs, r)
			default:
				break drain
			}
		}
		s.endBatch(reqs)
	}
}

func (s *Service) endBatch(reqs []batchReq) {
	live := reqs[:0]
	for _, r := range reqs {
		if err := r.ctx.Err(); err != nil {
			r.done <- batchResult{err: err}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	// In request id order, so two instances' batches lock shared rows in
	// one order; a redelivery stays after the message it repeats (the one
	// endAll records).
	slices.SortStableFunc(live, func(a, b batchReq) int { return cmp.Compare(a.j.m.RequestID, b.j.m.RequestID) })
	ctx := context.WithoutCancel(live[0].ctx)
	ended, err := s.endAll(ctx, live)
	if err == nil || len(live) == 1 {
		for i, r := range live {
			r.done <- batchResult{ended: err == nil && ended[i], err: err}
		}
		return
	}
	// One bad callback must not fail its neighbours: each alone.
	for _, r := range live {
		ok, err := s.endAll(ctx, []batchReq{r})
		r.done <- batchResult{ended: err == nil && ok[0], err: err}
	}
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
