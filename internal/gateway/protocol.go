package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/uwsportal/uwsportal/internal/clock"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// The gateway's paths: ThingSpace's own.
const (
	PathToken   = "/api/ts/v1/oauth2/token"
	PathLogin   = "/api/m2m/v1/session/login"
	PathLogout  = "/api/m2m/v1/session/logout"
	PathDevices = "/api/m2m/v1/devices/actions/"
)

// Paths lists every method and path the gateway answers, for the route
// table (anything else under /api/ is refused there too).
func Paths() [][2]string {
	out := [][2]string{{http.MethodPost, PathToken}, {http.MethodPost, PathLogin}, {http.MethodPost, PathLogout}}
	for _, op := range models.Operations {
		out = append(out, [2]string{opMethod(op), PathDevices + string(op)})
	}
	return out
}

func opMethod(op models.Operation) string {
	if op == models.OpPlan {
		return http.MethodPut
	}
	return http.MethodPost
}

// statusClientClosedRequest is nginx's status for a request its client
// gave up on before the answer.
const statusClientClosedRequest = 499

// request is one gateway request as it is worked on.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	meta   models.RequestMeta
	start  clock.Stopwatch
	op     string // token, login, logout, an operation, or "other"
	client *store.APIClientRow
	// verified: the client proved who it is (its secret or its token).
	verified bool
	// admitted: caller already took this call's rate-limit token; tried:
	// caller's statement tried to (the bucket was empty if not admitted).
	admitted, tried bool
	// notAfter is the hard end of what authenticated the request (a
	// secret replaced by a rotation, or a token obtained with one): what
	// it gives out ends then too. nil: no such end.
	notAfter *time.Time
}

// Serve answers one request under /api/. meta says where it came from
// (the web layer makes the request id).
func (s *Service) Serve(w http.ResponseWriter, r *http.Request, meta models.RequestMeta) {
	q := &request{w: w, r: r, meta: meta, start: clock.Start(), op: "other"}
	err := s.dispatch(q)
	if errors.Is(err, context.Canceled) && errors.Is(r.Context().Err(), context.Canceled) {
		// The caller gave up before anything was sent upstream (a call
		// that was sent is finished and audited without its context).
		s.log.InfoContext(r.Context(), "gateway: client closed the request", "request_id", meta.RequestID, "err", err)
		s.count(q, statusClientClosedRequest)
		w.WriteHeader(statusClientClosedRequest)
		return
	}
	var ref *refusal
	if err != nil && !errors.As(err, &ref) {
		s.log.ErrorContext(r.Context(), "gateway", "request_id", meta.RequestID, "err", err)
		ref = unavailable("internal", "The portal could not handle the request.")
	}
	if ref != nil {
		s.refused(q, ref)
		ref.write(w)
	}
}

func (s *Service) dispatch(q *request) error {
	path, method := q.r.URL.Path, q.r.Method
	switch {
	case strings.Contains(strings.ToLower(path), "/password"):
		return errReset
	case path == PathToken:
		q.op = "token"
		return s.onlyPost(q, s.token)
	case path == PathLogin:
		q.op = "login"
		return s.onlyPost(q, s.login)
	case path == PathLogout:
		q.op = "logout"
		return s.onlyPost(q, s.logout)
	case isFollowUp(path):
		return s.followUp(q)
	case strings.HasPrefix(path, PathDevices):
		op, err := models.ParseOperation(strings.TrimPrefix(path, PathDevices))
		if err != nil || strings.ContainsAny(strings.TrimPrefix(path, PathDevices), " \t") {
			return errNoMatch
		}
		q.op = string(op)
		if method != opMethod(op) {
			return errMethod
		}
		return s.device(q, op)
	}
	return errNoMatch
}

func (s *Service) onlyPost(q *request, fn func(*request) error) error {
	if q.r.Method != http.MethodPost {
		return errMethod
	}
	return fn(q)
}

// login opens a session handle for the bearer's client, whose ID and
// secret are the username and password.
func (s *Service) login(q *request) error {
	if err := s.bearer(q); err != nil {
		return err
	}
	if err := s.admit(q); err != nil {
		return err
	}
	raw, err := s.jsonBody(q)
	if err != nil {
		return err
	}
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return errJSON
	}
	if in.Username != q.client.ID {
		return errLogin
	}
	ok, end := s.verify(q.client, in.Password)
	if !ok {
		return errLogin
	}
	// The handle ends with the bearer it was opened with and with the
	// password given, whichever ends first.
	notAfter := q.notAfter
	if end != nil {
		t := earliest(*end, notAfter)
		notAfter = &t
	}
	handle := newSecret()
	if err := s.db.PutGatewayToken(q.r.Context(), hash(handle), q.client.ID, store.TokenSession, s.now().Add(SessionIdle), notAfter, s.now()); err != nil {
		return err
	}
	s.audit(q, models.EvGatewaySession, models.OutcomeSuccess, "action", "login", "result", "ok")
	writeJSON(q.w, http.StatusOK, map[string]string{"sessionToken": handle})
	s.count(q, http.StatusOK)
	return nil
}

// logout ends the client's session handle.
func (s *Service) logout(q *request) error {
	if err := s.bearer(q); err != nil {
		return err
	}
	if err := s.admit(q); err != nil {
		return err
	}
	handle, err := s.session(q)
	if err != nil {
		return err
	}
	if err := s.db.DeleteGatewayToken(q.r.Context(), hash(handle), q.client.ID); err != nil {
		return err
	}
	s.audit(q, models.EvGatewaySession, models.OutcomeSuccess, "action", "logout", "result", "ok")
	writeJSON(q.w, http.StatusOK, map[string]string{"sessionToken": handle})
	s.count(q, http.StatusOK)
	return nil
}

// bearer identifies the client by its bearer token, and reads the client
// afresh: a revoke or an expiry takes effect at once.
func (s *Service) bearer(q *request) error {
	tok, err := bearerToken(q)
	if err != nil {
		return err
	}
	id, notAfter, err := s.db.GatewayToken(q.r.Context(), hash(tok), store.TokenBearer, s.now(), 0)
	if err != nil {
		return err
	}
	if id == "" {
		return errInvalid
	}
	q.verified, q.notAfter = true, notAfter
	return s.load(q, id)
}

// caller identifies a device call's client by its bearer token, checks its
// session handle and takes a token from its rate-limit bucket, all in one
// round trip. The answers are those of bearer then session; every call by
// a known client counts against its rate, even one refused afterwards.
func (s *Service) caller(q *request) error {
	tok, handle, err := callerTokens(q)
	if err != nil {
		return err
	}
	c, found, err := s.db.GatewayCaller(q.r.Context(), hash(tok), hash(handle), s.now(), SessionIdle, s.limits.Burst, s.limits.PerSecond)
	if err != nil {
		return err
	}
	return s.identified(q, c, found, handle)
}

// callerWay is caller for a device call: the same round trip takes the
// department's ceiling token, when the client's own was taken and its
// session is live, and reads the way upstream (see ceiling). A call
// refused after that must give the token back (refund); a refusal here
// does.
func (s *Service) callerWay(q *request) (store.GatewayWay, error) {
	tok, handle, err := callerTokens(q)
	if err != nil {
		return store.GatewayWay{}, err
	}
	c, w, found, err := s.db.GatewayCallerWay(q.r.Context(), hash(tok), hash(handle), s.now(), SessionIdle,
		s.limits.Burst, s.limits.PerSecond, s.limits.DepartmentPerSecond)
	if err != nil {
		return store.GatewayWay{}, err
	}
	if err := s.identified(q, c, found, handle); err != nil {
		s.refund(q, w) // a token was taken only for a client found
		return store.GatewayWay{}, err
	}
	return w, nil
}

// callerTokens are the request's bearer token and session handle.
func callerTokens(q *request) (tok, handle string, err error) {
	tok, err = bearerToken(q)
	return tok, strings.TrimSpace(q.r.Header.Get("VZ-M2M-Token")), err
}

// identified checks the client GatewayCaller found for the request.
func (s *Service) identified(q *request, c store.Caller, found bool, handle string) error {
	if !found {
		return errInvalid
	}
	q.verified, q.client, q.admitted, q.tried = true, &c.APIClientRow, c.Admitted, true
	if !c.Active(s.now()) {
		return gwFault(http.StatusUnauthorized, faultInvalid, "Invalid Credentials", "client_"+c.Status(s.now()))
	}
	if handle == "" || !c.Session {
		return errSession
	}
	return nil
}

// bearerToken is the request's bearer token.
func bearerToken(q *request) (string, error) {
	h := q.r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if h == "" {
		return "", errMissing
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", errInvalid
	}
	return strings.TrimSpace(tok), nil
}

// session checks the VZ-M2M-Token handle: live, and the bearer's client's.
func (s *Service) session(q *request) (string, error) {
	handle := strings.TrimSpace(q.r.Header.Get("VZ-M2M-Token"))
	if handle == "" {
		return "", errSession
	}
	id, _, err := s.db.GatewayToken(q.r.Context(), hash(handle), store.TokenSession, s.now(), SessionIdle)
	if err != nil {
		return "", err
	}
	if id == "" || id != q.client.ID {
		return "", errSession
	}
	return handle, nil
}

// client identifies the client by its ID and secret.
func (s *Service) client(q *request, id, secret string) error {
	if err := s.load(q, id); err != nil {
		return err
	}
	ok, end := s.verify(q.client, secret)
	if !ok {
		return errInvalid
	}
	q.verified, q.notAfter = true, end
	return nil
}

func (s *Service) load(q *request, id string) error {
	if !strings.HasPrefix(id, "uwsc_") || len(id) > 40 {
		return errInvalid
	}
	c, err := s.db.APIClient(q.r.Context(), nil, id, false)
	if errors.Is(err, models.ErrNotFound) {
		return errInvalid
	}
	if err != nil {
		return err
	}
	q.client = &c
	if !c.Active(s.now()) {
		return gwFault(http.StatusUnauthorized, faultInvalid, "Invalid Credentials", "client_"+c.Status(s.now()))
	}
	return nil
}

// verify compares secret with the client's (or, during a rotation's
// overlap, its previous one) in constant time. end is when the secret
// that matched stops working (nil: the current secret).
func (s *Service) verify(c *store.APIClientRow, secret string) (ok bool, end *time.Time) {
	h := hash(secret)
	cur := sameHash(h, c.SecretHash)
	prev := c.PrevUntil != nil && s.now().Before(*c.PrevUntil) && sameHash(h, c.PrevHash)
	if prev && !cur {
		return true, c.PrevUntil
	}
	return cur, nil
}

// earliest is t, or end when that comes first.
func earliest(t time.Time, end *time.Time) time.Time {
	if end != nil && end.Before(t) {
		return *end
	}
	return t
}

// body reads the request body, at most MaxBody bytes (a form is parsed).
func (s *Service) body(q *request) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(q.w, q.r.Body, s.limits.MaxBody))
	if errMax := (*http.MaxBytesError)(nil); errors.As(err, &errMax) {
		return nil, errTooLarge
	}
	if err != nil {
		return nil, errJSON
	}
	if hasType(q.r, "application/x-www-form-urlencoded") {
		vals, err := url.ParseQuery(string(data))
		if err != nil {
			return nil, errGrant
		}
		q.r.PostForm = vals
	}
	return data, nil
}

// jsonBody reads a JSON body.
func (s *Service) jsonBody(q *request) ([]byte, error) {
	if !hasType(q.r, "application/json") {
		return nil, errContentType
	}
	data, err := s.body(q)
	if err != nil {
		return nil, err
	}
	if !json.Valid(data) {
		return nil, errJSON
	}
	return data, nil
}

func hasType(r *http.Request, want string) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == want
}

// principal is the client as the audit trail and upstream know it.
func principal(c *store.APIClientRow) *models.Principal {
	return &models.Principal{Actor: "api-client:" + c.ID, Name: c.Name + " (API client)"}
}
