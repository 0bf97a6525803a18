//! The global `tenants` table and the core tenant tables: org settings, users, role memberships and
//! invitations. Keys follow the Citus-ready rules: `PRIMARY KEY (tenant_id, id)`, every UNIQUE includes
//! `tenant_id`, every FK between tenant tables is composite.

use crate::{APP_ROLE, Grants, WORKER_ROLE, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{{0,61}}[a-z0-9])?$'),
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    plan        text NOT NULL DEFAULT 'standard',
    seat_limit  integer NOT NULL DEFAULT 100 CHECK (seat_limit >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- A global table: the app and worker roles may only read it; tenants are provisioned by the owner.
GRANT SELECT ON tenants TO {APP_ROLE}, {WORKER_ROLE};

CREATE TABLE org_settings (
    tenant_id             uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    display_name          text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    default_locale        text NOT NULL DEFAULT 'en',
    timezone              text NOT NULL DEFAULT 'UTC',
    invitation_ttl_hours  integer NOT NULL DEFAULT 168 CHECK (invitation_ttl_hours BETWEEN 1 AND 720),
    allowed_email_domains text[] NOT NULL DEFAULT '{{}}',
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id)
);
{org_settings}

CREATE TABLE users (
    tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                  uuid NOT NULL,
    email               text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    display_name        text NOT NULL DEFAULT '' CHECK (length(display_name) <= 200),
    status              text NOT NULL CHECK (status IN ('active', 'invited', 'deactivated')),
    manager_id          uuid,
    password_hash       text,
    password_changed_at timestamptz,
    last_login_at       timestamptz,
    deactivated_at      timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email),
    FOREIGN KEY (tenant_id, manager_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (manager_id),
    CHECK (manager_id IS DISTINCT FROM id)
);
CREATE INDEX users_tenant_status_idx ON users (tenant_id, status, email);
CREATE INDEX users_tenant_manager_idx ON users (tenant_id, manager_id) WHERE manager_id IS NOT NULL;
{users}

-- Role assignments: the source of truth for what a member may do (one org role per member).
CREATE TABLE memberships (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid NOT NULL,
    user_id     uuid NOT NULL,
    role        text NOT NULL CHECK (role ~ '^[a-z][a-z0-9_]{{0,62}}$'),
    granted_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, granted_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (granted_by)
);
CREATE INDEX memberships_tenant_role_idx ON memberships (tenant_id, role);
CREATE INDEX memberships_tenant_granted_by_idx ON memberships (tenant_id, granted_by) WHERE granted_by IS NOT NULL;
{memberships}

CREATE TABLE invitations (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    user_id      uuid,
    email        text NOT NULL,
    token_hash   bytea NOT NULL,
    invited_by   uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    revoked_at   timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (user_id),
    FOREIGN KEY (tenant_id, invited_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (invited_by)
);
CREATE INDEX invitations_tenant_user_idx ON invitations (tenant_id, user_id);
CREATE INDEX invitations_tenant_invited_by_idx ON invitations (tenant_id, invited_by) WHERE invited_by IS NOT NULL;
{invitations}
"#,
            org_settings = tenant_table("org_settings", Grants::ReadWrite),
            users = tenant_table("users", Grants::ReadWrite),
            memberships = tenant_table("memberships", Grants::ReadWrite),
            invitations = tenant_table("invitations", Grants::ReadWrite),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP TABLE invitations, memberships, users, org_settings, tenants;",
        )
        .await
    }
}
