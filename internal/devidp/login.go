package devidp

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
)

// pages serves devidp's own HTML: the sign-in page (a list of demo users,
// one submit button each, no password), the signed-out page and an index.
//
// The sign-in form, for tests and browser suites:
//
//	POST <issuer>/login  (application/x-www-form-urlencoded)
//	authRequestID=<from the login URL's query>  (hidden input, id "authRequestID")
//	user=<subject>  (the button <button type="submit" name="user" value="alice" id="user-alice">)
//
// On success it answers 303 to <issuer>/authorize/callback?id=…, which
// redirects to the relying party's redirect_uri with code and state.
type pages struct {
	store    *storage
	users    []User
	clientID string
	action   string
	callback func(r *http.Request, id string) string
}

type pageData struct {
	Title         string
	Message       string
	Error         string
	ClientID      string
	Action        string
	AuthRequestID string
	Users         []User
}

func (p *pages) showLogin(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	if err := p.store.pending(id); err != nil {
		render(w, http.StatusBadRequest, pageData{Title: "Sign-in request expired", Message: "This sign-in request is unknown or has expired. Start again from the application."})
		return
	}
	render(w, http.StatusOK, p.loginData(id, ""))
}

func (p *pages) submitLogin(w http.ResponseWriter, r *http.Request) {
	id, user := r.PostFormValue("authRequestID"), r.PostFormValue("user")
	err := p.store.completeLogin(id, user)
	switch {
	case errors.Is(err, errUnknownUser):
		render(w, http.StatusBadRequest, p.loginData(id, "There is no demo user "+user+"."))
		return
	case err != nil:
		render(w, http.StatusBadRequest, pageData{Title: "Sign-in request expired", Message: "This sign-in request is unknown, expired or already complete (" + err.Error() + "). Start again from the application."})
		return
	}
	slog.InfoContext(r.Context(), "devidp sign-in", "user", user, "client_id", p.clientID)
	// 303 so the browser follows with GET, as the callback expects.
	http.Redirect(w, r, p.callback(r, id), http.StatusSeeOther)
}

func (p *pages) loggedOut(w http.ResponseWriter, _ *http.Request) {
	render(w, http.StatusOK, pageData{Title: "Signed out", Message: "You are signed out of the development identity provider."})
}

func (p *pages) index(w http.ResponseWriter, _ *http.Request) {
	render(w, http.StatusOK, pageData{Title: "Development identity provider", Message: "Sign in through an application; the discovery document is at /.well-known/openid-configuration.", Users: p.users})
}

func (p *pages) loginData(id, errMsg string) pageData {
	return pageData{
		Title:         "Sign in as a demo user",
		Error:         errMsg,
		ClientID:      p.clientID,
		Action:        p.action,
		AuthRequestID: id,
		Users:         p.users,
	}
}

// render executes into a buffer first so a template error is a clean 500
// rather than half a page.
func render(w http.ResponseWriter, status int, data pageData) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}
