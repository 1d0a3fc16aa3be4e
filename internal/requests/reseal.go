package requests

import (
	"context"
	"fmt"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/internal/store"
)

// Resealer re-encrypts the listener passwords under the current key, in
// the rekey's transaction (it needs no more than the database and the keys,
// so the departments service can hold it).
type Resealer struct {
	DB   *store.DB
	Keys *secret.Keyring
}

// Reseal implements departments.Resealer.
func (r Resealer) Reseal(ctx context.Context, tx *store.Tx) (int, error) {
	rows, err := r.DB.ListenersSealedBefore(ctx, tx, r.Keys.CurrentID())
	if err != nil {
		return 0, err
	}
	for _, l := range rows {
		aad := listenerAAD(l.Department)
		if l.Client != "" {
			aad = clientAAD(l.Client)
		}
		pt, err := r.Keys.Open(l.KeyID, l.Sealed, aad)
		if err != nil {
			return 0, fmt.Errorf("rekey a callback listener: %w", err)
		}
		l.KeyID, l.Sealed, err = r.Keys.Seal(pt, aad)
		clear(pt)
		if err != nil {
			return 0, err
		}
		if err := r.DB.ResealListener(ctx, tx, l); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}
