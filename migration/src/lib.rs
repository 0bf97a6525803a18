//! Trellis schema migrations.
//!
//! Every migration runs as `trellis_owner`, the role that owns every object. The roles themselves are
//! cluster-wide and created by the bootstrap step (`trellis migrate`), not here: an owner cannot create roles.
//! [`tenant_table`] is the one place that turns a table into a tenant table (row-level security, the
//! immutable `tenant_id` trigger and the grants), so every tenant table is secured the same way.

pub use sea_orm_migration::prelude::*;

pub mod interview_bank;

mod m20261121_000001_tenancy_functions;
mod m20261121_000002_tenants_and_users;
mod m20261121_000003_sessions;
mod m20261121_000004_audit_events;
mod m20261121_000005_jobs;
mod m20261122_000006_password_resets;
mod m20261122_000007_roles;
mod m20261122_000008_session_policy;
mod m20261122_000009_api_keys;
mod m20261122_000010_mfa;
mod m20261122_000011_member_profile;
mod m20261122_000012_directory;
mod m20261122_000013_imports;
mod m20261123_000014_import_staging;
mod m20261206_000015_audit_chain;
mod m20261206_000016_audit_stream;
mod m20261206_000017_session_check;
mod m20261206_000018_plans_and_usage;
mod m20261207_000019_operational_metrics;
mod m20261207_000020_career;
mod m20261207_000021_career_growth;
mod m20261207_000022_interview;
mod m20261207_000023_interview_calendar;
mod m20261207_000024_referrals;
mod m20261207_000025_mentoring;
mod m20261207_000026_mentorship_log;
mod m20261207_000027_programmes;
mod m20261207_000028_communities_and_events;
mod m20261207_000029_mentorship_accepted_at;
mod m20261207_000030_workspaces;
mod m20261207_000031_comments_and_notifications;
mod m20261207_000032_document_reviews;
mod m20261207_000033_workspace_activity;
mod m20261207_000034_workspace_settings_templates_digests;

/// Owns every object; runs migrations and maintenance. Never used on a request path.
pub const OWNER_ROLE: &str = "trellis_owner";
/// The role the server's request paths use: no superuser, no BYPASSRLS, owns nothing.
pub const APP_ROLE: &str = "trellis_app";
/// Claims jobs across tenants; does each job's tenant work through a tenant transaction.
pub const WORKER_ROLE: &str = "trellis_worker";
/// NOLOGIN role, granted to the worker: the only role that may delete audit events.
pub const RETENTION_ROLE: &str = "trellis_retention";

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_tenancy_functions::Migration),
            Box::new(m20261121_000002_tenants_and_users::Migration),
            Box::new(m20261121_000003_sessions::Migration),
            Box::new(m20261121_000004_audit_events::Migration),
            Box::new(m20261121_000005_jobs::Migration),
            Box::new(m20261122_000006_password_resets::Migration),
            Box::new(m20261122_000007_roles::Migration),
            Box::new(m20261122_000008_session_policy::Migration),
            Box::new(m20261122_000009_api_keys::Migration),
            Box::new(m20261122_000010_mfa::Migration),
            Box::new(m20261122_000011_member_profile::Migration),
            Box::new(m20261122_000012_directory::Migration),
            Box::new(m20261122_000013_imports::Migration),
            Box::new(m20261123_000014_import_staging::Migration),
            Box::new(m20261206_000015_audit_chain::Migration),
            Box::new(m20261206_000016_audit_stream::Migration),
            Box::new(m20261206_000017_session_check::Migration),
            Box::new(m20261206_000018_plans_and_usage::Migration),
            Box::new(m20261207_000019_operational_metrics::Migration),
            Box::new(m20261207_000020_career::Migration),
            Box::new(m20261207_000021_career_growth::Migration),
            Box::new(m20261207_000022_interview::Migration),
            Box::new(m20261207_000023_interview_calendar::Migration),
            Box::new(m20261207_000024_referrals::Migration),
            Box::new(m20261207_000025_mentoring::Migration),
            Box::new(m20261207_000026_mentorship_log::Migration),
            Box::new(m20261207_000027_programmes::Migration),
            Box::new(m20261207_000028_communities_and_events::Migration),
            Box::new(m20261207_000029_mentorship_accepted_at::Migration),
            Box::new(m20261207_000030_workspaces::Migration),
            Box::new(m20261207_000031_comments_and_notifications::Migration),
            Box::new(m20261207_000032_document_reviews::Migration),
            Box::new(m20261207_000033_workspace_activity::Migration),
            Box::new(m20261207_000034_workspace_settings_templates_digests::Migration),
        ]
    }
}

/// Which privileges the app and worker roles get on a tenant table.
#[derive(Clone, Copy)]
pub enum Grants {
    /// SELECT, INSERT, UPDATE, DELETE.
    ReadWrite,
    /// SELECT, INSERT only (append-only tables).
    AppendOnly,
}

/// SQL that makes `table` a tenant table through `app.secure_tenant_table` (migration 1): ENABLE + FORCE
/// row-level security, the `tenant_isolation` policy on `tenant_id = app.current_tenant_id()` (USING and
/// WITH CHECK), the shared trigger that rejects a change of `tenant_id`, and the grants. The table must have
/// a `tenant_id uuid NOT NULL` column.
pub fn tenant_table(table: &str, grants: Grants) -> String {
    let privileges = match grants {
        Grants::ReadWrite => "SELECT, INSERT, UPDATE, DELETE",
        Grants::AppendOnly => "SELECT, INSERT",
    };
    format!("SELECT app.secure_tenant_table('{table}'::regclass, '{privileges}');")
}

/// Runs a block of SQL (several statements) through the migration's connection.
pub async fn run_sql(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    manager
        .get_connection()
        .execute_unprepared(sql)
        .await
        .map(|_| ())
}
