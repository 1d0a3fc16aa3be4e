package secret

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"gocloud.dev/secrets"
)

// EnvMasterKeyKMS names the KMS key that wraps the master keys.
const EnvMasterKeyKMS = "UWSPORTAL_MASTER_KEY_KMS"

// KMSSchemes are the KMS URL schemes the portal accepts: AWS KMS, Google
// Cloud KMS, Azure Key Vault (gocloud.dev/secrets drivers, registered by
// cmd/uwsportal) and HashiCorp Vault Transit (vault.go).
var KMSSchemes = []string{"awskms", "gcpkms", "azurekeyvault", "hashivault"}

// CheckKMSURL says what is wrong with a KMS URL, without opening it.
func CheckKMSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "" && u.Path == "") {
		return errors.New("must be a KMS key URL such as awskms://alias/uwsportal?region=eu-west-1")
	}
	for _, s := range KMSSchemes {
		if u.Scheme == s {
			return nil
		}
	}
	return fmt.Errorf("has scheme %q: want one of %s", u.Scheme, strings.Join(KMSSchemes, ", "))
}

// KMS wraps and unwraps master keys with one KMS key (envelope encryption:
// the data stays sealed under the master keys, which are stored only
// wrapped, so a database dump and the environment are not enough).
type KMS struct {
	URL    string // not secret: it names a key, it is not one
	keeper *secrets.Keeper
}

// OpenKMS opens the KMS key at url (any scheme registered with
// gocloud.dev/secrets; tests use its base64key:// local driver).
func OpenKMS(ctx context.Context, url string) (*KMS, error) {
	k, err := secrets.OpenKeeper(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("%s: open %s: %w", EnvMasterKeyKMS, RedactKMSURL(url), err)
	}
	return &KMS{URL: url, keeper: k}, nil
}

// Close releases the KMS client.
func (k *KMS) Close() error { return k.keeper.Close() }

// Wrap encrypts every key of the keyring with the KMS key, current first,
// each in base64.
func (k *KMS) Wrap(ctx context.Context, kr *Keyring) ([]string, error) {
	out := make([]string, len(kr.raw))
	for i, raw := range kr.raw {
		ct, err := k.keeper.Encrypt(ctx, raw)
		if err != nil {
			return nil, fmt.Errorf("%s: wrap key %s: %w", EnvMasterKeyKMS, kr.order[i], err)
		}
		out[i] = base64.StdEncoding.EncodeToString(ct)
	}
	return out, nil
}

// Unwrap decrypts wrapped keys (base64, current first) into a keyring.
func (k *KMS) Unwrap(ctx context.Context, wrapped []string) (*Keyring, error) {
	if len(wrapped) == 0 {
		return nil, fmt.Errorf("%s is set but there is no wrapped key: give it in %s(_FILE) or store it with uwsportal rekey --to-kms", EnvMasterKeyKMS, EnvMasterKey)
	}
	keys := make([][]byte, len(wrapped))
	for i, w := range wrapped {
		ct, err := base64.StdEncoding.DecodeString(strings.TrimSpace(w))
		if err != nil {
			return nil, fmt.Errorf("wrapped key %d of %d is not valid base64", i+1, len(wrapped))
		}
		if keys[i], err = k.keeper.Decrypt(ctx, ct); err != nil {
			return nil, fmt.Errorf("%s: unwrap key %d of %d with %s: %w", EnvMasterKeyKMS, i+1, len(wrapped), RedactKMSURL(k.URL), err)
		}
	}
	return NewKeyring(keys...)
}

// SplitWrapped splits a list of wrapped keys (comma or newline separated).
func SplitWrapped(spec string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == '\n' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// RedactKMSURL keeps a KMS URL's scheme and key name and drops its query,
// where a local driver's key or a token could sit.
func RedactKMSURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the KMS URL"
	}
	if u.Scheme == "base64key" {
		return "base64key://…"
	}
	u.RawQuery, u.User = "", nil
	return u.String()
}
