//! Team workspaces and their documents (docs/workspaces.md).
//!
//! - `workspaces`: name (unique in the organization), description, archived (read-only).
//! - `workspace_members`: who is in, as `owner`, `editor`, `commenter` or `viewer`. Only members see a
//!   workspace, whatever their organization role.
//! - `documents`: typed Markdown documents of a workspace, with their current title, body and version
//!   number (the optimistic-concurrency token).
//! - `document_versions`: every save, numbered from 1, with its author, change summary and (a restore)
//!   the version it brought back. Append-only for the app.

use crate::{Grants, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
CREATE TABLE workspaces (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    description  text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    created_by   uuid,
    archived_at  timestamptz,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (created_by)
);
CREATE UNIQUE INDEX workspaces_name_idx ON workspaces (tenant_id, lower(name));
{workspaces}

CREATE TABLE workspace_members (
    tenant_id     uuid NOT NULL,
    workspace_id  uuid NOT NULL,
    user_id       uuid NOT NULL,
    role          text NOT NULL CHECK (role IN ('owner', 'editor', 'commenter', 'viewer')),
    added_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, workspace_id, user_id),
    FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX workspace_members_user_idx ON workspace_members (tenant_id, user_id);
{workspace_members}

CREATE TABLE documents (
    tenant_id        uuid NOT NULL,
    id               uuid NOT NULL,
    workspace_id     uuid NOT NULL,
    doc_type         text NOT NULL CHECK (doc_type IN ('cover_letter', 'application', 'template', 'note')),
    title            text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body             text NOT NULL CHECK (length(body) <= 200000),
    current_version  integer NOT NULL CHECK (current_version >= 1),
    created_by       uuid,
    updated_by       uuid,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, workspace_id, id),
    FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (created_by),
    FOREIGN KEY (tenant_id, updated_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (updated_by)
);
CREATE INDEX documents_workspace_idx ON documents (tenant_id, workspace_id, updated_at DESC);
{documents}

CREATE TABLE document_versions (
    tenant_id       uuid NOT NULL,
    document_id     uuid NOT NULL,
    number          integer NOT NULL CHECK (number >= 1),
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body            text NOT NULL CHECK (length(body) <= 200000),
    change_summary  text NOT NULL DEFAULT '' CHECK (length(change_summary) <= 500),
    author_id       uuid,
    restored_from   integer CHECK (restored_from >= 1 AND restored_from < number),
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, document_id, number),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, author_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (author_id)
);
{document_versions}
"#,
            workspaces = tenant_table("workspaces", Grants::ReadWrite),
            workspace_members = tenant_table("workspace_members", Grants::ReadWrite),
            documents = tenant_table("documents", Grants::ReadWrite),
            document_versions = tenant_table("document_versions", Grants::AppendOnly),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP TABLE document_versions, documents, workspace_members, workspaces;",
        )
        .await
    }
}
