package notify_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/notify"
	"github.com/uwsportal/uwsportal/internal/notify/channel"
	"github.com/uwsportal/uwsportal/internal/notify/channel/channeltest"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/internal/testdb"
	"github.com/uwsportal/uwsportal/models"
)

// world is two portal instances on one database, a real SMTP server with
// STARTTLS and HTTP receivers that check signatures.
type world struct {
	t    *testing.T
	a, b *apptest.Env
	wa   *notify.Worker
	wb   *notify.Worker
	mail *channeltest.SMTPServer
	url  string // the test database
}

func newWorld(t *testing.T) *world {
	t.Helper()
	mail := channeltest.NewSMTPServer(t)
	sender := &channel.Sender{Guard: channeltest.Loopback, SMTP: channel.SMTP{Addr: mail.Addr, From: "uwsportal@example.com", RootCAs: mail.RootCAs}}
	url := testdb.URL(t)
	a := apptest.New(t, apptest.Options{DB: apptest.OpenDB(t, url), Sender: sender})
	b := a.Second(apptest.OpenDB(t, url))
	o := notify.WorkerOptions{Batch: 3} // small batches: the instances interleave
	return &world{t: t, a: a, b: b, mail: mail, url: url, wa: a.App.Notify.NewWorker(o), wb: b.App.Notify.NewWorker(o)}
}

// add creates a channel as the admin.
func (w *world) add(kind models.ChannelKind, target, dept, events string) notify.Added {
	w.t.Helper()
	made, err := w.a.App.Notify.Add(context.Background(), w.a.Admin, apptest.Meta,
		notify.AddInput{Kind: string(kind), Target: target, Department: dept, Events: events})
	if err != nil {
		w.t.Fatalf("add %s channel: %v", kind, err)
	}
	return made
}

// person signs a person in with grants (email "" for none).
func (w *world) person(subject, email string, grants ...models.Grant) models.User {
	w.t.Helper()
	var u models.User
	err := w.a.DB.WithTx(context.Background(), func(tx *store.Tx) (err error) {
		u, err = w.a.DB.UpsertSignIn(context.Background(), tx, models.User{Issuer: "https://idp.test", Subject: subject,
			Name: strings.ToUpper(subject[:1]) + subject[1:], Email: email, Grants: grants}, w.a.Clock.Now())
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

// audit appends an event as its capability would.
func (w *world) audit(code, dept string, kv ...any) {
	w.t.Helper()
	e := models.NewEvent(code, w.a.Admin, apptest.Meta).With(kv...)
	e.Department = dept
	if err := w.a.DB.AuditAlone(context.Background(), e); err != nil {
		w.t.Fatal(err)
	}
}

// drain runs both instances' workers side by side until a round sends
// and fans out nothing.
func (w *world) drain() (sent int) {
	w.t.Helper()
	for range 50 {
		var wg sync.WaitGroup
		res := make([]notify.PassResult, 2)
		errs := make([]error, 2)
		for i, wk := range []*notify.Worker{w.wa, w.wb} {
			wg.Add(1)
			go func() { defer wg.Done(); res[i], errs[i] = wk.Pass(context.Background()) }()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				w.t.Fatalf("pass: %v", err)
			}
		}
		n := res[0].Sent + res[1].Sent + res[0].Retried + res[1].Retried + res[0].Failed + res[1].Failed
		sent += res[0].Sent + res[1].Sent
		if n == 0 && res[0].FannedOut+res[1].FannedOut == 0 {
			return sent
		}
	}
	w.t.Fatal("the workers never settled")
	return sent
}

// deliveries counts webhook-style requests by "event department".
func byEvent(reqs []channeltest.Request) map[string]int {
	out := map[string]int{}
	for _, r := range reqs {
		out[fmt.Sprintf("%v %v", r.JSON["event"], r.JSON["department"])]++
	}
	return out
}

// mailsTo counts the messages each address received, by subject.
func mailsTo(mails []channeltest.Mail) map[string][]string {
	out := map[string][]string{}
	for _, m := range mails {
		for _, to := range m.To {
			out[to] = append(out[to], m.Subject)
		}
	}
	return out
}

func (w *world) state(q string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.a.DB.Pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}
