package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/uwsportal/uwsportal/models"
)

// OutboundNetworks lists the private networks outbound targets may reach.
func (db *DB) OutboundNetworks(ctx context.Context) ([]models.OutboundNetwork, error) {
	return queryRows(ctx, db, "list outbound networks", "SELECT id, name, network::text, added_by, added_at FROM outbound_networks ORDER BY network",
		nil, func(r pgx.CollectableRow) (models.OutboundNetwork, error) {
			var n models.OutboundNetwork
			err := r.Scan(&n.ID, &n.Name, &n.Network, &n.AddedBy, &n.AddedAt)
			return n, err
		})
}

// AddOutboundNetwork allows network (CIDR text) under name in tx; a
// network already allowed is ErrConflict.
func (db *DB) AddOutboundNetwork(ctx context.Context, tx *Tx, name, network, by string, at time.Time) (int64, error) {
	var id int64
	err := db.q(ctx, tx).Raw(`INSERT INTO outbound_networks (name, network, added_by, added_at) VALUES (?, ?::cidr, ?, ?) RETURNING id`,
		name, network, by, at).Scan(&id).Error
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return 0, models.Errorf(models.ErrConflict, "The network %s is already allowed.", models.ClipMark(network, 50))
	}
	if err != nil {
		return 0, fmt.Errorf("allow outbound network: %w", err)
	}
	return id, nil
}

// RemoveOutboundNetwork deletes allowed network id in tx and returns it.
func (db *DB) RemoveOutboundNetwork(ctx context.Context, tx *Tx, id int64) (models.OutboundNetwork, error) {
	var rows []models.OutboundNetwork
	err := db.q(ctx, tx).Raw(`DELETE FROM outbound_networks WHERE id = ? RETURNING id, name, network::text AS network, added_by, added_at`, id).
		Scan(&rows).Error
	if err != nil {
		return models.OutboundNetwork{}, fmt.Errorf("remove outbound network: %w", err)
	}
	if len(rows) == 0 {
		return models.OutboundNetwork{}, models.Errorf(models.ErrNotFound, "No allowed network %d.", id)
	}
	return rows[0], nil
}
