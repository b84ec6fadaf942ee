-- Accounts on the web: who can sign in (password hash, role), their sessions,
-- the provider identities linked to them, one-time tokens (email verification, password
-- reset, invitation), sign-in throttling, partners and their clicks, and the published
-- versions of the user agreement with each user's answer to them.
--
-- No secret is stored as given: a session id, a token, a partner click id is stored as
-- its sha256 (each is 32 random bytes: a plain hash cannot be reversed by guessing); a
-- password as an argon2id hash in PHC form; a client's address, for throttling, as an
-- HMAC under a key kept outside the database, and only for the throttle's window. The
-- address a session came from is kept only in the session's row, deleted with it.

-- +goose Up
-- The language every page, bot message and notice speaks to the user in: the user's, so
-- that a user without a web account (added by the operator) has one too.
ALTER TABLE users ADD COLUMN language text NOT NULL DEFAULT 'ru' CHECK (language IN ('ru', 'en'));

-- An account is a user who can sign in. password_hash is NULL for an account that signs
-- in through a provider only.
CREATE TABLE accounts (
    user_id           uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    organization_id   uuid NOT NULL REFERENCES organizations (id),
    role              text NOT NULL CHECK (role IN ('member', 'admin', 'officer')),
    password_hash     text CHECK (password_hash LIKE '$argon2id$%'),
    email_verified_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_organization_id_idx ON accounts (organization_id);

CREATE TABLE sessions (
    id_hash         bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    created_at      timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    user_agent      text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 64), -- the family only: "Chrome on Linux"
    addr            text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- A provider identity links to at most one account (the primary key), an account to at
-- most one identity per provider. What is kept of it is what the agreement lists: the
-- identifier, and the email and name the provider gives.
CREATE TABLE identities (
    provider        text NOT NULL CHECK (provider ~ '^(oidc:)?[a-z0-9_-]{1,32}$'),
    subject         text NOT NULL CHECK (subject <> '' AND length(subject) <= 255),
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    email           text NOT NULL DEFAULT '',
    surname         text NOT NULL DEFAULT '',
    first_name      text NOT NULL DEFAULT '',
    linked_at       timestamptz NOT NULL,
    PRIMARY KEY (provider, subject),
    UNIQUE (user_id, provider)
);

-- One-time tokens. A token is deleted when used (single use) and refused after
-- expires_at. An invitation names the email it was sent to and the role it grants; it has
-- no user until it is used.
CREATE TABLE account_tokens (
    hash            bytea PRIMARY KEY CHECK (length(hash) = 32),
    kind            text NOT NULL CHECK (kind IN ('verify', 'reset', 'invite')),
    user_id         uuid REFERENCES users (id) ON DELETE CASCADE,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email           text NOT NULL DEFAULT '',
    role            text CHECK (role IN ('member', 'admin', 'officer')),
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    CHECK ((kind = 'invite') = (user_id IS NULL)),
    CHECK ((kind = 'invite') = (role IS NOT NULL))
);
CREATE INDEX account_tokens_user_id_idx ON account_tokens (user_id);
CREATE INDEX account_tokens_expires_at_idx ON account_tokens (expires_at);

-- Failed sign-ins within the throttle window. key is an HMAC (key outside the database)
-- of "email:<normalized email>" or "addr:<client address>": neither the email nor the
-- address is stored. Rows older than the window are deleted.
CREATE TABLE signin_failures (
    id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key bytea NOT NULL CHECK (length(key) = 32),
    at  timestamptz NOT NULL
);
CREATE INDEX signin_failures_key_idx ON signin_failures (key, at);
CREATE INDEX signin_failures_at_idx ON signin_failures (at);

CREATE TABLE partners (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code       text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9_-]{1,64}$'),
    name       text NOT NULL CHECK (name <> ''),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A visit through a partner link. The click id the visitor's cookie holds is stored as
-- its sha256; a registration within the attribution window takes the click (once).
CREATE TABLE partner_clicks (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partner_id uuid NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    hash       bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    clicked_at timestamptz NOT NULL
);
CREATE INDEX partner_clicks_partner_id_idx ON partner_clicks (partner_id);

-- An organization's company details and, when it registered through a partner link, the
-- partner and the click.
ALTER TABLE organizations
    ADD COLUMN inn              text NOT NULL DEFAULT '' CHECK (inn ~ '^([0-9]{10}|[0-9]{12})?$'),
    ADD COLUMN kpp              text NOT NULL DEFAULT '' CHECK (kpp ~ '^([0-9]{4}[0-9A-Z]{2}[0-9]{3})?$'),
    ADD COLUMN ogrn             text NOT NULL DEFAULT '' CHECK (ogrn ~ '^([0-9]{13}|[0-9]{15})?$'),
    ADD COLUMN partner_id       uuid REFERENCES partners (id) ON DELETE SET NULL,
    ADD COLUMN partner_click_id bigint UNIQUE REFERENCES partner_clicks (id) ON DELETE SET NULL;

-- The user agreement as the operator published it, version by version; the one in force
-- is the latest published.
CREATE TABLE agreements (
    version      text PRIMARY KEY CHECK (version <> '' AND length(version) <= 64),
    text         text NOT NULL CHECK (text <> ''),
    published_at timestamptz NOT NULL,
    published_by text NOT NULL
);
CREATE INDEX agreements_published_at_idx ON agreements (published_at DESC);

-- A user's answer to a version: accepted or declined, and through which channel.
CREATE TABLE agreement_answers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    version         text NOT NULL REFERENCES agreements (version),
    action          text NOT NULL CHECK (action IN ('accept', 'decline')),
    channel         text NOT NULL CHECK (channel IN ('api', 'web', 'cli', 'bot')),
    at              timestamptz NOT NULL
);
CREATE INDEX agreement_answers_user_id_idx ON agreement_answers (user_id, at);

-- Rows of a user take the user's organization (see 00006_rls.sql).
CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF user_id ON accounts FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_user();
CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF user_id ON sessions FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_user();
CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF user_id ON identities FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_user();
CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF user_id ON agreement_answers FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_user();

-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['accounts', 'sessions', 'identities', 'account_tokens', 'agreement_answers']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY organization_isolation ON %I
            USING (organization_id = (SELECT callscribe_org()) OR (SELECT callscribe_system()))', t);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- Blocking a user, marking them erased (the transaction that closes an erasure request,
-- or the CLI's erasure) and withdrawing their consent to transcription end every session
-- of theirs in the same transaction: whichever path makes the change (CLI, API, web,
-- bot), the database ends the sessions with it.
-- +goose StatementBegin
CREATE FUNCTION callscribe_end_sessions_of_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.blocked_at IS NOT NULL AND OLD.blocked_at IS NULL)
       OR (NEW.erased_at IS NOT NULL AND OLD.erased_at IS NULL) THEN
        DELETE FROM sessions WHERE user_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE FUNCTION callscribe_end_sessions_of_withdrawal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.purpose = 'transcription' AND NEW.withdrawn_at IS NOT NULL AND OLD.withdrawn_at IS NULL THEN
        DELETE FROM sessions WHERE user_id = NEW.user_id;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER end_sessions AFTER UPDATE OF blocked_at, erased_at ON users
    FOR EACH ROW EXECUTE FUNCTION callscribe_end_sessions_of_user();
CREATE TRIGGER end_sessions AFTER UPDATE OF withdrawn_at ON consents
    FOR EACH ROW EXECUTE FUNCTION callscribe_end_sessions_of_withdrawal();

-- A member signed in on the web reads their own calls only: a connection scoped to a user
-- (callscribe.user_id, set with the organization by callscribe.WithMember) sees, of its
-- organization's calls and what hangs off them, only the calls that user owns. Without
-- the setting (an API key, an admin's session) the policies are those of 00006; the
-- system is unaffected. (Users, consents, requests and the audit log stay the
-- organization's: the pages decide what a member is shown of them.) The user is read in a sub-select, once per statement, and checked
-- only after the organization: a scan in the organization's or the system's scope costs
-- what it did.
-- +goose StatementBegin
CREATE FUNCTION callscribe_user() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('callscribe.user_id', true), '')::uuid
$$;
-- +goose StatementEnd
DROP POLICY organization_isolation ON calls;
CREATE POLICY organization_isolation ON calls USING (
    (organization_id = (SELECT callscribe_org())
     AND ((SELECT callscribe_user()) IS NULL OR owner_id = (SELECT callscribe_user())))
    OR (SELECT callscribe_system()));
-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['call_stages', 'transcripts', 'summaries', 'audio_deletion_receipts', 'webhook_deliveries']
    LOOP
        EXECUTE format('DROP POLICY organization_isolation ON %I', t);
        EXECUTE format('CREATE POLICY organization_isolation ON %I USING (
            (organization_id = (SELECT callscribe_org())
             AND ((SELECT callscribe_user()) IS NULL
                  OR call_id IN (SELECT id FROM calls WHERE owner_id = (SELECT callscribe_user()))))
            OR (SELECT callscribe_system()))', t);
    END LOOP;
END
$$;
-- +goose StatementEnd
-- The history of corrections holds the text before and after: a member's scope sees the
-- history about themselves only (their calls' segments, their profile).
DROP POLICY organization_isolation ON rectifications;
CREATE POLICY organization_isolation ON rectifications USING (
    (organization_id = (SELECT callscribe_org())
     AND ((SELECT callscribe_user()) IS NULL OR subject_id = (SELECT callscribe_user())))
    OR (SELECT callscribe_system()));
DROP POLICY organization_isolation ON segments;
CREATE POLICY organization_isolation ON segments USING (
    (organization_id = (SELECT callscribe_org())
     AND ((SELECT callscribe_user()) IS NULL
          OR transcript_id IN (SELECT t.id FROM transcripts t JOIN calls c ON c.id = t.call_id
                               WHERE c.owner_id = (SELECT callscribe_user()))))
    OR (SELECT callscribe_system()));

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['calls', 'call_stages', 'transcripts', 'segments', 'summaries', 'audio_deletion_receipts', 'webhook_deliveries', 'rectifications']
    LOOP
        EXECUTE format('DROP POLICY organization_isolation ON %I', t);
        EXECUTE format('CREATE POLICY organization_isolation ON %I
            USING (organization_id = (SELECT callscribe_org()) OR (SELECT callscribe_system()))', t);
    END LOOP;
END
$$;
-- +goose StatementEnd
DROP FUNCTION callscribe_user();
DROP TRIGGER end_sessions ON consents;
DROP TRIGGER end_sessions ON users;
DROP FUNCTION callscribe_end_sessions_of_withdrawal(), callscribe_end_sessions_of_user();
DROP TABLE agreement_answers, agreements;
ALTER TABLE organizations DROP COLUMN partner_click_id, DROP COLUMN partner_id,
    DROP COLUMN ogrn, DROP COLUMN kpp, DROP COLUMN inn;
DROP TABLE partner_clicks, partners, signin_failures, account_tokens, identities, sessions, accounts;
ALTER TABLE users DROP COLUMN language;
