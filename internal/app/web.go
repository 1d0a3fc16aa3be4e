package app

import (
	"context"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/uwsportal/uwsportal/internal/notify"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/sso"
)

// WebParts are what the web server needs besides the use cases, built here
// so that the web layer constructs nothing: the server-side session
// manager, the OpenID Connect relying party (nil without SSO) and the keys
// derived from the master key for one purpose each.
type WebParts struct {
	Sessions *scs.SessionManager
	SSO      *sso.Client
	// StateKeys seal the sign-in state cookie; TokenKeys the IdP tokens
	// kept in a session.
	StateKeys, TokenKeys *secret.Keyring
}

// sessionSlack is how far the stored sessions' lifetimes sit beyond the
// portal's: they are backstops; the portal enforces idle and absolute
// timeouts with its clock (and rewrites a session at most once a minute
// just to move the idle clock). scs's own IdleTimeout is not set: it would
// rewrite the session on every request; the store expires a row idle after
// its last write instead.
const sessionSlack = 2 * time.Minute

func newWebParts(core *Core, keys *secret.Keyring) (WebParts, error) {
	cfg := core.Config
	sm := scs.New()
	sm.Store = core.DB.SessionStore(cfg.SessionIdle + sessionSlack)
	sm.Codec = newSessionCodec()
	sm.Lifetime = cfg.SessionLifetime + sessionSlack
	sm.Cookie.Name = "uwsportal_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = cfg.Secure()
	sm.Cookie.Path = "/"
	sm.Cookie.Persist = false
	w := WebParts{Sessions: sm}
	var err error
	if w.StateKeys, err = keys.Derive("oidc-state"); err != nil {
		return w, err
	}
	if w.TokenKeys, err = keys.Derive("session-idp-tokens"); err != nil {
		return w, err
	}
	if cfg.SSOEnabled() {
		w.SSO = sso.New(cfg, core.Log)
	}
	return w, nil
}

// NotificationWorker is the background worker that delivers the outbox;
// it also expires approvals nobody used in time, on every instance (each
// expiry is audited once).
func (a *App) NotificationWorker() *notify.Worker {
	return a.Notify.NewWorker(notify.WorkerOptions{Sweeps: []func(context.Context) (int, error){a.Approvals.ExpireDue}})
}
