package callscribe

import (
	"context"

	"github.com/google/uuid"
)

// Scope says whose data a context may reach in the database. PostgreSQL enforces it with
// row-level security: a query runs with the organization (or the system flag) its
// context carries, and a context that carries neither sees no row and can write none.
type Scope struct {
	OrgID  uuid.UUID // the organization every row must belong to; uuid.Nil: none
	System bool      // cross-organization work: the worker, the sweeper, the operator's CLI
	// UserID, with OrgID, narrows the organization's calls (and their stages, transcripts,
	// segments, summaries, receipts and webhook deliveries) to those the user owns: a
	// member signed in on the web. uuid.Nil: every call of the organization.
	UserID uuid.UUID
}

type scopeKey struct{}

// WithOrg scopes ctx to one organization: an API request, after its key is known.
func WithOrg(ctx context.Context, orgID uuid.UUID) context.Context {
	return context.WithValue(ctx, scopeKey{}, Scope{OrgID: orgID})
}

// WithMember scopes ctx to one organization, and within it to the calls userID owns:
// a web session of an account whose role reads its own calls only.
func WithMember(ctx context.Context, orgID, userID uuid.UUID) context.Context {
	return context.WithValue(ctx, scopeKey{}, Scope{OrgID: orgID, UserID: userID})
}

// AsSystem scopes ctx to every organization. Only work that is legitimately
// cross-organization takes it, and says so where it does: a job worker loading a call by
// id, the sweeper, the gauges, migrations and the operator's CLI. A request handler never.
func AsSystem(ctx context.Context) context.Context {
	return context.WithValue(ctx, scopeKey{}, Scope{System: true})
}

// ScopeOf returns the scope ctx carries; the zero Scope (no organization, not the
// system) when it carries none, which the database answers with nothing.
func ScopeOf(ctx context.Context) Scope {
	s, _ := ctx.Value(scopeKey{}).(Scope)
	return s
}
