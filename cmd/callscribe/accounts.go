package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"callscribe/accounts"
)

// cmdPartners manages the partners whose links (/r/CODE) bring visitors, and prints the
// report: clicks and registrations per partner.
func cmdPartners(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	const use = "usage: callscribe partners add --code CODE --name NAME | partners list"
	if len(args) == 0 {
		return usagef(use)
	}
	action := args[0]
	fs := newFlags("partners " + action)
	code := fs.String("code", "", "the code the partner's links carry: /r/CODE (letters, digits, _ and -)")
	name := fs.String("name", "", "the partner's name, for the report")
	if err := parseNone(fs, args[1:]); err != nil {
		return err
	}
	switch action {
	case "add":
		if *code == "" || *name == "" {
			return usagef("--code and --name are required")
		}
	case "list":
		if *code != "" || *name != "" {
			return usagef("partners list takes no --code or --name")
		}
	default:
		return usagef(use)
	}
	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	svc := accounts.New(a.db, accounts.Config{}, a.log)
	if action == "add" {
		p, err := svc.AddPartner(ctx, *code, *name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "partner %s added: its link is /r/%s\n", p.Code, p.Code)
		return nil
	}
	ps, err := svc.Partners(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "CODE\tCLICKS\tREGISTRATIONS\tNAME\n")
	for _, p := range ps {
		fmt.Fprintf(stdout, "%s\t%d\t%d\t%s\n", p.Code, p.Clicks, p.Registrations, p.Name)
	}
	return nil
}

// cmdAgreement publishes a version of the user agreement (markdown) and shows the one
// in force.
func cmdAgreement(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	const use = "usage: callscribe agreement publish --version N FILE | agreement show"
	if len(args) == 0 {
		return usagef(use)
	}
	action := args[0]
	fs := newFlags("agreement " + action)
	version := fs.String("version", "", "the version's name, e.g. 2026-12 (at most 64 characters)")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	switch action {
	case "publish":
		if *version == "" || len(pos) != 1 {
			return usagef("usage: callscribe agreement publish --version N FILE")
		}
	case "show":
		if *version != "" || len(pos) != 0 {
			return usagef("agreement show takes no argument")
		}
	default:
		return usagef(use)
	}
	var text []byte
	if action == "publish" {
		// Read before the database is opened: a wrong path fails fast.
		if text, err = os.ReadFile(pos[0]); err != nil {
			return usagef("read the agreement: %v", err)
		}
	}
	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	svc := accounts.New(a.db, accounts.Config{}, a.log)
	if action == "publish" {
		ag, err := svc.PublishAgreement(ctx, *version, string(text), "cli")
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "agreement version %s published, in force from %s: every account is asked to accept it at its next sign-in\n",
			ag.Version, ag.PublishedAt.UTC().Format(time.RFC3339))
		return nil
	}
	ag, err := svc.CurrentAgreement(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "version %s, in force from %s\n\n%s", ag.Version, ag.PublishedAt.UTC().Format(time.RFC3339), ag.Text)
	if n := len(ag.Text); n > 0 && ag.Text[n-1] != '\n' {
		fmt.Fprintln(stdout)
	}
	return nil
}
