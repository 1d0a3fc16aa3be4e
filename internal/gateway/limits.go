package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"strings"
	"time"
)

// admit takes a token from the client's bucket (shared by every
// instance): 429 with Retry-After when it is empty. After caller, whose
// statement tried the bucket already, it only says how long to wait: a
// second try could take a token the department's ceiling, read with the
// first, never saw.
func (s *Service) admit(q *request) error {
	if q.admitted {
		return nil // caller took the token already
	}
	var ok bool
	var wait time.Duration
	var err error
	if q.tried {
		wait, err = s.db.BucketWait(q.r.Context(), q.client.ID, s.limits.PerSecond, s.now())
	} else {
		ok, wait, err = s.db.TakeGatewayToken(q.r.Context(), q.client.ID, s.limits.Burst, s.limits.PerSecond, s.now())
	}
	if err != nil {
		return err
	}
	if !ok {
		return throttled(wait, LimitClient, "rate_limit", s.limits.rateText())
	}
	return nil
}

// slot holds one of the client's concurrent calls in this instance.
func (s *Service) slot(id string) (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inFlight[id] >= s.limits.MaxConcurrent {
		return nil, false
	}
	s.inFlight[id]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.inFlight[id]--; s.inFlight[id] <= 0 {
			delete(s.inFlight, id)
		}
	}, true
}

// idempotency is an action's Idempotency-Key, once claimed.
type idempotency struct {
	key     string
	claimed bool
}

// claim looks the action's Idempotency-Key up: ok false and the first
// answer written when the key was used with the same body; a refusal when
// it was used with another operation or body, or the first request is
// in flight.
func (s *Service) claim(q *request, body []byte) (idem idempotency, replayed bool, err error) {
	key := q.r.Header.Get("Idempotency-Key")
	if key == "" {
		return idempotency{}, false, nil
	}
	if len(key) > 255 || strings.IndexFunc(key, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return idempotency{}, false, errIdemKey
	}
	// The key is bound to the operation as well as the body: the same
	// body may ask for a suspend or a restore.
	sum := sha256.Sum256(append([]byte(q.op+"\x00"), body...))
	prior, claimed, err := s.db.ClaimIdempotency(q.r.Context(), q.client.ID, key, sum[:], s.now(), IdempotentKeep)
	switch {
	case err != nil:
		return idempotency{}, false, err
	case claimed:
		return idempotency{key: key, claimed: true}, false, nil
	case !bytes.Equal(prior.BodyHash, sum[:]):
		return idempotency{}, false, errIdemConflict
	case prior.Status == 0:
		return idempotency{}, false, errIdemBusy
	}
	q.w.Header().Set("Content-Type", "application/json")
	q.w.Header().Set("Idempotent-Replayed", "true")
	q.w.WriteHeader(prior.Status)
	_, _ = q.w.Write(prior.Body)
	return idempotency{}, true, nil
}

// keep stores the answer to a claimed key; release gives the key back
// when nothing was sent upstream. Both are done even when the application
// went away meanwhile: its retry with the same key must find the answer
// (or a free key), not a request in progress for as long as keys are kept.
func (s *Service) keep(q *request, idem idempotency, status int, body []byte) {
	if !idem.claimed {
		return
	}
	if err := s.db.FinishIdempotency(context.WithoutCancel(q.r.Context()), q.client.ID, idem.key, status, body); err != nil {
		s.log.ErrorContext(q.r.Context(), "gateway: keep idempotent answer", "client", q.client.ID, "request_id", q.meta.RequestID, "err", err)
	}
}

func (s *Service) release(q *request, idem idempotency) {
	if !idem.claimed {
		return
	}
	if err := s.db.ReleaseIdempotency(context.WithoutCancel(q.r.Context()), q.client.ID, idem.key); err != nil {
		s.log.ErrorContext(q.r.Context(), "gateway: release idempotency key", "client", q.client.ID, "request_id", q.meta.RequestID, "err", err)
	}
}
