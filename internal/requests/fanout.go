package requests

import (
	"context"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// queueClientCallback queues r's outcome for the API client that asked,
// if it registered a listener: in the transaction of the outcome, so a
// recorded outcome is always told.
func (s *Service) queueClientCallback(ctx context.Context, tx *store.Tx, r models.DeviceRequest) error {
	if r.ClientID == "" {
		return nil
	}
	_, err := s.db.QueueClientCallback(ctx, tx, r.ClientID, r.ID, s.now())
	return err
}
