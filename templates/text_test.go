package templates

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/a-h/templ"
)

// hostile is what a cell may hold: markup, an entity, both quotes.
const hostile = `<script>alert("x")</script> & 'q'`

// The cells written with @text are escaped as { s } escapes them: the
// markup never reaches the page, and the text does, once per cell.
func TestTableCellsAreEscaped(t *testing.T) {
	row := DeviceRow{MDN: hostile, ICCID: hostile, IMEI: hostile, State: hostile, Plan: hostile,
		LastActivation: hostile, LastConnection: hostile, Key: "k"}
	event := AuditRow{ID: 7, Time: hostile, Code: hostile, Actor: hostile, Department: hostile,
		Target: hostile, Outcome: hostile, SourceIP: hostile}
	named := event
	named.ActorName = hostile
	for name, c := range map[string]struct {
		page  templ.Component
		cells int
	}{
		"devices": {Devices(Page{}, DevicesView{Rows: []DeviceRow{row}}), 7},
		// the actor's name or, with none, the actor; no department link text without its href
		"audit":             {AuditList(Page{}, AuditListView{Rows: []AuditRow{event}}), 7},
		"audit with names":  {AuditList(Page{}, AuditListView{Rows: []AuditRow{named}}), 7},
		"people to suggest": {AuditList(Page{}, AuditListView{People: []Option{{Value: "v", Label: hostile}}}), 1},
	} {
		var b bytes.Buffer
		if err := c.page.Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.Contains(out, "<script>alert") {
			t.Fatalf("%s: a cell's markup reached the page", name)
		}
		escaped := templ.EscapeString(hostile)
		if n := strings.Count(out, ">"+escaped+"<"); n != c.cells {
			t.Fatalf("%s: %d cells hold the escaped text, want %d", name, n, c.cells)
		}
	}
}
