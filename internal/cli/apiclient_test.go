package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAPIClientCommands(t *testing.T) {
	t.Parallel()
	run, logs := newRunner(t)
	if _, err := run("department", "create", "--slug", "fleet", "--name", "Fleet"); err != nil {
		t.Fatal(err)
	}
	out, err := run("api-client", "create", "--department", "fleet", "--name", "billing sync", "--owner", "Olive <olive@example.com>",
		"--operations", "list,suspend", "--expires", "30d", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var made clientJSON
	if err := json.Unmarshal([]byte(out), &made); err != nil || made.ClientID == "" || len(made.ClientSecret) < 40 {
		t.Fatalf("create --json: %q %v", out, err)
	}
	if strings.Join(made.Operations, ",") != "list,suspend" {
		t.Fatalf("operations %v", made.Operations)
	}
	if _, err := run("api-client", "create", "--department", "fleet", "--name", "x", "--owner", "Olive <olive@example.com>",
		"--operations", "list,reset"); ExitCode(err) != 2 {
		t.Fatalf("an unknown operation was accepted: %v", err)
	}
	if _, err := run("api-client", "create", "--department", "fleet", "--name", "x", "--owner", "nobody@example.com",
		"--operations", "list"); err == nil {
		t.Fatal("an owner who is not a user, without a name, was accepted")
	}
	list, err := run("api-client", "list", "--department", "fleet")
	if err != nil || !strings.Contains(list, made.ClientID) || !strings.Contains(list, "active") {
		t.Fatalf("list: %q %v", list, err)
	}
	rot, err := run("api-client", "rotate-secret", "--department", "fleet", "--client", made.ClientID, "--overlap", "1h", "--json")
	var rotated clientJSON
	if err != nil || json.Unmarshal([]byte(rot), &rotated) != nil || rotated.ClientSecret == "" || rotated.ClientSecret == made.ClientSecret || rotated.PrevUntil == "" {
		t.Fatalf("rotate: %q %v", rot, err)
	}
	if _, err := run("api-client", "rotate-secret", "--department", "fleet", "--client", made.ClientID, "--overlap", "25h"); err == nil {
		t.Fatal("an overlap over 24h was accepted")
	}
	if _, err := run("api-client", "revoke", "--department", "fleet", "--client", made.ClientID); err != nil {
		t.Fatal(err)
	}
	if list, err := run("api-client", "list", "--department", "fleet"); err != nil || !strings.Contains(list, "revoked") {
		t.Fatalf("list after revoke: %q %v", list, err)
	}
	if again, err := run("api-client", "list", "--department", "fleet", "--json"); err != nil || strings.Contains(again, made.ClientSecret) || strings.Contains(again, rotated.ClientSecret) {
		t.Fatalf("a secret was listed: %v", err)
	}
	if strings.Contains(logs.String(), made.ClientSecret) || strings.Contains(logs.String(), rotated.ClientSecret) {
		t.Fatal("a secret reached the logs")
	}
}
