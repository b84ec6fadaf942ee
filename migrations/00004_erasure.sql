-- Erasure, retention, the audit log and rectification. No table here holds audio; the
-- erasure ledger and the audit log hold no personal data (ids and keyed hashes only).

-- +goose Up

-- Retention of transcripts and summaries per organization; NULL keeps them.
ALTER TABLE organizations ADD COLUMN retention interval CHECK (retention > interval '0');

-- An erasure first marks the user (erased_at): from then on nothing of theirs is read or
-- stored; the purge then runs in short batches. A user left marked by an interrupted
-- erasure is finished by the next Reapply, under the request recorded here.
ALTER TABLE users ADD COLUMN erased_at timestamptz;
ALTER TABLE users ADD COLUMN erasure_request text;

-- Indexes the purges and cascades need: without them a cascade scans the whole table
-- once per deleted parent row.
CREATE INDEX consents_user_id_idx ON consents (user_id);
-- Retention finds calls by organization and age through calls_organization_created_idx
-- (organization_id, created_at DESC, id DESC) of 00003_service.sql.
-- segments (transcript_id) is covered by UNIQUE (transcript_id, ord); transcripts
-- (call_id), summaries, call_stages and receipts by their keys on call_id.

-- Deletion receipts: a retention purge keeps them (the call row stays, only its text
-- goes). An erasure deletes them with the call (the foreign key still cascades): a
-- receipt names a call id and the sha256 of the recording, which together link back to
-- the subject, and a proof kept "about" an erased person is what erasure must not leave.
-- What the proof established survives in the ledger entry: how many receipts the
-- subject's calls had, and how many calls had audio staged but no confirmed deletion
-- (the erasure also erases their staging keys: the objects become unreadable).

-- One row per erasure, kept forever: what was purged, never whom. subject_hash is
-- HMAC-SHA256 (key outside the database) over the user id; email_hash and phone_hash
-- over the normalized email and phone. The same entries are appended to a ledger file
-- outside the database, so that a restored backup can be purged again.
CREATE TABLE erasure_ledger (
    id           uuid PRIMARY KEY,
    request_id   text NOT NULL,
    subject_hash text NOT NULL CHECK (subject_hash ~ '^[0-9a-f]{64}$'),
    email_hash   text NOT NULL CHECK (email_hash ~ '^[0-9a-f]{64}$'),
    phone_hash   text NOT NULL CHECK (phone_hash = '' OR phone_hash ~ '^[0-9a-f]{64}$'),
    counts       jsonb NOT NULL,
    reapplied    boolean NOT NULL DEFAULT false,
    erased_at    timestamptz NOT NULL
);
CREATE INDEX erasure_ledger_subject_idx ON erasure_ledger (subject_hash);

-- Append-only record of who did what to which object. Ids only: no transcript text, no
-- email, no phone. subject_id is the user the entry is about (a call's owner); it has no
-- foreign key, so entries outlive what they name.
CREATE TABLE audit_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor           text NOT NULL CHECK (actor <> ''),
    action          text NOT NULL CHECK (action <> ''),
    object_type     text NOT NULL,
    object_id       text NOT NULL,
    organization_id uuid,
    subject_id      uuid,
    detail          jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_subject_idx ON audit_log (subject_id) WHERE subject_id IS NOT NULL;
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id);

-- The database itself refuses UPDATE, DELETE and TRUNCATE of audit entries. One narrow
-- exception: the erasure of a subject (the transaction sets callscribe.erasing to the
-- user id) may replace the ids in that subject's entries by a pseudonym naming the
-- ledger entry ('erased:<ledger id>') and clear subject_id. Time, action, object type
-- and organization stay: the log still shows that something was read, edited or erased,
-- and when, but no longer about whom. Anyone able to set that variable could as well
-- drop the trigger; the guard stops mistakes and the application, not the superuser.
-- +goose StatementBegin
CREATE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    erasing text := nullif(current_setting('callscribe.erasing', true), '');
BEGIN
    IF TG_OP = 'UPDATE' AND erasing IS NOT NULL
       AND OLD.subject_id::text = erasing AND NEW.subject_id IS NULL
       AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.action = OLD.action
       AND NEW.object_type = OLD.object_type
       AND NEW.organization_id IS NOT DISTINCT FROM OLD.organization_id
       AND NEW.detail = OLD.detail
       AND NEW.object_id LIKE 'erased:%'
       AND (NEW.actor = OLD.actor OR NEW.actor LIKE 'erased:%') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_guard();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_guard();

-- History of rectifications: personal data by nature (the values before and after), so
-- it is purged with the subject and included in their export. call_id is set for
-- transcript edits, so that a retention purge of the transcript takes its history too.
CREATE TABLE rectifications (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    subject_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    call_id     uuid REFERENCES calls (id) ON DELETE CASCADE,
    object_type text NOT NULL CHECK (object_type IN ('user', 'segment')),
    object_id   text NOT NULL,
    field       text NOT NULL,
    before      text NOT NULL,
    after       text NOT NULL
);
CREATE INDEX rectifications_subject_idx ON rectifications (subject_id);
CREATE INDEX rectifications_call_idx ON rectifications (call_id) WHERE call_id IS NOT NULL;

-- +goose Down
DROP TABLE rectifications;
DROP TABLE audit_log;
DROP FUNCTION audit_log_guard();
DROP TABLE erasure_ledger;
DROP INDEX consents_user_id_idx;
ALTER TABLE users DROP COLUMN erasure_request, DROP COLUMN erased_at;
ALTER TABLE organizations DROP COLUMN retention;
