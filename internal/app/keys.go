package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/uwsportal/uwsportal/internal/config"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
)

// LoadKeys reads the master keys: plain from UWSPORTAL_MASTER_KEY(_FILE),
// or, with a KMS URL, wrapped there or in the database and unwrapped by
// the KMS. It returns where they came from, for messages.
func LoadKeys(ctx context.Context, env Env, kmsURL string, db *store.DB) (*secret.Keyring, string, error) {
	if kmsURL == "" {
		k, err := config.MasterKeys(env.Getenv, env.ReadFile)
		return k, secret.EnvMasterKey, err
	}
	spec, err := config.ReadSecret(env.Getenv, env.ReadFile, secret.EnvMasterKey)
	if err != nil {
		return nil, "", err
	}
	wrapped, source := secret.SplitWrapped(spec), secret.EnvMasterKey+" (wrapped by "+secret.EnvMasterKeyKMS+")"
	if len(wrapped) == 0 {
		rows, err := db.WrappedKeys(ctx)
		if err != nil {
			return nil, "", err
		}
		for _, r := range rows {
			wrapped = append(wrapped, r.Wrapped)
		}
		source = "the database's wrapped keys (uwsportal rekey --to-kms)"
	}
	kms, err := secret.OpenKMS(ctx, kmsURL)
	if err != nil {
		return nil, "", err
	}
	k, err := kms.Unwrap(ctx, wrapped)
	return k, source, errors.Join(err, kms.Close())
}

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
