package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"callscribe"
)

func cmdConsent(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	const use = "usage: callscribe consent grant|withdraw --email EMAIL --purpose transcription[,summarization] | consent show --email EMAIL"
	if len(args) == 0 {
		return usagef(use)
	}
	action := args[0]
	fs := newFlags("consent " + action)
	email := fs.String("email", "", "the user's email (required)")
	purposeList := fs.String("purpose", "", "comma-separated purposes")
	policy := fs.String("policy-version", cfg.PolicyVersion, "version of the policy the user agreed to")
	if _, err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *email == "" {
		return usagef("--email is required")
	}
	var purposes []callscribe.Purpose
	switch action {
	case "grant", "withdraw":
		if *purposeList == "" {
			return usagef("--purpose is required (transcription, summarization)")
		}
		for _, s := range strings.Split(*purposeList, ",") {
			p, err := callscribe.ParsePurpose(strings.TrimSpace(s))
			if err != nil {
				return err
			}
			purposes = append(purposes, p)
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
	u, err := a.userByEmail(ctx, *email)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, p := range purposes {
		var changed bool
		if action == "grant" {
			changed, err = a.db.GrantConsent(ctx, u.ID, p, *policy, now)
		} else {
			changed, err = a.db.WithdrawConsent(ctx, u.ID, p, now)
		}
		if err != nil {
			return err
		}
		switch {
		case action == "grant" && changed:
			fmt.Fprintf(stdout, "%s: consent to %s granted (policy %s)\n", u.Email, p, *policy)
		case action == "grant":
			fmt.Fprintf(stdout, "%s: consent to %s was already in force\n", u.Email, p)
		case changed:
			fmt.Fprintf(stdout, "%s: consent to %s withdrawn\n", u.Email, p)
		default:
			fmt.Fprintf(stdout, "%s: no consent to %s was in force\n", u.Email, p)
		}
	}
	if action != "show" {
		return nil
	}
	consents, err := a.db.Consents(ctx, u.ID)
	if err != nil {
		return err
	}
	if len(consents) == 0 {
		fmt.Fprintf(stdout, "%s: no consent given\n", u.Email)
	}
	for _, c := range consents {
		state := "in force"
		if c.WithdrawnAt != nil {
			state = "withdrawn " + c.WithdrawnAt.Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "%s\t%s\tpolicy %s\tgranted %s\t%s\n", u.Email, c.Purpose, c.PolicyVersion, c.GrantedAt.Format(time.RFC3339), state)
	}
	return nil
}
