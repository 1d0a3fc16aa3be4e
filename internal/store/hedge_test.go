package store

import (
	"context"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/models"
)

// A search past its hedge gets a backup beside it only while fewer than
// maxHedges backups run: under load, when every search runs long, backups
// would double the database's work.
func TestHedgesAreBounded(t *testing.T) {
	db := &DB{hedges: make(chan struct{}, maxHedges)}
	answer := func(id int64, wait <-chan struct{}) func(context.Context) ([]models.AuditEvent, error) {
		return func(ctx context.Context) ([]models.AuditEvent, error) {
			if wait != nil {
				select {
				case <-wait:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			return []models.AuditEvent{{ID: id}}, nil
		}
	}
	search := func() int64 {
		slow := make(chan struct{})
		time.AfterFunc(50*time.Millisecond, func() { close(slow) })
		plan := answer(1, slow)
		out, err := db.hedged(context.Background(), time.Millisecond, func(ctx context.Context, started func()) ([]models.AuditEvent, error) {
			started()
			return plan(ctx)
		}, answer(2, nil))
		if err != nil || len(out) != 1 {
			t.Fatalf("%v %v", out, err)
		}
		return out[0].ID
	}
	if got := search(); got != 2 {
		t.Fatalf("a slow plan with backups to spare answered from %d, want the backup (2)", got)
	}
	for range maxHedges {
		db.hedges <- struct{}{}
	}
	if got := search(); got != 1 {
		t.Fatalf("with %d backups running, a slow plan answered from %d, want the plan (1)", maxHedges, got)
	}
}

// A plan still waiting for its connection is not slow: a loaded pool's
// queue must not start backups that join it.
func TestAPlanWaitingForItsConnectionIsNotHedged(t *testing.T) {
	db := &DB{hedges: make(chan struct{}, maxHedges)}
	plan := func(ctx context.Context, started func()) ([]models.AuditEvent, error) {
		time.Sleep(50 * time.Millisecond) // the pool's queue
		started()
		return []models.AuditEvent{{ID: 1}}, nil
	}
	backup := func(context.Context) ([]models.AuditEvent, error) { return []models.AuditEvent{{ID: 2}}, nil }
	out, err := db.hedged(context.Background(), time.Millisecond, plan, backup)
	if err != nil || len(out) != 1 || out[0].ID != 1 {
		t.Fatalf("%v %v: want the plan's answer (1)", out, err)
	}
}
