package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/models"
)

func keyring(t *testing.T, keys ...string) *secret.Keyring {
	kr, err := secret.ParseKeys(strings.Join(keys, ","))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// A portal started with the wrong master key says so, naming the key ID it
// lacks, before any decrypt fails; the right keys pass, in any order.
func TestKeyCheckNamesTheMissingKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := secret.GenerateKey(), secret.GenerateKey()
	e := apptest.New(t, apptest.Options{Keys: keyring(t, a)})
	e.Seed("fleet", "fleet-uws", models.ProtocolREST)
	if err := e.App.CheckKeys(ctx); err != nil {
		t.Fatalf("the sealing key: %v", err)
	}
	if err := e.App.RecordKeyChecks(ctx); err != nil {
		t.Fatal(err)
	}
	idA := keyring(t, a).CurrentID()
	wrong := apptest.New(t, apptest.Options{DB: e.DB, Keys: keyring(t, b)})
	err := wrong.App.CheckKeys(ctx)
	var ke *app.KeyError
	if !errors.As(err, &ke) || !strings.Contains(err.Error(), "sealed with master key ID "+idA) ||
		strings.Contains(err.Error(), a) || strings.Contains(err.Error(), b) {
		t.Fatalf("another key: %v", err)
	}
	both := apptest.New(t, apptest.Options{DB: e.DB, Keys: keyring(t, b, a)})
	if err := both.App.CheckKeys(ctx); err != nil {
		t.Fatalf("a new key before the old one: %v", err)
	}
	// A check value that the key does not open (here: another key's,
	// stored under its ID) is refused by ID.
	if _, err := e.DB.Pool.Exec(ctx, `UPDATE key_checks SET check_value = set_byte(check_value, 20, get_byte(check_value, 20) # 1) WHERE key_id = $1`, idA); err != nil {
		t.Fatal(err)
	}
	if err := e.App.CheckKeys(ctx); err == nil || !strings.Contains(err.Error(), "master key ID "+idA+" does not open its key-check value") {
		t.Fatalf("a broken check value: %v", err)
	}
}
