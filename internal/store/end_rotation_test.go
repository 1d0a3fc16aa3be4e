package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// EndRotation moves the state only from where the run left it, records
// the result while the version holds, stamps verification and rotation
// as told, and leaves a credential replaced meanwhile untouched, reporting
// the state it is in.
func TestEndRotationRecordsOnlyWhatStillHolds(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	id := newCredential(t, db, models.Department{Slug: "end", Name: "End", Protocol: models.ProtocolREST, MaxAgeDays: 90})
	set := func(sql string) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, sql, id); err != nil {
			t.Fatal(err)
		}
	}
	read := func() store.CredentialRow {
		t.Helper()
		row, err := db.CredentialByID(ctx, nil, id, false)
		if err != nil {
			t.Fatal(err)
		}
		return row
	}
	end := func(e store.RotationEnd) models.CredentialState {
		t.Helper()
		var state models.CredentialState
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			var err error
			state, err = db.EndRotation(ctx, tx, id, e)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return state
	}

	// A rotation that verified its new password: verifying → idle.
	set(`UPDATE credentials SET version = 2, state = 'verifying', schedule_failures = 3, next_attempt_at = now(),
	     last_verified_at = NULL, last_rotated_at = NULL WHERE id = $1`)
	if got := end(store.RotationEnd{Version: 2, From: models.StateVerifying, To: models.StateIdle, Result: "rotated",
		Code: "ok", Verified: true, Rotated: true}); got != models.StateIdle {
		t.Errorf("ended: %s, want idle", got)
	}
	row := read()
	if row.State != "idle" || row.LastResult != "rotated" || row.LastUpstreamCode != "ok" || row.LastVerifiedAt == nil ||
		row.LastRotatedAt == nil || row.ScheduleFailures != 0 || row.NextAttemptAt != nil || time.Since(row.StateSince) > time.Minute {
		t.Errorf("after a rotation: %+v", row)
	}

	// Quarantined by the guard meanwhile: the state stays, the result is
	// recorded; the password was seen to work, but nothing was rotated.
	set(`UPDATE credentials SET state = 'quarantined', last_verified_at = NULL, last_rotated_at = NULL,
	     schedule_failures = 1, next_attempt_at = now() WHERE id = $1`)
	if got := end(store.RotationEnd{Version: 2, From: models.StateVerifying, To: models.StateIdle, Result: "failed",
		Code: "UWS.LOCK", Verified: true}); got != models.StateQuarantined {
		t.Errorf("ended over a quarantine: %s, want quarantined", got)
	}
	row = read()
	if row.State != "quarantined" || row.LastResult != "failed" || row.LastUpstreamCode != "UWS.LOCK" || row.LastVerifiedAt == nil ||
		row.LastRotatedAt != nil || row.ScheduleFailures != 1 || row.NextAttemptAt == nil {
		t.Errorf("after a run ended over a quarantine: %+v", row)
	}

	// Replaced by an administrator meanwhile (a new version): untouched.
	set(`UPDATE credentials SET version = 3, state = 'attention', last_result = 'entered', last_verified_at = NULL WHERE id = $1`)
	if got := end(store.RotationEnd{Version: 2, From: models.StateAttention, To: models.StateIdle, Result: "rotated", Verified: true}); got != models.StateAttention {
		t.Errorf("ended on a replaced credential: %s, want its own state, attention", got)
	}
	if row = read(); row.State != "attention" || row.LastResult != "entered" || row.LastVerifiedAt != nil {
		t.Errorf("a replaced credential was written: %+v", row)
	}
}

// newCredential stores department d with a credential (username the
// slug's, "_uws" added) and returns the credential's id.
func newCredential(t *testing.T, db *store.DB, d models.Department) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		d, err := db.CreateDepartment(ctx, tx, d)
		if err != nil {
			return err
		}
		if id, err = db.NextCredentialID(ctx, tx); err != nil {
			return err
		}
		return db.InsertCredential(ctx, tx, store.NewCredential{ID: id, DepartmentID: d.ID, Username: d.Slug + "_uws", Ciphertext: []byte{1}, KeyID: "k"})
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}
