-- Organizations walled off in PostgreSQL itself. Every table holding an organization's
-- data carries organization_id and a row-level security policy that admits a row only
-- when it belongs to the organization the session is scoped to (callscribe.org_id), or
-- when the session does cross-organization system work (callscribe.system = 'on': the
-- worker, the sweeper, the gauges, the operator's CLI). A session scoped to neither sees
-- no row and can write none: the setting is missing, the policy compares with NULL.
--
-- Superusers and (without FORCE) table owners bypass row-level security, so the
-- application runs its queries as callscribe_app, a role without BYPASSRLS that it
-- switches to on every connection (SET ROLE). The role is cluster-wide: created once,
-- shared by every database of the cluster.
--
-- Child tables get their own organization_id (denormalised from the parent by a trigger
-- on insert) rather than a policy that looks the parent up: a policy with EXISTS costs a
-- lookup per row on every scan and every delete of a million segments.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'callscribe_app') THEN
        CREATE ROLE callscribe_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL; -- another database of the cluster created it at the same moment
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'callscribe_app', 'MEMBER') THEN
        EXECUTE format('GRANT callscribe_app TO %I', current_user);
    END IF;
END
$$;
-- +goose StatementEnd

GRANT USAGE ON SCHEMA public TO callscribe_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO callscribe_app;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO callscribe_app;
-- River's tables (created after these migrations) and later ones.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO callscribe_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO callscribe_app;

-- The scope of the session: the organization, or the system flag.
-- +goose StatementBegin
CREATE FUNCTION callscribe_org() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('callscribe.org_id', true), '')::uuid
$$;
CREATE FUNCTION callscribe_system() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('callscribe.system', true), '') = 'on'
$$;
-- +goose StatementEnd

ALTER TABLE consents                 ADD COLUMN organization_id uuid REFERENCES organizations (id);
ALTER TABLE consent_events           ADD COLUMN organization_id uuid REFERENCES organizations (id);
ALTER TABLE call_stages              ADD COLUMN organization_id uuid REFERENCES organizations (id);
ALTER TABLE transcripts              ADD COLUMN organization_id uuid REFERENCES organizations (id);
ALTER TABLE segments                 ADD COLUMN organization_id uuid REFERENCES organizations (id);
ALTER TABLE summaries                ADD COLUMN organization_id uuid REFERENCES organizations (id);
ALTER TABLE audio_deletion_receipts  ADD COLUMN organization_id uuid REFERENCES organizations (id);
ALTER TABLE privacy_request_events   ADD COLUMN organization_id uuid REFERENCES organizations (id);
ALTER TABLE webhook_deliveries       ADD COLUMN organization_id uuid REFERENCES organizations (id);
ALTER TABLE rectifications           ADD COLUMN organization_id uuid REFERENCES organizations (id);
-- The erasure ledger outlives the subject and is re-applied after a restore, so it keeps
-- no reference; an erasure made in an organization's scope records it, the system's
-- (the CLI, retention, re-application) leaves NULL, seen by the system only.
ALTER TABLE erasure_ledger           ADD COLUMN organization_id uuid DEFAULT callscribe_org();

UPDATE consents c SET organization_id = u.organization_id FROM users u WHERE u.id = c.user_id;
UPDATE consent_events c SET organization_id = u.organization_id FROM users u WHERE u.id = c.user_id;
UPDATE call_stages t SET organization_id = c.organization_id FROM calls c WHERE c.id = t.call_id;
UPDATE transcripts t SET organization_id = c.organization_id FROM calls c WHERE c.id = t.call_id;
UPDATE segments s SET organization_id = t.organization_id FROM transcripts t WHERE t.id = s.transcript_id;
UPDATE summaries t SET organization_id = c.organization_id FROM calls c WHERE c.id = t.call_id;
UPDATE audio_deletion_receipts t SET organization_id = c.organization_id FROM calls c WHERE c.id = t.call_id;
UPDATE privacy_request_events e SET organization_id = r.organization_id FROM privacy_requests r WHERE r.id = e.request_id;
UPDATE webhook_deliveries d SET organization_id = c.organization_id FROM calls c WHERE c.id = d.call_id;
UPDATE rectifications r SET organization_id = u.organization_id FROM users u WHERE u.id = r.subject_id;

ALTER TABLE consents                ALTER COLUMN organization_id SET NOT NULL;
ALTER TABLE consent_events          ALTER COLUMN organization_id SET NOT NULL;
ALTER TABLE call_stages             ALTER COLUMN organization_id SET NOT NULL;
ALTER TABLE transcripts             ALTER COLUMN organization_id SET NOT NULL;
ALTER TABLE segments                ALTER COLUMN organization_id SET NOT NULL;
ALTER TABLE summaries               ALTER COLUMN organization_id SET NOT NULL;
ALTER TABLE audio_deletion_receipts ALTER COLUMN organization_id SET NOT NULL;
ALTER TABLE privacy_request_events  ALTER COLUMN organization_id SET NOT NULL;
ALTER TABLE webhook_deliveries      ALTER COLUMN organization_id SET NOT NULL;
ALTER TABLE rectifications          ALTER COLUMN organization_id SET NOT NULL;

-- A child row takes its parent's organization, always: the parent is looked up under the
-- inserting session's policy, so a child of another organization's row finds no parent,
-- gets NULL and is refused (the foreign key alone would not stop it: key checks bypass
-- row-level security).
-- +goose StatementBegin
CREATE FUNCTION callscribe_org_of_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.organization_id := (SELECT organization_id FROM users WHERE id = NEW.user_id);
    RETURN NEW;
END
$$;
CREATE FUNCTION callscribe_org_of_call() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.organization_id := (SELECT organization_id FROM calls WHERE id = NEW.call_id);
    RETURN NEW;
END
$$;
CREATE FUNCTION callscribe_org_of_transcript() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.organization_id := (SELECT organization_id FROM transcripts WHERE id = NEW.transcript_id);
    RETURN NEW;
END
$$;
CREATE FUNCTION callscribe_org_of_subject() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.organization_id := (SELECT organization_id FROM users WHERE id = NEW.subject_id);
    RETURN NEW;
END
$$;
-- An audit entry written in an organization's scope is that organization's, even when
-- the writer did not name it (a consent change knows its user, not the organization).
CREATE FUNCTION callscribe_audit_org() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.organization_id := coalesce(NEW.organization_id, callscribe_org());
    RETURN NEW;
END
$$;
CREATE FUNCTION callscribe_org_of_request() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.organization_id := (SELECT organization_id FROM privacy_requests WHERE id = NEW.request_id);
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF user_id ON consents FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_user();
CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF user_id ON consent_events FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_user();
CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF call_id ON call_stages FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_call();
CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF call_id ON transcripts FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_call();
CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF transcript_id ON segments FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_transcript();
CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF call_id ON summaries FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_call();
CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF call_id ON audio_deletion_receipts FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_call();
CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF request_id ON privacy_request_events FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_request();
CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF call_id ON webhook_deliveries FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_call();
CREATE TRIGGER organization_id BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION callscribe_audit_org();
CREATE TRIGGER organization_id BEFORE INSERT OR UPDATE OF subject_id ON rectifications FOR EACH ROW EXECUTE FUNCTION callscribe_org_of_subject();

CREATE INDEX segments_organization_id_idx ON segments (organization_id);
CREATE INDEX transcripts_organization_id_idx ON transcripts (organization_id);

-- The policy, the same on every table (organizations: its own row). The settings are read
-- in sub-selects, which PostgreSQL evaluates once per statement rather than once per row:
-- deleting a million segments costs about what it costs without row-level security.
-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'api_keys', 'consents', 'consent_events', 'calls', 'call_stages',
        'transcripts', 'segments', 'summaries', 'audio_deletion_receipts', 'privacy_requests',
        'privacy_request_events', 'webhook_endpoints', 'webhook_deliveries', 'rectifications', 'audit_log',
        'erasure_ledger']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY organization_isolation ON %I
            USING (organization_id = (SELECT callscribe_org()) OR (SELECT callscribe_system()))', t);
    END LOOP;
END
$$;
-- +goose StatementEnd
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
CREATE POLICY organization_isolation ON organizations USING (id = (SELECT callscribe_org()) OR (SELECT callscribe_system()));

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['organizations', 'users', 'api_keys', 'consents', 'consent_events', 'calls', 'call_stages',
        'transcripts', 'segments', 'summaries', 'audio_deletion_receipts', 'privacy_requests',
        'privacy_request_events', 'webhook_endpoints', 'webhook_deliveries', 'rectifications', 'audit_log',
        'erasure_ledger']
    LOOP
        EXECUTE format('DROP POLICY organization_isolation ON %I', t);
        EXECUTE format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I DISABLE ROW LEVEL SECURITY', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['consents', 'consent_events', 'call_stages', 'transcripts', 'segments', 'summaries',
        'audio_deletion_receipts', 'privacy_request_events', 'webhook_deliveries', 'rectifications']
    LOOP
        EXECUTE format('DROP TRIGGER organization_id ON %I', t);
        EXECUTE format('ALTER TABLE %I DROP COLUMN organization_id', t);
    END LOOP;
END
$$;
-- +goose StatementEnd
DROP TRIGGER organization_id ON audit_log;
ALTER TABLE erasure_ledger DROP COLUMN organization_id;
DROP FUNCTION callscribe_org(), callscribe_system(), callscribe_org_of_user(), callscribe_org_of_call(),
    callscribe_org_of_transcript(), callscribe_org_of_request(), callscribe_org_of_subject(), callscribe_audit_org();
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM callscribe_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM callscribe_app;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM callscribe_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM callscribe_app;
REVOKE USAGE ON SCHEMA public FROM callscribe_app;
