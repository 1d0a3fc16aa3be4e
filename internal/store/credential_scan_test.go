package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// A credential scanned by hand (one through pgx and through a
// transaction's database/sql connection, and the list of them) is field for
// field what GORM maps from the same columns by name (StuckCredentials),
// with every field set to a value of its own, so two fields swapped in the
// scan's order cannot pass.
func TestOneCredentialScansWhatTheListsMap(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	newCredential(t, db, models.Department{Slug: "scan", Name: "Scan Dept", Protocol: models.ProtocolSOAP, MaxAgeDays: 45,
		AccountName: "0000123456-00009", ScheduleEnabled: true, RevealAllowed: true, Approvals: models.ApprovalRules{Reveal: true, Rotate: true}})
	for _, s := range []string{
		`UPDATE credentials SET version = 3, state = 'unknown', state_since = now() - interval '3 hours', run_id = 77,
		        last_rotated_at = now() - interval '2 days', last_verified_at = now() - interval '4 hours', last_upstream_code = 'UWS.AUTH', last_result = 'failed',
		        password_changed_at = now() - interval '5 days', schedule_failures = 2, next_attempt_at = now() + interval '1 hour',
		        updated_at = now() - interval '1 minute'`,
		`UPDATE upstream_accounts SET consecutive_failures = 2, failures_since_success = 4`,
	} {
		if _, err := db.Pool.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	mapped, err := db.StuckCredentials(ctx, time.Now())
	if err != nil || len(mapped) != 1 {
		t.Fatalf("GORM mapped %d credentials: %v", len(mapped), err)
	}
	want := mapped[0]
	v := reflect.ValueOf(want)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("the listed credential's %s is zero: set every field", v.Type().Field(i).Name)
		}
	}
	one, err := db.Credential(ctx, nil, "scan", false)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(one, want) {
		t.Errorf("read alone:\n %+v\nmapped:\n %+v", one, want)
	}
	if listed, err := db.CredentialsOf(ctx, []string{"scan"}); err != nil || len(listed) != 1 || !reflect.DeepEqual(listed[0], want) {
		t.Errorf("listed (%v):\n %+v\nmapped:\n %+v", err, listed, want)
	}
	err = db.WithTx(ctx, func(tx *store.Tx) error {
		for _, read := range []func() (store.CredentialRow, error){
			func() (store.CredentialRow, error) { return db.Credential(ctx, tx, "scan", true) },
			func() (store.CredentialRow, error) { return db.CredentialByID(ctx, tx, want.ID, false) },
			func() (store.CredentialRow, error) { return db.CredentialOfAccount(ctx, tx, "SCAN_uws") },
		} {
			got, err := read()
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("read in a transaction:\n %+v\nmapped:\n %+v", got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Credential(ctx, nil, "nowhere", false); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("an unknown department's credential: %v, want not found", err)
	}
}
