//! Review workflows on documents (docs/workspaces.md, "Reviews").
//!
//! - `document_reviews`: a request that named approvers review one version of a document, either in
//!   order (`chain`: each in turn) or `any` (the first decision settles it). `turn` counts the moves
//!   from one approver to the next, so a reminder queued for an earlier turn does nothing. At most one
//!   review of a document is open.
//! - `review_approvers`: the approvers in their order, each with their decision and its comment.
//! - `documents.review_state`: where the document stands (`draft`, `in_review`, `changes_requested`,
//!   `approved`), kept with the reviews in the same transactions.

use crate::{Grants, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
ALTER TABLE documents ADD COLUMN review_state text NOT NULL DEFAULT 'draft'
    CHECK (review_state IN ('draft', 'in_review', 'changes_requested', 'approved'));

CREATE TABLE document_reviews (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    document_id   uuid NOT NULL,
    version       integer NOT NULL,
    mode          text NOT NULL CHECK (mode IN ('chain', 'any')),
    status        text NOT NULL CHECK (status IN ('open', 'approved', 'changes_requested', 'withdrawn')),
    message       text NOT NULL DEFAULT '' CHECK (length(message) <= 2000),
    requested_by  uuid,
    turn          integer NOT NULL DEFAULT 1 CHECK (turn >= 1),
    created_at    timestamptz NOT NULL,
    closed_at     timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, document_id, id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, document_id, version) REFERENCES document_versions (tenant_id, document_id, number),
    FOREIGN KEY (tenant_id, requested_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (requested_by),
    CHECK ((status = 'open') = (closed_at IS NULL))
);
CREATE UNIQUE INDEX document_reviews_open_idx ON document_reviews (tenant_id, document_id) WHERE status = 'open';
CREATE INDEX document_reviews_document_idx ON document_reviews (tenant_id, document_id, created_at DESC);
{document_reviews}

CREATE TABLE review_approvers (
    tenant_id    uuid NOT NULL,
    review_id    uuid NOT NULL,
    position     integer NOT NULL CHECK (position BETWEEN 1 AND 10),
    user_id      uuid NOT NULL,
    decision     text CHECK (decision IN ('approved', 'changes_requested')),
    comment      text NOT NULL DEFAULT '' CHECK (length(comment) <= 5000),
    decided_at   timestamptz,
    reminded     integer NOT NULL DEFAULT 0 CHECK (reminded >= 0),
    reminded_at  timestamptz,
    PRIMARY KEY (tenant_id, review_id, position),
    UNIQUE (tenant_id, review_id, user_id),
    FOREIGN KEY (tenant_id, review_id) REFERENCES document_reviews (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    CHECK ((decision IS NULL) = (decided_at IS NULL))
);
CREATE INDEX review_approvers_user_idx ON review_approvers (tenant_id, user_id) WHERE decision IS NULL;
{review_approvers}
"#,
            document_reviews = tenant_table("document_reviews", Grants::ReadWrite),
            review_approvers = tenant_table("review_approvers", Grants::ReadWrite),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP TABLE review_approvers, document_reviews; ALTER TABLE documents DROP COLUMN review_state;",
        )
        .await
    }
}
