package requests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/uwsportal/uwsportal/internal/notify/channel"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// Delivery of outcomes to the clients' listeners.
const (
	deliverGiveUp   = 24 * time.Hour // retried until a 2xx or a day
	deliverLease    = time.Minute
	deliverPerPass  = 50
	deliverMaxRetry = 30 * time.Minute
	// EventCallback is the X-Uwsportal-Event of a relayed callback.
	EventCallback = "device-request"
)

// DeliverDue sends the clients' callbacks that are due and returns how
// many it tried. Each message is claimed by one instance at a time; a
// sender that dies lets its lease run out and another sends it again with
// the same X-Uwsportal-Delivery, by which the receiver drops repeats.
func (s *Service) DeliverDue(ctx context.Context) (int, error) {
	due, err := s.db.ClaimClientCallbacks(ctx, s.now(), deliverLease, deliverPerPass)
	if err != nil {
		return 0, err
	}
	for _, d := range due {
		serr := s.deliverOne(ctx, d)
		state, next, msg := "sent", s.now(), ""
		if serr != nil {
			state, msg = "pending", serr.Error()
			next = s.now().Add(min(time.Duration(1<<min(d.Attempts, 20))*10*time.Second, deliverMaxRetry))
			if next.After(d.CreatedAt.Add(deliverGiveUp)) || errors.Is(serr, errPermanent) {
				state = "failed"
			}
		}
		if err := s.db.ClientCallbackDone(ctx, d.ID, d.Attempts, state, next, msg); err != nil {
			return len(due), err
		}
	}
	return len(due), nil
}

var errPermanent = errors.New("no listener any more")

// deliverOne builds the message from the request and the client's
// listener at send time (its password never waits in clear) and posts it.
func (s *Service) deliverOne(ctx context.Context, d store.ClientCallback) error {
	l, err := s.db.ClientListener(ctx, nil, d.ClientID)
	if errors.Is(err, models.ErrNotFound) {
		return errPermanent
	}
	if err != nil {
		return err
	}
	r, ok, err := s.db.DeviceRequest(ctx, nil, d.Request)
	if err != nil || !ok {
		return errors.Join(err, errPermanent)
	}
	m := Message{Username: l.Username, RequestID: r.RequestID, DeviceIDs: r.Devices, CallbackCount: d.Attempts, MaxCallbackThreshold: 0}
	if l.PasswordSealed != nil {
		pw, err := s.keys.Open(l.KeyID, l.PasswordSealed, clientAAD(d.ClientID))
		if err != nil {
			return err
		}
		m.Password = string(pw)
	}
	if r.Status == models.RequestFailed {
		m.Status, m.FaultResponse = "Failed", &Fault{FaultString: r.Fault}
	} else {
		m.Status = "Success"
		m.DeviceResponse, _ = json.Marshal(map[string]any{string(r.Operation) + "Response": map[string]any{"deviceIds": r.Devices}}) // plain maps encode
	}
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return s.post(ctx, l.URL, d.ID, body, m.Password)
}

// post sends body, signed like the portal's webhooks (keyed by the
// listener's password, which only the client and the portal know).
func (s *Service) post(ctx context.Context, target string, delivery int64, body []byte, key string) error {
	u, err := url.Parse(target)
	if err != nil {
		return errPermanent
	}
	if err := s.checkTarget(u); err != nil {
		return fmt.Errorf("%w: %s", errPermanent, models.Clip(err.Error(), 100))
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := s.now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(channel.HeaderDelivery, strconv.FormatInt(delivery, 10))
	req.Header.Set(channel.HeaderEvent, EventCallback)
	req.Header.Set(channel.HeaderTimestamp, strconv.FormatInt(ts, 10))
	if key != "" {
		req.Header.Set(channel.HeaderSignature, channel.Sign([]byte(key), ts, body))
	}
	res, err := s.hc.Do(req)
	if err != nil {
		return fmt.Errorf("post to the client's listener: %s", models.Clip(u.Redacted(), 100))
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16)) // drained for reuse; its content means nothing
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("the client's listener answered %d", res.StatusCode)
	}
	return nil
}
