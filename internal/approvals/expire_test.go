package approvals_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// Two instances sweeping at once expire and audit each request once.
func TestExpireDueOnTwoInstancesAuditsEachOnce(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	e := apptest.New(t, apptest.Options{DB: apptest.OpenDB(t, url)})
	e.Seed("fleet", "fleet_uws", models.ProtocolREST)
	if err := e.App.Departments.SetApprovals(ctx, e.Admin, apptest.Meta, "fleet", all); err != nil {
		t.Fatal(err)
	}
	second := e.Second(apptest.OpenDB(t, url))
	const n = 240 // more than one sweep batch
	for i := range n {
		p := person(fmt.Sprint(1000+i), "lead", "fleet")
		a := ask(t, e, p, models.ApproveRotate)
		if i%3 == 0 { // a third approved: they lapse at the end of the window
			if _, err := e.App.Approvals.Decide(ctx, leadA2, apptest.Meta, a.ID, true, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.Clock.Advance(models.ApprovalPendingTTL)
	counts := make([]int, 2)
	var wg sync.WaitGroup
	for i, env := range []*apptest.Env{e, second} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if counts[i], err = env.App.Approvals.ExpireDue(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if counts[0]+counts[1] != n {
		t.Fatalf("expired %d + %d, want %d in all", counts[0], counts[1], n)
	}
	ids := map[string]int{}
	for _, row := range auditRows(t, e, models.EvApprovalExpired) {
		ids[fmt.Sprint(row.Detail["approval_id"])]++
	}
	if len(ids) != n {
		t.Fatalf("%d requests audited as expired, want %d", len(ids), n)
	}
	for id, c := range ids {
		if c != 1 {
			t.Fatalf("request %s audited as expired %d times", id, c)
		}
	}
	if again, err := e.App.Approvals.ExpireDue(ctx); err != nil || again != 0 {
		t.Fatalf("a second sweep expired %d (%v)", again, err)
	}
}
