package store

import (
	"context"
	"fmt"

	"github.com/uwsportal/uwsportal/models"
)

// DevicePolicy reads department deptID's device policy.
func (db *DB) DevicePolicy(ctx context.Context, tx *Tx, deptID int64) (models.DevicePolicy, error) {
	var rows []struct{ Role, Operation string }
	err := db.q(ctx, tx).Raw("SELECT role, operation FROM device_policies WHERE department_id = ? ORDER BY role, operation", deptID).
		Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("read device policy: %w", err)
	}
	p := models.DevicePolicy{}
	for _, r := range rows {
		p[models.Role(r.Role)] = append(p[models.Role(r.Role)], models.Operation(r.Operation))
	}
	return p, nil
}

// SetDevicePolicy replaces department deptID's device policy.
func (db *DB) SetDevicePolicy(ctx context.Context, tx *Tx, deptID int64, p models.DevicePolicy) error {
	if err := db.q(ctx, tx).Exec("DELETE FROM device_policies WHERE department_id = ?", deptID).Error; err != nil {
		return fmt.Errorf("replace device policy: %w", err)
	}
	for _, role := range models.PolicyRoles {
		for _, op := range p[role] {
			if err := db.q(ctx, tx).Exec("INSERT INTO device_policies (department_id, role, operation) VALUES (?, ?, ?)",
				deptID, string(role), string(op)).Error; err != nil {
				return fmt.Errorf("replace device policy: %w", err)
			}
		}
	}
	return nil
}
