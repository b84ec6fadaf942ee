//go:build deps

package deps

import (
	_ "github.com/go-audio/wav"
	_ "github.com/google/uuid"
	_ "github.com/hajimehoshi/go-mp3"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/minio/sio"
	_ "github.com/pressly/goose/v3"
	_ "github.com/sashabaranov/go-openai"
	_ "github.com/schollz/progressbar/v3"
	_ "golang.org/x/term"
)
