-- Consent as events, data-subject requests on a business-day clock, and blocking.

-- +goose Up
ALTER TABLE consents DROP CONSTRAINT consents_purpose_check;
ALTER TABLE consents ADD CONSTRAINT consents_purpose_check
    CHECK (purpose IN ('transcription', 'summarization', 'notifications', 'crm_export'));

-- Every grant and withdrawal, written in the transaction that changes the consents row
-- (which stays the state in force). Never updated; deleted only with the user.
CREATE TABLE consent_events (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose        text NOT NULL CHECK (purpose IN ('transcription', 'summarization', 'notifications', 'crm_export')),
    action         text NOT NULL CHECK (action IN ('grant', 'withdraw')),
    policy_version text NOT NULL,
    channel        text NOT NULL CHECK (channel IN ('api', 'web', 'cli', 'bot')),
    at             timestamptz NOT NULL
);
CREATE INDEX consent_events_user_id_idx ON consent_events (user_id, at);

-- Before this migration the CLI was the only way to grant or withdraw consent, so the
-- history it left is recorded as given through the CLI.
INSERT INTO consent_events (user_id, purpose, action, policy_version, channel, at)
SELECT user_id, purpose, 'grant', policy_version, 'cli', granted_at FROM consents
UNION ALL
SELECT user_id, purpose, 'withdraw', policy_version, 'cli', withdrawn_at FROM consents WHERE withdrawn_at IS NOT NULL
ORDER BY 6;

-- A blocked user's data is kept but not shown, processed or exported until unblocked
-- or erased. Writers of their data hold the row FOR SHARE, so blocking waits for them.
ALTER TABLE users ADD COLUMN blocked_at timestamptz;

-- A data-subject request. due_at is a calendar day in Moscow time: the tenth business
-- day after the request was received; extended_due_at at most five business days later.
-- It outlives its subject: when an erasure deletes the user, user_id becomes NULL and the
-- record that the request was answered, and when, stays.
CREATE TABLE privacy_requests (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id  uuid NOT NULL REFERENCES organizations (id),
    user_id          uuid REFERENCES users (id) ON DELETE SET NULL,
    kind             text NOT NULL CHECK (kind IN ('access', 'rectification', 'blocking', 'erasure', 'withdrawal')),
    status           text NOT NULL CHECK (status IN ('received', 'in_progress', 'completed', 'rejected')),
    received_at      timestamptz NOT NULL,
    due_at           date NOT NULL,
    extended_due_at  date CHECK (extended_due_at IS NULL OR extended_due_at > due_at),
    extension_reason text CHECK ((extended_due_at IS NULL) = (extension_reason IS NULL) AND extension_reason <> ''),
    notice_text      text CHECK ((extended_due_at IS NULL) = (notice_text IS NULL) AND notice_text <> ''),
    notice_at        timestamptz CHECK ((extended_due_at IS NULL) = (notice_at IS NULL)),
    reason           text NOT NULL DEFAULT '' CHECK (status <> 'rejected' OR reason <> ''),
    notes            text NOT NULL DEFAULT '',
    closed_at        timestamptz CHECK ((closed_at IS NULL) = (status IN ('received', 'in_progress'))),
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX privacy_requests_user_id_idx ON privacy_requests (user_id);
CREATE INDEX privacy_requests_open_idx ON privacy_requests (due_at) WHERE status IN ('received', 'in_progress');

-- Every transition of a request, with who made it.
CREATE TABLE privacy_request_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id  uuid NOT NULL REFERENCES privacy_requests (id) ON DELETE CASCADE,
    action      text NOT NULL CHECK (action IN ('received', 'started', 'extended', 'completed', 'rejected')),
    status      text NOT NULL,
    actor       text NOT NULL CHECK (actor <> ''),
    note        text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL
);
CREATE INDEX privacy_request_events_request_id_idx ON privacy_request_events (request_id, id);

-- +goose Down
DROP TABLE privacy_request_events, privacy_requests, consent_events;
ALTER TABLE users DROP COLUMN blocked_at;
DELETE FROM consents WHERE purpose NOT IN ('transcription', 'summarization');
ALTER TABLE consents DROP CONSTRAINT consents_purpose_check;
ALTER TABLE consents ADD CONSTRAINT consents_purpose_check CHECK (purpose IN ('transcription', 'summarization'));
