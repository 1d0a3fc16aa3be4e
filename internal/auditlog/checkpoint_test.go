package auditlog_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/auditlog"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// tamper runs sql with the append-only triggers off, as a superuser could.
func tamper(t *testing.T, db *store.DB, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, "ALTER TABLE audit_events DISABLE TRIGGER USER"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, sql, args...); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, "ALTER TABLE audit_events ENABLE TRIGGER USER"); err != nil {
		t.Fatal(err)
	}
}

func incremental(t *testing.T, svc *auditlog.Service) store.VerifyResult {
	t.Helper()
	res, err := svc.VerifyAuditIncremental(context.Background(), auditor, meta)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func full(t *testing.T, svc *auditlog.Service) store.VerifyResult {
	t.Helper()
	res, err := svc.VerifyAudit(context.Background(), auditor, meta)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// The first incremental verification walks everything and records a
// checkpoint; the next walks only what came after it, the checkpoint
// event included.
func TestIncrementalVerifyStartsAtTheCheckpoint(t *testing.T) {
	t.Parallel()
	svc, db := newService(t)
	seed(t, db, 10)
	if res := incremental(t, svc); !res.OK || !res.Full || res.Events != 10 || res.Through != 10 {
		t.Fatalf("first: %+v", res)
	}
	cp, err := svc.AuditEvent(context.Background(), auditor, 11)
	if err != nil || cp.Code != models.EvAuditVerified || fmt.Sprint(cp.Detail["through"]) != "10" {
		t.Fatalf("checkpoint: %v %+v", err, cp)
	}
	ten, err := db.GetAuditEvent(context.Background(), 10)
	if err != nil || cp.Detail["through_hash"] != hex.EncodeToString(ten.Hash) {
		t.Fatalf("checkpoint hash: %v %+v", err, cp.Detail)
	}
	seed(t, db, 5) // 12..16
	res := incremental(t, svc)
	if !res.OK || res.Full || res.Checkpoint != 11 || res.From != 11 || res.Events != 6 || res.Through != 16 {
		t.Fatalf("second: %+v", res)
	}
	// A failed verification is no checkpoint.
	tamper(t, db, "UPDATE audit_events SET target = 'x' WHERE id = 15")
	if res := full(t, svc); res.OK || res.FirstBad != 15 {
		t.Fatalf("full: %+v", res)
	}
	// 17 is the checkpoint through 16 (so 15 lies before it), 18 the
	// failed full verification, walked and intact.
	if res := incremental(t, svc); !res.OK || res.Checkpoint != 17 || res.Events != 2 {
		t.Fatalf("after a failure: %+v", res)
	}
}

// An edit before the checkpoint is found by the full walk only; one after
// it by the incremental walk too.
func TestTamperingBeforeAndAfterTheCheckpoint(t *testing.T) {
	t.Parallel()
	svc, db := newService(t)
	seed(t, db, 10)
	if res := incremental(t, svc); !res.OK {
		t.Fatalf("%+v", res)
	}
	seed(t, db, 5) // 12..16
	tamper(t, db, "UPDATE audit_events SET actor = 'mallory' WHERE id = 4")
	if res := incremental(t, svc); !res.OK || res.From != 11 {
		t.Fatalf("an edit before the checkpoint is outside the incremental walk: %+v", res)
	}
	if res := full(t, svc); res.OK || res.FirstBad != 4 {
		t.Fatalf("full walk: %+v", res)
	}
	// 17 is the checkpoint through 16, 18 the failed full verification.
	seed(t, db, 3) // 19..21
	tamper(t, db, "UPDATE audit_events SET detail = '{\"result\": \"forged\"}' WHERE id = 20")
	if res := incremental(t, svc); res.OK || res.Checkpoint != 17 || res.FirstBad != 20 {
		t.Fatalf("an edit after the checkpoint: %+v", res)
	}
}

// A forged checkpoint, made by editing an event into one, is found by the
// incremental walk: as written (its hash no longer matches), naming an
// event it cannot have verified, recording a hash that is not the event's,
// or rehashed (the next event no longer links to it).
func TestForgedCheckpointIsFound(t *testing.T) {
	t.Parallel()
	forge := func(through any, hash string) string {
		return fmt.Sprintf(`UPDATE audit_events SET code = '%s', outcome = 'success',
			detail = jsonb_build_object('ok', true, 'through', %v, 'through_hash', %s) WHERE id = 16`, models.EvAuditVerified, through, hash)
	}
	hashOf15 := "encode((SELECT hash FROM audit_events WHERE id = 15), 'hex')"
	for name, sql := range map[string]string{
		"edited":       forge(15, hashOf15),
		"names itself": forge(16, "encode(hash, 'hex')"),
		"names later":  forge(40, hashOf15),
		"wrong hash":   forge(15, "repeat('ab', 32)"),
		"not a number": forge("'x'", hashOf15),
		"hash not hex": forge(15, "'zz'"),
		"negative":     forge(-3, hashOf15),
		// Through the genesis: the walk starts at the beginning, and finds
		// the first edit there.
		"genesis": forge(0, hashOf15),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			svc, db := newService(t)
			seed(t, db, 10)
			if res := incremental(t, svc); !res.OK { // checkpoint 11, through 10
				t.Fatalf("%+v", res)
			}
			seed(t, db, 6) // 12..17
			tamper(t, db, "UPDATE audit_events SET actor = 'mallory' WHERE id = 13")
			tamper(t, db, sql)
			want := int64(16)
			if name == "genesis" {
				want = 13
			}
			if res := incremental(t, svc); res.OK || res.FirstBad != want {
				t.Fatalf("forged checkpoint not found: %+v", res)
			}
		})
	}
	t.Run("rehashed", func(t *testing.T) {
		t.Parallel()
		svc, db := newService(t)
		seed(t, db, 10)
		if res := incremental(t, svc); !res.OK {
			t.Fatalf("%+v", res)
		}
		seed(t, db, 6)
		tamper(t, db, "UPDATE audit_events SET actor = 'mallory' WHERE id = 13")
		ctx := context.Background()
		e, err := db.GetAuditEvent(ctx, 16)
		if err != nil {
			t.Fatal(err)
		}
		prev, err := db.GetAuditEvent(ctx, 15)
		if err != nil {
			t.Fatal(err)
		}
		e.Code, e.Outcome = models.EvAuditVerified, models.OutcomeSuccess
		e.Detail = map[string]any{"ok": true, "through": 15, "through_hash": hex.EncodeToString(prev.Hash)}
		tamper(t, db, `UPDATE audit_events SET code = $1, outcome = 'success', detail = $2, hash = $3 WHERE id = 16`,
			e.Code, string(models.CanonicalJSON(e.Detail)), models.ChainHash(e.PrevHash, 16, e.Canonical()))
		if res := incremental(t, svc); res.OK || res.Checkpoint != 16 || res.FirstBad != 17 {
			t.Fatalf("rehashed forged checkpoint not found: %+v", res)
		}
	})
}

// The daily watch walks from the checkpoint, and the whole chain when no
// full walk is younger than WatchFullEvery: an edit before the checkpoint
// is found within a week.
func TestWatchWalksTheWholeChainWeekly(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	now := time.Now()
	svc := auditlog.New(db, slog.New(slog.DiscardHandler), func() time.Time { return now })
	seed(t, db, 5)
	ctx := context.Background()
	last := func(wantFull bool, wantOutcome models.Outcome) models.AuditEvent {
		t.Helper()
		if ran, err := svc.VerifyIfDue(ctx); err != nil || !ran {
			t.Fatalf("the watch did not run: %v", err)
		}
		page, err := svc.SearchAudit(ctx, auditor, models.AuditFilter{CodePrefix: models.EvAuditVerified, Limit: 1})
		if err != nil || len(page.Events) == 0 {
			t.Fatal(err)
		}
		e := page.Events[0]
		if fmt.Sprint(e.Detail["full"]) != fmt.Sprint(wantFull) || e.Outcome != wantOutcome {
			t.Fatalf("want full=%v %s, got %+v", wantFull, wantOutcome, e)
		}
		return e
	}
	last(true, models.OutcomeSuccess) // no full walk yet
	tamper(t, db, "UPDATE audit_events SET actor = 'mallory' WHERE id = 2")
	now = now.Add(25 * time.Hour)
	last(false, models.OutcomeSuccess)
	now = now.Add(auditlog.WatchFullEvery)
	if e := last(true, models.OutcomeFailure); fmt.Sprint(e.Detail["first_bad"]) != "2" {
		t.Fatalf("%+v", e)
	}
}

// A verification of an empty trail records a checkpoint through event 0
// (the genesis): the next walks start at the beginning, never call it
// forged.
func TestCheckpointOfAnEmptyTrailStartsTheNextWalkAtTheBeginning(t *testing.T) {
	t.Parallel()
	svc, db := newService(t)
	if res := incremental(t, svc); !res.OK || res.Events != 0 {
		t.Fatalf("empty trail: %+v", res)
	}
	seed(t, db, 3)
	if res := incremental(t, svc); !res.OK || !res.Full || res.Events != 4 {
		t.Fatalf("after the empty trail's checkpoint: %+v", res)
	}
	if res := incremental(t, svc); !res.OK || res.Full {
		t.Fatalf("the next walk does not start at the new checkpoint: %+v", res)
	}
}
