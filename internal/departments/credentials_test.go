package departments_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/departments"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/upstream"
	"github.com/uwsportal/uwsportal/models"
)

func lead(dept string) *models.Principal {
	return &models.Principal{UserID: 7, Actor: "7", Name: "Lee Lead", Grants: []models.Grant{{Role: models.RoleLead, Department: dept}}}
}

func TestLeadCannotTouchAnotherDepartment(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.Seed("alpha", "alpha_uws", models.ProtocolREST)
	e.Seed("beta", "beta_uws", models.ProtocolREST)
	ctx := context.Background()
	p := lead("alpha")
	if _, err := e.App.Rotation.Rotate(ctx, p, apptest.Meta, "beta", models.TriggerManual); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("rotate: %v", err)
	}
	if _, err := e.App.Departments.TestLogin(ctx, p, apptest.Meta, "beta"); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("test: %v", err)
	}
	if _, err := e.App.Departments.DepartmentView(ctx, p, "beta"); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("view: %v", err)
	}
	if _, err := e.App.Departments.Reveal(ctx, p, apptest.Meta, "beta", "because", 0); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("reveal: %v", err)
	}
	if err := e.App.Departments.SetCredential(ctx, p, apptest.Meta, departments.CredentialInput{Department: "alpha", Username: "x_uws", Password: apptest.GoodPW, Verify: false}); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("a lead set a credential: %v", err)
	}
	member := &models.Principal{Actor: "8", Grants: []models.Grant{{Role: models.RoleMember, Department: "alpha"}}}
	if _, err := e.App.Rotation.Rotate(ctx, member, apptest.Meta, "alpha", models.TriggerManual); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("member rotate: %v", err)
	}
	if up := e.Sim.User(t, "beta_uws"); up.LoginsOK+up.LoginFailures != 0 {
		t.Fatalf("an upstream attempt was made: %+v", up)
	}
	// Own department: allowed; the dashboard shows only it.
	if res, err := e.App.Rotation.Rotate(ctx, p, apptest.Meta, "alpha", models.TriggerManual); err != nil || !res.Rotated() {
		t.Fatalf("own rotate: %+v %v", res, err)
	}
	list, err := e.App.Departments.Credentials(ctx, p)
	if err != nil || len(list) != 1 || list[0].Department != "alpha" || list[0].Version != 2 {
		t.Fatalf("dashboard %+v %v", list, err)
	}
	depts, err := e.App.Departments.Departments(ctx, p)
	if err != nil || len(depts) != 1 {
		t.Fatalf("departments %+v %v", depts, err)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.SeedDept("fleet", models.ProtocolREST, false)
	ctx := context.Background()
	before := len(e.Events("fleet"))
	for name, c := range map[string]struct {
		slug, user string
		pw         secret.Secret
		kind       error
	}{
		"empty username":     {"fleet", "", apptest.GoodPW, models.ErrInvalid},
		"huge username":      {"fleet", strings.Repeat("u", 500), apptest.GoodPW, models.ErrInvalid},
		"username with tab":  {"fleet", "a\tb", apptest.GoodPW, models.ErrInvalid},
		"weak password":      {"fleet", "fleet_uws", "password1", models.ErrInvalid},
		"unknown department": {"nope", "fleet_uws", apptest.GoodPW, models.ErrNotFound},
	} {
		err := e.App.Departments.SetCredential(ctx, e.Admin, apptest.Meta, departments.CredentialInput{Department: c.slug, Username: c.user, Password: c.pw, Verify: false})
		if !errors.Is(err, c.kind) {
			t.Errorf("%s: got %v, want %v", name, err, c.kind)
			continue
		}
		if c.pw != "" && strings.Contains(err.Error(), c.pw.Reveal()) {
			t.Errorf("%s: the error repeats the password", name)
		}
	}
	err := e.App.Departments.SetCredential(ctx, e.Admin, apptest.Meta, departments.CredentialInput{Department: "fleet", Username: "fleet_uws", Password: "password1", Verify: false})
	if msg, _ := models.SafeMessage(err); !strings.Contains(msg, "symbol") || !strings.Contains(msg, "upper-case") {
		t.Errorf("the policy error does not name the failed rules: %q", msg)
	}
	if _, err := e.DB.Credential(ctx, nil, "fleet", false); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("a credential was stored: %v", err)
	}
	if after := len(e.Events("fleet")); after != before {
		t.Fatalf("audit events were written: %d → %d", before, after)
	}
	for name, f := range map[string]func() error{
		"rotate unknown": func() error { _, err := e.App.Rotation.Rotate(ctx, e.Admin, apptest.Meta, "nope", ""); return err },
		"test unknown":   func() error { _, err := e.App.Departments.TestLogin(ctx, e.Admin, apptest.Meta, "nope"); return err },
		"view unknown":   func() error { _, err := e.App.Departments.DepartmentView(ctx, e.Admin, "nope"); return err },
		"rotate no cred": func() error { _, err := e.App.Rotation.Rotate(ctx, e.Admin, apptest.Meta, "fleet", ""); return err },
		"bad department": func() error {
			_, err := e.App.Departments.CreateDepartment(ctx, e.Admin, apptest.Meta, models.Department{Slug: "Bad Slug", Name: "x"})
			return err
		},
		"bad trigger": func() error {
			_, err := e.App.Rotation.Rotate(ctx, e.Admin, apptest.Meta, "fleet", "whenever")
			return err
		},
		"schedule range": func() error { return e.App.Departments.SetSchedule(ctx, e.Admin, apptest.Meta, "fleet", true, 99999) },
		"duplicate slug": func() error {
			_, err := e.App.Departments.CreateDepartment(ctx, e.Admin, apptest.Meta, models.Department{Slug: "fleet", Name: "x"})
			return err
		},
		"reveal no cred": func() error {
			_, err := e.App.Departments.Reveal(ctx, e.Admin, apptest.Meta, "fleet", "why", 0)
			return err
		},
		"clear no cred":   func() error { return e.App.Departments.ClearQuarantine(ctx, e.Admin, apptest.Meta, "fleet") },
		"unknown + other": func() error { return e.App.Departments.SetSchedule(ctx, e.Admin, apptest.Meta, "nope", true, 30) },
	} {
		err := f()
		if !errors.Is(err, models.ErrNotFound) && !errors.Is(err, models.ErrInvalid) && !errors.Is(err, models.ErrConflict) {
			t.Errorf("%s: %v", name, err)
		}
		if _, ok := models.SafeMessage(err); !ok {
			t.Errorf("%s: no safe message in %v", name, err)
		}
	}
}

func TestSetCredentialVerifies(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.SeedDept("fleet", models.ProtocolREST, false)
	e.Sim.SetUser("fleet_uws", apptest.GoodPW)
	ctx := context.Background()
	err := e.App.Departments.SetCredential(ctx, e.Admin, apptest.Meta, departments.CredentialInput{Department: "fleet", Username: "fleet_uws", Password: "Wr0ng-But!Strong-Enough", Verify: true})
	apptest.WantKind(t, err, models.ErrInvalid)
	if _, err := e.DB.Credential(ctx, nil, "fleet", false); !errors.Is(err, models.ErrNotFound) {
		t.Fatal("a credential that failed verification was stored")
	}
	if err := e.App.Departments.SetCredential(ctx, e.Admin, apptest.Meta, departments.CredentialInput{Department: "fleet", Username: "fleet_uws", Password: apptest.GoodPW, Verify: true}); err != nil {
		t.Fatal(err)
	}
	row := e.Row("fleet")
	if row.Version != 1 || row.LastVerifiedAt == nil || e.Stored("fleet") != apptest.GoodPW {
		t.Fatalf("row %+v", row)
	}
	if err := e.App.Departments.SetCredential(ctx, e.Admin, apptest.Meta, departments.CredentialInput{Department: "fleet", Username: "fleet_uws", Password: apptest.GoodPW, Verify: false}); err != nil {
		t.Fatal(err)
	}
	codes := e.Events("fleet")
	if !strings.Contains(strings.Join(codes, " "), models.EvCredentialCreated) || codes[len(codes)-1] != models.EvCredentialReplaced {
		t.Fatalf("events %v", codes)
	}
	if e.Row("fleet").Version != 2 {
		t.Fatal("replace did not bump the version")
	}
	e.NoLeak(apptest.GoodPW, "Wr0ng-But!Strong-Enough")
}

func TestRevealNeedsPermissionReasonAndDepartmentConsent(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	ctx := context.Background()
	e.SeedDept("open", models.ProtocolREST, true)
	e.Sim.SetUser("open_uws", apptest.GoodPW)
	if err := e.App.Departments.SetCredential(ctx, e.Admin, apptest.Meta, departments.CredentialInput{Department: "open", Username: "open_uws", Password: apptest.GoodPW, Verify: false}); err != nil {
		t.Fatal(err)
	}
	e.Seed("closed", "closed_uws", models.ProtocolREST)
	if _, err := e.App.Departments.Reveal(ctx, e.Admin, apptest.Meta, "closed", "audit", 0); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("closed: %v", err)
	}
	if _, err := e.App.Departments.Reveal(ctx, e.Admin, apptest.Meta, "open", "  ", 0); !errors.Is(err, models.ErrInvalid) {
		t.Fatalf("no reason: %v", err)
	}
	if _, err := e.App.Departments.Reveal(ctx, e.Admin, apptest.Meta, "open", strings.Repeat("x", 501), 0); !errors.Is(err, models.ErrInvalid) {
		t.Fatalf("long reason: %v", err)
	}
	pw, err := e.App.Departments.Reveal(ctx, lead("open"), apptest.Meta, "open", "configuring the fleet gateway", 0)
	if err != nil || pw.Reveal() != apptest.GoodPW {
		t.Fatalf("reveal: %v", err)
	}
	codes := e.Events("open")
	if codes[len(codes)-1] != models.EvCredentialRevealed {
		t.Fatalf("events %v", codes)
	}
	e.NoLeak(apptest.GoodPW)
}

func TestSwappedCiphertextDoesNotDecrypt(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	e.Seed("alpha", "alpha_uws", models.ProtocolREST)
	e.Seed("beta", "beta_uws", models.ProtocolREST)
	ctx := context.Background()
	a, b := e.Row("alpha"), e.Row("beta")
	if _, err := e.DB.Pool.Exec(ctx, "UPDATE credentials SET ciphertext = $1 WHERE id = $2", b.Ciphertext, a.ID); err != nil {
		t.Fatal(err)
	}
	a = e.Row("alpha")
	if _, err := upstream.Open(e.Keys, &a); !errors.Is(err, secret.ErrDecrypt) {
		t.Fatalf("open: %v", err)
	}
	if _, err := e.App.Departments.TestLogin(ctx, e.Admin, apptest.Meta, "alpha"); err == nil {
		t.Fatal("a swapped ciphertext was used")
	}
	if _, err := e.App.Rotation.Rotate(ctx, e.Admin, apptest.Meta, "alpha", ""); err == nil {
		t.Fatal("a swapped ciphertext was rotated")
	}
	if up := e.Sim.User(t, "alpha_uws"); up.LoginsOK+up.LoginFailures != 0 {
		t.Fatalf("upstream attempts: %+v", up)
	}
}

func TestRekeyRoundTrip(t *testing.T) {
	t.Parallel()
	k1, k2 := secret.GenerateKey(), secret.GenerateKey()
	old, err := secret.ParseKeys(k1)
	if err != nil {
		t.Fatal(err)
	}
	e := apptest.New(t, apptest.Options{Keys: old})
	e.Seed("alpha", "alpha_uws", models.ProtocolREST)
	e.Seed("beta", "beta_uws", models.ProtocolSOAP)
	ctx := context.Background()
	// A cached session, sealed too.
	if res, err := e.App.Rotation.Rotate(ctx, e.Admin, apptest.Meta, "alpha", ""); err != nil || !res.Rotated() {
		t.Fatalf("rotate %+v %v", res, err)
	}
	alphaPW := e.Stored("alpha")
	both, err := secret.ParseKeys(k2 + "," + k1)
	if err != nil {
		t.Fatal(err)
	}
	e = e.WithKeys(both)
	n, err := e.App.Departments.Rekey(ctx, e.Admin, apptest.Meta)
	if err != nil || n != 3 { // two credentials, one session
		t.Fatalf("rekey %d: %v", n, err)
	}
	if n, err := e.App.Departments.Rekey(ctx, e.Admin, apptest.Meta); err != nil || n != 0 {
		t.Fatalf("second rekey %d: %v", n, err)
	}
	onlyNew, err := secret.ParseKeys(k2)
	if err != nil {
		t.Fatal(err)
	}
	e = e.WithKeys(onlyNew)
	if e.Stored("alpha") != alphaPW || e.Stored("beta") != apptest.GoodPW {
		t.Fatal("a password changed in the rekey")
	}
	if tok, ok, err := e.App.Upstream.Sessions().Get(ctx, "alpha_uws"); err != nil || !ok || tok == "" {
		t.Fatalf("session after rekey: %v %v", ok, err)
	}
	if res, err := e.App.Rotation.Rotate(ctx, e.Admin, apptest.Meta, "alpha", ""); err != nil || !res.Rotated() {
		t.Fatalf("rotate after rekey %+v %v", res, err)
	}
}

func TestDashboardBuckets(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	ctx := context.Background()
	e.Seed("fresh", "fresh_uws", models.ProtocolREST)
	e.Seed("old", "old_uws", models.ProtocolREST)
	e.Seed("soon", "soon_uws", models.ProtocolREST)
	e.SeedWrong("bad", "bad_uws")
	e.SeedDept("empty", models.ProtocolREST, false)
	e.Age("old", 100*24*time.Hour)
	e.Age("soon", 80*24*time.Hour)
	_, _ = e.App.Departments.TestLogin(ctx, e.Admin, apptest.Meta, "bad")
	_, _ = e.App.Departments.TestLogin(ctx, e.Admin, apptest.Meta, "bad")
	list, err := e.App.Departments.Credentials(ctx, e.Admin)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range list {
		got[c.Department] = c.Status
		if c.Department == "old" && (c.AgeDays() != 100 || c.NextDue == nil) {
			t.Errorf("old: %+v", c)
		}
	}
	want := map[string]string{"fresh": models.StatusOK, "old": models.StatusOverdue, "soon": models.StatusDueSoon,
		"bad": models.StatusQuarantined, "empty": models.StatusNone}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
}
