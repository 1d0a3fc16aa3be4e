package web

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	people "github.com/uwsportal/uwsportal/internal/identity"

	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/templates"
)

// The pre-sign-in cookie is sealed with a key derived for this purpose
// only; its format version is in the cookie and in the associated data, so
// a cookie of another version can never be read as this one.
const stateVersion = "v2"

var stateAAD = []byte("oidc-state:" + stateVersion)

// oidcLogin starts the authorization code flow with PKCE, state and nonce.
func (s *Server) oidcLogin(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if s.oidc == nil {
		return c.Redirect(http.StatusSeeOther, "/login/local?next="+url.QueryEscape(next))
	}
	if !principal(c).Anonymous() {
		return c.Redirect(http.StatusSeeOther, next)
	}
	if err := s.oidc.Ready(c.Request().Context()); err != nil {
		s.people.SignInFailed(c.Request().Context(), meta(c), "identity provider unreachable", s.cfg.OIDCIssuer, "")
		return models.Errorf(models.ErrUnavailable, "The identity provider cannot be reached right now. If you are signed in already, your session keeps working; in an emergency an administrator can use the break-glass sign-in.")
	}
	st := authState{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(), Next: next,
		Expires: s.now().Add(authStateTTL).Unix()}
	keyID, ct, err := s.stateKeys.Seal(marshalState(st), stateAAD)
	if err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{
		Name: authCookie, Value: stateVersion + "." + keyID + "." + base64.RawURLEncoding.EncodeToString(ct), Path: "/auth/",
		MaxAge: int(authStateTTL.Seconds()), HttpOnly: true, Secure: s.cfg.Secure(), SameSite: http.SameSiteLaxMode,
	})
	u := s.oidc.AuthCodeURL(st.State, st.Verifier, st.Nonce)
	return c.Redirect(http.StatusFound, u)
}

// readAuthState opens the pre-sign-in cookie; any problem reads as "no state".
func (s *Server) readAuthState(c echo.Context) (authState, bool) {
	ck, err := c.Cookie(authCookie)
	if err != nil {
		return authState{}, false
	}
	version, rest, _ := strings.Cut(ck.Value, ".")
	keyID, enc, ok := strings.Cut(rest, ".")
	if !ok || version != stateVersion {
		return authState{}, false
	}
	ct, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return authState{}, false
	}
	plain, err := s.stateKeys.Open(keyID, ct, stateAAD)
	if err != nil {
		return authState{}, false
	}
	var st authState
	if json.Unmarshal(plain, &st) != nil || s.now().Unix() > st.Expires {
		return authState{}, false
	}
	return st, true
}

func (s *Server) clearAuthState(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: authCookie, Value: "", Path: "/auth/", MaxAge: -1, HttpOnly: true, Secure: s.cfg.Secure(), SameSite: http.SameSiteLaxMode})
}

// oidcCallback finishes the flow: checks state, exchanges the code with the
// PKCE verifier, verifies the ID token and nonce, then signs the person in.
func (s *Server) oidcCallback(c echo.Context) error {
	ctx := c.Request().Context()
	if s.oidc == nil {
		return echo.ErrNotFound
	}
	failed := func(reason, subject, message string, kind error) error {
		s.clearAuthState(c)
		s.people.SignInFailed(ctx, meta(c), reason, s.cfg.OIDCIssuer, subject)
		return models.Errorf(kind, "%s", message)
	}
	// The state first: an IdP error is only worth auditing as such when it
	// answers a sign-in started here; anything else is anonymous noise.
	st, ok := s.readAuthState(c)
	if !ok {
		return failed("missing or expired sign-in state", "", "Your sign-in took too long or was started in another browser. Please sign in again.", models.ErrInvalid)
	}
	if !equalTokens(c.QueryParam("state"), st.State) {
		return failed("state mismatch", "", "The sign-in response did not match the sign-in that was started here. Please sign in again.", models.ErrInvalid)
	}
	if idpErr := c.QueryParam("error"); idpErr != "" {
		return failed("idp error: "+models.Clip(idpErr, 64), "",
			"The identity provider did not sign you in ("+models.Clip(idpErr, 64)+"). Try again, or ask your administrator if this keeps happening.", models.ErrForbidden)
	}
	code := c.QueryParam("code")
	if code == "" || len(code) > 4096 {
		return failed("missing code", "", "The identity provider sent no authorization code. Please sign in again.", models.ErrInvalid)
	}
	if err := s.oidc.Ready(ctx); err != nil {
		return failed("identity provider unreachable", "", "The identity provider cannot be reached right now. Please try again shortly.", models.ErrUnavailable)
	}
	id, tok, rawIDToken, err := s.oidc.Exchange(ctx, code, st.Verifier, st.Nonce)
	if err != nil {
		s.log.Warn("sign-in failed", "err", err, "request_id", requestID(c))
		return failed(models.Clip(err.Error(), 200), "", "Sign-in failed: the identity provider's answer could not be verified. Please sign in again.", models.ErrInvalid)
	}
	s.clearAuthState(c)
	user, err := s.people.SignIn(ctx, people.Identity{Issuer: s.cfg.OIDCIssuer, Subject: id.Subject, Name: id.Name, Email: id.Email, Groups: id.Groups}, meta(c))
	if err != nil {
		return err
	}
	if err := s.startSession(c, user.ID, rawIDToken); err != nil {
		return err
	}
	if err := s.keepIdPTokens(c, id.Subject, tok); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, safeNext(st.Next))
}

// logout ends the session here and, when the IdP offers it, there too.
func (s *Server) logout(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	idToken := s.sessions.GetString(ctx, keyIDToken)
	if err := s.sessions.Destroy(ctx); err != nil {
		return err
	}
	target := signedOutPath
	if s.oidc != nil && idToken != "" && s.oidc.Ready(ctx) == nil && s.oidc.EndSession() != "" {
		back := strings.TrimSuffix(s.cfg.BaseURL.String(), "/") + signedOutPath
		q := url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {back}}
		target = s.oidc.EndSession() + "?" + q.Encode()
	}
	if !p.Anonymous() {
		s.people.SignedOut(ctx, p, meta(c), target != signedOutPath)
	}
	return c.Redirect(http.StatusSeeOther, target)
}

// signedOutPath is where a sign-out lands, from the IdP's end-session
// endpoint too (its post_logout_redirect_uri).
const signedOutPath = "/signed-out"

// signedOut says the person is signed out and offers to sign in again,
// rather than dropping them on the IdP's account picker.
func (s *Server) signedOut(c echo.Context) error {
	again := "/auth/login"
	if s.oidc == nil {
		again = "/login/local"
	}
	return render(c, http.StatusOK, templates.SignedOut(s.page(c, "Signed out"), templates.SignedOutView{SignInHref: again}))
}

// localLoginForm is the break-glass sign-in page.
func (s *Server) localLoginForm(c echo.Context) error {
	if !s.cfg.BreakGlass {
		return models.Errorf(models.ErrNotFound, "Break-glass sign-in is turned off here.")
	}
	return render(c, http.StatusOK, templates.LocalLogin(s.page(c, "Break-glass sign-in"), templates.LocalLoginView{
		Next: safeNext(c.QueryParam("next")), SSO: s.oidc != nil,
	}))
}

// localLogin checks a break-glass admin's password (throttled and audited).
func (s *Server) localLogin(c echo.Context) error {
	if !s.cfg.BreakGlass {
		return models.Errorf(models.ErrNotFound, "Break-glass sign-in is turned off here.")
	}
	ctx := c.Request().Context()
	username := c.FormValue("username")
	pw := secret.Secret(c.FormValue("password"))
	next := safeNext(c.FormValue("next"))
	user, err := s.people.LocalSignIn(ctx, username, pw, meta(c))
	if err != nil {
		msg, ok := models.SafeMessage(err)
		if !ok {
			return err
		}
		status := statusOf(err)
		if status == http.StatusUnauthorized {
			// A re-shown form, not the "please sign in" redirect.
			status = http.StatusOK
		}
		p := s.page(c, "Break-glass sign-in")
		p.Flashes = append(p.Flashes, templates.Flash{Kind: "error", Message: msg})
		return render(c, status, templates.LocalLogin(p, templates.LocalLoginView{Next: next, Username: models.Clip(username, 64), SSO: s.oidc != nil}))
	}
	if err := s.startSession(c, user.ID, ""); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, next)
}

func equalTokens(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
