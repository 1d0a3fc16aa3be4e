package store

import (
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
)

// SessionStore keeps the web's sessions server-side in Postgres (scs's
// pgx store), so they survive a restart and work across instances.
func (db *DB) SessionStore() scs.Store {
	return pgxstore.NewWithCleanupInterval(db.Pool, 10*time.Minute)
}
