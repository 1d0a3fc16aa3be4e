package service

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/models"
)

func lead(dept string) *models.Principal {
	return &models.Principal{UserID: 7, Actor: "7", Name: "Lee Lead", Grants: []models.Grant{{Role: models.RoleLead, Department: dept}}}
}

func TestLeadCannotTouchAnotherDepartment(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpt{})
	e.seed("alpha", "alpha_uws", models.ProtocolREST)
	e.seed("beta", "beta_uws", models.ProtocolREST)
	ctx := context.Background()
	p := lead("alpha")
	if _, err := e.svc.Rotate(ctx, p, meta, "beta", models.TriggerManual); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("rotate: %v", err)
	}
	if _, err := e.svc.TestLogin(ctx, p, meta, "beta"); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("test: %v", err)
	}
	if _, err := e.svc.DepartmentView(ctx, p, "beta"); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("view: %v", err)
	}
	if _, err := e.svc.Reveal(ctx, p, meta, "beta", "because"); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("reveal: %v", err)
	}
	if err := e.svc.SetCredential(ctx, p, meta, "alpha", "x_uws", goodPW, false); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("a lead set a credential: %v", err)
	}
	member := &models.Principal{Actor: "8", Grants: []models.Grant{{Role: models.RoleMember, Department: "alpha"}}}
	if _, err := e.svc.Rotate(ctx, member, meta, "alpha", models.TriggerManual); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("member rotate: %v", err)
	}
	if up := e.sim.user(t, "beta_uws"); up.LoginsOK+up.LoginFailures != 0 {
		t.Fatalf("an upstream attempt was made: %+v", up)
	}
	// Own department: allowed; the dashboard shows only it.
	if res, err := e.svc.Rotate(ctx, p, meta, "alpha", models.TriggerManual); err != nil || !res.Rotated() {
		t.Fatalf("own rotate: %+v %v", res, err)
	}
	list, err := e.svc.Credentials(ctx, p)
	if err != nil || len(list) != 1 || list[0].Department != "alpha" || list[0].Version != 2 {
		t.Fatalf("dashboard %+v %v", list, err)
	}
	depts, err := e.svc.Departments(ctx, p)
	if err != nil || len(depts) != 1 {
		t.Fatalf("departments %+v %v", depts, err)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpt{})
	e.seedDept("fleet", models.ProtocolREST, false)
	ctx := context.Background()
	before := len(e.events("fleet"))
	for name, c := range map[string]struct {
		slug, user string
		pw         secret.Secret
		kind       error
	}{
		"empty username":     {"fleet", "", goodPW, models.ErrInvalid},
		"huge username":      {"fleet", strings.Repeat("u", 500), goodPW, models.ErrInvalid},
		"username with tab":  {"fleet", "a\tb", goodPW, models.ErrInvalid},
		"weak password":      {"fleet", "fleet_uws", "password1", models.ErrInvalid},
		"unknown department": {"nope", "fleet_uws", goodPW, models.ErrNotFound},
	} {
		err := e.svc.SetCredential(ctx, e.admin, meta, c.slug, c.user, c.pw, false)
		if !errors.Is(err, c.kind) {
			t.Errorf("%s: got %v, want %v", name, err, c.kind)
			continue
		}
		if c.pw != "" && strings.Contains(err.Error(), c.pw.Reveal()) {
			t.Errorf("%s: the error repeats the password", name)
		}
	}
	err := e.svc.SetCredential(ctx, e.admin, meta, "fleet", "fleet_uws", "password1", false)
	if msg, _ := models.SafeMessage(err); !strings.Contains(msg, "symbol") || !strings.Contains(msg, "upper-case") {
		t.Errorf("the policy error does not name the failed rules: %q", msg)
	}
	if _, err := e.db.Credential(ctx, nil, "fleet", false); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("a credential was stored: %v", err)
	}
	if after := len(e.events("fleet")); after != before {
		t.Fatalf("audit events were written: %d → %d", before, after)
	}
	for name, f := range map[string]func() error{
		"rotate unknown": func() error { _, err := e.svc.Rotate(ctx, e.admin, meta, "nope", ""); return err },
		"test unknown":   func() error { _, err := e.svc.TestLogin(ctx, e.admin, meta, "nope"); return err },
		"view unknown":   func() error { _, err := e.svc.DepartmentView(ctx, e.admin, "nope"); return err },
		"rotate no cred": func() error { _, err := e.svc.Rotate(ctx, e.admin, meta, "fleet", ""); return err },
		"bad department": func() error {
			_, err := e.svc.CreateDepartment(ctx, e.admin, meta, models.Department{Slug: "Bad Slug", Name: "x"})
			return err
		},
		"bad trigger":    func() error { _, err := e.svc.Rotate(ctx, e.admin, meta, "fleet", "whenever"); return err },
		"schedule range": func() error { return e.svc.SetSchedule(ctx, e.admin, meta, "fleet", true, 99999) },
		"duplicate slug": func() error {
			_, err := e.svc.CreateDepartment(ctx, e.admin, meta, models.Department{Slug: "fleet", Name: "x"})
			return err
		},
		"reveal no cred":  func() error { _, err := e.svc.Reveal(ctx, e.admin, meta, "fleet", "why"); return err },
		"clear no cred":   func() error { return e.svc.ClearQuarantine(ctx, e.admin, meta, "fleet") },
		"unknown + other": func() error { return e.svc.SetSchedule(ctx, e.admin, meta, "nope", true, 30) },
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
	e := newEnv(t, envOpt{})
	e.seedDept("fleet", models.ProtocolREST, false)
	e.sim.sim.SetUser("fleet_uws", goodPW)
	ctx := context.Background()
	err := e.svc.SetCredential(ctx, e.admin, meta, "fleet", "fleet_uws", "Wr0ng-But!Strong-Enough", true)
	wantKind(t, err, models.ErrInvalid)
	if _, err := e.db.Credential(ctx, nil, "fleet", false); !errors.Is(err, models.ErrNotFound) {
		t.Fatal("a credential that failed verification was stored")
	}
	if err := e.svc.SetCredential(ctx, e.admin, meta, "fleet", "fleet_uws", goodPW, true); err != nil {
		t.Fatal(err)
	}
	row := e.row("fleet")
	if row.Version != 1 || row.LastVerifiedAt == nil || e.stored("fleet") != goodPW {
		t.Fatalf("row %+v", row)
	}
	if err := e.svc.SetCredential(ctx, e.admin, meta, "fleet", "fleet_uws", goodPW, false); err != nil {
		t.Fatal(err)
	}
	codes := e.events("fleet")
	if !contains(strings.Join(codes, " "), models.EvCredentialCreated) || codes[len(codes)-1] != models.EvCredentialReplaced {
		t.Fatalf("events %v", codes)
	}
	if e.row("fleet").Version != 2 {
		t.Fatal("replace did not bump the version")
	}
	e.noLeak(goodPW, "Wr0ng-But!Strong-Enough")
}

func TestRevealNeedsPermissionReasonAndDepartmentConsent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpt{})
	ctx := context.Background()
	e.seedDept("open", models.ProtocolREST, true)
	e.sim.sim.SetUser("open_uws", goodPW)
	if err := e.svc.SetCredential(ctx, e.admin, meta, "open", "open_uws", goodPW, false); err != nil {
		t.Fatal(err)
	}
	e.seed("closed", "closed_uws", models.ProtocolREST)
	if _, err := e.svc.Reveal(ctx, e.admin, meta, "closed", "audit"); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("closed: %v", err)
	}
	if _, err := e.svc.Reveal(ctx, e.admin, meta, "open", "  "); !errors.Is(err, models.ErrInvalid) {
		t.Fatalf("no reason: %v", err)
	}
	if _, err := e.svc.Reveal(ctx, e.admin, meta, "open", strings.Repeat("x", 501)); !errors.Is(err, models.ErrInvalid) {
		t.Fatalf("long reason: %v", err)
	}
	pw, err := e.svc.Reveal(ctx, lead("open"), meta, "open", "configuring the fleet gateway")
	if err != nil || pw.Reveal() != goodPW {
		t.Fatalf("reveal: %v", err)
	}
	codes := e.events("open")
	if codes[len(codes)-1] != models.EvCredentialRevealed {
		t.Fatalf("events %v", codes)
	}
	e.noLeak(goodPW)
}

func TestSwappedCiphertextDoesNotDecrypt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpt{})
	e.seed("alpha", "alpha_uws", models.ProtocolREST)
	e.seed("beta", "beta_uws", models.ProtocolREST)
	ctx := context.Background()
	a, b := e.row("alpha"), e.row("beta")
	if err := e.db.Gorm.Exec("UPDATE credentials SET ciphertext = ? WHERE id = ?", b.Ciphertext, a.ID).Error; err != nil {
		t.Fatal(err)
	}
	a = e.row("alpha")
	if _, err := e.svc.openCredential(&a); !errors.Is(err, secret.ErrDecrypt) {
		t.Fatalf("open: %v", err)
	}
	if _, err := e.svc.TestLogin(ctx, e.admin, meta, "alpha"); err == nil {
		t.Fatal("a swapped ciphertext was used")
	}
	if _, err := e.svc.Rotate(ctx, e.admin, meta, "alpha", ""); err == nil {
		t.Fatal("a swapped ciphertext was rotated")
	}
	if up := e.sim.user(t, "alpha_uws"); up.LoginsOK+up.LoginFailures != 0 {
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
	e := newEnv(t, envOpt{kr: old})
	e.seed("alpha", "alpha_uws", models.ProtocolREST)
	e.seed("beta", "beta_uws", models.ProtocolSOAP)
	ctx := context.Background()
	// A cached session, sealed too.
	if res, err := e.svc.Rotate(ctx, e.admin, meta, "alpha", ""); err != nil || !res.Rotated() {
		t.Fatalf("rotate %+v %v", res, err)
	}
	alphaPW := e.stored("alpha")
	both, err := secret.ParseKeys(k2 + "," + k1)
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Keyring = both
	n, err := e.svc.Rekey(ctx, e.admin, meta)
	if err != nil || n != 3 { // two credentials, one session
		t.Fatalf("rekey %d: %v", n, err)
	}
	if n, err := e.svc.Rekey(ctx, e.admin, meta); err != nil || n != 0 {
		t.Fatalf("second rekey %d: %v", n, err)
	}
	onlyNew, err := secret.ParseKeys(k2)
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Keyring = onlyNew
	if e.stored("alpha") != alphaPW || e.stored("beta") != goodPW {
		t.Fatal("a password changed in the rekey")
	}
	if tok, ok, err := e.svc.Upstream.cache.Get(ctx, "alpha"); err != nil || !ok || tok == "" {
		t.Fatalf("session after rekey: %v %v", ok, err)
	}
	if res, err := e.svc.Rotate(ctx, e.admin, meta, "alpha", ""); err != nil || !res.Rotated() {
		t.Fatalf("rotate after rekey %+v %v", res, err)
	}
}

func TestDashboardBuckets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpt{})
	ctx := context.Background()
	e.seed("fresh", "fresh_uws", models.ProtocolREST)
	e.seed("old", "old_uws", models.ProtocolREST)
	e.seed("soon", "soon_uws", models.ProtocolREST)
	e.seedWrong("bad", "bad_uws")
	e.seedDept("empty", models.ProtocolREST, false)
	now := e.clock.Now()
	set := func(slug string, age time.Duration) {
		if err := e.db.Gorm.Exec("UPDATE credentials SET password_changed_at = ? WHERE department_id = (SELECT id FROM departments WHERE slug = ?)",
			now.Add(-age), slug).Error; err != nil {
			t.Fatal(err)
		}
	}
	set("old", 100*24*time.Hour)
	set("soon", 80*24*time.Hour)
	_, _ = e.svc.TestLogin(ctx, e.admin, meta, "bad")
	_, _ = e.svc.TestLogin(ctx, e.admin, meta, "bad")
	list, err := e.svc.Credentials(ctx, e.admin)
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
