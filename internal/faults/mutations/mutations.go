// Package mutations lists deliberate one-line breakages of the code that
// keeps the portal's promises, for the mutation check (make mutate, the
// program in cmd): each must make the randomized fault-schedule test, or
// the unit tests of its package, fail. Each is an exact source line and
// its replacement, so that when the code moves the check fails loudly
// instead of testing nothing: update the line here.
package mutations

// Mutation is one breakage: in File, the one line equal to Find (leading
// and trailing space ignored) becomes Replace (with the line's own
// indentation).
type Mutation struct {
	Name    string
	Area    string // guard, rule, recovery, 401, session keying, answer parsing
	File    string
	Find    string
	Replace string
	// Unit are the packages whose unit tests should catch it.
	Unit []string
}

// All are the mutations, in the order of the table in BENCHMARKS.md.
var All = []Mutation{
	{Name: "failures-never-counted", Area: "guard", File: "internal/upstream/guard.go",
		Find: "case !thingspace.MayCountUpstream(attempt):", Replace: "case attempt != nil:",
		Unit: []string{"./internal/upstream/"}},
	{Name: "two-logins-at-once", Area: "guard", File: "internal/upstream/guard.go",
		Find: "if a.Leased {", Replace: "if false {",
		Unit: []string{"./internal/upstream/"}},
	{Name: "orphaned-login-free", Area: "guard", File: "internal/upstream/guard.go",
		Find: "if a.LeaseExpired {", Replace: "if false {",
		Unit: []string{"./internal/upstream/"}},
	{Name: "cap-at-five", Area: "rule", File: "internal/upstream/rule.go",
		Find: "case sinceSuccess >= HardFailureCap:", Replace: "case sinceSuccess > HardFailureCap:",
		Unit: []string{"./internal/upstream/"}},
	{Name: "threshold-one-late", Area: "rule", File: "internal/upstream/rule.go",
		Find: "case consecutive >= r.Threshold:", Replace: "case consecutive > r.Threshold:",
		Unit: []string{"./internal/upstream/"}},
	{Name: "quarantine-passed-by-all", Area: "rule", File: "internal/upstream/rule.go",
		Find: "case explicit:", Replace: "case explicit || state == models.StateQuarantined:",
		Unit: []string{"./internal/upstream/"}},
	{Name: "quarantine-one-late", Area: "rule", File: "internal/upstream/rule.go",
		Find:    "return consecutive >= r.Threshold || sinceSuccess >= HardFailureCap",
		Replace: "return consecutive > r.Threshold || sinceSuccess >= HardFailureCap",
		Unit:    []string{"./internal/upstream/"}},
	{Name: "recovery-off", Area: "recovery", File: "internal/rotation/recover.go",
		Find:    "rows, err := e.db.StuckCredentials(ctx, e.now().Add(-e.up.StuckAfter()))",
		Replace: "rows, err := e.db.StuckCredentials(ctx, e.now().AddDate(-10, 0, 0))",
		Unit:    []string{"./internal/rotation/"}},
	{Name: "recovery-checks-twice", Area: "recovery", File: "internal/rotation/recover.go",
		Find: "if result != models.RunResolving {", Replace: "if result != models.RunResolving || true {",
		Unit: []string{"./internal/rotation/"}},
	{Name: "bearer-401-counted", Area: "401", File: "internal/thingspace/classify.go",
		Find:    "case ClassBearerRejected, ClassThrottled, ClassUnsupported, ClassGuardRefused:",
		Replace: "case ClassThrottled, ClassUnsupported, ClassGuardRefused:",
		Unit:    []string{"./internal/thingspace/", "./internal/upstream/"}},
	{Name: "401-a-bad-request", Area: "401", File: "internal/thingspace/classify.go",
		Find: "case status == http.StatusUnauthorized:", Replace: "case false:",
		Unit: []string{"./internal/thingspace/", "./internal/upstream/"}},
	{Name: "one-session-for-all", Area: "session keying", File: "internal/upstream/login.go",
		Find:    "return thingspace.Credential{Key: store.AccountKey(username), Username: username}",
		Replace: `return thingspace.Credential{Key: "shared", Username: username}`,
		Unit:    []string{"./internal/upstream/", "./internal/devices/", "./internal/gateway/"}},
	{Name: "account-key-keeps-case", Area: "session keying", File: "internal/store/account.go",
		Find:    "func AccountKey(username string) string { return strings.ToLower(strings.TrimSpace(username)) }",
		Replace: "func AccountKey(username string) string { return strings.TrimSpace(username) }",
		Unit:    []string{"./internal/store/", "./internal/upstream/"}},
	{Name: "answer-wrong-key", Area: "answer parsing", File: "internal/thingspace/reset_answer.go",
		Find:    `if k, _ := key.(string); !strings.EqualFold(k, "newPassword") {`,
		Replace: `if k, _ := key.(string); !strings.EqualFold(k, "new_password") {`,
		Unit:    []string{"./internal/thingspace/"}},
	{Name: "answer-password-lowered", Area: "answer parsing", File: "internal/thingspace/reset_answer.go",
		Find:    "pw = *s // null leaves the previous value, as encoding/json does",
		Replace: "pw = strings.ToLower(*s)",
		Unit:    []string{"./internal/thingspace/"}},
}
