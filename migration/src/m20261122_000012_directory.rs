//! The organization's directory: its OpenID Connect connection (single sign-on), the identities that link
//! a provider's subject to a member, SCIM provisioning tokens and groups, and the mapping from directory
//! groups (an ID token's group claim, a SCIM group) to roles.

use crate::{Grants, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
-- One OpenID Connect connection per organization. The client secret is sealed (AES-GCM, bound to the
-- tenant) and never leaves the server.
CREATE TABLE sso_connections (
    tenant_id             uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                    uuid NOT NULL,
    issuer_url            text NOT NULL CHECK (length(issuer_url) BETWEEN 8 AND 2000),
    client_id             text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 500),
    client_secret_sealed  text NOT NULL,
    scopes                text[] NOT NULL,
    allowed_email_domains text[] NOT NULL DEFAULT '{{}}',
    jit_provisioning      boolean NOT NULL DEFAULT false,
    groups_claim          text NOT NULL DEFAULT 'groups' CHECK (length(groups_claim) BETWEEN 1 AND 100),
    sso_required          boolean NOT NULL DEFAULT false,
    enabled               boolean NOT NULL DEFAULT true,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id)
);
{sso_connections}

-- A provider's account, linked to a member: found by (issuer, subject) at every sign-in.
CREATE TABLE user_identities (
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id             uuid NOT NULL,
    user_id        uuid NOT NULL,
    issuer         text NOT NULL,
    subject        text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    email          text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_login_at  timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, issuer, subject),
    -- One account per provider for a member: an address reused for someone new never reaches them.
    UNIQUE (tenant_id, user_id, issuer),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
{user_identities}

-- Directory group -> role, in order: the first mapping that matches one of a member's groups decides
-- their role; no match means the organization's default role.
CREATE TABLE directory_role_mappings (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    position     integer NOT NULL CHECK (position >= 0),
    group_value  text NOT NULL CHECK (length(group_value) BETWEEN 1 AND 255),
    role         text NOT NULL CHECK (role ~ '^[a-z][a-z0-9_]{{0,62}}$' AND role <> 'owner'),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, group_value)
);
CREATE INDEX directory_role_mappings_tenant_position_idx ON directory_role_mappings (tenant_id, position);
{directory_role_mappings}

ALTER TABLE org_settings
    ADD COLUMN directory_default_role text NOT NULL DEFAULT 'member'
        CHECK (directory_default_role ~ '^[a-z][a-z0-9_]{{0,62}}$' AND directory_default_role <> 'owner');

-- SCIM bearer tokens: shown once, only the SHA-256 kept, found by the public prefix. One live token per
-- organization; rotating revokes the previous one.
CREATE TABLE scim_tokens (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    prefix        text NOT NULL CHECK (prefix ~ '^[a-z0-9]{{12}}$'),
    secret_hash   bytea NOT NULL,
    created_by    uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, prefix),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (created_by)
);
CREATE UNIQUE INDEX scim_tokens_one_live_idx ON scim_tokens (tenant_id) WHERE revoked_at IS NULL;
CREATE INDEX scim_tokens_tenant_created_by_idx ON scim_tokens (tenant_id, created_by) WHERE created_by IS NOT NULL;
{scim_tokens}

-- What SCIM knows of a member beyond the profile: the client's user name and id for them, their name
-- parts, their addresses as the client sent them (the primary one is `email`), and whether the client
-- deleted them (then deactivated here, and 404 to SCIM).
ALTER TABLE users
    ADD COLUMN scim_user_name text CHECK (length(scim_user_name) BETWEEN 1 AND 255),
    ADD COLUMN external_id text CHECK (length(external_id) BETWEEN 1 AND 255),
    ADD COLUMN given_name text CHECK (length(given_name) <= 200),
    ADD COLUMN family_name text CHECK (length(family_name) <= 200),
    ADD COLUMN scim_emails jsonb CHECK (jsonb_typeof(scim_emails) = 'array'),
    ADD COLUMN scim_deleted_at timestamptz;
-- The SCIM userName, unique without case; a member SCIM does not manage is known by their address.
CREATE UNIQUE INDEX users_tenant_scim_user_name_idx ON users (tenant_id, lower(coalesce(scim_user_name, email)));
CREATE INDEX users_tenant_external_id_idx ON users (tenant_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE scim_groups (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 255),
    external_id   text CHECK (length(external_id) BETWEEN 1 AND 255),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, display_name)
);
CREATE INDEX scim_groups_tenant_external_id_idx ON scim_groups (tenant_id, external_id) WHERE external_id IS NOT NULL;
{scim_groups}

CREATE TABLE scim_group_members (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid NOT NULL,
    group_id    uuid NOT NULL,
    user_id     uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, group_id, user_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES scim_groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX scim_group_members_tenant_user_idx ON scim_group_members (tenant_id, user_id);
{scim_group_members}
"#,
            sso_connections = tenant_table("sso_connections", Grants::ReadWrite),
            user_identities = tenant_table("user_identities", Grants::ReadWrite),
            directory_role_mappings = tenant_table("directory_role_mappings", Grants::ReadWrite),
            scim_tokens = tenant_table("scim_tokens", Grants::ReadWrite),
            scim_groups = tenant_table("scim_groups", Grants::ReadWrite),
            scim_group_members = tenant_table("scim_group_members", Grants::ReadWrite),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP TABLE scim_group_members, scim_groups, scim_tokens, directory_role_mappings, \
               user_identities, sso_connections; \
             DROP INDEX users_tenant_external_id_idx, users_tenant_scim_user_name_idx; \
             ALTER TABLE users DROP COLUMN scim_user_name, DROP COLUMN external_id, DROP COLUMN given_name, \
               DROP COLUMN family_name, DROP COLUMN scim_emails, DROP COLUMN scim_deleted_at; \
             ALTER TABLE org_settings DROP COLUMN directory_default_role;",
        )
        .await
    }
}
