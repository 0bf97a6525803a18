//! Two-step verification (TOTP): one enrolment per user (the seed sealed with AES-GCM), single-use
//! recovery codes (hashed), and the organization's "require it for password sign-ins" setting.

use crate::{Grants, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
ALTER TABLE org_settings ADD COLUMN mfa_required boolean NOT NULL DEFAULT false;

CREATE TABLE user_mfa (
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL,
    totp_sealed     text NOT NULL,
    enabled_at      timestamptz,
    last_used_step  bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
{user_mfa}

CREATE TABLE mfa_recovery_codes (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid NOT NULL,
    user_id     uuid NOT NULL,
    code_hash   bytea NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, user_id, code_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
{mfa_recovery_codes}
"#,
            user_mfa = tenant_table("user_mfa", Grants::ReadWrite),
            mfa_recovery_codes = tenant_table("mfa_recovery_codes", Grants::ReadWrite),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP TABLE mfa_recovery_codes, user_mfa; ALTER TABLE org_settings DROP COLUMN mfa_required;",
        )
        .await
    }
}
