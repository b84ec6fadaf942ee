// Package migrations holds the database schema as SQL files, embedded in the binary and
// applied in order by goose. A migration never stores audio.
package migrations

import "embed"

// FS holds the migration files.
//
//go:embed *.sql
var FS embed.FS
