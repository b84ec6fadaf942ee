package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
)

func cmdAPIKey(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	const use = "usage: callscribe apikey create --org NAME | apikey revoke ID | apikey list --org NAME"
	if len(args) == 0 {
		return usagef(use)
	}
	action := args[0]
	fs := newFlags("apikey " + action)
	org := fs.String("org", "", "organization name")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	switch {
	case action == "create" || action == "list":
		if *org == "" {
			return usagef("--org is required")
		}
		if len(pos) != 0 {
			return usagef("apikey %s takes no argument, got %q", action, pos)
		}
	case action == "revoke":
		if len(pos) != 1 {
			return usagef(use)
		}
	default:
		return usagef(use)
	}

	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	switch action {
	case "create":
		orgID, err := a.db.EnsureOrganization(ctx, *org)
		if err != nil {
			return err
		}
		k, token, err := a.db.CreateAPIKey(ctx, orgID)
		if err != nil {
			return err
		}
		// The key alone on the last line, for scripts; it is shown only this once.
		fmt.Fprintf(stdout, "API key %s for organization %s (shown once; store it now):\n%s\n", k.ID, *org, token)
		return nil
	case "revoke":
		id, err := uuid.Parse(pos[0])
		if err != nil {
			return usagef("%q is not an API key id", pos[0])
		}
		if err := a.db.RevokeAPIKey(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "API key %s revoked\n", id)
		return nil
	default:
		orgID, err := a.db.OrganizationID(ctx, *org)
		if err != nil {
			return err
		}
		keys, err := a.db.APIKeys(ctx, orgID)
		if err != nil {
			return err
		}
		for _, k := range keys {
			state := "active"
			if k.RevokedAt != nil {
				state = "revoked " + k.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "%s\t%s…\tcreated %s\t%s\n", k.ID, k.Prefix, k.CreatedAt.Format(time.RFC3339), state)
		}
		return nil
	}
}
