package thingspace

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// ErrOutcomeUnknown is wrapped into the error of a device action that may
// have been applied: the request left and its answer was lost (timeout,
// connection reset, 5xx, an unreadable 2xx). Actions are not idempotent
// (ThingSpace's honouring of an Idempotency-Key is unconfirmed), so such an
// action must never be retried automatically: show "outcome unknown" and
// let a person re-read the device. ClassOf still gives the failure's class.
var ErrOutcomeUnknown = errors.New("device action outcome unknown: it may have been applied")

// OutcomeUnknown reports whether err is a device action failure that may
// have been applied.
func OutcomeUnknown(err error) bool { return errors.Is(err, ErrOutcomeUnknown) }

// ListDevices makes one list call with cred's session (logging in only if
// needed, see WithSession). A list is a read; the caller may repeat it.
func (c *Client) ListDevices(ctx context.Context, cred Credential, req ListDevicesRequest) (ListDevicesResponse, error) {
	var out ListDevicesResponse
	if err := c.Call(ctx, cred, http.MethodPost, devicesPath+ActionList, req, &out); err != nil {
		return ListDevicesResponse{}, fmt.Errorf("thingspace list %s: %w", cred.Key, err)
	}
	return out, nil
}

// EachDevicePage lists every page of req, oldest device first, calling fn
// with each page's devices until the last page or fn's error.
func (c *Client) EachDevicePage(ctx context.Context, cred Credential, req ListDevicesRequest, fn func([]Device) error) error {
	for {
		page, err := c.ListDevices(ctx, cred, req)
		if err != nil {
			return err
		}
		if err := fn(page.Devices); err != nil {
			return err
		}
		next, more, err := page.Next(req)
		if err != nil || !more {
			return err
		}
		req = next
	}
}

// DeviceAction runs the device action op ("activate", "suspend",
// "restore", "deactivate", "plan") with body (ActivateRequest,
// ActionRequest, DeactivateRequest, ChangePlanRequest or any value that
// encodes to the same JSON) using cred's session. An answer saying the
// session expired means the action was not applied: it is sent once more
// after one new login. Any other failure is returned as is and never
// retried; when the action may have been applied, the error wraps
// ErrOutcomeUnknown.
func (c *Client) DeviceAction(ctx context.Context, cred Credential, op string, body any) (ActionResponse, error) {
	method, path, ok := ActionEndpoint(op)
	if !ok || body == nil {
		return ActionResponse{}, &Error{Class: ClassBadRequest, Op: opCall,
			Err: fmt.Errorf("device action %q with body %T: no such action or no body", op, body), notSent: true}
	}
	var (
		out     ActionResponse
		callErr error // the last answer to the action itself
	)
	err := c.WithSession(ctx, cred, func(ctx context.Context, session string) error {
		out = ActionResponse{}
		callErr = c.backend.Call(ctx, session, method, path, body, &out)
		return callErr
	})
	if err == nil && out.RequestID == "" {
		err = &Error{Class: ClassUnknown, Op: opCall + " " + method + " " + path, Status: http.StatusOK, Err: errors.New("answer has no requestId")}
		callErr = err
	}
	if err == nil {
		c.log.InfoContext(ctx, "thingspace device action", "key", cred.Key, "action", op, "request_id", out.RequestID)
		return out, nil
	}
	// An error other than the action's own answer is a login that failed
	// before the action was (re)sent: nothing was applied.
	unknown := callErr != nil && errors.Is(err, callErr) && !provedNotApplied(err)
	c.log.WarnContext(ctx, "thingspace device action", "key", cred.Key, "action", op,
		"class", ClassOf(err).String(), "code", CodeOf(err), "outcome_unknown", unknown)
	if unknown {
		return ActionResponse{}, fmt.Errorf("thingspace %s %s: %w: %w", op, cred.Key, ErrOutcomeUnknown, err)
	}
	return ActionResponse{}, fmt.Errorf("thingspace %s %s: %w", op, cred.Key, err)
}

// provedNotApplied reports whether an action's failure proves that nothing
// changed upstream: the same rule as for a reset (a 4xx, a recognised
// refusal, or a request that never left).
func provedNotApplied(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && resetResultFromError(e).Outcome == ResetRejected
}
