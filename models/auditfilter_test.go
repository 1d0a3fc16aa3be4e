package models

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

var filterNow = time.Date(2024, 6, 15, 12, 0, 0, 0, time.UTC)

func TestParseAuditFilterAcceptsEveryParameter(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata")
	}
	q := url.Values{
		"since": {"2024-01-01"}, "until": {"2024-01-31"}, "actor": {" 42 "}, "department": {"fleet"},
		"event": {"credential.rotate"}, "outcome": {"failure"}, "q": {"50%_off"}, "before": {"900"}, "limit": {"20"},
	}
	f, err := ParseAuditFilter(q, berlin, filterNow)
	if err != nil {
		t.Fatal(err)
	}
	want := AuditFilter{
		Since: time.Date(2024, 1, 1, 0, 0, 0, 0, berlin), Until: time.Date(2024, 2, 1, 0, 0, 0, 0, berlin),
		Actor: "42", Department: "fleet", CodePrefix: "credential.rotate", Outcome: OutcomeFailure,
		Text: "50%_off", Before: 900, Limit: 20,
	}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("got %+v\nwant %+v", f, want)
	}
	// Query round-trips.
	again, err := ParseAuditFilter(f.Query(), berlin, filterNow)
	if err != nil || !reflect.DeepEqual(again, f) {
		t.Fatalf("round trip: %v %+v (query %s)", err, again, f.Query().Encode())
	}
	if got := f.Query().Get("until"); got != "2024-01-31" {
		t.Fatalf("until written as %q", got)
	}
}

func TestParseAuditFilterTimeLayouts(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Time{
		"2024-03-05T09:30":          time.Date(2024, 3, 5, 9, 30, 0, 0, time.UTC),
		"2024-03-05 09:30":          time.Date(2024, 3, 5, 9, 30, 0, 0, time.UTC),
		"2024-03-05T09:30:00+02:00": time.Date(2024, 3, 5, 7, 30, 0, 0, time.UTC),
		"2024-03-05T09:30:00.5Z":    time.Date(2024, 3, 5, 9, 30, 0, 5e8, time.UTC),
	} {
		f, err := ParseAuditFilter(url.Values{"since": {in}}, nil, filterNow)
		if err != nil || !f.Since.Equal(want) {
			t.Errorf("%s: %v %v", in, f.Since, err)
			continue
		}
		again, err := ParseAuditFilter(f.Query(), nil, filterNow)
		if err != nil || !again.Since.Equal(want) {
			t.Errorf("%s: round trip %v %v", in, again.Since, err)
		}
	}
	f, err := ParseAuditFilter(url.Values{}, nil, filterNow)
	if err != nil || f.Limit != AuditPageDefault || !f.Since.IsZero() || len(f.Query()) != 0 {
		t.Fatalf("defaults: %+v %v", f, err)
	}
}

func TestParseAuditFilterRejectsBadInput(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 201)
	cases := map[string]struct {
		q    url.Values
		name string // the parameter the message must name
	}{
		"malformed date": {url.Values{"since": {"yesterday"}}, "since"},
		"bad month":      {url.Values{"until": {"2024-13-01"}}, "until"},
		"reversed":       {url.Values{"since": {"2024-02-01"}, "until": {"2024-01-01"}}, "since"},
		"equal instants": {url.Values{"since": {"2024-02-01T10:00"}, "until": {"2024-02-01T10:00"}}, "since"},
		"future":         {url.Values{"since": {"2031-01-01"}}, "since"},
		"ancient":        {url.Values{"since": {"0001-01-01"}}, "since"},
		"too long":       {url.Values{"actor": {long}}, "actor"},
		"long text":      {url.Values{"q": {long}}, "q"},
		"control":        {url.Values{"department": {"fleet\x00"}}, "department"},
		"newline":        {url.Values{"q": {"a\nb"}}, "q"},
		"bad utf8":       {url.Values{"actor": {"\xff"}}, "actor"},
		"unknown code":   {url.Values{"event": {"nope.nothing"}}, "event"},
		"bad outcome":    {url.Values{"outcome": {"maybe"}}, "outcome"},
		"bad cursor":     {url.Values{"before": {"-3"}}, "before"},
		"word cursor":    {url.Values{"after": {"1 OR 1=1"}}, "after"},
		"both cursors":   {url.Values{"before": {"3"}, "after": {"1"}}, "before"},
		"limit zero":     {url.Values{"limit": {"0"}}, "limit"},
		"limit big":      {url.Values{"limit": {"501"}}, "limit"},
		"limit word":     {url.Values{"limit": {"ten"}}, "limit"},
	}
	for name, tc := range cases {
		_, err := ParseAuditFilter(tc.q, time.UTC, filterNow)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: want ErrInvalid, got %v", name, err)
			continue
		}
		msg, _ := SafeMessage(err)
		if !strings.HasPrefix(msg, tc.name) {
			t.Errorf("%s: message %q does not name %s", name, msg, tc.name)
		}
		if strings.ContainsAny(msg, "\x00\n") || len(msg) > 300 {
			t.Errorf("%s: message echoes raw input: %q", name, msg)
		}
	}
}

func FuzzParseAuditFilter(f *testing.F) {
	f.Add("since=2024-01-01&until=2024-02-01&actor=1&event=auth&outcome=denied&q=x&before=5&limit=10")
	f.Add("since=2024-01-01T10:00:00%2B05:00&after=9")
	f.Add("q=%27%3B+DROP+TABLE+audit_events%3B--&department=%25")
	f.Add("until=9999-12-31&limit=500")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt, err := ParseAuditFilter(q, time.UTC, filterNow)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error of the wrong kind: %v", err)
			}
			return
		}
		if flt.Limit < 1 || flt.Limit > AuditPageMax {
			t.Fatalf("limit %d", flt.Limit)
		}
		// What parsed once parses again to the same filter.
		again, err := ParseAuditFilter(flt.Query(), time.UTC, filterNow)
		if err != nil {
			t.Fatalf("round trip of %q: %v", flt.Query().Encode(), err)
		}
		if !again.Since.Equal(flt.Since) || !again.Until.Equal(flt.Until) || again.Text != flt.Text || again.Before != flt.Before {
			t.Fatalf("round trip changed %+v to %+v", flt, again)
		}
	})
}
