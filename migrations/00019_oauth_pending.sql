-- +goose Up
-- Sign-ins through a provider in flight, between the redirect to the provider and its
-- callback. They were held in the memory of the serve process that started them, so a
-- callback that reached another process (several serve behind one address) or came
-- after a restart failed. The browser holds the id in a ten-minute cookie; only its
-- sha256 is stored. The callback takes (deletes) its row; expired rows are pruned by
-- the next sign-in that starts, and the table holds at most what the service allows
-- (the oldest go first).
CREATE TABLE oauth_pending (
    id_hash      bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    provider     text NOT NULL,
    state        text NOT NULL,
    nonce        text NOT NULL,
    verifier     text NOT NULL,
    link_user_id uuid REFERENCES accounts (user_id) ON DELETE CASCADE, -- a signed-in user linking a provider
    expires_at   timestamptz NOT NULL
);
CREATE INDEX oauth_pending_expires_at_idx ON oauth_pending (expires_at);

-- +goose Down
DROP TABLE oauth_pending;
