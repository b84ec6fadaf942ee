-- The spine's schema. No column anywhere holds audio: staged audio lives encrypted in a
-- stage (memory or object store), and only its key, size and hash are recorded here.

-- +goose Up
CREATE TABLE organizations (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL UNIQUE CHECK (name <> ''),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    email           text NOT NULL CHECK (email <> ''),
    surname         text NOT NULL DEFAULT '',
    first_name      text NOT NULL DEFAULT '',
    patronymic      text NOT NULL DEFAULT '',
    phone           text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_organization_id_idx ON users (organization_id);

-- One row per grant. The grant in force is the one not withdrawn; withdrawn rows are the
-- history. Writers of consented data lock the user row (FOR SHARE) and read the grant in
-- the same transaction; withdrawal locks it FOR UPDATE, so the two never interleave.
CREATE TABLE consents (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose        text NOT NULL CHECK (purpose IN ('transcription', 'summarization')),
    policy_version text NOT NULL,
    granted_at     timestamptz NOT NULL,
    withdrawn_at   timestamptz CHECK (withdrawn_at IS NULL OR withdrawn_at >= granted_at)
);
CREATE UNIQUE INDEX consents_in_force_key ON consents (user_id, purpose) WHERE withdrawn_at IS NULL;

CREATE TABLE calls (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    owner_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status          text NOT NULL CHECK (status IN ('received', 'staged', 'processing', 'completed', 'discarded', 'failed')),
    channels        text[] NOT NULL DEFAULT '{}',
    duration_ms     bigint CHECK (duration_ms >= 0),
    error_code      text,
    error_message   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calls_owner_id_idx ON calls (owner_id);
CREATE INDEX calls_status_idx ON calls (status) WHERE status IN ('received', 'staged', 'processing');

-- Where a call's audio is staged. key is the per-call encryption key when the stage is
-- shared (object store); it is set to NULL in the transaction that ends the call, which
-- makes the staged object unreadable from that moment (crypto-shredding). The memory
-- stage keeps its key in process memory only, so key stays NULL.
CREATE TABLE call_stages (
    call_id      uuid PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
    stage        text NOT NULL,
    object_key   text NOT NULL,
    key          bytea,
    bytes        bigint NOT NULL CHECK (bytes >= 0),
    sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    staged_at    timestamptz NOT NULL,
    deleted_at   timestamptz,
    confirmed_at timestamptz CHECK (confirmed_at IS NULL OR deleted_at IS NOT NULL)
);
CREATE INDEX call_stages_unconfirmed_idx ON call_stages (staged_at) WHERE confirmed_at IS NULL;

CREATE TABLE transcripts (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    call_id    uuid NOT NULL UNIQUE REFERENCES calls (id) ON DELETE CASCADE,
    engine     text NOT NULL,
    text       text NOT NULL,
    search     tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transcripts_search_idx ON transcripts USING gin (search);

CREATE TABLE segments (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transcript_id uuid NOT NULL REFERENCES transcripts (id) ON DELETE CASCADE,
    ord           int NOT NULL,
    channel       int NOT NULL CHECK (channel >= 0),
    speaker       text NOT NULL,
    start_ms      bigint NOT NULL CHECK (start_ms >= 0),
    end_ms        bigint NOT NULL CHECK (end_ms >= start_ms),
    text          text NOT NULL,
    confidence    real NOT NULL DEFAULT 0,
    UNIQUE (transcript_id, ord)
);

CREATE TABLE summaries (
    call_id    uuid PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
    engine     text NOT NULL,
    text       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Written only after the stage confirmed the audio is gone. Holds no audio and no
-- personal data: a call id, a size, a hash and times.
CREATE TABLE audio_deletion_receipts (
    call_id      uuid PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
    stage        text NOT NULL,
    bytes        bigint NOT NULL CHECK (bytes >= 0),
    sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    staged_at    timestamptz NOT NULL,
    deleted_at   timestamptz NOT NULL,
    confirmed_at timestamptz NOT NULL CHECK (confirmed_at >= deleted_at),
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE audio_deletion_receipts, summaries, segments, transcripts, call_stages, calls, consents, users, organizations;
