package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"callscribe"
)

func cmdUsers(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "edit" {
		return cmdUsersEdit(ctx, cfg, args[1:], stdout)
	}
	if len(args) > 0 && (args[0] == "block" || args[0] == "unblock") {
		return cmdBlock(ctx, cfg, args[0], args[1:], stdout)
	}
	if len(args) == 0 || args[0] != "add" {
		return usagef("usage: callscribe users add --email EMAIL [--name \"Surname First Patronymic\"] [--phone PHONE] [--org NAME] | users block|unblock EMAIL")
	}
	fs := newFlags("users add")
	email := fs.String("email", "", "email address (required)")
	name := fs.String("name", "", `full name, "Surname First Patronymic"`)
	phone := fs.String("phone", "", "phone number")
	org := fs.String("org", localOrg, "organization name")
	if _, err := parse(fs, args[1:]); err != nil {
		return err
	}
	if !strings.Contains(*email, "@") {
		return usagef("--email: %q is not an email address", *email)
	}
	u := callscribe.User{Email: strings.TrimSpace(*email), Phone: strings.TrimSpace(*phone)}
	u.Surname, u.FirstName, u.Patronymic = splitName(*name)

	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	if u.OrgID, err = a.db.EnsureOrganization(ctx, *org); err != nil {
		return err
	}
	if u, err = a.db.CreateUser(ctx, u); err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(map[string]any{
		"id": u.ID, "email": u.Email, "organization": *org,
		"surname": u.Surname, "first_name": u.FirstName, "patronymic": u.Patronymic,
	})
}

// splitName splits "Surname First Patronymic" (the Russian order); a single word is a
// first name, and words past the third belong to the patronymic.
func splitName(full string) (surname, first, patronymic string) {
	f := strings.Fields(full)
	switch len(f) {
	case 0:
		return "", "", ""
	case 1:
		return "", f[0], ""
	case 2:
		return f[0], f[1], ""
	default:
		return f[0], f[1], strings.Join(f[2:], " ")
	}
}

// cmdBlock blocks or unblocks a user: a blocked user's data is kept but not shown,
// processed or exported; calls of theirs in flight are discarded.
func cmdBlock(ctx context.Context, cfg Config, action string, args []string, stdout io.Writer) error {
	fs := newFlags("users " + action)
	org := fs.String("org", localOrg, "the user's organization")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: callscribe users %s EMAIL [--org NAME]", action)
	}
	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	u, err := a.userByEmail(ctx, *org, pos[0])
	if err != nil {
		return err
	}
	var changed bool
	if action == "block" {
		changed, err = a.db.BlockUser(ctx, u.ID, time.Now())
	} else {
		changed, err = a.db.UnblockUser(ctx, u.ID)
	}
	if err != nil {
		return err
	}
	switch {
	case action == "block" && changed:
		fmt.Fprintf(stdout, "%s: blocked; their data is kept but not shown or processed until unblocked\n", u.Email)
	case action == "block":
		fmt.Fprintf(stdout, "%s: was blocked already\n", u.Email)
	case changed:
		fmt.Fprintf(stdout, "%s: unblocked\n", u.Email)
	default:
		fmt.Fprintf(stdout, "%s: was not blocked\n", u.Email)
	}
	return nil
}
