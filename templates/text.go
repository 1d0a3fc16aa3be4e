package templates

import (
	"context"
	"html"
	"io"
)

// text renders s as escaped HTML text, as { s } does. The long lists (a
// hundred devices, fifty audit events, up to 500 people to suggest) write
// their cells with @text(s): templ sends every { s } through fmt.Sprint
// first, two allocations and a copy per cell, while textNode's Render is
// called on the value itself and writes s as is when it needs no escaping.
// It takes a string, not any string type, so that an int cannot become a
// one-rune string.
func text(s string) textNode { return textNode(s) }

type textNode string

// Render implements templ.Component.
func (t textNode) Render(_ context.Context, w io.Writer) error {
	_, err := io.WriteString(w, html.EscapeString(string(t)))
	return err
}
