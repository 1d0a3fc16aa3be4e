package devidp

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

type claims struct {
	Name          string          `json:"name"`
	Email         string          `json:"email"`
	EmailVerified bool            `json:"email_verified"`
	Groups        json.RawMessage `json:"groups"`
}

// groups decodes the raw claim, failing if it is absent: a missing claim
// and an empty list mean different things to the portal.
func (c claims) groups(t *testing.T) []string {
	t.Helper()
	if c.Groups == nil {
		t.Fatal("groups claim missing")
	}
	var g []string
	if err := json.Unmarshal(c.Groups, &g); err != nil || g == nil {
		t.Fatalf("groups claim %s is not a JSON array of strings", c.Groups)
	}
	return g
}

func TestFlowForEveryDemoUser(t *testing.T) {
	idp := startIDP(t, "")
	for _, usr := range DefaultUsers() {
		t.Run(usr.Subject, func(t *testing.T) {
			a := idp.newAttempt()
			code := idp.signIn(t, a, usr.Subject)
			tok, err := idp.exchange(t.Context(), code, a.verifier)
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			idt := idp.verifyIDToken(t, tok, a.nonce)
			if idt.Subject != usr.Subject {
				t.Errorf("sub = %q, want %q", idt.Subject, usr.Subject)
			}
			var c claims
			if err := idt.Claims(&c); err != nil {
				t.Fatal(err)
			}
			if c.Name != usr.Name || c.Email != usr.Email || !c.EmailVerified {
				t.Errorf("ID token name/email = %q/%q (verified %v), want %q/%q", c.Name, c.Email, c.EmailVerified, usr.Name, usr.Email)
			}
			if g := c.groups(t); !slices.Equal(g, usr.Groups) {
				t.Errorf("ID token groups = %q, want %q", g, usr.Groups)
			}

			info, err := idp.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			var ic claims
			if err := info.Claims(&ic); err != nil {
				t.Fatal(err)
			}
			if info.Subject != usr.Subject || !slices.Equal(ic.groups(t), usr.Groups) {
				t.Errorf("userinfo sub/groups = %q/%s, want %q/%q", info.Subject, ic.Groups, usr.Subject, usr.Groups)
			}
		})
	}
}

func TestDemoUsersHaveTheAgreedGroups(t *testing.T) {
	want := map[string][]string{
		"alice": {"uwsportal-admins"}, "oscar": {"uwsportal-auditors"},
		"lena": {"fleet-leads"}, "mike": {"fleet-members"},
		"fiona": {"field-ops-leads"}, "nora": {},
	}
	users := DefaultUsers()
	if len(users) != len(want) {
		t.Fatalf("%d demo users, want %d", len(users), len(want))
	}
	for _, u := range users {
		if g, ok := want[u.Subject]; !ok || !slices.Equal(u.Groups, g) || u.Email != u.Subject+"@example.com" {
			t.Errorf("demo user %+v, want groups %q and email %s@example.com", u, g, u.Subject)
		}
	}
}

func TestTokenEndpointAcceptsBasicAndPostSecrets(t *testing.T) {
	idp := startIDP(t, "")
	for name, style := range map[string]oauth2.AuthStyle{"basic": oauth2.AuthStyleInHeader, "post": oauth2.AuthStyleInParams} {
		t.Run(name, func(t *testing.T) {
			rp := *idp
			rp.oauth.Endpoint.AuthStyle = style
			a := rp.newAttempt()
			if _, err := rp.exchange(t.Context(), rp.signIn(t, a, "alice"), a.verifier); err != nil {
				t.Fatalf("exchange: %v", err)
			}
			rp.oauth.ClientSecret = "wrong"
			a = rp.newAttempt()
			if _, err := rp.exchange(t.Context(), rp.signIn(t, a, "alice"), a.verifier); err == nil {
				t.Fatal("exchange with a wrong client secret succeeded")
			}
		})
	}
}

func TestReplayedCodeIsRejected(t *testing.T) {
	idp := startIDP(t, "")
	a := idp.newAttempt()
	code := idp.signIn(t, a, "lena")
	if _, err := idp.exchange(t.Context(), code, a.verifier); err != nil {
		t.Fatalf("first exchange: %v", err)
	}
	_, err := idp.exchange(t.Context(), code, a.verifier)
	assertInvalidGrant(t, err)
}

func TestWrongPKCEVerifierIsRejectedAndBurnsTheCode(t *testing.T) {
	idp := startIDP(t, "")
	a := idp.newAttempt()
	code := idp.signIn(t, a, "mike")
	_, err := idp.exchange(t.Context(), code, oauth2.GenerateVerifier())
	assertInvalidGrant(t, err)
	// An attacker's failed guess must not leave the code usable.
	_, err = idp.exchange(t.Context(), code, a.verifier)
	assertInvalidGrant(t, err)
}

func TestCodeExpires(t *testing.T) {
	idp := startIDP(t, "")
	a := idp.newAttempt()
	code := idp.signIn(t, a, "fiona")
	idp.clock.Advance(codeLifetime + time.Second)
	_, err := idp.exchange(t.Context(), code, a.verifier)
	assertInvalidGrant(t, err)
}

func TestAuthorizeRequiresPKCES256AndNonce(t *testing.T) {
	idp := startIDP(t, "")
	cases := map[string][]oauth2.AuthCodeOption{
		"no PKCE":      {oauth2.SetAuthURLParam("nonce", "n")},
		"plain PKCE":   {oauth2.SetAuthURLParam("nonce", "n"), oauth2.SetAuthURLParam("code_challenge", strings.Repeat("a", 43)), oauth2.SetAuthURLParam("code_challenge_method", "plain")},
		"no nonce":     {oauth2.S256ChallengeOption(oauth2.GenerateVerifier())},
		"prompt=none":  {oauth2.SetAuthURLParam("nonce", "n"), oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none")},
		"unknown user": {oauth2.SetAuthURLParam("nonce", "n"), oauth2.S256ChallengeOption(oauth2.GenerateVerifier())},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			user := "alice"
			if name == "unknown user" {
				user = "mallory"
			}
			cb, err := SignIn(t.Context(), newBrowser(t), idp.oauth.AuthCodeURL("st", opts...), user)
			if err == nil {
				t.Fatalf("SignIn succeeded with callback %v", cb)
			}
			if cb != nil && cb.Query().Get("code") != "" {
				t.Errorf("callback carries a code: %v", cb)
			}
		})
	}
}

func TestIssuerWithPath(t *testing.T) {
	idp := startIDP(t, "/idp")
	a := idp.newAttempt()
	tok, err := idp.exchange(t.Context(), idp.signIn(t, a, "oscar"), a.verifier)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	idp.verifyIDToken(t, tok, a.nonce)
}

func assertInvalidGrant(t *testing.T, err error) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("exchange error = %v, want invalid_grant", err)
	}
}
