package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"callscribe"
)

// apiKeyPrefix starts every API key, so a leaked one is easy to recognise in a scan.
const apiKeyPrefix = "csk_"

// CreateAPIKey makes a new API key for the organization and returns it with its token,
// csk_<id>_<secret>. The token is shown once: only the secret's sha256 is stored. The
// secret is 32 random bytes, so a plain hash cannot be reversed by guessing.
func (db *DB) CreateAPIKey(ctx context.Context, orgID uuid.UUID) (callscribe.APIKey, string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return callscribe.APIKey{}, "", fmt.Errorf("new api key: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(raw)
	hash := sha256.Sum256([]byte(secret))
	k := callscribe.APIKey{OrgID: orgID, Prefix: apiKeyPrefix + secret[:6]}
	err := db.pool.QueryRow(ctx, `
		WITH ins AS (
			INSERT INTO api_keys (organization_id, hash, prefix) VALUES ($1, $2, $3)
			RETURNING id, created_at)
		SELECT ins.id, ins.created_at, o.name FROM ins, organizations o WHERE o.id = $1`,
		orgID, hash[:], k.Prefix).Scan(&k.ID, &k.CreatedAt, &k.OrgName)
	if err != nil {
		return callscribe.APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	return k, apiKeyPrefix + k.ID.String() + "_" + secret, nil
}

// errBadKey is the one answer to every credential that does not work, so a caller learns
// nothing about which part was wrong.
var errBadKey = callscribe.Errorf(callscribe.EUNAUTHORIZED, "the API key is missing, invalid or revoked")

// Authenticate finds the live API key a token names; EUNAUTHORIZED for a malformed,
// unknown or revoked token or a wrong secret. The secret is compared in constant time.
func (db *DB) Authenticate(ctx context.Context, token string) (callscribe.APIKey, error) {
	rest, ok := strings.CutPrefix(token, apiKeyPrefix)
	if !ok || len(rest) < 37 || rest[36] != '_' {
		return callscribe.APIKey{}, errBadKey
	}
	id, err := uuid.Parse(rest[:36])
	if err != nil {
		return callscribe.APIKey{}, errBadKey
	}
	secret := rest[37:]
	var k callscribe.APIKey
	var stored []byte
	// The key's organization is what this finds out, so the lookup is the system's: by
	// the key's id alone, and nothing is returned unless the secret matches.
	err = db.pool.QueryRow(callscribe.AsSystem(ctx), `
		SELECT k.id, k.organization_id, o.name, k.prefix, k.created_at, k.revoked_at, k.hash
		FROM api_keys k JOIN organizations o ON o.id = k.organization_id WHERE k.id = $1`, id).
		Scan(&k.ID, &k.OrgID, &k.OrgName, &k.Prefix, &k.CreatedAt, &k.RevokedAt, &stored)
	if errors.Is(err, pgx.ErrNoRows) {
		return callscribe.APIKey{}, errBadKey
	}
	if err != nil {
		return callscribe.APIKey{}, fmt.Errorf("authenticate: %w", err)
	}
	got := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(got[:], stored) != 1 || k.RevokedAt != nil {
		return callscribe.APIKey{}, errBadKey
	}
	return k, nil
}

// RevokeAPIKey revokes a key; ENOTFOUND if there is no such key, and revoking twice keeps
// the first time.
func (db *DB) RevokeAPIKey(ctx context.Context, id uuid.UUID) error {
	tag, err := db.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no API key %s", id)
	}
	return nil
}

// APIKeys lists an organization's keys, newest first, revoked ones included.
func (db *DB) APIKeys(ctx context.Context, orgID uuid.UUID) ([]callscribe.APIKey, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT k.id, k.organization_id, o.name, k.prefix, k.created_at, k.revoked_at
		FROM api_keys k JOIN organizations o ON o.id = k.organization_id
		WHERE k.organization_id = $1 ORDER BY k.created_at DESC, k.id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (callscribe.APIKey, error) {
		var k callscribe.APIKey
		err := row.Scan(&k.ID, &k.OrgID, &k.OrgName, &k.Prefix, &k.CreatedAt, &k.RevokedAt)
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return keys, nil
}
