//! A workspace, live: its activity feed as Server-Sent Events, and who is viewing which document.
//!
//! - A change commits, then the instance that made it announces it on the instance-wide bus (Redis
//!   pub/sub); every instance's [`ActivityHub`] wakes the streams of that workspace, which read what is
//!   new from the database. While Redis is down, streams read every `workspaces.live_poll_ms` instead,
//!   so nothing is lost, only later.
//! - Entries are ordered by their ids (UUIDv7, the time they were written), but two instances may
//!   commit out of that order. A stream therefore reads again from a little before the newest entry it
//!   sent ([`OVERLAP`]) and skips what it sent already: an entry committed late still arrives.
//! - Presence: each viewer of a document says so every few seconds ([`here`]); Redis keeps it in one
//!   sorted set per workspace, scored by when it lapses (`workspaces.presence_ttl_secs` after the last
//!   word), the set itself expiring soon after the last viewer. Without Redis nobody is shown as
//!   present (`available: false`); presence is a hint, never a record, and is not audited.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use redis::AsyncCommands;
use serde::Serialize;
use tokio::sync::broadcast;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    coordination::{Invalidation, InvalidationListener, RedisStore},
    domain::TenantId,
};

/// How far back a stream reads again, for entries that committed after newer ones.
pub const OVERLAP: std::time::Duration = std::time::Duration::from_secs(10);

/// This instance's wake-up calls for workspace streams.
pub struct ActivityHub {
    sender: broadcast::Sender<(TenantId, Uuid)>,
}

impl Default for ActivityHub {
    fn default() -> Self {
        ActivityHub {
            sender: broadcast::channel(1024).0,
        }
    }
}

impl ActivityHub {
    pub fn subscribe(&self) -> broadcast::Receiver<(TenantId, Uuid)> {
        self.sender.subscribe()
    }
}

impl InvalidationListener for ActivityHub {
    fn invalidate(&self, message: &Invalidation) {
        if let Invalidation::WorkspaceActivity {
            tenant_id,
            workspace_id,
        } = message
        {
            // Nobody listening is fine.
            let _ = self.sender.send((*tenant_id, *workspace_id));
        }
    }

    fn flush(&self) {}
}

/// The smallest UUIDv7 of the millisecond `at`: entries with a larger id were written at or after it.
pub fn floor_id(at: DateTime<Utc>) -> Uuid {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &[0; 10]).into_uuid()
}

/// When a UUIDv7 was made.
pub fn id_time(id: Uuid) -> Option<DateTime<Utc>> {
    let (seconds, nanos) = id.get_timestamp()?.to_unix();
    DateTime::from_timestamp(i64::try_from(seconds).ok()?, nanos)
}

/// What a stream has sent: the ids of the last [`OVERLAP`], to skip when it reads them again.
#[derive(Debug, Default)]
pub struct Sent {
    recent: std::collections::BTreeSet<Uuid>,
    newest: Option<Uuid>,
}

impl Sent {
    /// A stream that starts after entry `start` (the `Last-Event-ID` a client resumes from, or the
    /// feed's newest when it connects), having seen `known`: the entries of the overlap before it that
    /// exist now. One in that window that commits later is still sent.
    pub fn after(start: Option<Uuid>, known: impl IntoIterator<Item = Uuid>) -> Sent {
        Sent {
            recent: known.into_iter().collect(),
            newest: start,
        }
    }

    /// The newest entry sent (or started after).
    pub fn newest(&self) -> Option<Uuid> {
        self.newest
    }

    /// The id to read after: [`OVERLAP`] before the newest sent (nothing at all yet: `None`, from the
    /// beginning).
    pub fn read_after(&self) -> Option<Uuid> {
        let newest = self.newest?;
        let time = id_time(newest)?;
        let overlap = chrono::Duration::from_std(OVERLAP).unwrap_or_default();
        Some(floor_id(time - overlap).min(newest))
    }

    /// Whether `id` is new to the stream; remembers it.
    pub fn fresh(&mut self, id: Uuid) -> bool {
        if !self.recent.insert(id) {
            return false;
        }
        if self.newest.is_none_or(|n| id > n) {
            self.newest = Some(id);
        }
        if let Some(floor) = self.read_after() {
            self.recent = self.recent.split_off(&floor);
        }
        true
    }
}

/// Whether `id` can be an entry's id a client resumes from: a UUIDv7 of no later than `now`.
pub fn resumable(id: Uuid, now: DateTime<Utc>) -> bool {
    id.get_version_num() == 7
        && id_time(id).is_some_and(|t| t <= now + chrono::Duration::minutes(1))
}

/// Someone viewing a document now.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
pub struct Viewer {
    pub document_id: Uuid,
    pub user_id: Uuid,
}

fn presence_key(store: &RedisStore, tenant: TenantId, workspace: Uuid) -> String {
    store.tenant_key(tenant, &format!("presence:{workspace}"))
}

/// `user` is viewing `document` until `ttl` from `now`: whether they were not before, or `None` when
/// Redis could not keep it.
pub async fn here(
    store: &RedisStore,
    tenant: TenantId,
    workspace: Uuid,
    viewer: Viewer,
    now: DateTime<Utc>,
    ttl: std::time::Duration,
) -> Option<bool> {
    let key = presence_key(store, tenant, workspace);
    let until = now.timestamp_millis() + ttl.as_millis() as i64;
    let mut pipe = redis::pipe();
    // Lapsed viewers first, so one who comes back counts as new. Nothing ignored: the replies are
    // the three counts, in order (ZADD's is how many were added).
    pipe.atomic()
        .zrembyscore(&key, "-inf", now.timestamp_millis())
        .zadd(
            &key,
            format!("{}:{}", viewer.document_id, viewer.user_id),
            until,
        )
        .expire(&key, 2 * ttl.as_secs().max(1) as i64);
    let reply = store
        .run(|mut conn| async move { pipe.query_async::<redis::Value>(&mut conn).await })
        .await?;
    let mut counts = Vec::new();
    ints(&reply, &mut counts);
    Some(counts.get(1).is_some_and(|added| *added > 0))
}

/// The integers of a reply in order, however nested (a transaction's replies come as an array).
fn ints(reply: &redis::Value, out: &mut Vec<i64>) {
    match reply {
        redis::Value::Int(n) => out.push(*n),
        redis::Value::Array(items) => items.iter().for_each(|item| ints(item, out)),
        _ => {}
    }
}

/// `user` stopped viewing `document` (closed it); `false` when Redis could not be told.
pub async fn gone(store: &RedisStore, tenant: TenantId, workspace: Uuid, viewer: Viewer) -> bool {
    let key = presence_key(store, tenant, workspace);
    let member = format!("{}:{}", viewer.document_id, viewer.user_id);
    store
        .run(|mut conn| async move { conn.zrem::<_, _, i64>(key, member).await })
        .await
        .is_some()
}

/// Who is viewing which document of `workspace` at `now`; `None` when Redis is unavailable.
pub async fn viewers(
    store: &RedisStore,
    tenant: TenantId,
    workspace: Uuid,
    now: DateTime<Utc>,
) -> Option<Vec<Viewer>> {
    let key = presence_key(store, tenant, workspace);
    let from = format!("({}", now.timestamp_millis());
    let members = store
        .run(|mut conn| async move {
            conn.zrangebyscore::<_, _, _, Vec<String>>(key, from, "+inf")
                .await
        })
        .await?;
    let mut seen = HashSet::new();
    let mut out: Vec<Viewer> = members
        .iter()
        .filter_map(|m| {
            let (document, user) = m.split_once(':')?;
            Some(Viewer {
                document_id: document.parse().ok()?,
                user_id: user.parse().ok()?,
            })
        })
        .filter(|v| seen.insert(v.clone()))
        .collect();
    out.sort();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_at(ms: i64, rest: u8) -> Uuid {
        uuid::Builder::from_unix_timestamp_millis(ms as u64, &[rest; 10]).into_uuid()
    }

    #[test]
    fn a_late_commit_inside_the_overlap_is_sent_and_nothing_twice() {
        let mut sent = Sent::default();
        assert_eq!(sent.read_after(), None);
        let t = 1_800_000_000_000;
        assert!(sent.fresh(id_at(t, 2)));
        assert!(sent.fresh(id_at(t + 50, 1)));
        // Read again from the overlap: both come back, neither is sent again.
        let after = sent.read_after().unwrap();
        assert!(after < id_at(t, 2));
        assert!(!sent.fresh(id_at(t, 2)));
        assert!(!sent.fresh(id_at(t + 50, 1)));
        // One written earlier but committed later still goes out.
        assert!(sent.fresh(id_at(t + 20, 9)));
        // Older than the overlap, it is forgotten (and not read again).
        assert!(sent.fresh(id_at(t + 60_000, 1)));
        assert!(sent.read_after().unwrap() > id_at(t + 50, 1));
    }

    #[test]
    fn a_stream_that_starts_late_skips_what_existed_but_sends_what_commits_late() {
        let t = 1_800_000_000_000;
        let start = id_at(t, 5);
        let mut sent = Sent::after(Some(start), [id_at(t - 5, 1), start]);
        assert!(sent.read_after().unwrap() < id_at(t - 5, 1));
        assert!(!sent.fresh(id_at(t - 5, 1)));
        assert!(!sent.fresh(start));
        // Written before the start, committed after the stream connected.
        assert!(sent.fresh(id_at(t - 2, 7)));
        assert!(sent.fresh(id_at(t + 1, 0)));
        assert_eq!(sent.newest(), Some(id_at(t + 1, 0)));
    }

    #[test]
    fn only_a_past_uuidv7_can_be_resumed_from() {
        let now = DateTime::from_timestamp_millis(1_800_000_000_000).unwrap();
        assert!(resumable(id_at(1_799_999_000_000, 3), now));
        assert!(!resumable(id_at(1_800_000_600_000, 3), now), "the future");
        assert!(!resumable(Uuid::new_v4(), now));
        assert!(!resumable(Uuid::nil(), now));
    }

    #[test]
    fn ids_keep_their_time() {
        let at = DateTime::from_timestamp_millis(1_800_000_000_123).unwrap();
        assert_eq!(id_time(floor_id(at)), Some(at));
        assert!(floor_id(at) < id_at(1_800_000_000_123, 0x01));
    }
}
