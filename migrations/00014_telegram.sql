-- The Telegram bot: an account linked to a Telegram user, the single-use tokens that link
-- it, the text of a request waiting for its kind; claims as a request kind. The user's
-- language (users.language) is the accounts migration's (00012).
--
-- A link keeps exactly what the user agreement lists for a linked messenger: the Telegram
-- user id (also the chat id of the private chat with the bot) and, where Telegram shows
-- it, the username. A link token is stored as its sha256 only. Everything here is keyed
-- by the user and goes with them on erasure (storage/postgres/erasure.go).

-- +goose Up
ALTER TABLE privacy_requests DROP CONSTRAINT privacy_requests_kind_check;
ALTER TABLE privacy_requests ADD CONSTRAINT privacy_requests_kind_check
    CHECK (kind IN ('access', 'rectification', 'blocking', 'erasure', 'withdrawal', 'claim'));

CREATE TABLE telegram_links (
    user_id          uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    organization_id  uuid NOT NULL REFERENCES organizations (id),
    telegram_user_id bigint NOT NULL UNIQUE CHECK (telegram_user_id > 0),
    username         text NOT NULL DEFAULT '',
    linked_at        timestamptz NOT NULL
);

CREATE TABLE telegram_link_tokens (
    hash            bytea PRIMARY KEY CHECK (length(hash) = 32),
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX telegram_link_tokens_user_id_idx ON telegram_link_tokens (user_id);

-- A message the user sent, kept only until they press the button that says what kind of
-- request it is (or until it expires: a day).
CREATE TABLE telegram_drafts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    text            text NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX telegram_drafts_user_id_idx ON telegram_drafts (user_id);

CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF user_id ON telegram_links FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_user();
CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF user_id ON telegram_link_tokens FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_user();
CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF user_id ON telegram_drafts FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_user();

-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['telegram_links', 'telegram_link_tokens', 'telegram_drafts']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY organization_isolation ON %I
            USING (organization_id = (SELECT callscribe_org()) OR (SELECT callscribe_system()))', t);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE telegram_drafts, telegram_link_tokens, telegram_links;
DELETE FROM privacy_requests WHERE kind = 'claim';
ALTER TABLE privacy_requests DROP CONSTRAINT privacy_requests_kind_check;
ALTER TABLE privacy_requests ADD CONSTRAINT privacy_requests_kind_check
    CHECK (kind IN ('access', 'rectification', 'blocking', 'erasure', 'withdrawal'));
