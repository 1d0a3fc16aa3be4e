package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/uwsportal/uwsportal/models"
)

// leaf is one command that does work: its path, a line of help, and its
// body. The body parses its own flags through a.flags, which the command
// tree (tree.go) also reads to list every flag in the help and the shell
// completion, so a flag is written once.
type leaf struct {
	path  string
	short string
	run   func(a *app, ctx context.Context, args []string) error
	// noFlags: the body takes no flags (and must not run to be described).
	noFlags bool
}

// groups are the commands that only hold others.
var groups = map[string]string{
	"migrate":    "Apply database migrations, or show their state",
	"department": "Create departments and change their settings",
	"credential": "Enter, list, test and rotate the departments' UWS credentials",
	"devices":    "List a department's devices and act on them",
	"api-client": "Manage the gateway's API clients",
	"notify":     "Manage notification channels",
	"audit":      "Verify the audit chain, export the trail",
	"callbacks":  "The portal as a department account's CarrierService listener (UWSPORTAL_CALLBACK_URL)",
}

func leaves() []leaf {
	ls := []leaf{
		{path: "serve", short: "Run the web server (the default command); configured by environment variables", noFlags: true,
			run: func(a *app, ctx context.Context, args []string) error { return a.serve(ctx, args) }},
		{path: "migrate", short: "Apply pending database migrations and exit", noFlags: true,
			run: func(a *app, ctx context.Context, args []string) error { return a.migrate(ctx, args) }},
		{path: "migrate status", short: "List applied and pending migrations; exit 1 if this binary does not understand the schema",
			run: func(a *app, ctx context.Context, args []string) error { return a.migrateStatus(ctx, args) }},
		{path: "create-admin", short: "Create or replace a break-glass local admin (password from stdin)",
			run: func(a *app, ctx context.Context, args []string) error { return a.createAdmin(ctx, args) }},
		{path: "map-group", short: "Map an identity provider group to a role (and department)",
			run: func(a *app, ctx context.Context, args []string) error { return a.mapGroup(ctx, args) }},
		{path: "department create", short: "Create a department",
			run: func(a *app, ctx context.Context, args []string) error { return a.departmentCreate(ctx, args) }},
		{path: "department set", short: "Set a department's ThingSpace account and which actions need a second person's approval",
			run: func(a *app, ctx context.Context, args []string) error { return a.departmentSet(ctx, args) }},
		{path: "credential set", short: "Enter or replace a department's UWS credential (password from stdin)",
			run: func(a *app, ctx context.Context, args []string) error { return a.credentialSet(ctx, args) }},
		{path: "credential list", short: "List every credential: department, username, state, age, last result (never the password)",
			run: func(a *app, ctx context.Context, args []string) error { return a.credentialList(ctx, args) }},
		{path: "credential test", short: "One login and logout through the lockout guard",
			run: func(a *app, ctx context.Context, args []string) error { return a.credentialTest(ctx, args) }},
		{path: "credential rotate", short: "Rotate the password now (the same engine as the web button)",
			run: func(a *app, ctx context.Context, args []string) error { return a.credentialRotate(ctx, args) }},
		{path: "rekey", short: "Re-encrypt every secret under the current master key, or move the keys between plain and KMS-wrapped",
			run: func(a *app, ctx context.Context, args []string) error { return a.rekeyCmd(ctx, args) }},
		{path: "devices list", short: "List or search a department's devices",
			run: func(a *app, ctx context.Context, args []string) error { return a.devicesList(ctx, args) }},
		{path: "api-client create", short: "Create an API client (its secret is printed once)",
			run: func(a *app, ctx context.Context, args []string) error { return a.apiClientCreate(ctx, args) }},
		{path: "api-client list", short: "List a department's API clients",
			run: func(a *app, ctx context.Context, args []string) error { return a.apiClientList(ctx, args) }},
		{path: "api-client rotate-secret", short: "Give an API client a new secret (the old one works for the overlap)",
			run: func(a *app, ctx context.Context, args []string) error { return a.apiClientRotate(ctx, args) }},
		{path: "api-client revoke", short: "Revoke an API client at once",
			run: func(a *app, ctx context.Context, args []string) error { return a.apiClientRevoke(ctx, args) }},
		{path: "notify add", short: "Add a notification channel (a webhook's signing secret is printed once)",
			run: func(a *app, ctx context.Context, args []string) error { return a.notifyAdd(ctx, args) }},
		{path: "notify list", short: "List the channels (targets redacted) and their health",
			run: func(a *app, ctx context.Context, args []string) error { return a.notifyList(ctx, args) }},
		{path: "audit verify", short: "Verify the audit chain from its last checkpoint (--full: all of it); exit 1 and name the first bad event if it is broken",
			run: func(a *app, ctx context.Context, args []string) error { return a.auditVerify(ctx, args) }},
		{path: "audit export", short: "Export the filtered trail as CSV or NDJSON",
			run: func(a *app, ctx context.Context, args []string) error { return a.auditExport(ctx, args) }},
		{path: "healthcheck", short: "Ask the local instance's /healthz (or /readyz); exit 0 if it answers 200, else 1",
			run: func(a *app, ctx context.Context, args []string) error { return a.healthcheck(ctx, args) }},
		{path: "version", short: "Print the version",
			run: func(a *app, ctx context.Context, args []string) error { return a.version(args) }},
	}
	for verb, short := range map[string]string{"register": "Register the portal as the department account's CarrierService listener",
		"list": "Show the account's current listener registration", "deregister": "Remove the portal's listener (outcomes are then found by polling)"} {
		ls = append(ls, leaf{path: "callbacks " + verb, short: short,
			run: func(a *app, ctx context.Context, args []string) error { return a.callbacks(ctx, verb, args) }})
	}
	for _, verb := range []string{"remove", "test"} {
		ls = append(ls, leaf{path: "notify " + verb, short: map[string]string{"remove": "Remove a channel and its pending messages",
			"test": "Send a test message now and show what the receiver answered"}[verb],
			run: func(a *app, ctx context.Context, args []string) error { return a.notifyByID(ctx, verb, args) }})
	}
	for _, op := range models.Operations[1:] {
		ls = append(ls, leaf{path: "devices " + string(op), short: deviceHelp[op],
			run: func(a *app, ctx context.Context, args []string) error { return a.devicesAct(ctx, op, args) }})
	}
	return ls
}

var deviceHelp = map[models.Operation]string{models.OpSuspend: "Suspend devices", models.OpRestore: "Restore suspended devices",
	models.OpActivate: "Activate devices", models.OpPlan: "Change devices' service plan",
	models.OpDeactivate: "Deactivate devices (--confirm repeats the MDN or ICCID)"}

// errDescribed stops a body right after it declared its flags.
var errDescribed = errors.New("described")

// describe returns the flags a leaf's body declares, without running it. A
// body that does not call a.flags first runs against an empty environment
// and discarded streams (it can do nothing) and is listed without flags;
// TestHelpForEveryCommand catches it.
func (l leaf) describe() (*flag.FlagSet, error) {
	fs := flag.NewFlagSet(l.path, flag.ContinueOnError)
	if l.noFlags {
		return fs, nil
	}
	a := &app{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: discard{}, stderr: discard{},
		describe: func(got *flag.FlagSet) { got.VisitAll(func(f *flag.Flag) { fs.Var(f.Value, f.Name, f.Usage) }) }}
	if err := l.run(a, context.Background(), nil); !errors.Is(err, errDescribed) {
		return fs, fmt.Errorf("cli: %s ran instead of describing its flags (%v): its body must call a.flags first", l.path, err)
	}
	return fs, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
