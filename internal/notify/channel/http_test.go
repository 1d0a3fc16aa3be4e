package channel_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uwsportal/uwsportal/internal/notify/channel"
	"github.com/uwsportal/uwsportal/internal/notify/channel/channeltest"
	"github.com/uwsportal/uwsportal/models"
)

func sampleNotification() models.Notification {
	return models.Notification{
		DeliveryID: 42,
		Event:      models.NotifyQuarantined,
		Department: "fire",
		Subject:    "Fire & Rescue: credential quarantined",
		Text:       "Two failed logins <in a row>; rotation stopped.",
		Link:       "https://portal.example.com/departments/fire?tab=credential&x=1",
		Time:       time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600)),
		Fields:     map[string]string{"state": "quarantined", "failures": "2"},
	}
}

func TestWebhookDelivered(t *testing.T) {
	secret := []byte("whsec-0123456789")
	rcv := channeltest.NewReceiver(t, secret)
	now := time.Now().Truncate(time.Second)
	s := &channel.Sender{Guard: channeltest.Loopback, Now: func() time.Time { return now }}
	n := sampleNotification()
	if err := s.Send(context.Background(), channel.Destination{Kind: models.ChannelWebhook, URL: rcv.URL + "/hook", Secret: secret}, n); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := rcv.WaitFor(t, 1, time.Second)[0]
	if errs := rcv.Errors(); len(errs) > 0 {
		t.Fatalf("receiver refused signatures: %v", errs)
	}
	for h, want := range map[string]string{
		"Content-Type":          "application/json",
		"User-Agent":            "uwsportal-notify",
		channel.HeaderDelivery:  "42",
		channel.HeaderEvent:     "quarantined",
		channel.HeaderTimestamp: strconv.FormatInt(now.Unix(), 10),
		channel.HeaderSignature: channel.Sign(secret, now.Unix(), got.Body),
	} {
		if got.Header.Get(h) != want {
			t.Errorf("header %s = %q, want %q", h, got.Header.Get(h), want)
		}
	}
	want := map[string]any{
		"id": 42.0, "event": "quarantined", "department": "fire",
		"subject": n.Subject, "text": n.Text, "link": n.Link,
		"time":   "2026-03-04T04:06:07Z",
		"fields": map[string]any{"state": "quarantined", "failures": "2"},
	}
	if !reflect.DeepEqual(got.JSON, want) {
		t.Errorf("webhook body = %s\nwant %v", got.Body, want)
	}
	if got.Method != http.MethodPost || got.Path != "/hook" {
		t.Errorf("request = %s %s, want POST /hook", got.Method, got.Path)
	}
}

func TestWebhookWithoutSecretIsRefused(t *testing.T) {
	rcv := channeltest.NewReceiver(t, nil)
	err := (&channel.Sender{Guard: channeltest.Loopback}).Send(context.Background(), channel.Destination{Kind: models.ChannelWebhook, URL: rcv.URL}, sampleNotification())
	if err == nil || !channel.IsPermanent(err) || rcv.Attempts() != 0 {
		t.Fatalf("Send without a secret = %v (permanent %v), %d requests; want a permanent error and none", err, channel.IsPermanent(err), rcv.Attempts())
	}
}

func TestSlackDelivered(t *testing.T) {
	rcv := channeltest.NewReceiver(t, nil)
	n := sampleNotification()
	n.Text = "Two failed logins <!channel> & more"
	if err := (&channel.Sender{Guard: channeltest.Loopback}).Send(context.Background(), channel.Destination{Kind: models.ChannelSlack, URL: rcv.URL + "/services/T/B/X"}, n); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := rcv.WaitFor(t, 1, time.Second)[0]
	const want = "*Fire &amp; Rescue: credential quarantined*\n" +
		"Two failed logins &lt;!channel&gt; &amp; more\n" +
		"failures: 2\nstate: quarantined\n" +
		"<https://portal.example.com/departments/fire?tab=credential&amp;x=1|Open in uwsportal>"
	if len(got.JSON) != 1 || got.JSON["text"] != want {
		t.Errorf("slack body = %s\nwant text %q", got.Body, want)
	}
}

func TestTeamsDelivered(t *testing.T) {
	rcv := channeltest.NewReceiver(t, nil)
	n := sampleNotification()
	if err := (&channel.Sender{Guard: channeltest.Loopback}).Send(context.Background(), channel.Destination{Kind: models.ChannelTeams, URL: rcv.URL + "/workflows/x"}, n); err != nil {
		t.Fatalf("Send (receiver answers 202, as Workflows does): %v", err)
	}
	got := rcv.WaitFor(t, 1, time.Second)[0]
	var msg struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string `json:"contentType"`
			Content     struct {
				Schema  string            `json:"$schema"`
				Type    string            `json:"type"`
				Version string            `json:"version"`
				Body    []json.RawMessage `json:"body"`
				Actions []map[string]any  `json:"actions"`
			} `json:"content"`
		} `json:"attachments"`
	}
	dec := json.NewDecoder(strings.NewReader(string(got.Body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&msg); err != nil {
		t.Fatalf("teams body is not the documented shape: %v\n%s", err, got.Body)
	}
	if msg.Type != "message" || len(msg.Attachments) != 1 {
		t.Fatalf("teams message = %s", got.Body)
	}
	a := msg.Attachments[0]
	c := a.Content
	if a.ContentType != "application/vnd.microsoft.card.adaptive" || c.Type != "AdaptiveCard" || c.Version != "1.4" ||
		c.Schema != "http://adaptivecards.io/schemas/adaptive-card.json" {
		t.Errorf("card header = %+v", a)
	}
	wantBody := []string{
		`{"inlines":[{"size":"Medium","text":"Fire \u0026 Rescue: credential quarantined","type":"TextRun","weight":"Bolder"}],"type":"RichTextBlock"}`,
		`{"inlines":[{"text":"Two failed logins \u003cin a row\u003e; rotation stopped.","type":"TextRun"}],"type":"RichTextBlock"}`,
		`{"inlines":[{"text":"failures: ","type":"TextRun","weight":"Bolder"},{"text":"2","type":"TextRun"}],"type":"RichTextBlock"}`,
		`{"inlines":[{"text":"state: ","type":"TextRun","weight":"Bolder"},{"text":"quarantined","type":"TextRun"}],"type":"RichTextBlock"}`,
	}
	if len(c.Body) != len(wantBody) {
		t.Fatalf("card body has %d elements, want %d: %s", len(c.Body), len(wantBody), got.Body)
	}
	for i, w := range wantBody {
		if string(c.Body[i]) != w {
			t.Errorf("card body[%d] = %s\nwant %s", i, c.Body[i], w)
		}
	}
	wantActions := []map[string]any{{"type": "Action.OpenUrl", "title": "Open in uwsportal", "url": n.Link}}
	if !reflect.DeepEqual(c.Actions, wantActions) {
		t.Errorf("card actions = %v, want %v", c.Actions, wantActions)
	}

	n.Link, n.Text, n.Fields = "", "", nil
	b, err := json.Marshal(channel.TeamsMessage(n))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Contains(s, "actions") || strings.Count(s, "RichTextBlock") != 1 {
		t.Errorf("a card without link or fields still has actions or facts: %s", s)
	}
}

// TestReceiverChecksSignatures: the test receiver refuses a request signed
// with another secret (401, permanent for the sender) and records why, and
// FailNext makes it answer 500 (retryable) before accepting.
func TestReceiverChecksSignatures(t *testing.T) {
	rcv := channeltest.NewReceiver(t, []byte("the receiver's secret"))
	s := &channel.Sender{Guard: channeltest.Loopback}
	d := channel.Destination{Kind: models.ChannelWebhook, URL: rcv.URL, Secret: []byte("another secret")}
	err := s.Send(context.Background(), d, sampleNotification())
	if err == nil || !channel.IsPermanent(err) || !strings.Contains(err.Error(), "401") {
		t.Errorf("Send with the wrong secret = %v, want a permanent 401", err)
	}
	if errs := rcv.Errors(); len(errs) != 1 || !errors.Is(errs[0], channel.ErrSignature) {
		t.Errorf("receiver errors = %v, want one signature error", errs)
	}

	d.Secret = []byte("the receiver's secret")
	rcv.FailNext(1)
	if err := s.Send(context.Background(), d, sampleNotification()); err == nil || channel.IsPermanent(err) {
		t.Errorf("Send to a receiver answering 500 = %v, want a retryable error", err)
	}
	if err := s.Send(context.Background(), d, sampleNotification()); err != nil {
		t.Errorf("Send after the 500: %v", err)
	}
	if got := rcv.WaitFor(t, 1, time.Second); len(got) != 1 || rcv.Attempts() != 3 {
		t.Errorf("accepted %d of %d attempts, want 1 of 3", len(got), rcv.Attempts())
	}
}
