package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// Tx is one database transaction. Repositories and the audit writer take it,
// so a change and its audit event commit or roll back together. Its
// connection stays inside this package: callers name what they want done
// (store methods), never SQL.
type Tx struct {
	g *gorm.DB
}

// WithTx runs fn in a transaction: committed when fn returns nil, rolled
// back when it returns an error or panics.
func (db *DB) WithTx(ctx context.Context, fn func(tx *Tx) error) error {
	db.txs.Add(1)
	return db.gorm.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		return fn(&Tx{g: g})
	})
}

// q is the query builder of tx, or of the pool outside a transaction.
func (db *DB) q(ctx context.Context, tx *Tx) *gorm.DB {
	if tx == nil {
		return db.gorm.WithContext(ctx)
	}
	return tx.g.WithContext(ctx)
}

// Transactions counts the transactions WithTx and EndOpenRequestsAudited
// have begun (tests measure a use case's cost with it).
func (db *DB) Transactions() int64 { return db.txs.Load() }

// row is QueryRow on tx's connection, or through pgx on the pool outside a
// transaction: one read path without GORM for both (placeholders $1…; no
// row is sql.ErrNoRows, which pgx.ErrNoRows matches too).
func (db *DB) row(tx *Tx) queryRow {
	if tx == nil {
		return func(ctx context.Context, q string, args ...any) scanner { return db.Pool.QueryRow(ctx, q, args...) }
	}
	conn := tx.g.Statement.ConnPool
	return func(ctx context.Context, q string, args ...any) scanner { return conn.QueryRowContext(ctx, q, args...) }
}

// queryRows runs q through the pool, outside any transaction, and
// collects its rows with scan; what names the read in its error.
func queryRows[T any](ctx context.Context, db *DB, what, q string, args []any, scan func(pgx.CollectableRow) (T, error)) ([]T, error) {
	rows, err := db.Pool.Query(ctx, q, args...)
	if err == nil {
		var out []T
		if out, err = pgx.CollectRows(rows, scan); err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("%s: %w", what, err)
}
