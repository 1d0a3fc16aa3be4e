package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// The navigation's count of pending requests is what the approvals page
// lists, whatever the departments, the decider and the limit: nil slugs
// are every department, an empty list none; the decider's own requests,
// decided ones and those past their time are not counted.
func TestCountPendingApprovalsIsWhatPendingApprovalsLists(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	now := time.Now()
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		depts := map[string]int64{}
		for _, slug := range []string{"fleet", "yard", "quiet"} {
			d, err := db.CreateDepartment(ctx, tx, models.Department{Slug: slug, Name: slug, Protocol: models.ProtocolREST, MaxAgeDays: 90})
			if err != nil {
				return err
			}
			depts[slug] = d.ID
		}
		for i, a := range []struct {
			dept, requester string
			expires         time.Duration
		}{
			{"fleet", "1", time.Hour}, {"fleet", "2", time.Hour}, {"fleet", "2", time.Hour}, {"yard", "2", time.Hour},
			{"yard", "3", -time.Minute}, {"fleet", "3", time.Hour},
		} {
			if _, err := db.CreateApproval(ctx, tx, models.Approval{DepartmentID: depts[a.dept], Action: models.ApproveRotate,
				Requester: a.requester, Reason: fmt.Sprint("request ", i), RequestedAt: now, ExpiresAt: now.Add(a.expires)}); err != nil {
				return err
			}
		}
		last, err := db.CreateApproval(ctx, tx, models.Approval{DepartmentID: depts["yard"], Action: models.ApproveRotate,
			Requester: "2", Reason: "decided", RequestedAt: now, ExpiresAt: now.Add(time.Hour)})
		if err != nil {
			return err
		}
		_, ok, err := db.DecideApproval(ctx, tx, store.Decision{ID: last.ID, Decider: "1", Name: "One", Now: now, Approve: false})
		if err == nil && !ok {
			err = fmt.Errorf("request %d was not refused", last.ID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	counted := 0
	for _, slugs := range [][]string{nil, {}, {"fleet"}, {"yard"}, {"quiet"}, {"fleet", "yard"}, {"nowhere"}} {
		for _, decider := range []string{"1", "2", "3", "9"} {
			for _, limit := range []int{1, 2, 200} {
				list, err := db.PendingApprovals(ctx, slugs, decider, now, limit)
				if err != nil {
					t.Fatal(err)
				}
				n, err := db.CountPendingApprovals(ctx, slugs, decider, now, limit)
				if err != nil {
					t.Fatal(err)
				}
				if n != len(list) {
					t.Errorf("departments %q, decider %s, limit %d: counted %d, listed %d", slugs, decider, limit, n, len(list))
				}
				counted += n
			}
		}
	}
	if n, err := db.CountPendingApprovals(ctx, nil, "9", now, 200); err != nil || n != 5 {
		t.Errorf("every department for an outsider: %d pending (%v), want 5", n, err)
	}
	if counted == 0 {
		t.Error("nothing counted anywhere")
	}
	for requester, want := range map[string]bool{"1": true, "3": true, "4": false} {
		if has, err := db.HasApprovals(ctx, requester); err != nil || has != want {
			t.Errorf("requester %s has requests: %v (%v), want %v", requester, has, err, want)
		}
	}
}
