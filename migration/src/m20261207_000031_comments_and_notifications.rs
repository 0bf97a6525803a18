//! Comments on documents and the members' in-app notifications (docs/workspaces.md).
//!
//! - `document_comments`: threads on a document. A thread's first comment (`thread_id = id`) may be
//!   anchored to a range of characters of the version it was written on (`anchor_*`, with the text it
//!   quoted); `located_*` is where that text is in the latest version it was found in, and
//!   `outdated_version` the first version it was no longer found in. Replies sit in their thread (one
//!   level); resolving applies to a thread. A deleted comment keeps its place without its text.
//! - `notifications`: what a member is told in the app (a mention, a reply), read or not; `emailed_at`
//!   marks what a digest has already mailed.

use crate::{Grants, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
CREATE TABLE document_comments (
    tenant_id         uuid NOT NULL,
    id                uuid NOT NULL,
    document_id       uuid NOT NULL,
    thread_id         uuid NOT NULL,
    author_id         uuid,
    body              text NOT NULL CHECK (length(body) <= 5000),
    mentions          uuid[] NOT NULL DEFAULT '{{}}' CHECK (cardinality(mentions) <= 20),
    anchor_version    integer,
    anchor_start      integer,
    anchor_end        integer,
    quote             text,
    located_version   integer,
    located_start     integer,
    located_end       integer,
    outdated_version  integer,
    resolved_at       timestamptz,
    resolved_by       uuid,
    edited_at         timestamptz,
    deleted_at        timestamptz,
    created_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, document_id, id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, document_id, thread_id)
        REFERENCES document_comments (tenant_id, document_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, document_id, anchor_version)
        REFERENCES document_versions (tenant_id, document_id, number),
    FOREIGN KEY (tenant_id, author_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (author_id),
    FOREIGN KEY (tenant_id, resolved_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (resolved_by),
    -- An anchor is whole or absent, a non-empty range, and only on a thread's first comment.
    CHECK ((anchor_version IS NULL) = (anchor_start IS NULL) AND (anchor_start IS NULL) = (anchor_end IS NULL)
           AND (anchor_end IS NULL) = (quote IS NULL) AND (quote IS NULL) = (located_version IS NULL)
           AND (located_version IS NULL) = (located_start IS NULL)
           AND (located_start IS NULL) = (located_end IS NULL)),
    CHECK (anchor_start IS NULL OR (0 <= anchor_start AND anchor_start < anchor_end AND anchor_end - anchor_start <= 2000)),
    CHECK (located_start IS NULL OR (0 <= located_start AND located_start < located_end)),
    CHECK (outdated_version IS NULL OR anchor_version IS NOT NULL),
    CHECK (anchor_version IS NULL OR thread_id = id),
    CHECK (resolved_at IS NULL OR thread_id = id)
);
CREATE INDEX document_comments_thread_idx ON document_comments (tenant_id, document_id, thread_id, created_at);
{document_comments}

CREATE TABLE notifications (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    user_id       uuid NOT NULL,
    kind          text NOT NULL CHECK (length(kind) BETWEEN 1 AND 60),
    actor_id      uuid,
    workspace_id  uuid,
    document_id   uuid,
    comment_id    uuid,
    title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    excerpt       text NOT NULL DEFAULT '' CHECK (length(excerpt) <= 300),
    created_at    timestamptz NOT NULL,
    read_at       timestamptz,
    emailed_at    timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, actor_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (actor_id),
    FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, workspace_id, document_id)
        REFERENCES documents (tenant_id, workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, document_id, comment_id)
        REFERENCES document_comments (tenant_id, document_id, id) ON DELETE CASCADE,
    CHECK (document_id IS NULL OR workspace_id IS NOT NULL),
    CHECK (comment_id IS NULL OR document_id IS NOT NULL)
);
CREATE INDEX notifications_user_idx ON notifications (tenant_id, user_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (tenant_id, user_id) WHERE read_at IS NULL;
{notifications}
"#,
            document_comments = tenant_table("document_comments", Grants::ReadWrite),
            notifications = tenant_table("notifications", Grants::ReadWrite),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(manager, "DROP TABLE notifications, document_comments;").await
    }
}
