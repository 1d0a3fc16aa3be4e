package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/uwsportal/uwsportal/models"
)

// Scan queues the notifications no event causes: credentials due within
// DueDays of their maximum age, API clients expiring within a week. Each is
// queued once per password (or expiry), whichever instance finds it.
func (s *Service) Scan(ctx context.Context) (int, error) {
	now := s.Now()
	creds, err := s.DB.CredentialsOf(ctx, nil)
	if err != nil {
		return 0, err
	}
	var out []models.Outbound
	for _, c := range creds {
		due := c.PasswordChangedAt.Add(time.Duration(c.MaxAgeDays) * 24 * time.Hour)
		if now.Before(due.Add(-time.Duration(s.DueDays) * 24 * time.Hour)) {
			continue
		}
		how := "The scheduler will rotate it automatically."
		if !c.ScheduleEnabled {
			how = "Scheduled rotation is off for this department: a lead must rotate it."
		}
		out = append(out, models.Outbound{Event: models.NotifyDue, Department: c.Slug, Time: now,
			DedupeKey: fmt.Sprintf("due:%d:%d", c.ID, c.PasswordChangedAt.Unix()),
			Subject:   "Password of " + c.Slug + " due for rotation " + due.UTC().Format("2006-01-02"),
			Text:      fmt.Sprintf("The password reaches its maximum age of %d days on %s. %s", c.MaxAgeDays, due.UTC().Format("2006-01-02 15:04 MST"), how),
			Link:      "/departments/" + c.Slug,
			Fields:    map[string]string{"due_at": due.UTC().Format(time.RFC3339), "max_age_days": fmt.Sprint(c.MaxAgeDays)}})
	}
	clients, err := s.DB.APIClientsExpiring(ctx, now, now.Add(7*24*time.Hour))
	if err != nil {
		return 0, err
	}
	for _, c := range clients {
		out = append(out, models.Outbound{Event: models.NotifyAPIClientExpiring, Department: c.Department, Time: now,
			DedupeKey: fmt.Sprintf("api-client-expiring:%s:%d", c.ID, c.ExpiresAt.Unix()),
			Subject:   fmt.Sprintf("API client %s of %s expires %s", c.Name, c.Department, c.ExpiresAt.UTC().Format("2006-01-02")),
			Text:      fmt.Sprintf("The application's API client %s (owner %s) stops working at %s unless someone creates a new one.", c.ID, c.OwnerEmail, c.ExpiresAt.UTC().Format("2006-01-02 15:04 MST")),
			Link:      "/departments/" + c.Department + "/api-clients",
			Fields:    map[string]string{"client_id": c.ID, "name": c.Name, "owner": c.OwnerEmail, "expires_at": c.ExpiresAt.UTC().Format(time.RFC3339)}})
	}
	return s.DB.EnqueueNotifications(ctx, out)
}
