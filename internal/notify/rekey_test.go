package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/apptest"
	"github.com/uwsportal/uwsportal/internal/notify"
	"github.com/uwsportal/uwsportal/internal/notify/channel"
	"github.com/uwsportal/uwsportal/internal/notify/channel/channeltest"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/models"
)

// Rekey re-encrypts channel targets and signing secrets; afterwards the
// old key can go and the channel still signs with the same secret.
func TestRekeyReseals(t *testing.T) {
	t.Parallel()
	k1, k2 := secret.GenerateKey(), secret.GenerateKey()
	old, err := secret.ParseKeys(k1)
	if err != nil {
		t.Fatal(err)
	}
	e := apptest.New(t, apptest.Options{Keys: old})
	hook := channeltest.NewReceiver(t, nil)
	ctx := context.Background()
	if err := e.App.Notify.AllowNetwork(ctx, e.Admin, apptest.Meta, "test receivers", "127.0.0.0/8"); err != nil {
		t.Fatal(err)
	}
	made, err := e.App.Notify.Add(ctx, e.Admin, apptest.Meta, notifyInput(hook.URL))
	if err != nil {
		t.Fatal(err)
	}
	both, err := secret.ParseKeys(k2 + "," + k1)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.WithKeys(both).App.Departments.Rekey(ctx, e.Admin, apptest.Meta); err != nil || n != 1 {
		t.Fatalf("rekey: %d %v", n, err)
	}
	onlyNew, err := secret.ParseKeys(k2)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.WithKeys(onlyNew).App.Notify.Test(ctx, e.Admin, apptest.Meta, made.Channel.ID); err != nil {
		t.Fatalf("test after rekey: %v", err)
	}
	got := hook.Received()
	if len(got) != 1 || channel.Verify([]byte(made.SigningSecret), got[0].Header, got[0].Body, time.Now(), 0) != nil {
		t.Fatal("after rekey the channel does not sign with its secret")
	}
}

func notifyInput(url string) notify.AddInput {
	return notify.AddInput{Kind: string(models.ChannelWebhook), Target: url}
}
