package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// KeyError says which master keys the portal lacks for its sealed data.
type KeyError struct{ Problems []string }

func (e *KeyError) Error() string { return "master key: " + strings.Join(e.Problems, "; ") }

// CheckKeys proves the keyring opens this database's sealed data: every
// master key ID that sealed a row is configured, and every configured key
// opens its key-check value. The error names each key ID, never a key.
func (a *App) CheckKeys(ctx context.Context) error {
	sealed, err := a.DB.SealedKeyIDs(ctx)
	if err != nil {
		return err
	}
	checks, err := a.DB.KeyChecks(ctx)
	if err != nil {
		return err
	}
	var problems []string
	ids := make([]string, 0, len(sealed))
	for id := range sealed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if !a.Keys.Has(id) {
			problems = append(problems, fmt.Sprintf("the database holds %d secret(s) sealed with master key ID %s, which the configured keys (%s) do not include: add that key to %s after the current one, or restore it",
				sealed[id], id, strings.Join(a.Keys.IDs(), ", "), a.keySource()))
		}
	}
	for _, id := range a.Keys.IDs() {
		if c, ok := checks[id]; ok && a.Keys.VerifyCheck(id, c) != nil {
			problems = append(problems, fmt.Sprintf("master key ID %s does not open its key-check value: it is not the key that sealed this database's data", id))
		}
	}
	if len(problems) > 0 {
		return &KeyError{Problems: problems}
	}
	return nil
}

// RecordKeyChecks stores a key-check value for each configured key that
// has none yet (at start, and after rekey), so later starts can prove it.
func (a *App) RecordKeyChecks(ctx context.Context) error {
	checks, err := a.DB.KeyChecks(ctx)
	if err != nil {
		return err
	}
	for _, id := range a.Keys.IDs() {
		if _, ok := checks[id]; ok {
			continue
		}
		c, err := a.Keys.CheckValue(id)
		if err != nil {
			return err
		}
		if err := a.DB.AddKeyCheck(ctx, id, c); err != nil {
			return err
		}
	}
	return nil
}

// keySource names where the keys come from, for the operator.
func (a *App) keySource() string {
	if a.KeySource != "" {
		return a.KeySource
	}
	return "UWSPORTAL_MASTER_KEY"
}
