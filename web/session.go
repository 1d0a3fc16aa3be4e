package web

import (
	"crypto/sha256"
	"encoding/gob"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	people "github.com/uwsportal/uwsportal/internal/identity"

	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/templates"
)

// Session keys.
const (
	keyUser    = "uid"
	keyCreated = "created" // unix seconds: absolute timeout
	keySeen    = "seen"    // unix seconds: idle timeout
	keyIDToken = "idt"     // for the IdP's end-session hint; never logged
	keyFlash   = "flash"
)

// sessionLoaded marks a request whose session data is on its context.
const sessionLoaded = "session-loaded"

// seenResolution bounds how often a request rewrites its session just to
// move the idle clock.
const seenResolution = time.Minute

func init() { gob.Register([]templates.Flash{}) }

// sessionLoad loads the server-side session and saves it just before the
// response is written. It replaces scs's LoadAndSave so that a database
// failure reaches the portal's own error handler (a clean page with the
// request ID) instead of a bare 500.
func (s *Server) sessionLoad(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if sessionless(r.URL.Path) {
			return next(c)
		}
		c.Response().Header().Add("Vary", "Cookie")
		token := ""
		if ck, err := r.Cookie(s.sessions.Cookie.Name); err == nil {
			token = ck.Value
		}
		ctx := r.Context()
		if token != "" {
			pre := &prefetched{hint: s.sessionUsers.get(token)}
			ctx = s.prefetch(ctx, c, pre.hint)
			// One round trip for the session and, named by the hint, its person.
			var err error
			if ctx, pre.p, pre.err = s.people.OpenSession(ctx, token, pre.hint.uid); pre.err != nil && !errors.Is(pre.err, people.ErrUserDisabled) {
				return fmt.Errorf("load session: %w", unavailable(pre.err))
			}
			if ctx, err = s.sessions.Load(ctx, token); err != nil {
				return fmt.Errorf("load session: %w", unavailable(err))
			}
			c.Set(prefetchedPrincipal, pre)
		} else {
			var err error
			if ctx, err = s.sessions.Load(ctx, token); err != nil {
				return fmt.Errorf("load session: %w", unavailable(err))
			}
		}
		c.SetRequest(r.WithContext(ctx))
		c.Set(sessionLoaded, true)
		c.Response().Before(func() {
			switch s.sessions.Status(ctx) {
			case scs.Modified:
				token, expiry, err := s.sessions.Commit(ctx)
				if err != nil {
					s.logFailure(c, "save session", err)
					return
				}
				s.sessions.WriteSessionCookie(ctx, c.Response().Writer, token, expiry)
			case scs.Destroyed:
				s.sessions.WriteSessionCookie(ctx, c.Response().Writer, "", time.Time{})
			}
		})
		return next(c)
	}
}

// sessionless paths answer without touching the session store, so health
// checks and assets keep working while the database is down.
func sessionless(path string) bool {
	return path == "/healthz" || path == "/readyz" || path == "/metrics" || strings.HasPrefix(path, "/static/")
}

// unavailable marks a database error as a temporary outage for the user.
func unavailable(err error) error {
	return &models.Error{Kind: models.ErrUnavailable, Message: "The service is temporarily unavailable. Please try again shortly.", Err: err}
}

// loadPrincipal puts the signed-in person on the context, ending sessions
// that timed out or whose user was disabled.
func (s *Server) loadPrincipal(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Get(sessionLoaded) == nil {
			return next(c)
		}
		ctx := c.Request().Context()
		uid := s.sessions.GetInt64(ctx, keyUser)
		if uid == 0 {
			return next(c)
		}
		now := s.now()
		created := time.Unix(s.sessions.GetInt64(ctx, keyCreated), 0)
		seen := time.Unix(s.sessions.GetInt64(ctx, keySeen), 0)
		reason := ""
		switch {
		case now.Sub(created) > s.cfg.SessionLifetime:
			reason = "absolute timeout"
		case now.Sub(seen) > s.cfg.SessionIdle:
			reason = "idle timeout"
		}
		p, err := s.principalFor(c, uid)
		if errors.Is(err, people.ErrUserDisabled) {
			reason = "user disabled"
			p = &models.Principal{UserID: uid, Actor: itoa(uid)}
		} else if err != nil {
			return err
		}
		if reason == "" {
			if reason, p, err = s.refreshGroupsIfDue(c, uid, p); err != nil {
				return err
			}
		}
		if reason != "" {
			if err := s.sessions.Destroy(ctx); err != nil {
				return err
			}
			s.people.SessionEnded(ctx, p, meta(c), reason)
			s.flash(c, "info", "Your session ended ("+reason+"). Please sign in again.")
			return next(c)
		}
		if now.Sub(seen) >= seenResolution {
			s.sessions.Put(ctx, keySeen, now.Unix())
		}
		s.noteSession(c, sessionHint{uid: uid, wholeTrail: p.SeesAll(models.PermViewAudit)})
		c.Set("principal", p)
		return next(c)
	}
}

// prefetchedPrincipal is the context key of the person read with the
// session (a *prefetched).
const prefetchedPrincipal = "session-principal"

// prefetched is the person read in the session's query: the user the
// hint named (what this instance remembered of the session).
type prefetched struct {
	hint sessionHint
	p    *models.Principal
	err  error
}

// principalFor is the person behind the session's user uid: the one read
// with the session when the hint named uid, else read now.
func (s *Server) principalFor(c echo.Context, uid int64) (*models.Principal, error) {
	if pre, ok := c.Get(prefetchedPrincipal).(*prefetched); ok && pre.hint.uid == uid {
		return pre.p, pre.err
	}
	return s.people.Principal(c.Request().Context(), uid)
}

// noteSession keeps h for the session's next request, if it is not what
// the hint already said.
func (s *Server) noteSession(c echo.Context, h sessionHint) {
	if pre, ok := c.Get(prefetchedPrincipal).(*prefetched); !ok || pre.hint == h {
		return
	}
	if ck, err := c.Request().Cookie(s.sessions.Cookie.Name); err == nil {
		s.sessionUsers.put(ck.Value, h)
	}
}

// sessionHint is what this instance remembers of a session from its last
// request here.
type sessionHint struct {
	// uid is the user the session named: the next request reads the
	// session and its person in one round trip.
	uid int64
	// wholeTrail: that person read the whole audit trail, so the audit
	// page's search may start beside the session's read (prefetch).
	wholeTrail bool
}

// sessionUsers holds the sessions' hints. A hint is only that: the session
// is read afresh on every request, its person is used only if the session
// still names them, and a search read ahead only if that person, read
// now, may read the whole trail. Tokens are kept as their SHA-256, so the
// process's memory holds no usable session token. Bounded: when full it
// starts again empty (the next request of each session pays one more
// round trip).
type sessionUsers struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]sessionHint
}

const maxSessionUsers = 10000

func (h *sessionUsers) get(token string) sessionHint {
	k := sha256.Sum256([]byte(token))
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.m[k]
}

func (h *sessionUsers) put(token string, hint sessionHint) {
	k := sha256.Sum256([]byte(token))
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil || len(h.m) >= maxSessionUsers {
		h.m = make(map[[sha256.Size]byte]sessionHint)
	}
	h.m[k] = hint
}

// startSession signs a person in: a fresh session ID (no fixation), then
// the user and the clocks.
func (s *Server) startSession(c echo.Context, userID int64, idToken string) error {
	ctx := c.Request().Context()
	if err := s.sessions.RenewToken(ctx); err != nil {
		return err
	}
	// A new identity gets a new CSRF token, made by the next page.
	s.sessions.Remove(ctx, keyCSRF)
	now := s.now().Unix()
	s.sessions.Put(ctx, keyUser, userID)
	s.sessions.Put(ctx, keyCreated, now)
	s.sessions.Put(ctx, keySeen, now)
	if idToken != "" {
		s.sessions.Put(ctx, keyIDToken, idToken)
	}
	return nil
}

// flash keeps a message for the next page shown to this browser.
func (s *Server) flash(c echo.Context, kind, msg string) {
	ctx := c.Request().Context()
	list, _ := s.sessions.Get(ctx, keyFlash).([]templates.Flash)
	s.sessions.Put(ctx, keyFlash, append(list, templates.Flash{Kind: kind, Message: msg}))
}

func (s *Server) popFlashes(c echo.Context) []templates.Flash {
	if c.Get(sessionLoaded) == nil {
		return nil // an error page for a request whose session never loaded
	}
	list, _ := s.sessions.Pop(c.Request().Context(), keyFlash).([]templates.Flash)
	return list
}

// meta is where the request came from, for the audit trail.
func meta(c echo.Context) models.RequestMeta {
	return models.RequestMeta{SourceIP: c.RealIP(), UserAgent: c.Request().UserAgent(), RequestID: requestID(c),
		ClientRequestID: clientRequestID(c)}
}

// safeNext keeps only same-origin relative paths, so the page asked for
// before sign-in can be restored without an open redirect.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 {
		return "/"
	}
	// Decode once to see through %2F%2F and friends.
	if dec, err := url.PathUnescape(next); err == nil && dec != next {
		if safeNext(dec) == "/" && dec != "/" {
			return "/"
		}
	}
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f {
			return "/"
		}
	}
	return next
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
