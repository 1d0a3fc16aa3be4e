package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/uwsportal/uwsportal/internal/requests"
	"github.com/uwsportal/uwsportal/models"
)

// The paths of ThingSpace's asynchronous results, answered by the portal
// itself for the client's own requests: nothing is forwarded upstream.
const (
	PathAccounts  = "/api/m2m/v1/accounts/"
	PathCallbacks = "/api/m2m/v1/callbacks/"
)

var (
	errRequestNotFound = m2m(http.StatusBadRequest, "REQUEST_FAILED.Request.NotFound", "No request with that id was made by this client.", "request_not_found")
	errListener        = m2m(http.StatusBadRequest, "INPUT_INVALID.Callback", "The callback registration is not valid.", "bad_listener")
	errNoListener      = m2m(http.StatusBadRequest, "REQUEST_FAILED.Callback.NotFound", "No listener is registered for that service.", "no_listener")
)

// isFollowUp reports whether path is one of the asynchronous results' paths.
func isFollowUp(path string) bool {
	return strings.HasPrefix(path, PathAccounts) || strings.HasPrefix(path, PathCallbacks)
}

// followUp answers a request status read or a listener registration.
func (s *Service) followUp(q *request) error {
	parts := strings.Split(strings.TrimPrefix(q.r.URL.Path, "/api/m2m/v1/"), "/")
	switch {
	case len(parts) == 5 && parts[0] == "accounts" && parts[2] == "requests" && parts[4] == "status":
		q.op = "request_status"
		if q.r.Method != http.MethodGet {
			return errMethod
		}
		return s.requestStatus(q, parts[1], parts[3])
	case len(parts) == 2 && parts[0] == "callbacks":
		q.op = "callbacks"
		return s.listener(q, parts[1], "")
	case len(parts) == 4 && parts[0] == "callbacks" && parts[2] == "name":
		q.op = "callbacks"
		if q.r.Method != http.MethodDelete {
			return errMethod
		}
		return s.listener(q, parts[1], parts[3])
	}
	return errNoMatch
}

// authorized identifies the caller, takes its rate-limit token and checks
// that account (from the path) is its department's.
func (s *Service) authorized(q *request, account string) error {
	if err := s.caller(q); err != nil {
		return err
	}
	if err := s.admit(q); err != nil {
		return err
	}
	if a, err := url.PathUnescape(account); err != nil || a != q.client.AccountName || a == "" {
		return errAccount
	}
	return nil
}

// requestStatus answers from the portal's record, for the client's own requests.
func (s *Service) requestStatus(q *request, account, rid string) error {
	if err := s.authorized(q, account); err != nil {
		return err
	}
	rid, err := url.PathUnescape(rid)
	if err != nil {
		return errRequestNotFound
	}
	r, ok, err := s.reqs.ClientStatus(context.WithoutCancel(q.r.Context()), principal(q.client), q.client.ID, rid)
	if err != nil {
		return err
	}
	if !ok {
		return errRequestNotFound
	}
	status := map[models.RequestStatus]string{models.RequestSucceeded: "Success", models.RequestFailed: "Failure"}[r.Status]
	if status == "" {
		status = "Pending"
	}
	writeJSON(q.w, http.StatusOK, map[string]string{"requestId": r.RequestID, "status": status})
	s.count(q, http.StatusOK)
	return nil
}

// listener registers, lists or removes the client's own listener.
func (s *Service) listener(q *request, account, service string) error {
	if err := s.authorized(q, account); err != nil {
		return err
	}
	ctx, p := q.r.Context(), principal(q.client)
	ans := map[string]string{"accountName": q.client.AccountName, "serviceName": requests.ServiceCarrier}
	switch q.r.Method {
	case http.MethodGet:
		list, err := s.reqs.ClientListeners(ctx, q.client.ID, q.client.AccountName)
		if err != nil {
			return err
		}
		writeJSON(q.w, http.StatusOK, list)
	case http.MethodPost:
		raw, err := s.jsonBody(q)
		if err != nil {
			return err
		}
		var in requests.ListenerInput
		if err := json.Unmarshal(raw, &in); err != nil {
			return errJSON
		}
		if err := s.reqs.SetClientListener(ctx, p, q.meta, q.client.ID, q.client.Department, in); err != nil {
			return listenerRefusal(err)
		}
		writeJSON(q.w, http.StatusOK, ans)
	case http.MethodDelete:
		if err := s.reqs.RemoveClientListener(ctx, p, q.meta, q.client.ID, q.client.Department, service); err != nil {
			if errors.Is(err, models.ErrNotFound) {
				return errNoListener
			}
			return err
		}
		ans["serviceName"] = service
		writeJSON(q.w, http.StatusOK, ans)
	default:
		return errMethod
	}
	s.count(q, http.StatusOK)
	return nil
}

// listenerRefusal gives an invalid registration's safe message in ThingSpace's shape.
func listenerRefusal(err error) error {
	if msg, ok := models.SafeMessage(err); ok && errors.Is(err, models.ErrInvalid) {
		return m2m(http.StatusBadRequest, errListener.code, msg, errListener.reason)
	}
	return err
}
