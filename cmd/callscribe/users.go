package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"callscribe"
	"callscribe/accounts"
)

func cmdUsers(ctx context.Context, cfg config, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "password" {
		return cmdUsersPassword(ctx, cfg, args[1:], stdin, stdout)
	}
	if len(args) > 0 && args[0] == "edit" {
		return cmdUsersEdit(ctx, cfg, args[1:], stdout)
	}
	if len(args) > 0 && args[0] == "link-telegram" {
		return cmdLinkTelegram(ctx, cfg, args[1:], stdout)
	}
	if len(args) > 0 && (args[0] == "block" || args[0] == "unblock") {
		return cmdBlock(ctx, cfg, args[0], args[1:], stdout)
	}
	if len(args) == 0 || args[0] != "add" {
		return usagef("%s", usage("users"))
	}
	fs := newFlags("users add")
	email := fs.String("email", "", "email address (required)")
	name := fs.String("name", "", `full name of two or three words, "Surname First Patronymic"`)
	surname := fs.String("surname", "", "surname (family name)")
	first := fs.String("first-name", "", "first (given) name")
	patronymic := fs.String("patronymic", "", "patronymic")
	phone := fs.String("phone", "", "phone number, international (+7 903 123-45-67) or Russian (8 903 123-45-67); stored as E.164")
	org := fs.String("org", localOrg, "organization name")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("users add takes flags only, got %q (a name with spaces needs quotes)", pos)
	}
	if !validEmail(*email) {
		return usagef("--email: %q is not an email address", *email)
	}
	u := callscribe.User{Email: strings.TrimSpace(*email)}
	if strings.TrimSpace(*phone) != "" {
		if u.Phone, err = callscribe.NormalizePhone(*phone); err != nil {
			return usagef("--phone: %s", callscribe.ErrorMessage(err))
		}
	}
	explicit := strings.TrimSpace(*surname + *first + *patronymic)
	switch {
	case strings.TrimSpace(*name) != "" && explicit != "":
		return usagef(`--name or --surname/--first-name/--patronymic, not both`)
	case strings.TrimSpace(*name) != "":
		if u.Surname, u.FirstName, u.Patronymic, err = splitName(*name); err != nil {
			return err
		}
	default:
		u.Surname, u.FirstName, u.Patronymic = strings.TrimSpace(*surname), strings.TrimSpace(*first), strings.TrimSpace(*patronymic)
	}
	if strings.TrimSpace(*org) == "" {
		return usagef("--org: the organization's name is empty")
	}

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

// validEmail is the CLI's check of an email address: one @ with something on each side,
// no spaces. The address is the user's to get right; this catches a flag given the
// wrong value.
func validEmail(s string) bool {
	s = strings.TrimSpace(s)
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(s, " \t\n") && !strings.Contains(domain, "@")
}

// splitName splits "Surname First Patronymic" (the Russian order) into its parts: two
// words are a surname and a first name, and words past the third belong to the
// patronymic ("Aliev Ramil Farid ogly"). One word is refused: whether it is a surname or
// a first name is for the operator to say, with the flags that name the parts.
func splitName(full string) (surname, first, patronymic string, err error) {
	f := strings.Fields(full)
	switch len(f) {
	case 0:
		return "", "", "", nil
	case 1:
		return "", "", "", usagef(`--name %q is one word: is it the surname or the first name? Say which with --surname or --first-name (and --patronymic); --name takes "Surname First [Patronymic]"`, full)
	case 2:
		return f[0], f[1], "", nil
	default:
		return f[0], f[1], strings.Join(f[2:], " "), nil
	}
}

// cmdBlock blocks or unblocks a user: a blocked user's data is kept but not shown,
// processed or exported; calls of theirs in flight are discarded.
func cmdBlock(ctx context.Context, cfg config, action string, args []string, stdout io.Writer) error {
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

// cmdUsersPassword sets a user's web password from the first line of standard input
// (never from the command line, where other users of the machine could read it), making
// their web account if they have none; their sessions end. With --verified the operator
// vouches for the address, as for a user they added themselves.
func cmdUsersPassword(ctx context.Context, cfg config, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlags("users password")
	org := fs.String("org", localOrg, "the user's organization")
	verified := fs.Bool("verified", false, "mark the email address verified (the operator vouches for it)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: callscribe users password EMAIL [--org NAME] [--verified] < FILE_WITH_THE_PASSWORD")
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the password from standard input: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return usagef("users password: give the new password on standard input (one line)")
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
	acc := accounts.New(a.db, cfg.web.accountsConfig(), a.log)
	acct, err := acc.SetPasswordByOperator(ctx, u.ID, password, *verified, "cli")
	var fe accounts.FieldErrors
	if errors.As(err, &fe) {
		return usagef("users password: the password is not accepted (%s): at least 10 characters, at most 256 bytes, not the email", fe["password"])
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: password set (role %s); their web sessions ended\n", u.Email, acct.Role)
	if acct.EmailVerified {
		fmt.Fprintf(stdout, "%s: email address verified\n", u.Email)
	}
	return nil
}
