package store

import (
	"context"

	"gorm.io/gorm"
)

// Tx is one database transaction. Repositories and the audit writer take it,
// so a change and its audit event commit or roll back together.
type Tx struct {
	*gorm.DB
}

// WithTx runs fn in a transaction: committed when fn returns nil, rolled
// back when it returns an error or panics.
func (db *DB) WithTx(ctx context.Context, fn func(tx *Tx) error) error {
	return db.Gorm.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		return fn(&Tx{DB: g})
	})
}
