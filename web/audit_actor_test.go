package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// The actor filter takes a person as people know them: a name, an email or
// its local part, or the internal id; the form suggests the people.
func TestAuditActorByNameOrEmail(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testdb.New(t), nil)
	ctx := context.Background()
	var u models.User
	err := ts.DB.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		if u, err = ts.DB.UpsertSignIn(ctx, tx, models.User{Issuer: "test", Subject: "lena", Name: "Lena Lead", Email: "lena@example.com"}, time.Now()); err != nil {
			return err
		}
		p := &models.Principal{UserID: u.ID, Actor: fmt.Sprint(u.ID), Name: u.Name}
		return ts.DB.Audit(ctx, tx, models.NewEvent(models.EvRotateStarted, p, models.RequestMeta{}))
	})
	if err != nil {
		t.Fatal(err)
	}
	admin := ts.client(t, models.Grant{Role: models.RoleAdmin})
	for _, actor := range []string{"lena", "Lena Lead", "LENA@example.com", fmt.Sprint(u.ID)} {
		res, body := do(t, admin, http.MethodGet, ts.URL+"/audit?"+url.Values{"actor": {actor}}.Encode(), nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, models.EvRotateStarted) {
			t.Errorf("actor=%q finds nothing: %d", actor, res.StatusCode)
		}
	}
	if _, body := do(t, admin, http.MethodGet, ts.URL+"/audit?actor=nobody", nil); !strings.Contains(body, "No events match") {
		t.Error("actor=nobody finds events")
	}
	if _, body := do(t, admin, http.MethodGet, ts.URL+"/audit", nil); !strings.Contains(body, `<option value="lena@example.com">Lena Lead</option>`) ||
		!strings.Contains(body, `type="date" name="since"`) {
		t.Error("the filter suggests no people, or From is not a date input")
	}
}
