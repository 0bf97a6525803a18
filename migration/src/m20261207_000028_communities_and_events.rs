//! Communities and events (docs/networking.md).
//!
//! - `communities`: interest groups any member may start; `community_members` with `owner` (moderates)
//!   or `member`; archived ones are read-only.
//! - `community_posts`: a post (`parent_id` null) or a reply to a post or reply of the same community
//!   (the composite foreign key keeps a thread inside its community), `root_id` the thread's post;
//!   removed posts keep their place in the thread without their text.
//! - `network_events`: virtual career fairs, talks, workshops, meetups — when (UTC, with the zone to
//!   show it in), where, how many places; `sequence` is raised by every change that matters to a
//!   calendar, and reminders act only for the sequence they were queued for.
//! - `event_rsvps`: `going` within the capacity, else `waitlisted` (first come, first promoted);
//!   `reminded_sequence` marks the reminder sent.

use crate::{Grants, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
CREATE TABLE communities (
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
CREATE UNIQUE INDEX communities_name_idx ON communities (tenant_id, lower(name));
{communities}

CREATE TABLE community_members (
    tenant_id     uuid NOT NULL,
    community_id  uuid NOT NULL,
    user_id       uuid NOT NULL,
    role          text NOT NULL CHECK (role IN ('owner', 'member')),
    joined_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, community_id, user_id),
    FOREIGN KEY (tenant_id, community_id) REFERENCES communities (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX community_members_user_idx ON community_members (tenant_id, user_id);
{community_members}

CREATE TABLE community_posts (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    community_id  uuid NOT NULL,
    parent_id     uuid,
    root_id       uuid,
    depth         smallint NOT NULL DEFAULT 0 CHECK (depth BETWEEN 0 AND 8),
    author_id     uuid,
    body          text NOT NULL CHECK (length(body) <= 10000),
    created_at    timestamptz NOT NULL,
    edited_at     timestamptz,
    removed_at    timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, community_id, id),
    FOREIGN KEY (tenant_id, community_id) REFERENCES communities (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, community_id, parent_id)
        REFERENCES community_posts (tenant_id, community_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, community_id, root_id)
        REFERENCES community_posts (tenant_id, community_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, author_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (author_id),
    CHECK ((parent_id IS NULL) = (root_id IS NULL) AND (parent_id IS NULL) = (depth = 0)),
    CHECK (removed_at IS NULL OR body = '')
);
CREATE INDEX community_posts_threads_idx ON community_posts (tenant_id, community_id, created_at DESC)
    WHERE parent_id IS NULL;
CREATE INDEX community_posts_replies_idx ON community_posts (tenant_id, root_id, created_at);
{community_posts}

CREATE TABLE network_events (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description   text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    kind          text NOT NULL CHECK (kind IN ('career_fair', 'talk', 'workshop', 'meetup', 'other')),
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL,
    timezone      text NOT NULL CHECK (length(timezone) BETWEEN 1 AND 64),
    location      text NOT NULL DEFAULT '' CHECK (length(location) <= 200),
    meeting_url   text CHECK (length(meeting_url) <= 2000),
    capacity      integer NOT NULL CHECK (capacity BETWEEN 1 AND 100000),
    community_id  uuid,
    organizer_id  uuid,
    status        text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    sequence      integer NOT NULL DEFAULT 0 CHECK (sequence >= 0),
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, community_id) REFERENCES communities (tenant_id, id) ON DELETE SET NULL (community_id),
    FOREIGN KEY (tenant_id, organizer_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (organizer_id),
    CHECK (ends_at > starts_at AND ends_at <= starts_at + interval '14 days')
);
CREATE INDEX network_events_starts_idx ON network_events (tenant_id, starts_at);
{network_events}

CREATE TABLE event_rsvps (
    tenant_id          uuid NOT NULL,
    event_id           uuid NOT NULL,
    user_id            uuid NOT NULL,
    status             text NOT NULL CHECK (status IN ('going', 'waitlisted')),
    responded_at       timestamptz NOT NULL,
    reminded_sequence  integer,
    PRIMARY KEY (tenant_id, event_id, user_id),
    FOREIGN KEY (tenant_id, event_id) REFERENCES network_events (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX event_rsvps_queue_idx ON event_rsvps (tenant_id, event_id, status, responded_at);
{event_rsvps}
"#,
            communities = tenant_table("communities", Grants::ReadWrite),
            community_members = tenant_table("community_members", Grants::ReadWrite),
            community_posts = tenant_table("community_posts", Grants::ReadWrite),
            network_events = tenant_table("network_events", Grants::ReadWrite),
            event_rsvps = tenant_table("event_rsvps", Grants::ReadWrite),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP TABLE event_rsvps, network_events, community_posts, community_members, communities;",
        )
        .await
    }
}
