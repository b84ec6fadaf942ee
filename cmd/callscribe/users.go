package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"

	"callscribe"
)

func cmdUsers(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "edit" {
		return cmdUsersEdit(ctx, cfg, args[1:], stdout)
	}
	if len(args) == 0 || args[0] != "add" {
		return usagef("usage: callscribe users add --email EMAIL [--name \"Surname First Patronymic\"] [--phone PHONE] [--org NAME]")
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
