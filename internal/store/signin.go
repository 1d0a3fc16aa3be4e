package store

import (
	"context"
	"time"
)

// TouchSignIn records when user id last signed in.
func (db *DB) TouchSignIn(ctx context.Context, tx *Tx, id int64, at time.Time) error {
	_, err := db.exec(ctx, tx, "touch sign-in", "UPDATE users SET last_signin_at = ? WHERE id = ?", at, id)
	return err
}
