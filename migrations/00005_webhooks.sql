-- Webhooks: an organization's endpoints and every delivery to them. A delivery's payload
-- holds ids and a status only, never transcript text or a phone number; call_id is a
-- column so that erasing a call (or a subject's calls) removes its deliveries with it.

-- +goose Up
CREATE TABLE webhook_endpoints (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    url             text NOT NULL CHECK (url ~ '^https?://'),
    -- The signing secret, kept in the clear because signing needs it; shown once when added.
    secret          text NOT NULL CHECK (length(secret) >= 32),
    events          text[] NOT NULL CHECK (cardinality(events) > 0
                        AND events <@ ARRAY['call.completed', 'call.failed', 'call.discarded']),
    -- ISO 3166-1 alpha-2: the endpoint receives personal data (ids), so it is a processor
    -- with a country, checked against the allowed countries when added and before each send.
    country         text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    disabled_at     timestamptz
);
CREATE INDEX webhook_endpoints_organization_id_idx ON webhook_endpoints (organization_id) WHERE disabled_at IS NULL;

CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY,  -- the delivery id: sent as Callscribe-Delivery and in the payload
    endpoint_id     uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event           text NOT NULL,
    call_id         uuid NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    payload         jsonb NOT NULL,
    attempts        int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz,
    last_status     int,              -- HTTP status of the last attempt; NULL: no answer
    last_error      text,             -- why the last attempt failed: a status or a network error, no body
    delivered_at    timestamptz,
    failed_at       timestamptz,      -- gave up: retries exhausted or a final refusal
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (delivered_at IS NULL OR failed_at IS NULL)
);
CREATE INDEX webhook_deliveries_call_id_idx ON webhook_deliveries (call_id);
CREATE INDEX webhook_deliveries_endpoint_id_idx ON webhook_deliveries (endpoint_id, created_at);

-- +goose Down
DROP TABLE webhook_deliveries, webhook_endpoints;
