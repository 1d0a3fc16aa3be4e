package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/uwsportal/uwsportal/internal/testdb"
)

// Without scs's IdleTimeout (which rewrote every session on every request),
// a stored session still expires idle after its last write: the row's
// expiry is the earlier of scs's deadline and the idle backstop.
func TestSessionRowsExpireIdleAfterTheirLastWrite(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	st, ok := db.SessionStore(10 * time.Minute).(scs.CtxStore)
	if !ok {
		t.Fatal("the session store takes no context")
	}
	far := time.Now().Add(12 * time.Hour)
	if err := st.CommitCtx(ctx, "tok-a", []byte("data"), far); err != nil {
		t.Fatal(err)
	}
	var idleBound, deadline bool
	err := db.Pool.QueryRow(ctx, `SELECT expiry <= current_timestamp + interval '10 minutes', expiry = $1
	  FROM sessions WHERE token = 'tok-a'`, far).Scan(&idleBound, &deadline)
	if err != nil {
		t.Fatal(err)
	}
	if !idleBound || deadline {
		t.Fatalf("the row expires at scs's deadline, not idle after its write (idle-bound %v)", idleBound)
	}
	b, found, err := st.FindCtx(ctx, "tok-a")
	if err != nil || !found || string(b) != "data" {
		t.Fatalf("find: %q %v %v", b, found, err)
	}
	if err := st.DeleteCtx(ctx, "tok-a"); err != nil {
		t.Fatal(err)
	}
	if _, found, err := st.FindCtx(ctx, "tok-a"); err != nil || found {
		t.Fatalf("a deleted session is found: %v %v", found, err)
	}
}
