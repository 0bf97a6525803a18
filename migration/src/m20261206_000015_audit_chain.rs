//! The audit log's tamper evidence (ADR 0009) and retention.
//!
//! - `audit_pending`: the events not chained yet, one row each, written by a statement trigger on
//!   `audit_events` in the transaction that writes the events, deleted by the sealer in the transaction
//!   that chains them. Writers never wait on one another for the chain.
//! - `audit_seals`: the chain, one row per event in the order the sealer saw them commit: sequence number
//!   and `SHA-256(previous hash ‖ canonical event)`. Append-only.
//! - `audit_chain_heads`: the sealer's bookkeeping per tenant (head, newest event time sealed, last
//!   digest). Verification never trusts it.
//! - `audit_digests`: the chain head signed with Ed25519 (`audit.signing_keys`), so a truncated tail is
//!   noticed too. Append-only. `audit_signing_keys`: every public key that ever signed, by key id.
//! - `audit_anchors`: where a tenant's chain starts after retention deleted its oldest events.
//! - `org_settings.audit_retention_days`: 365 by default, at least 90.

use crate::{APP_ROLE, RETENTION_ROLE, WORKER_ROLE, run_sql};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            &format!(
                r#"
CREATE TABLE audit_pending (
    tenant_id   uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    id          uuid NOT NULL,
    PRIMARY KEY (tenant_id, occurred_at, id)
);
SELECT app.secure_tenant_table('audit_pending'::regclass, 'SELECT, INSERT');
GRANT DELETE ON audit_pending TO {WORKER_ROLE};
-- The sealer finds the tenants with something to seal; it seals each in that tenant's transaction.
CREATE POLICY sealer_discovery ON audit_pending AS PERMISSIVE FOR SELECT TO {WORKER_ROLE} USING (true);

CREATE FUNCTION app.audit_events_pending() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO audit_pending (tenant_id, occurred_at, id)
    SELECT tenant_id, occurred_at, id FROM inserted;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION app.audit_events_pending() FROM PUBLIC;
CREATE TRIGGER audit_events_pending AFTER INSERT ON audit_events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION app.audit_events_pending();

-- Append-only for everyone but the retention role (which deletes what retention removes).
CREATE FUNCTION app.append_only() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_user = '{RETENTION_ROLE}' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;
REVOKE ALL ON FUNCTION app.append_only() FROM PUBLIC;
-- audit_events uses it too, so one function says what append-only means.
DROP TRIGGER audit_events_append_only ON audit_events;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION app.append_only();
DROP FUNCTION app.audit_events_append_only();

CREATE TABLE audit_seals (
    tenant_id   uuid NOT NULL,
    seq         bigint NOT NULL CHECK (seq > 0),
    event_id    uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    hash        bytea NOT NULL CHECK (length(hash) = 32),
    sealed_at   timestamptz NOT NULL,
    -- Dated well before events already sealed: not written by a transaction of the application.
    late        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, seq),
    UNIQUE (tenant_id, event_id)
);
CREATE INDEX audit_seals_tenant_occurred_idx ON audit_seals (tenant_id, occurred_at);
SELECT app.secure_tenant_table('audit_seals'::regclass, 'SELECT');
GRANT INSERT ON audit_seals TO {WORKER_ROLE};
GRANT SELECT, DELETE ON audit_seals TO {RETENTION_ROLE};
CREATE TRIGGER audit_seals_append_only BEFORE UPDATE OR DELETE ON audit_seals
    FOR EACH ROW EXECUTE FUNCTION app.append_only();

CREATE TABLE audit_chain_heads (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    seq         bigint NOT NULL,
    hash        bytea NOT NULL,
    newest_at   timestamptz NOT NULL,
    digest_seq  bigint NOT NULL DEFAULT 0,
    digested_at timestamptz,
    PRIMARY KEY (tenant_id)
);
SELECT app.secure_tenant_table('audit_chain_heads'::regclass, 'SELECT');
GRANT INSERT, UPDATE ON audit_chain_heads TO {WORKER_ROLE};
-- The sealer finds the heads whose digest is due across tenants.
CREATE POLICY sealer_discovery ON audit_chain_heads AS PERMISSIVE FOR SELECT TO {WORKER_ROLE} USING (true);

CREATE TABLE audit_digests (
    tenant_id   uuid NOT NULL,
    seq         bigint NOT NULL,
    hash        bytea NOT NULL CHECK (length(hash) = 32),
    signed_at   timestamptz NOT NULL,
    key_id      text NOT NULL,
    signature   bytea NOT NULL CHECK (length(signature) = 64),
    PRIMARY KEY (tenant_id, seq)
);
SELECT app.secure_tenant_table('audit_digests'::regclass, 'SELECT');
GRANT INSERT ON audit_digests TO {WORKER_ROLE};
CREATE TRIGGER audit_digests_append_only BEFORE UPDATE OR DELETE ON audit_digests
    FOR EACH ROW EXECUTE FUNCTION app.append_only();

CREATE TABLE audit_anchors (
    tenant_id   uuid NOT NULL,
    -- The last sequence number retention deleted, and its hash: the chain goes on from here.
    seq         bigint NOT NULL,
    hash        bytea NOT NULL CHECK (length(hash) = 32),
    deleted     bigint NOT NULL,
    cutoff      timestamptz NOT NULL,
    applied_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
SELECT app.secure_tenant_table('audit_anchors'::regclass, 'SELECT');
GRANT SELECT, INSERT ON audit_anchors TO {RETENTION_ROLE};
CREATE TRIGGER audit_anchors_append_only BEFORE UPDATE OR DELETE ON audit_anchors
    FOR EACH ROW EXECUTE FUNCTION app.append_only();

-- Global: the public half of every key that signed a digest, so old digests verify after rotation.
CREATE TABLE audit_signing_keys (
    key_id        text PRIMARY KEY,
    public_key    bytea NOT NULL CHECK (length(public_key) = 32),
    first_used_at timestamptz NOT NULL
);
GRANT SELECT ON audit_signing_keys TO {APP_ROLE};
GRANT SELECT, INSERT ON audit_signing_keys TO {WORKER_ROLE};

ALTER TABLE org_settings ADD COLUMN audit_retention_days integer NOT NULL DEFAULT 365
    CHECK (audit_retention_days BETWEEN 90 AND 3650);
"#
            ),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "ALTER TABLE org_settings DROP COLUMN audit_retention_days; \
             DROP TABLE audit_signing_keys, audit_anchors, audit_digests, audit_chain_heads, audit_seals, \
               audit_pending; \
             DROP TRIGGER audit_events_pending ON audit_events; \
             DROP FUNCTION app.audit_events_pending(); \
             CREATE FUNCTION app.audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN \
               IF TG_OP = 'DELETE' AND current_user = 'trellis_retention' THEN RETURN OLD; END IF; \
               RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege'; \
             END $$; \
             REVOKE ALL ON FUNCTION app.audit_events_append_only() FROM PUBLIC; \
             DROP TRIGGER audit_events_append_only ON audit_events; \
             CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events \
               FOR EACH ROW EXECUTE FUNCTION app.audit_events_append_only(); \
             DROP FUNCTION app.append_only();",
        )
        .await
    }
}
