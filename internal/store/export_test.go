package store

import (
	"gorm.io/gorm"

	"github.com/uwsportal/uwsportal/models"
)

// GormForTest lets the external tests prove the trigger refuses GORM too.
func (db *DB) GormForTest() *gorm.DB { return db.gorm }

// SearchSQLForTest is the query SearchAudit sends for f (without an actor
// filter) and its arguments, for the tests that check its plan.
func SearchSQLForTest(f models.AuditFilter, departments []string) (string, []any) {
	sql, args, _ := searchSQL(f, nil, departments)
	return sql, args
}

// CheckpointSQLForTest are the queries that find the newest checkpoint and
// the newest full verification.
var CheckpointSQLForTest = []string{latestCheckpointSQL, lastFullSQL}
