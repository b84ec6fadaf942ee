-- Full-text search in Russian and English, and the other party's phone number.
--
-- Every tsvector and tsquery names the 'russian' configuration (callscribe.SearchConfig):
-- it stems Cyrillic with the Russian Snowball stemmer and Latin words with the English
-- one, so one configuration serves a mixed call. The cluster's default (English) is never
-- relied on. Two generated columns, one path: a call matches when its transcript does
-- (transcripts.search: "-word" excludes a call that says the word anywhere, a phrase may
-- cross two turns), and the hits shown for it are its segments that match
-- (segments.search). Both are generated from the text, so a rectified segment, and the
-- transcript text rebuilt from it in the same transaction, are searchable as corrected at
-- once, and an erased subject's rows take their index entries with them.
--
-- Row-level security is untouched: the new columns live in tables whose policy
-- (00006_rls.sql) already admits a row only to its organization's scope, and an index
-- scan is filtered by that policy like any other.
--
-- Cost on a large database: adding a stored generated column rewrites the table under an
-- ACCESS EXCLUSIVE lock (reads and writes of calls' transcripts and segments wait), then
-- the GIN indexes are built. On the search benchmark's organization (scripts/searchbench:
-- 100,000 calls, 2,000,000 segments of Russian and English text) this migration took
-- 102.5 s on 2 cores shared with other work (load average 7 to 9), 2026-12-03: plan the
-- upgrade for a quiet hour, about a minute per million segments.

-- +goose Up
ALTER TABLE calls ADD COLUMN phone text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$');
CREATE INDEX calls_phone_idx ON calls (organization_id, phone, created_at DESC, id DESC) WHERE phone IS NOT NULL;

ALTER TABLE transcripts DROP COLUMN search; -- 'simple': no stemming; its index goes with it
ALTER TABLE transcripts ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('russian'::regconfig, text)) STORED;
CREATE INDEX transcripts_search_idx ON transcripts USING gin (search);

ALTER TABLE segments ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('russian'::regconfig, text)) STORED;
CREATE INDEX segments_search_idx ON segments USING gin (search);
-- The scope functions of the row-level security policies (00006) read only the
-- session's settings, which parallel workers are given (and the policies call them in
-- sub-selects, which the leader evaluates once): parallel safe, so that a search over
-- many transcripts ranks them on several cores, as the same query without the policies
-- does. Left unsafe, every query on a table under a policy ran in one process.
ALTER FUNCTION callscribe_org() PARALLEL SAFE;
ALTER FUNCTION callscribe_system() PARALLEL SAFE;
ALTER FUNCTION callscribe_user() PARALLEL SAFE; -- the member's scope (00012), likewise

-- Row-level security lets an index answer a condition before the policy's only when the
-- condition's function is leakproof, and the text-search match (tsvector @@ tsquery,
-- ts_match_vq) is not marked so: under the policies every search read every transcript of
-- the organization (1.8 s for a phrase 146 of 100,000 calls say, 0.5 s through the index).
-- ts_match_vq compares a vector with a query and returns a boolean; it raises no error
-- that depends on the row, so it cannot leak one organization's rows to another. Only a
-- superuser may mark it; a migration run by a mere owner says so, and search then works,
-- without the index.
-- +goose StatementBegin
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER FUNCTION ts_match_vq(tsvector, tsquery) LEAKPROOF;
    ELSE
        RAISE NOTICE 'callscribe: not a superuser: run ALTER FUNCTION ts_match_vq(tsvector, tsquery) LEAKPROOF as one, or searches will not use their index';
    END IF;
END
$$;
-- +goose StatementEnd

-- Statistics of the new columns at once: without them the planner takes every word for a
-- rare one (500 rows) and picks plans that read every transcript for a common word.
ANALYZE calls, transcripts, segments;

-- +goose Down
-- ts_match_vq stays leakproof: other databases' objects may rely on it, and it is.
ALTER FUNCTION callscribe_org() PARALLEL UNSAFE;
ALTER FUNCTION callscribe_system() PARALLEL UNSAFE;
ALTER FUNCTION callscribe_user() PARALLEL UNSAFE;
DROP INDEX segments_search_idx;
ALTER TABLE segments DROP COLUMN search;
ALTER TABLE transcripts DROP COLUMN search;
ALTER TABLE transcripts ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED;
CREATE INDEX transcripts_search_idx ON transcripts USING gin (search);
DROP INDEX calls_phone_idx;
ALTER TABLE calls DROP COLUMN phone;
