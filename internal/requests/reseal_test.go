package requests_test

import (
	"net/http"
	"testing"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/requests"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/models"
)

// Rekey reseals the listener password: after it, only the new key is
// needed to check a callback's credentials.
func TestRekeyResealsListenerPasswords(t *testing.T) {
	t.Parallel()
	k1, k2 := secret.GenerateKey(), secret.GenerateKey()
	old, err := secret.ParseKeys(k1)
	if err != nil {
		t.Fatal(err)
	}
	e := fleet(t, apptest.Options{Keys: old})
	e.register(t)
	user, pw := e.credentials(t)
	both, err := secret.ParseKeys(k2 + "," + k1)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.WithKeys(both).App.Departments.Rekey(ctx, e.Admin, apptest.Meta); err != nil || n < 2 {
		t.Fatalf("rekey: %d %v (want at least the credential and the listener)", n, err)
	}
	onlyNew, err := secret.ParseKeys(k2)
	if err != nil {
		t.Fatal(err)
	}
	m := message(t, requests.Message{Username: user, Password: pw, RequestID: "after-rekey", DeviceIDs: []models.DeviceID{{Kind: "mdn", ID: "5550000001"}}, Status: "Success"})
	if ans := e.WithKeys(onlyNew).App.Requests.Callback(ctx, apptest.Meta, m); ans.Status != http.StatusOK {
		t.Fatalf("callback after rekey: %d %s", ans.Status, ans.Message)
	}
}
