package accounts

import (
	"context"
	"time"

	"callscribe"
)

// PendingSignIn is a sign-in through a provider in flight: the provider, what its
// callback is checked against, and the account linking it (uuid.Nil for a sign-in).
type PendingSignIn = callscribe.PendingSignIn

// SignInTTL is how long a sign-in through a provider may take, from the redirect to the
// provider to its callback.
const SignInTTL = 10 * time.Minute

// maxPendingSignIns bounds the sign-ins in flight held: past it, the oldest are
// forgotten (their people start again).
const maxPendingSignIns = 10000

// HoldSignIn keeps p (its Hash and ExpiresAt are set here) in the database, where any
// serve process can take it, and returns the id its browser holds; only the id's
// sha256 is stored.
func (s *Service) HoldSignIn(ctx context.Context, p PendingSignIn) (string, error) {
	id, hash, err := newToken()
	if err != nil {
		return "", err
	}
	now := s.now()
	p.Hash, p.ExpiresAt = hash, now.Add(SignInTTL)
	if err := s.db.PutSignIn(callscribe.AsSystem(ctx), p, now, maxPendingSignIns); err != nil {
		return "", err
	}
	return id, nil
}

// TakeSignIn returns the sign-in in flight under id once; ENOTFOUND when there is none,
// it was taken already or it took longer than SignInTTL.
func (s *Service) TakeSignIn(ctx context.Context, id string) (PendingSignIn, error) {
	return s.db.TakeSignIn(callscribe.AsSystem(ctx), hashToken(id), s.now())
}
