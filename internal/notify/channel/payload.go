package channel

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uwsportal/uwsportal/models"
)

// LinkTitle is the label of the link back into the portal.
const LinkTitle = "Open in uwsportal"

// WebhookPayload is the JSON body of a webhook channel's request.
type WebhookPayload struct {
	ID         int64              `json:"id"`
	Event      models.NotifyEvent `json:"event"`
	Department string             `json:"department"`
	Subject    string             `json:"subject"`
	Text       string             `json:"text"`
	Link       string             `json:"link"`
	Time       string             `json:"time"` // RFC 3339, UTC
	Fields     map[string]string  `json:"fields"`
}

// NewWebhookPayload is the body a webhook receives for n.
func NewWebhookPayload(n models.Notification) WebhookPayload {
	fields := n.Fields
	if fields == nil {
		fields = map[string]string{}
	}
	return WebhookPayload{
		ID: n.DeliveryID, Event: n.Event, Department: n.Department,
		Subject: n.Subject, Text: n.Text, Link: n.Link,
		Time: n.Time.UTC().Format(time.RFC3339), Fields: fields,
	}
}

func (s *Sender) sendWebhook(ctx context.Context, d Destination, n models.Notification) error {
	if len(d.Secret) == 0 {
		return Permanent(models.Errorf(models.ErrInvalid, "The webhook channel has no signing secret: set one (notify add generates it)."))
	}
	body, err := json.Marshal(NewWebhookPayload(n))
	if err != nil {
		return Permanent(fmt.Errorf("webhook: encode %s: %w", n.Summary(), err))
	}
	ts := s.now().Unix()
	h := http.Header{}
	h.Set(HeaderDelivery, strconv.FormatInt(n.DeliveryID, 10))
	h.Set(HeaderEvent, string(n.Event))
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, Sign(d.Secret, ts, body))
	return s.postJSON(ctx, models.ChannelWebhook, d.URL, body, h)
}

// SlackText is the mrkdwn message a Slack channel shows for n: the subject
// in bold, the text, one line per field, and the link.
func SlackText(n models.Notification) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%s*", slackEscape(n.Subject))
	if n.Text != "" {
		b.WriteString("\n" + slackEscape(n.Text))
	}
	for _, k := range sortedKeys(n.Fields) {
		fmt.Fprintf(&b, "\n%s: %s", slackEscape(k), slackEscape(n.Fields[k]))
	}
	if n.Link != "" {
		// A "|" or ">" would end the link early; a portal URL has neither
		// unescaped, but a malformed one must not break the message.
		link := strings.NewReplacer("|", "%7C", ">", "%3E", "<", "%3C").Replace(n.Link)
		fmt.Fprintf(&b, "\n<%s|%s>", strings.ReplaceAll(link, "&", "&amp;"), LinkTitle)
	}
	return b.String()
}

// slackEscape escapes the three characters Slack's mrkdwn treats as control
// characters, so our text cannot form links or mentions (<!channel>).
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func (s *Sender) sendSlack(ctx context.Context, d Destination, n models.Notification) error {
	body, err := json.Marshal(map[string]string{"text": SlackText(n)})
	if err != nil {
		return Permanent(fmt.Errorf("slack: encode %s: %w", n.Summary(), err))
	}
	return s.postJSON(ctx, models.ChannelSlack, d.URL, body, nil)
}

func (s *Sender) sendTeams(ctx context.Context, d Destination, n models.Notification) error {
	body, err := json.Marshal(TeamsMessage(n))
	if err != nil {
		return Permanent(fmt.Errorf("teams: encode %s: %w", n.Summary(), err))
	}
	return s.postJSON(ctx, models.ChannelTeams, d.URL, body, nil)
}

// TeamsMessage is the body a Microsoft Teams Workflows webhook ("Post to a
// channel when a webhook request is received") takes: a message with one
// Adaptive Card holding the subject, the text, one line per field and a
// button to the link. Every text is a TextRun of a RichTextBlock, which
// Adaptive Cards render as plain text: a TextBlock or a FactSet would read
// Markdown, so a requester's reason or an approver's note could show as a
// link ("[Approve here](…)") in the approvers' channel, and Teams clients
// do not agree on how Markdown is escaped.
func TeamsMessage(n models.Notification) map[string]any {
	body := []any{richText(textRun(n.Subject, "Bolder", "Medium"))}
	if n.Text != "" {
		body = append(body, richText(textRun(n.Text, "", "")))
	}
	for _, k := range sortedKeys(n.Fields) {
		body = append(body, richText(textRun(k+": ", "Bolder", ""), textRun(n.Fields[k], "", "")))
	}
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
		"body":    body,
	}
	if n.Link != "" {
		card["actions"] = []any{map[string]any{"type": "Action.OpenUrl", "title": LinkTitle, "url": n.Link}}
	}
	return map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"content":     card,
		}},
	}
}

// richText is a RichTextBlock of runs.
func richText(runs ...any) map[string]any {
	return map[string]any{"type": "RichTextBlock", "inlines": runs}
}

// textRun is plain text (Adaptive Cards never read Markdown in a TextRun).
func textRun(text, weight, size string) map[string]any {
	r := map[string]any{"type": "TextRun", "text": text}
	if weight != "" {
		r["weight"] = weight
	}
	if size != "" {
		r["size"] = size
	}
	return r
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
