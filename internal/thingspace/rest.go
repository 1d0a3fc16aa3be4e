package thingspace

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/uwsportal/uwsportal/internal/bufpool"
	"github.com/uwsportal/uwsportal/internal/clock"
	"github.com/uwsportal/uwsportal/internal/secret"
)

// DefaultRESTURL is the production ThingSpace base URL.
const DefaultRESTURL = "https://thingspace.verizon.com"

const maxAnswer = 16 << 20 // bytes read from any answer

// RESTConfig configures a REST backend. One REST backend per app key: it
// owns that key's bearer token cache.
type RESTConfig struct {
	BaseURL    string        // default DefaultRESTURL
	AppKey     string        // OAuth client ID
	AppSecret  secret.Secret // OAuth client secret
	HTTPClient *http.Client  // shared; default NewHTTPClient(0)
	Version    string        // sent as User-Agent uwsportal/<Version>
	Now        func() time.Time
}

// REST is the Backend for the ThingSpace M2M REST API.
type REST struct {
	base      string
	appKey    string
	appSecret secret.Secret
	hc        *http.Client
	userAgent string
	now       func() time.Time
	bearer    *bearerCache
}

var _ Backend = (*REST)(nil)

// NewREST returns a REST backend for cfg.
func NewREST(cfg RESTConfig) (*REST, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultRESTURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("thingspace: REST base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	if cfg.AppKey == "" || cfg.AppSecret == "" {
		return nil, errors.New("thingspace: REST backend needs an app key and app secret")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = NewHTTPClient(0)
	}
	if cfg.Now == nil {
		cfg.Now = clock.System
	}
	r := &REST{
		base:      strings.TrimRight(cfg.BaseURL, "/"),
		appKey:    cfg.AppKey,
		appSecret: cfg.AppSecret,
		hc:        cfg.HTTPClient,
		userAgent: userAgent(cfg.Version),
		now:       cfg.Now,
	}
	r.bearer = &bearerCache{fetch: r.fetchBearer, now: cfg.Now}
	return r, nil
}

func userAgent(version string) string {
	if version == "" {
		version = "dev"
	}
	return "uwsportal/" + version
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type sessionAnswer struct {
	SessionToken string `json:"sessionToken"`
}

// Login implements Backend.
func (r *REST) Login(ctx context.Context, username, password string) (string, error) {
	var out sessionAnswer
	if e := r.do(ctx, opLogin, http.MethodPost, "/api/m2m/v1/session/login", "",
		loginRequest{Username: username, Password: password}, &out, []string{password}); e != nil {
		return "", e
	}
	if out.SessionToken == "" {
		return "", &Error{Class: ClassUnknown, Op: opLogin, Status: http.StatusOK, Err: errors.New("answer has no sessionToken")}
	}
	return out.SessionToken, nil
}

// Logout implements Backend.
func (r *REST) Logout(ctx context.Context, session string) error {
	if e := r.do(ctx, opLogout, http.MethodPost, "/api/m2m/v1/session/logout", session, nil, nil, nil); e != nil {
		return e
	}
	return nil
}

type resetRequest struct {
	OldPassword string `json:"oldPassword"`
}

// ResetPassword implements Backend.
func (r *REST) ResetPassword(ctx context.Context, session, oldPassword string) ResetResult {
	var out resetAnswer
	if e := r.do(ctx, opReset, http.MethodPut, "/api/m2m/v1/session/password/actions/reset", session,
		resetRequest{OldPassword: oldPassword}, &out, []string{oldPassword}); e != nil {
		return resetResultFromError(e)
	}
	if out.NewPassword == "" {
		return ResetResult{Outcome: ResetUnknown, Err: &Error{Class: ClassUnknown, Op: opReset, Status: http.StatusOK, Err: errNoNewPassword}}
	}
	return ResetResult{Outcome: ResetApplied, NewPassword: secret.Secret(out.NewPassword)}
}

// Call implements Backend.
func (r *REST) Call(ctx context.Context, session, method, path string, body, out any) error {
	if !strings.HasPrefix(path, "/") {
		return &Error{Class: ClassBadRequest, Op: opCall, Err: fmt.Errorf("path %q must start with /", path), notSent: true}
	}
	if e := r.do(ctx, opCall+" "+method+" "+path, method, path, session, body, out, nil); e != nil {
		return e
	}
	return nil
}

// do sends one M2M request with the cached bearer token. If the gateway
// refuses the token (any 401, see classifyStatus) it drops it, fetches
// another and sends once more: the gateway answered, so the service never
// saw the first request. A token refused again is dropped too, so that the
// next request starts with a fresh one.
func (r *REST) do(ctx context.Context, op, method, path, session string, in, out any, secrets []string) *Error {
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return &Error{Class: ClassBadRequest, Op: op, Err: fmt.Errorf("encode request: %w", err), notSent: true}
		}
	}
	for attempt := 0; ; attempt++ {
		tok, e := r.bearer.get(ctx)
		if e != nil {
			e.notSent = true
			return e
		}
		e = r.send(ctx, op, method, path, tok, session, payload, out, append(secrets, tok, session))
		if e != nil && e.Class == ClassBearerRejected {
			r.bearer.invalidate(tok)
			if attempt == 0 {
				continue
			}
		}
		return e
	}
}

func (r *REST) send(ctx context.Context, op, method, path, bearer, session string, payload []byte, out any, secrets []string) *Error {
	// Whether the request left decides if a failed login may have counted
	// and if a failed reset may have been applied.
	var sent atomic.Bool
	if op == opLogin || op == opReset {
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			WroteRequest: func(i httptrace.WroteRequestInfo) {
				if i.Err == nil {
					sent.Store(true)
				}
			},
		})
	} else {
		sent.Store(true) // unknown: assume it left
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, body)
	if err != nil {
		return &Error{Class: ClassBadRequest, Op: op, Err: fmt.Errorf("build request: %w", err), notSent: true}
	}
	forbidReplay(req)
	req.Header.Set("Authorization", "Bearer "+bearer)
	if session != "" {
		req.Header.Set("VZ-M2M-Token", session)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", r.userAgent)
	return r.exchange(req, op, out, secrets, &sent)
}

func (r *REST) exchange(req *http.Request, op string, out any, secrets []string, sent *atomic.Bool) *Error {
	resp, err := r.hc.Do(req)
	if err != nil {
		return &Error{Class: ClassTransient, Op: op, Err: err, notSent: !sent.Load()}
	}
	defer resp.Body.Close()
	buf := bufpool.Get()
	defer bufpool.Put(buf) // everything below copies what it keeps
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxAnswer))
	data := buf.Bytes()
	if err != nil {
		// A 2xx cut mid-body may still hold a whole answer (a reset's new
		// password exists nowhere else): decodeAnswer takes only what
		// arrived complete, and anything it takes is verified by a login.
		if out != nil && resp.StatusCode >= 200 && resp.StatusCode <= 299 && len(data) > 0 && decodeAnswer(data, out) == nil {
			return nil
		}
		return &Error{Class: ClassTransient, Op: op, Status: resp.StatusCode, Err: fmt.Errorf("read answer: %w", err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := parseRESTError(op, resp.StatusCode, data, secrets)
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), r.now())
		return e
	}
	if out != nil {
		if err := decodeAnswer(data, out); err != nil {
			e := parseRESTError(op, resp.StatusCode, data, secrets)
			e.Err = errors.New("answer is not the expected JSON")
			return e
		}
	}
	return nil
}

type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// fetchBearer runs the OAuth client-credentials grant.
func (r *REST) fetchBearer(ctx context.Context) (string, time.Duration, *Error) {
	form := strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base+"/api/ts/v1/oauth2/token", form)
	if err != nil {
		return "", 0, &Error{Class: ClassBadRequest, Op: opToken, Err: fmt.Errorf("build request: %w", err)}
	}
	req.SetBasicAuth(r.appKey, r.appSecret.Reveal())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", r.userAgent)
	var out tokenAnswer
	var sent atomic.Bool
	sent.Store(true)
	if e := r.exchange(req, opToken, &out, []string{r.appSecret.Reveal()}, &sent); e != nil {
		return "", 0, e
	}
	if out.AccessToken == "" {
		return "", 0, &Error{Class: ClassUnknown, Op: opToken, Status: http.StatusOK, Err: errors.New("answer has no access_token")}
	}
	return out.AccessToken, time.Duration(out.ExpiresIn) * time.Second, nil
}
