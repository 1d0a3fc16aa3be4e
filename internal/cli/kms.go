package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	portal "github.com/uwsportal/uwsportal/internal/app"
	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
	"github.com/uwsportal/uwsportal/models"
)

// rekeyCmd is rekey's parsing: --to-kms and --to-plain move the master keys
// between plain and KMS-wrapped (the keys stay the same, so no row is
// re-encrypted); without them, rekey re-encrypts every secret under the
// current key.
func (a *app) rekeyCmd(ctx context.Context, args []string) error {
	var toKMS, out string
	var toPlain, print bool
	if err := a.flags("rekey", args, func(fs *flag.FlagSet) {
		fs.StringVar(&toKMS, "to-kms", "", "wrap the current master keys with this KMS key URL (awskms://, gcpkms://, azurekeyvault://, hashivault://) and store them in the database")
		fs.BoolVar(&print, "print", false, "with --to-kms: print the wrapped keys (for UWSPORTAL_MASTER_KEY_FILE) instead of storing them")
		fs.BoolVar(&toPlain, "to-plain", false, "unwrap the KMS-wrapped master keys into --out and remove them from the database")
		fs.StringVar(&out, "out", "", "with --to-plain: the new key file (created with mode 0600)")
	}); err != nil {
		return err
	}
	switch {
	case toKMS != "" && toPlain:
		return &exitError{code: 2, err: fmt.Errorf("rekey: --to-kms and --to-plain exclude each other")}
	case toKMS != "":
		return a.wrapKeys(ctx, toKMS, print)
	case toPlain:
		if out == "" {
			return &exitError{code: 2, err: fmt.Errorf("rekey --to-plain: --out FILE is required (a key is never printed)")}
		}
		return a.unwrapKeys(ctx, out)
	case print || out != "":
		return &exitError{code: 2, err: fmt.Errorf("rekey: --print goes with --to-kms, --out with --to-plain")}
	}
	return a.rekey(ctx, nil)
}

// withKeys opens the database and the current master keys.
func (a *app) withKeys(ctx context.Context, fn func(db *store.DB, keys *secret.Keyring, kms string) error) error {
	cfg, err := a.config()
	if err != nil {
		return err
	}
	db, err := a.openDB(ctx, cfg, a.logger(cfg.LogLevel))
	if err != nil {
		return err
	}
	defer db.Close()
	keys, _, err := portal.LoadKeys(ctx, portal.Env{Getenv: a.getenv}, cfg.MasterKeyKMS, db)
	if err != nil {
		return err
	}
	return fn(db, keys, cfg.MasterKeyKMS)
}

// wrapKeys wraps the current keys with the KMS key at url, proves the KMS
// unwraps them again, and stores them (or prints them).
func (a *app) wrapKeys(ctx context.Context, url string, print bool) error {
	if err := secret.CheckKMSURL(url); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("rekey --to-kms %w", err)}
	}
	return a.withKeys(ctx, func(db *store.DB, keys *secret.Keyring, _ string) error {
		kms, err := secret.OpenKMS(ctx, url)
		if err != nil {
			return err
		}
		defer kms.Close()
		wrapped, err := kms.Wrap(ctx, keys)
		if err != nil {
			return err
		}
		back, err := kms.Unwrap(ctx, wrapped)
		if err != nil || strings.Join(back.IDs(), ",") != strings.Join(keys.IDs(), ",") {
			return fmt.Errorf("rekey --to-kms: the KMS does not give the keys back: %v", err)
		}
		if print {
			fmt.Fprintln(a.stdout, strings.Join(wrapped, ","))
			return nil
		}
		rows := make([]store.WrappedKey, len(wrapped))
		for i, id := range keys.IDs() {
			rows[i] = store.WrappedKey{KeyID: id, Wrapped: wrapped[i], KMS: secret.RedactKMSURL(url)}
		}
		if err := db.SetWrappedKeys(ctx, rows); err != nil {
			return err
		}
		if err := a.auditKeys(ctx, db, secret.RedactKMSURL(url), keys); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "stored %d wrapped master key(s) (%s) in the database.\nOn every instance set %s=%s and unset %s and %s_FILE.\n",
			len(rows), strings.Join(keys.IDs(), ", "), secret.EnvMasterKeyKMS, url, secret.EnvMasterKey, secret.EnvMasterKey)
		return nil
	})
}

// unwrapKeys writes the KMS-wrapped keys, unwrapped, to a new private file
// and removes them from the database.
func (a *app) unwrapKeys(ctx context.Context, out string) error {
	return a.withKeys(ctx, func(db *store.DB, keys *secret.Keyring, kms string) error {
		if kms == "" {
			return &exitError{code: 2, err: fmt.Errorf("rekey --to-plain: %s is not set: the keys are plain already", secret.EnvMasterKeyKMS)}
		}
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("rekey --to-plain: %w", err)
		}
		if _, err := f.WriteString(keys.Export() + "\n"); err != nil {
			f.Close()
			return fmt.Errorf("rekey --to-plain: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("rekey --to-plain: %w", err)
		}
		if err := db.SetWrappedKeys(ctx, nil); err != nil {
			return err
		}
		if err := a.auditKeys(ctx, db, "", keys); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "wrote %d master key(s) (%s) to %s.\nOn every instance set %s_FILE=%s and unset %s.\n",
			len(keys.IDs()), strings.Join(keys.IDs(), ", "), out, secret.EnvMasterKey, out, secret.EnvMasterKeyKMS)
		return nil
	})
}

func (a *app) auditKeys(ctx context.Context, db *store.DB, kms string, keys *secret.Keyring) error {
	if kms == "" {
		kms = "plain"
	}
	e := models.NewEvent(models.EvMasterKeys, cliPrincipal(), cliMeta()).With("kms", kms, "key_ids", keys.IDs())
	if err := db.AuditAlone(ctx, e); err != nil {
		return fmt.Errorf("record master keys: %w", err)
	}
	return nil
}
