package requests

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// create records r and returns its id, with the outcome it already has
// (nil: none yet). A request whose answer was lost may hold r's request
// id: it took the callback of r's send by its devices before r was
// recorded (ThingSpace's request ids are its own, so that is the only
// way). The id and its outcome then go to r, whose they are, and the
// other request is open again, unknown and polled, with an event saying
// so: r's send is never left unrecorded.
func (s *Service) create(ctx context.Context, tx *store.Tx, r models.DeviceRequest) (int64, *ending, error) {
	id, err := s.db.CreateDeviceRequest(ctx, tx, r)
	if !errors.Is(err, store.ErrRequestIDHeld) {
		return id, nil, err
	}
	held, ok, err := s.db.DeviceRequestByRequestID(ctx, tx, r.RequestID)
	if err == nil && (!ok || held.EndedAt == nil) {
		err = fmt.Errorf("request id %s is held by request %d, which is open", models.Clip(r.RequestID, 64), held.ID)
	}
	if err != nil {
		return 0, nil, err
	}
	var next *time.Time
	if at, ok := models.NextPoll(held.SentAt, held.Polls); ok {
		next = &at
	}
	if err := s.db.ReopenDeviceRequest(ctx, tx, held.ID, next); err != nil {
		return 0, nil, err
	}
	if id, err = s.db.CreateDeviceRequest(ctx, tx, r); err != nil {
		return 0, nil, err
	}
	e := models.NewEvent(models.EvDeviceRequestReopened, held.Principal(), models.RequestMeta{})
	e.Department, e.Target = held.Department, "device_request:"+strconv.FormatInt(held.ID, 10)
	e.With("request", held.ID, "request_id", held.RequestID, "taken_by", id, "operation", string(held.Operation),
		"devices", store.DeviceKeys(held.Devices), "first_event", held.FirstEvent)
	if err := s.db.Audit(ctx, tx, e); err != nil {
		return 0, nil, err
	}
	return id, &ending{status: held.Status, how: held.EndedBy, fault: held.Fault, at: *held.EndedAt, early: true}, nil
}
