package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"callscribe"
	"callscribe/privacy"
)

func cmdConsent(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	const use = "usage: callscribe consent grant|withdraw --email EMAIL [--org NAME] --purpose transcription[,summarization,notifications,crm_export] | consent show --email EMAIL [--org NAME]"
	if len(args) == 0 {
		return usagef(use)
	}
	action := args[0]
	fs := newFlags("consent " + action)
	email := fs.String("email", "", "the user's email (required)")
	purposeList := fs.String("purpose", "", "comma-separated purposes")
	policy := fs.String("policy-version", cfg.policyVersion, "version of the policy the user agreed to")
	org := fs.String("org", localOrg, "the user's organization")
	if _, err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *email == "" {
		return usagef("--email is required")
	}
	var purposes []callscribe.Purpose
	switch action {
	case "grant", "withdraw":
		var err error
		if purposes, err = privacy.ParsePurposes(*purposeList); err != nil {
			return err
		}
	case "show":
	default:
		return usagef(use)
	}

	a, err := openApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	u, err := a.userByEmail(ctx, *org, *email)
	if err != nil {
		return err
	}
	consents := &privacy.Consents{Store: a.db, PolicyVersion: *policy, Audit: &privacy.Audit{}, AuditLog: a.db, Actor: cliActor}
	var changes []privacy.Change
	switch action {
	case "grant":
		changes, err = consents.Grant(ctx, u.ID, purposes, callscribe.ConsentViaCLI)
	case "withdraw":
		changes, err = consents.Withdraw(ctx, u.ID, purposes, callscribe.ConsentViaCLI)
	default:
		return showConsents(ctx, consents, u, stdout)
	}
	for _, c := range changes {
		switch {
		case action == "grant" && c.Changed:
			fmt.Fprintf(stdout, "%s: consent to %s granted (policy %s)\n", u.Email, c.Purpose, *policy)
		case action == "grant":
			fmt.Fprintf(stdout, "%s: consent to %s was already in force\n", u.Email, c.Purpose)
		case c.Changed:
			fmt.Fprintf(stdout, "%s: consent to %s withdrawn\n", u.Email, c.Purpose)
		default:
			fmt.Fprintf(stdout, "%s: no consent to %s was in force\n", u.Email, c.Purpose)
		}
	}
	return err
}

// showConsents prints what is in force, then every grant and withdrawal with its channel.
func showConsents(ctx context.Context, consents *privacy.Consents, u callscribe.User, stdout io.Writer) error {
	hist, err := consents.History(ctx, u.ID)
	if err != nil {
		return err
	}
	events, err := consents.Events(ctx, u.ID)
	if err != nil {
		return err
	}
	if u.BlockedAt != nil {
		fmt.Fprintf(stdout, "%s: blocked since %s: nothing of theirs is processed\n", u.Email, u.BlockedAt.Format(time.RFC3339))
	}
	if len(hist) == 0 {
		fmt.Fprintf(stdout, "%s: no consent given\n", u.Email)
		return nil
	}
	var inForce []string
	for _, p := range callscribe.Purposes {
		for _, c := range hist {
			if c.Purpose == p && c.WithdrawnAt == nil {
				inForce = append(inForce, fmt.Sprintf("%s (policy %s)", c.Purpose, c.PolicyVersion))
			}
		}
	}
	if len(inForce) == 0 {
		inForce = []string{"none"}
	}
	fmt.Fprintf(stdout, "%s: in force: %s\n", u.Email, strings.Join(inForce, ", "))
	for _, e := range events {
		fmt.Fprintf(stdout, "%s\t%s\t%s\tpolicy %s\tvia %s\n", e.At.Format(time.RFC3339), e.Action, e.Purpose, e.PolicyVersion, e.Channel)
	}
	return nil
}
