package e2e

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// scanForSecrets fails the test for every secret found in the portal's log,
// an audit row, a page a browser loaded or the audit export, and for every
// secret of the ThingSpace side found in plain text in any table.
func scanForSecrets(t *testing.T, s *stack, pages []loadedPage, export string) {
	secrets := s.secrets.all()
	checkSecretsCaptured(t, secrets)

	stacks := []haystack{{where: "the portal's log", text: s.logs.String()}, {where: "the audit CSV export", text: export}}
	for _, p := range pages {
		path := p.url
		if u, err := url.Parse(p.url); err == nil {
			path = u.Path
		}
		stacks = append(stacks, haystack{fmt.Sprintf("%s's page %s", p.persona, p.url), p.html, p.persona + " " + path})
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	events := auditEventHaystacks(t, ctx, conn)
	stacks = append(stacks, events...)
	// An empty haystack would pass; make sure the journey left enough.
	if len(events) == 0 || len(pages) < 20 || !strings.Contains(s.logs.String(), `"msg":"request"`) {
		t.Fatalf("too little to scan: %d audit events, %d pages, %d bytes of log", len(events), len(pages), len(s.logs.String()))
	}
	shown := map[string]int{}
	for _, h := range stacks {
		for v, label := range secrets {
			// A page holds text as the browser serialises it: &, < and >
			// escaped.
			if !strings.Contains(h.text, v) && !strings.Contains(h.text, htmlText.Replace(v)) {
				continue
			}
			if one := s.secrets.onePage(label); one != "" && one == h.page && shown[label] == 0 {
				shown[label]++ // the one page meant to show it
				continue
			}
			t.Errorf("%s contains the %s", h.where, label)
		}
	}
	for _, label := range secrets {
		if s.secrets.onePage(label) != "" && shown[label] == 0 {
			t.Errorf("the %s was never shown on %s: is the scan looking?", label, s.secrets.onePage(label))
		}
	}
	tables := scanTablesAtRest(t, ctx, conn, secrets)
	t.Logf("scanned %d bytes of log, %d audit events, %d pages, %d tables", len(s.logs.String()), len(events), len(pages), tables)
}

// htmlText escapes a value as a browser's outerHTML shows it in text.
var htmlText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// haystack is one text the secrets must not appear in, and where it came
// from for the failure message.
type haystack struct{ where, text, page string }

// checkSecretsCaptured makes sure the capture worked: the scan is only as
// good as its list of secrets (value → label).
func checkSecretsCaptured(t *testing.T, secrets map[string]string) {
	t.Helper()
	var labels []string
	for _, l := range secrets {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for _, want := range []string{"initial UWS password", "rotated UWS password", "ThingSpace access_token", "ThingSpace sessionToken",
		"IdP authorization code", "IdP id_token", "alice's portal session cookie"} {
		if !containsPrefix(labels, want) {
			t.Errorf("the secret scan has no %q to look for (it has %v)", want, labels)
		}
	}
	t.Logf("looking for %d secrets: %s", len(secrets), strings.Join(labels, ", "))
}

// auditEventHaystacks reads every audit event, whole row as text, oldest
// first.
func auditEventHaystacks(t *testing.T, ctx context.Context, conn *pgx.Conn) []haystack {
	t.Helper()
	rows, err := conn.Query(ctx, `SELECT id, a::text FROM audit_events a ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var out []haystack
	for rows.Next() {
		var id int64
		var text string
		if err := rows.Scan(&id, &text); err != nil {
			t.Fatal(err)
		}
		out = append(out, haystack{where: fmt.Sprintf("audit event %d", id), text: text})
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// scanTablesAtRest checks that no table holds a password, a key or a
// ThingSpace token in plain text (bytea columns read as hex), and returns
// how many tables it read. Portal sessions and IdP tokens are left out:
// the session table is keyed by its token by design.
func scanTablesAtRest(t *testing.T, ctx context.Context, conn *pgx.Conn, secrets map[string]string) int {
	t.Helper()
	tables, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(tables, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range names {
		rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT r::text FROM %s r`, pgx.Identifier{table}.Sanitize()))
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(texts, "\n")
		for v, label := range secrets {
			if strings.Contains(label, "portal session") || strings.HasPrefix(label, "IdP") {
				continue
			}
			if strings.Contains(all, v) || strings.Contains(all, hex.EncodeToString([]byte(v))) {
				t.Errorf("table %s holds the %s in plain text", table, label)
			}
		}
	}
	return len(names)
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}
