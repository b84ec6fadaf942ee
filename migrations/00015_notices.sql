-- Notices: what the service tells a user (transcript ready, their request received,
-- extended or closed, a new agreement version, a consent withdrawn, a breach), through
-- which channel, and what became of each message. No table here keeps a message's text:
-- messages are rendered from the catalogue at delivery and forgotten once sent; a
-- delivery row holds ids, the event, the channel and the outcome.

-- +goose Up
-- The language a user's messages are written in. The bot's migration (00014) may have
-- added it already; either way it is the same column.
ALTER TABLE users ADD COLUMN IF NOT EXISTS language text NOT NULL DEFAULT 'ru';

-- A user's choices, one row per (event, channel) they changed; the rest follow the
-- defaults in notify.DefaultPreferences.
CREATE TABLE notice_preferences (
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id uuid REFERENCES organizations (id),
    event           text NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('telegram', 'email')),
    enabled         boolean NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, event, channel)
);
CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF user_id ON notice_preferences FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_user();

-- A personal-data breach (152-FZ art. 21 p. 3.1): what happened, when it was detected,
-- whose data (an organization or every one, a window of affected calls, or a list of
-- users), and the operator's notice. The regulator is to be told within 24 and 72 hours
-- of detection. organization_id NULL: every organization's data.
CREATE TABLE breach_incidents (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid REFERENCES organizations (id),
    description     text NOT NULL CHECK (description <> ''),
    detected_at     timestamptz NOT NULL,
    window_from     timestamptz,
    window_to       timestamptz CHECK (window_to IS NULL OR window_to >= window_from),
    by_list         boolean NOT NULL DEFAULT false,
    opened_by       text NOT NULL,
    opened_at       timestamptz NOT NULL DEFAULT now(),
    -- The operator's notice, the same for every affected user (no personal data in it).
    template_ru     text,
    template_en     text,
    notified_at     timestamptz
);

CREATE TABLE breach_affected (
    incident_id     uuid NOT NULL REFERENCES breach_incidents (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id uuid REFERENCES organizations (id),
    PRIMARY KEY (incident_id, user_id)
);
CREATE INDEX breach_affected_user_id_idx ON breach_affected (user_id);
CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF user_id ON breach_affected FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_user();

-- One row per (notice, user, channel), with its deliver_notice job. notice_id groups the
-- deliveries of one event. What the message is about is named by id (call, request,
-- incident) or a short code (purpose, agreement version); its text is never stored.
CREATE TABLE notice_deliveries (
    id              uuid PRIMARY KEY,
    notice_id       uuid NOT NULL,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id uuid REFERENCES organizations (id),
    event           text NOT NULL CHECK (event IN ('transcript_ready', 'request_received', 'request_extended',
                        'request_closed', 'agreement_published', 'consent_withdrawn', 'breach')),
    channel         text NOT NULL CHECK (channel IN ('telegram', 'email')),
    call_id         uuid REFERENCES calls (id) ON DELETE SET NULL,
    request_id      uuid REFERENCES privacy_requests (id) ON DELETE SET NULL,
    incident_id     uuid REFERENCES breach_incidents (id) ON DELETE CASCADE,
    detail          text NOT NULL DEFAULT '' CHECK (length(detail) <= 64), -- a purpose or a version: a code, not prose
    -- pending: to be sent; sent; failed: given up; no_channel: the user cannot be reached
    -- this way (no chat linked); skipped: nothing to send any more (user erased or
    -- blocked, call gone).
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed', 'no_channel', 'skipped')),
    attempts        int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      text CHECK (length(last_error) <= 300), -- the reason of a failure: a code or a status, no message text
    created_at      timestamptz NOT NULL,
    finished_at     timestamptz
);
CREATE INDEX notice_deliveries_user_id_idx ON notice_deliveries (user_id, created_at);
CREATE INDEX notice_deliveries_incident_id_idx ON notice_deliveries (incident_id) WHERE incident_id IS NOT NULL;
CREATE INDEX notice_deliveries_notice_id_idx ON notice_deliveries (notice_id);
CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF user_id ON notice_deliveries FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_user();


-- The organization's webhooks hear of its users' requests, withdrawals and breaches too
-- (its CRM must stop using, correct or erase what it copied). Such a delivery is about a
-- user, not a call: call_id may be NULL and subject_id names the user, so that erasing the
-- user removes the payloads naming them. The organization now comes from the endpoint.
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_events_check;
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_events_check CHECK (cardinality(events) > 0
    AND events <@ ARRAY['call.completed', 'call.failed', 'call.discarded', 'request.received', 'request.extended',
                        'request.closed', 'consent.withdrawn', 'breach.notified']);
ALTER TABLE webhook_deliveries ALTER COLUMN call_id DROP NOT NULL;
ALTER TABLE webhook_deliveries ADD COLUMN subject_id uuid REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_about_check CHECK (call_id IS NOT NULL OR subject_id IS NOT NULL);
CREATE INDEX webhook_deliveries_subject_id_idx ON webhook_deliveries (subject_id) WHERE subject_id IS NOT NULL;
-- +goose StatementBegin
CREATE FUNCTION callscribe_org_of_endpoint() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.organization_id := (SELECT organization_id FROM webhook_endpoints WHERE id = NEW.endpoint_id);
    RETURN NEW;
END
$$;
-- +goose StatementEnd
DROP TRIGGER organization_id ON webhook_deliveries;
CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF endpoint_id ON webhook_deliveries FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_endpoint();

-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['notice_preferences', 'breach_affected', 'notice_deliveries', 'breach_incidents']
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
DELETE FROM webhook_deliveries WHERE call_id IS NULL;
DROP TRIGGER organization_id ON webhook_deliveries;
CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF call_id ON webhook_deliveries FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_call();
DROP FUNCTION callscribe_org_of_endpoint();
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_about_check, DROP COLUMN subject_id;
ALTER TABLE webhook_deliveries ALTER COLUMN call_id SET NOT NULL;
-- An endpoint that hears of no call event goes; the others keep their call events.
DELETE FROM webhook_endpoints WHERE NOT events && ARRAY['call.completed', 'call.failed', 'call.discarded'];
UPDATE webhook_endpoints SET events = ARRAY(SELECT e FROM unnest(events) AS e WHERE e IN ('call.completed', 'call.failed', 'call.discarded'));
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_events_check;
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_events_check CHECK (cardinality(events) > 0
    AND events <@ ARRAY['call.completed', 'call.failed', 'call.discarded']);
DROP TABLE notice_deliveries, breach_affected, breach_incidents, notice_preferences;
-- users.language stays: the bot's migration may own it.
