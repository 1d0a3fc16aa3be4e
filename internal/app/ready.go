package app

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/uwsportal/uwsportal/internal/clock"
)

// keyCheckTTL is how long a passed master key check is remembered: the
// check reads every table with a key_id column, and probes come every few
// seconds. A failed check is not remembered, so a fixed key shows at once.
const keyCheckTTL = 30 * time.Second

// readiness remembers the last passed key check.
type readiness struct {
	mu     sync.Mutex
	passed *clock.Stopwatch
}

// Ready says whether this instance may serve (/readyz): the database
// answers, the schema is one this binary runs against (at or ahead of what
// it needs, within what it understands), and the master keys open every
// sealed row's key. detail is the probe's answer either way.
func (a *App) Ready(ctx context.Context) (detail map[string]any, err error) {
	if err := a.DB.Ping(ctx); err != nil {
		a.Log.Warn("readyz: database does not answer", "err", err)
		return map[string]any{}, errors.New("database does not answer")
	}
	sch, err := a.DB.Schema(ctx)
	if err != nil {
		a.Log.Warn("readyz: schema version", "err", err)
		return map[string]any{}, errors.New("cannot read schema version")
	}
	detail = map[string]any{"schema": sch}
	if err := sch.Ready(); err != nil {
		return detail, err
	}
	if err := a.ready.check(ctx, a.CheckKeys); err != nil {
		// The message names key IDs (not secret) so the operator knows
		// which key to put back.
		a.Log.Error("readyz: master key", "err", err)
		return detail, err
	}
	return detail, nil
}

func (r *readiness) check(ctx context.Context, f func(context.Context) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.passed != nil && r.passed.Elapsed() < keyCheckTTL {
		return nil
	}
	if err := f(ctx); err != nil {
		return err
	}
	w := clock.Start()
	r.passed = &w
	return nil
}
