package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"unicode/utf8"

	"github.com/google/uuid"

	"callscribe"
	"callscribe/notify"
	"callscribe/storage/pglocal"
	"callscribe/storage/postgres"
	"callscribe/telegram"
)

// app holds what every command opens: the database, started and migrated.
type app struct {
	cfg     config
	db      *postgres.DB
	cluster *pglocal.Cluster // the embedded cluster, when CALLSCRIBE_DATABASE_URL is unset
	log     *slog.Logger
	notices *notify.Notices // what users are told; the database's notice hook records through it
	// bot, once serve or worker has made it, sends the notices of the telegram channel;
	// nil: that channel cannot reach anyone.
	bot atomic.Pointer[telegram.Bot]
}

const (
	localOrg   = "local"
	localEmail = "local@localhost"
)

func openApp(ctx context.Context, cfg config) (*app, error) {
	a := &app{cfg: cfg, log: newLogger(cfg.stderr, cfg.logLevel)}
	url := cfg.databaseURL
	if url == "" {
		c, err := pglocal.Start(ctx, pglocal.Options{DataDir: cfg.dataDir, Logf: func(format string, args ...any) {
			a.log.Info(fmt.Sprintf(format, args...))
		}})
		if err != nil {
			return nil, fmt.Errorf("start the embedded PostgreSQL in %s (CALLSCRIBE_DATA_DIR): %w", cfg.dataDir, err)
		}
		a.cluster = c
		url = c.URL()
	}
	if err := postgres.Migrate(ctx, url); err != nil {
		a.close()
		return nil, err
	}
	db, err := postgres.Open(ctx, url)
	if err != nil {
		a.close()
		return nil, err
	}
	a.db = db
	if err := a.wireNotices(); err != nil {
		a.close()
		return nil, err
	}
	if err := a.reapplyAtStart(ctx); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

func (a *app) close() {
	if a.db != nil {
		a.db.Close()
	}
	if a.cluster != nil {
		if err := a.cluster.Close(context.Background()); err != nil {
			a.log.Error("stop the embedded PostgreSQL", "err", err)
		}
	}
}

// userByEmail finds a user of the organization named org; the default local user is
// created (without any consent) in the local organization the first time it is asked for.
func (a *app) userByEmail(ctx context.Context, org, email string) (callscribe.User, error) {
	if !utf8.ValidString(email) {
		// The database stores text as UTF-8 and would refuse it (exit 1, its raw error).
		return callscribe.User{}, callscribe.Errorf(callscribe.EINVALID, "the email is not UTF-8 text")
	}
	var orgID uuid.UUID
	var err error
	if org == localOrg {
		orgID, err = a.db.EnsureOrganization(ctx, localOrg)
	} else {
		orgID, err = a.db.OrganizationID(ctx, org)
	}
	if err != nil {
		return callscribe.User{}, err
	}
	u, err := a.db.UserByEmail(ctx, orgID, email)
	if callscribe.ErrorCode(err) != callscribe.ENOTFOUND || email != localEmail || org != localOrg {
		return u, err
	}
	u, err = a.db.CreateUser(ctx, callscribe.User{OrgID: orgID, Email: localEmail, FirstName: "Local"})
	if callscribe.ErrorCode(err) == callscribe.ECONFLICT {
		return a.db.UserByEmail(ctx, orgID, email) // created at the same moment by another process
	}
	return u, err
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func cmdMigrate(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	if err := parseNone(newFlags("migrate"), args); err != nil {
		return err
	}
	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	_, err = fmt.Fprintln(stdout, "database is up to date")
	return err
}
