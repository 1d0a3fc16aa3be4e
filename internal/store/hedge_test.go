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
		out, err := db.hedged(context.Background(), time.Millisecond, answer(1, slow), answer(2, nil))
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
