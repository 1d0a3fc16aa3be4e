package store_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// DeviceDepartment reads in one round trip what DepartmentPolicy and
// Credential read in two, and tells a department without a credential
// from an unknown one.
func TestDeviceDepartmentIsDepartmentPolicyAndCredential(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		fleet, err := db.CreateDepartment(ctx, tx, models.Department{Slug: "fleet", Name: "Fleet", Protocol: models.ProtocolREST,
			MaxAgeDays: 90, AccountName: "0000123456-00001", Approvals: models.ApprovalRules{Deactivate: true}})
		if err != nil {
			return err
		}
		if _, err := db.CreateDepartment(ctx, tx, models.Department{Slug: "bare", Name: "Bare", Protocol: models.ProtocolREST, MaxAgeDays: 30}); err != nil {
			return err
		}
		id, err := db.NextCredentialID(ctx, tx)
		if err != nil {
			return err
		}
		return db.InsertCredential(ctx, tx, store.NewCredential{ID: id, DepartmentID: fleet.ID, Username: "Fleet_UWS", Ciphertext: []byte{1, 2, 3}, KeyID: "k1"})
	})
	if err != nil {
		t.Fatal(err)
	}
	way, err := db.DeviceDepartment(ctx, "fleet")
	if err != nil {
		t.Fatal(err)
	}
	d, policy, row := way.Department, way.Policy, way.Credential
	wantD, wantPolicy, err := db.DepartmentPolicy(ctx, "fleet")
	if err != nil {
		t.Fatal(err)
	}
	wantRow, err := db.Credential(ctx, nil, "fleet", false)
	if err != nil {
		t.Fatal(err)
	}
	if !d.CreatedAt.Equal(wantD.CreatedAt) {
		t.Errorf("created at %v, want %v", d.CreatedAt, wantD.CreatedAt)
	}
	d.CreatedAt = wantD.CreatedAt
	for _, p := range []models.DevicePolicy{policy, wantPolicy} { // a policy is sets of operations
		for _, ops := range p {
			slices.Sort(ops)
		}
	}
	if !reflect.DeepEqual(d, wantD) || !reflect.DeepEqual(policy, wantPolicy) {
		t.Errorf("department %+v %v, want %+v %v", d, policy, wantD, wantPolicy)
	}
	if row == nil || !reflect.DeepEqual(*row, wantRow) {
		t.Errorf("credential %+v, want %+v", row, wantRow)
	}
	if way.Session.Username != "" {
		t.Errorf("a shared session where none is cached: %+v", way.Session)
	}
	if err := db.PutSession(ctx, nil, store.SealedSession{Username: "fleet_uws", Ciphertext: []byte{4, 5}, KeyID: "k1"}); err != nil {
		t.Fatal(err)
	}
	if way, err = db.DeviceDepartment(ctx, "fleet"); err != nil {
		t.Fatal(err)
	}
	wantSession, ok, err := db.Session(ctx, nil, "fleet_uws", false)
	if err != nil || !ok {
		t.Fatalf("session: %v %v", ok, err)
	}
	if !way.Session.UpdatedAt.Equal(wantSession.UpdatedAt) {
		t.Errorf("session updated at %v, want %v", way.Session.UpdatedAt, wantSession.UpdatedAt)
	}
	way.Session.UpdatedAt = wantSession.UpdatedAt
	if !reflect.DeepEqual(way.Session, wantSession) {
		t.Errorf("shared session %+v, want %+v", way.Session, wantSession)
	}
	if way, err := db.DeviceDepartment(ctx, "bare"); err != nil || way.Credential != nil {
		t.Errorf("a department without a credential: %+v %v", way.Credential, err)
	}
	if _, err := db.DeviceDepartment(ctx, "nowhere"); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("an unknown department: %v", err)
	}
}
