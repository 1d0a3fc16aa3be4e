package store

import (
	"time"

	"gorm.io/gorm"

	"github.com/uwsportal/uwsportal/models"
)

// GormForTest lets the external tests prove the trigger refuses GORM too.
func (db *DB) GormForTest() *gorm.DB { return db.gorm }

// SearchSQLForTest is the query SearchAudit sends for f (its actor, if
// any, an actor id) and its arguments, for the tests that check its plan;
// window asks for the one through the window's indexes (searchWindow).
// A free-text search's is the one through the trigram index, after the
// walk (TextWalkSQLForTest).
func SearchSQLForTest(f models.AuditFilter, departments []string, window bool) (string, []any) {
	var actors []string
	if f.Actor != "" {
		actors = []string{f.Actor}
	}
	sql, args, _ := searchSQL(f, actors, departments, window)
	if f.Text != "" {
		sql = indexOrder(sql)
	}
	return sql, args
}

// TextWalkSQLForTest is the first query of a free-text search: the events
// nearest the cursor, in id order.
func TextWalkSQLForTest(f models.AuditFilter) (string, []any) {
	sql, args, _ := searchSQL(f, nil, nil, false)
	return textWalkSQL(f, sql, args, textWalk)
}

// SetTextSearchForTest makes db's free-text searches walk n events before
// they ask the trigram index, beside the planner's own plan once that has
// run alone for hedge (0: steps only, no plan of the planner's).
func (db *DB) SetTextSearchForTest(n int, hedge time.Duration) {
	db.textWalk, db.textHedge = n, hedge
}

// CheckpointSQLForTest are the queries that find the newest checkpoint and
// the newest full verification.
var CheckpointSQLForTest = []string{latestCheckpointSQL, lastFullSQL}

// CleanEvery is how many appends wake the free-text index's cleaner.
const CleanEvery = cleanEvery

// TextCleanerOff says whether the free-text index's cleaner gave up.
func (db *DB) TextCleanerOff() bool { return db.clean.off.Load() }

// RefuseCutBatchForTest is the statement that ends a batch appended on an
// assumed head in failure if it was cut.
const RefuseCutBatchForTest = refuseCutBatch

// SetWindowHedgeForTest makes db's searches over a time window run the
// planner's plan alone for hedge before the window's indexes (0: the
// window's indexes only).
func (db *DB) SetWindowHedgeForTest(hedge time.Duration) { db.windowHedge = &hedge }
