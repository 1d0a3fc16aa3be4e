package store

import "gorm.io/gorm"

// GormForTest lets the external tests prove the trigger refuses GORM too.
func (db *DB) GormForTest() *gorm.DB { return db.gorm }
