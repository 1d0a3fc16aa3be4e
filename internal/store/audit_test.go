package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

func event(i int) *models.AuditEvent {
	p := &models.Principal{Actor: fmt.Sprint(100 + i%3), Name: "User " + fmt.Sprint(i%3), Grants: []models.Grant{{Role: models.RoleLead, Department: "fleet"}}}
	return models.NewEvent("credential.rotate.started", p, models.RequestMeta{SourceIP: "10.0.0.1", UserAgent: "test", RequestID: fmt.Sprint("r", i)}).
		With("n", i, "nested", map[string]any{"b": 2, "a": []any{"x", 1.5}})
}

func appendN(t *testing.T, db *store.DB, n int) {
	t.Helper()
	for i := range n {
		if err := db.AuditAlone(context.Background(), event(i)); err != nil {
			t.Fatal(err)
		}
	}
}

func verify(t *testing.T, db *store.DB) store.VerifyResult {
	t.Helper()
	res, err := db.VerifyAudit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestAuditChainVerifies(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	if res := verify(t, db); !res.OK || res.Events != 0 {
		t.Fatalf("empty trail: %+v", res)
	}
	appendN(t, db, 25)
	if res := verify(t, db); !res.OK || res.Events != 25 {
		t.Fatalf("%+v", res)
	}
}

func TestTriggerRefusesUpdateDeleteTruncate(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	appendN(t, db, 2)
	ctx := context.Background()
	for _, stmt := range []string{
		"UPDATE audit_events SET actor = 'someone-else' WHERE id = 1",
		"DELETE FROM audit_events WHERE id = 2",
		"TRUNCATE audit_events",
		"DELETE FROM audit_head",
		"UPDATE audit_head SET seq = 0",
	} {
		if _, err := db.Pool.Exec(ctx, stmt); !store.IsAppendOnlyViolation(err) {
			t.Errorf("%s: want the append-only refusal, got %v", stmt, err)
		}
	}
	// Through GORM too.
	if err := db.GormForTest().Exec("UPDATE audit_events SET outcome = 'success'").Error; !store.IsAppendOnlyViolation(err) {
		t.Errorf("gorm update: %v", err)
	}
	if err := db.GormForTest().Table("audit_events").Where("id = ?", 1).Delete(nil).Error; !store.IsAppendOnlyViolation(err) {
		t.Errorf("gorm delete: %v", err)
	}
	if res := verify(t, db); !res.OK || res.Events != 2 {
		t.Fatalf("%+v", res)
	}
}

// A superuser can switch the trigger off; verification still finds what
// they did.
func TestVerifyFindsSuperuserTampering(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		sql      string
		firstBad int64
	}{
		"edited":       {"UPDATE audit_events SET outcome = 'failure' WHERE id = 4", 4},
		"detail":       {`UPDATE audit_events SET detail = '{"n": 99}' WHERE id = 3`, 3},
		"deleted":      {"DELETE FROM audit_events WHERE id = 5", 5},
		"tail deleted": {"DELETE FROM audit_events WHERE id >= 9", 9},
		"swapped": {`UPDATE audit_events a SET code = b.code, actor = b.actor, detail = b.detail, request_id = b.request_id
			FROM audit_events b WHERE (a.id, b.id) IN ((6, 7), (7, 6))`, 6},
		"rehashed": {`UPDATE audit_events SET actor = 'x', hash = sha256(prev_hash) WHERE id = 2`, 2},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t)
			appendN(t, db, 10)
			ctx := context.Background()
			for _, stmt := range []string{"ALTER TABLE audit_events DISABLE TRIGGER USER", tc.sql, "ALTER TABLE audit_events ENABLE TRIGGER USER"} {
				if _, err := db.Pool.Exec(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			res := verify(t, db)
			if res.OK || res.FirstBad != tc.firstBad || res.Reason == "" {
				t.Fatalf("want first bad %d, got %+v", tc.firstBad, res)
			}
		})
	}
}

func TestConcurrentWritersKeepTheChain(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if err := db.AuditAlone(context.Background(), event(w*100+i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if res := verify(t, db); !res.OK || res.Events != 200 {
		t.Fatalf("%+v", res)
	}
}

// No audit row, no change: a failing append rolls the change back.
func TestFailedAuditRollsBackTheChange(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	bad := event(1)
	bad.Outcome = "maybe" // violates the outcome check
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := db.CreateDepartment(ctx, tx, models.Department{Slug: "widgets", Name: "Widgets", Protocol: models.ProtocolREST, MaxAgeDays: 90}); err != nil {
			return err
		}
		return db.Audit(ctx, tx, bad)
	})
	if err == nil {
		t.Fatal("expected the append to fail")
	}
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM departments").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("the change committed without its audit event")
	}
	appendN(t, db, 1)
	if res := verify(t, db); !res.OK || res.Events != 1 {
		t.Fatalf("a failed append must not leave a gap: %+v", res)
	}
}

func TestNoSecretReachesTheTable(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	const pw = "Tr0ub4dor&3-Secret"
	const tok = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
	keys := []string{"password", "Password", "newPassword", "old_password", "secret", "client_secret", "token", "sessionToken",
		"access_token", "Authorization", "cookie", "api_key", "appKey", "passwd", "note", "comment", "value", "x"}
	for _, k := range keys {
		for _, v := range []string{pw, tok, "Bearer " + tok} {
			e := event(1).With(k, v, "deep", map[string]any{k: v, "list": []any{v, map[string]any{k: v}}}, "msg", "login with "+v+" failed")
			if err := db.AuditAlone(ctx, e, pw); err != nil {
				t.Fatal(err)
			}
		}
	}
	var dump string
	if err := db.Pool.QueryRow(ctx, "SELECT string_agg(audit_events::text, E'\\n') FROM audit_events").Scan(&dump); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{pw, tok, "c2lnbmF0dXJl"} {
		if strings.Contains(dump, s) {
			t.Fatalf("secret %q reached the table", s)
		}
	}
	if !strings.Contains(dump, models.Redacted) {
		t.Fatal("nothing was redacted: the test wrote no secret")
	}
	if res := verify(t, db); !res.OK {
		t.Fatalf("%+v", res)
	}
}
