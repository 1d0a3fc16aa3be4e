package upstream

import (
	"fmt"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
)

// CredentialAAD binds a credential's ciphertext to its row.
func CredentialAAD(id int64) []byte { return secret.AAD("credential", id) }

// Open decrypts a credential row's password.
func Open(keys *secret.Keyring, r *store.CredentialRow) (secret.Secret, error) {
	pt, err := keys.Open(r.KeyID, r.Ciphertext, CredentialAAD(r.ID))
	if err != nil {
		return "", fmt.Errorf("decrypt credential of %s: %w", r.Slug, err)
	}
	return secret.Secret(pt), nil
}

// Seal encrypts a password for credential row id.
func Seal(keys *secret.Keyring, id int64, pw secret.Secret) (keyID string, ciphertext []byte, err error) {
	return keys.Seal([]byte(pw.Reveal()), CredentialAAD(id))
}
