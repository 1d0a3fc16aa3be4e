package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uwsportal/uwsportal/models"
)

type rotationRunRecord struct {
	ID           int64
	CredentialID int64
	DepartmentID int64
	Actor        string
	ActorName    string
	Trigger      string
	StartedAt    time.Time
	EndedAt      *time.Time
	Result       string
	UpstreamCode string
	Detail       string
}

func (rotationRunRecord) TableName() string { return "rotation_runs" }

// InsertRun records the start of a rotation and returns its id.
func (db *DB) InsertRun(ctx context.Context, tx *Tx, credID, deptID int64, actor, actorName string, trigger models.RotationTrigger) (int64, error) {
	rec := rotationRunRecord{CredentialID: credID, DepartmentID: deptID, Actor: actor, ActorName: models.Clip(actorName, 200),
		Trigger: string(trigger), StartedAt: db.Now(), Result: models.RunRunning}
	if err := db.q(ctx, tx).Create(&rec).Error; err != nil {
		return 0, fmt.Errorf("insert rotation run: %w", err)
	}
	return rec.ID, nil
}

// SetRunResult records a run's (intermediate or final) result; final ends it.
func (db *DB) SetRunResult(ctx context.Context, tx *Tx, runID int64, result, upstreamCode, detail string, final bool) error {
	set := map[string]any{"result": result, "upstream_code": models.Clip(upstreamCode, 200), "detail": models.Clip(detail, 1000)}
	if final {
		set["ended_at"] = db.Now()
	}
	if err := db.q(ctx, tx).Model(&rotationRunRecord{}).Where("id = ?", runID).Updates(set).Error; err != nil {
		return fmt.Errorf("update rotation run %d: %w", runID, err)
	}
	return nil
}

// Runs returns the latest limit runs of a department, newest first.
func (db *DB) Runs(ctx context.Context, deptID int64, limit int) ([]models.RotationRun, error) {
	var recs []rotationRunRecord
	err := db.q(ctx, nil).Where("department_id = ?", deptID).
		Order("started_at DESC, id DESC").Limit(limit).Find(&recs).Error
	if err != nil {
		return nil, fmt.Errorf("list rotation runs: %w", err)
	}
	out := make([]models.RotationRun, len(recs))
	for i, r := range recs {
		out[i] = models.RotationRun{ID: r.ID, Actor: r.Actor, ActorName: r.ActorName, Trigger: models.RotationTrigger(r.Trigger),
			StartedAt: r.StartedAt, EndedAt: r.EndedAt, Result: r.Result, UpstreamCode: r.UpstreamCode, Detail: r.Detail}
	}
	return out, nil
}

// RunResult returns run id's current result.
func (db *DB) RunResult(ctx context.Context, id int64) (string, error) {
	var results []string
	if err := db.q(ctx, nil).Model(&rotationRunRecord{}).Where("id = ?", id).Pluck("result", &results).Error; err != nil {
		return "", fmt.Errorf("read rotation run %d: %w", id, err)
	}
	if len(results) == 0 {
		return "", models.Errorf(models.ErrNotFound, "No rotation run %d.", id)
	}
	return results[0], nil
}
