package deploy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// interpolated replaces compose's ${VAR:?message} and ${VAR:-default} with
// a value of the right shape for VAR.
var interpolation = regexp.MustCompile(`\$\{([A-Z_]+)(:[?-][^}]*)?\}`)

func TestComposeFile(t *testing.T) {
	doc := readYAML(t, "compose.yaml")[0]
	services, ok := at(doc, "services").(map[string]any)
	if !ok {
		t.Fatal("compose.yaml has no services")
	}
	portal, ok := services["portal"]
	if !ok {
		t.Fatal("compose.yaml has no portal service")
	}
	for _, want := range []string{"postgres", "keycloak"} {
		if services[want] == nil {
			t.Errorf("compose.yaml has no %s service", want)
		}
	}
	if ctx := str(at(portal, "build", "context")); !exists(filepath.Join(ctx, str(at(portal, "build", "dockerfile")))) {
		t.Errorf("the portal's build names no Dockerfile: %s", ctx)
	}
	env := map[string]string{}
	envMap, ok := at(portal, "environment").(map[string]any)
	if !ok {
		t.Fatal("the portal service has no environment map")
	}
	for k, v := range envMap {
		checkVar(t, "compose portal", k)
		env[k] = interpolation.ReplaceAllStringFunc(str(v), func(m string) string {
			return dummy(interpolation.FindStringSubmatch(m)[1])
		})
	}
	loads(t, "compose portal", env)
	checkCommand(t, "compose portal command", strs(at(portal, "command")))
	test := strs(at(portal, "healthcheck", "test"))
	if len(test) < 2 || test[0] != "CMD" || test[1] != binary {
		t.Errorf("the portal's healthcheck must run %s in exec form (the image has no shell): %v", binary, test)
	} else {
		checkCommand(t, "compose portal healthcheck", test[2:])
	}
	// The ports published where the portal listens: its own service, or
	// the one whose network namespace it shares.
	net := "portal"
	if m, ok := strings.CutPrefix(str(at(portal, "network_mode")), "service:"); ok {
		net = m
	}
	published := map[string]bool{}
	for _, p := range strs(at(services[net], "ports")) {
		parts := strings.Split(strings.Trim(p, `"`), ":")
		published[parts[len(parts)-1]] = true
	}
	if p := port(t, "compose UWSPORTAL_ADDR", env["UWSPORTAL_ADDR"]); !published[p] {
		t.Errorf("the portal listens on %s, but %s publishes %v", p, net, published)
	}
	for _, v := range strs(at(services["keycloak"], "volumes")) {
		if src, _, _ := strings.Cut(v, ":"); strings.HasPrefix(src, "./") && !exists(src) {
			t.Errorf("keycloak mounts %s, which is not in the repository", src)
		}
	}
}

// The realm gives the demo users of README and the client the portal uses.
func TestComposeRealm(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("compose", "keycloak", "uwsportal-realm.json"))
	if err != nil {
		t.Fatal(err)
	}
	realm := string(raw)
	for _, want := range []string{`"clientId": "uwsportal"`, `"http://127.0.0.1:8080/auth/callback"`, `"claim.name": "groups"`,
		`"${OIDC_CLIENT_SECRET}"`, `"username": "alice"`, `"username": "nora"`, `"/fleet-leads"`, `"/uwsportal-auditors"`} {
		if !strings.Contains(realm, want) {
			t.Errorf("the realm lacks %s", want)
		}
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
