package thingspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/uwsportal/uwsportal/internal/bufpool"
)

// RawAnswer is ThingSpace's answer as it was sent: the portal's gateway
// passes it back to an application unchanged.
type RawAnswer struct {
	Status      int
	ContentType string
	Body        []byte
}

// RawCaller is a backend that can pass an M2M call through unchanged
// (the REST backend).
type RawCaller interface {
	CallRaw(ctx context.Context, session, method, path string, payload []byte) (RawAnswer, error)
}

var _ RawCaller = (*REST)(nil)

// Forward sends an M2M call (path like "/api/m2m/v1/devices/actions/list")
// with cred's session and returns ThingSpace's status and body as sent.
// It goes through WithSession, so the session is shared, a login goes
// through the lockout guard, and an answer saying the session expired
// (nothing was done) is followed by one new login and one more send. Any
// other answer, whatever its status, is returned with a nil error. An
// error means no answer came back: for an action that may have been
// applied, it wraps ErrOutcomeUnknown, and it is never sent again.
func (c *Client) Forward(ctx context.Context, cred Credential, method, path string, payload []byte) (RawAnswer, error) {
	rc, ok := c.backend.(RawCaller)
	if !ok {
		return RawAnswer{}, &Error{Class: ClassBadRequest, Op: opCall, Err: errors.New("this backend cannot pass calls through"), notSent: true}
	}
	var (
		out     RawAnswer
		callErr error
	)
	err := c.WithSession(ctx, cred, func(ctx context.Context, session string) error {
		out, callErr = rc.CallRaw(ctx, session, method, path, payload)
		return callErr
	})
	if err == nil {
		return out, nil
	}
	// A login that failed before the call was (re)sent applied nothing.
	unknown := callErr != nil && errors.Is(err, callErr) && !provedNotApplied(err)
	c.log.WarnContext(ctx, "thingspace forward", "key", cred.Key, "path", path,
		"class", ClassOf(err).String(), "code", CodeOf(err), "outcome_unknown", unknown)
	if unknown {
		return RawAnswer{}, fmt.Errorf("thingspace %s %s: %w: %w", method, path, ErrOutcomeUnknown, err)
	}
	return RawAnswer{}, fmt.Errorf("thingspace %s %s: %w", method, path, err)
}

// CallRaw implements RawCaller. An answer saying the bearer token or the
// session is no longer good is an error (the caller fetches another and
// sends again: nothing was done); a 5xx or an unreadable answer is an
// error too (the outcome is unknown); any other answer is returned as is.
func (r *REST) CallRaw(ctx context.Context, session, method, path string, payload []byte) (RawAnswer, error) {
	if !strings.HasPrefix(path, "/api/m2m/") {
		return RawAnswer{}, &Error{Class: ClassBadRequest, Op: opCall, Err: fmt.Errorf("path %q is not an M2M path", path), notSent: true}
	}
	op := opCall + " " + method + " " + path
	for attempt := 0; ; attempt++ {
		tok, e := r.bearer.get(ctx)
		if e != nil {
			e.notSent = true
			return RawAnswer{}, e
		}
		ans, e := r.sendRaw(ctx, op, method, path, tok, session, payload)
		if e != nil && e.Class == ClassBearerRejected {
			r.bearer.invalidate(tok)
			if attempt == 0 {
				continue
			}
		}
		if e != nil {
			return RawAnswer{}, e
		}
		return ans, nil
	}
}

func (r *REST) sendRaw(ctx context.Context, op, method, path, bearer, session string, payload []byte) (RawAnswer, *Error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, body)
	if err != nil {
		return RawAnswer{}, &Error{Class: ClassBadRequest, Op: op, Err: fmt.Errorf("build request: %w", err), notSent: true}
	}
	forbidReplay(req)
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("VZ-M2M-Token", session)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", r.userAgent)
	resp, err := r.hc.Do(req)
	if err != nil {
		return RawAnswer{}, &Error{Class: ClassTransient, Op: op, Err: err}
	}
	defer resp.Body.Close()
	data, err := readAnswer(resp.Body)
	if err != nil {
		return RawAnswer{}, &Error{Class: ClassTransient, Op: op, Status: resp.StatusCode, Err: fmt.Errorf("read answer: %w", err)}
	}
	secrets := []string{bearer, session}
	if resp.StatusCode >= 500 {
		return RawAnswer{}, parseRESTError(op, resp.StatusCode, data, secrets)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := parseRESTError(op, resp.StatusCode, data, secrets)
		if e.Class == ClassSessionExpired || e.Class == ClassBearerRejected {
			return RawAnswer{}, e
		}
	}
	return RawAnswer{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: data}, nil
}

// readAnswer reads an answer the caller keeps, up to maxAnswer bytes, into
// a lent buffer and returns a copy of exactly its size: read straight into
// a fresh slice it would grow by copies from 512 bytes, half again what the
// answer holds in garbage on every gateway call.
func readAnswer(body io.Reader) ([]byte, error) {
	buf := bufpool.Get()
	defer bufpool.Put(buf)
	if _, err := buf.ReadFrom(io.LimitReader(body, maxAnswer)); err != nil {
		return nil, err
	}
	return bytes.Clone(buf.Bytes()), nil
}
