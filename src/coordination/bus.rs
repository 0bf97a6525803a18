//! The invalidation bus: one Redis pub/sub channel (`<prefix>:invalidate`) on which any instance
//! announces that a cached tenant or a tenant's policy changed. Each instance listens and tells its
//! caches. The subscription counts as live only while the instance hears its own heartbeat (published
//! every 250 ms on a channel of its own): a Redis that is stopped, frozen (SIGSTOP) or cut off
//! silently is noticed within a second, not only when a socket errors. While it is not live the caches
//! fall back to a 1-second lifetime, and whenever it becomes live again they are flushed, because
//! messages sent meanwhile were lost: authorization and tenant status never fail open for longer than
//! that.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use ::redis::AsyncCommands;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use super::RedisStore;
use crate::domain::TenantId;

/// Tells every listening instance about `message` (for processes without a bus, such as the CLI).
/// A failure is logged: the others' entries then expire by their own short lifetime.
pub async fn announce(store: &RedisStore, message: &Invalidation) {
    let Ok(payload) = serde_json::to_string(message) else {
        return;
    };
    let channel = store.global_key(CHANNEL);
    let published = store
        .run(|mut conn| async move { conn.publish::<_, _, i64>(channel, payload).await })
        .await;
    if published.is_none() {
        tracing::warn!(?message, "invalidation not published: redis unavailable");
    }
}

const CHANNEL: &str = "invalidate";

/// One change every instance must hear about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Invalidation {
    /// A tenant was created, suspended or changed: forget what is cached for this slug.
    Tenant { slug: String },
    /// A tenant's authorization policy changed: rebuild its enforcer.
    Policy { tenant_id: TenantId },
    /// An import moved on (a chunk committed, it finished): wake whoever streams its progress.
    ImportProgress {
        tenant_id: TenantId,
        import_id: uuid::Uuid,
    },
    /// Something happened in a workspace (its activity feed grew, or who is viewing changed): wake
    /// whoever streams it.
    WorkspaceActivity {
        tenant_id: TenantId,
        workspace_id: uuid::Uuid,
    },
}

/// A cache that listens to the bus.
pub trait InvalidationListener: Send + Sync {
    fn invalidate(&self, message: &Invalidation);
    /// Forget everything (the subscription was lost and came back).
    fn flush(&self);
}

/// How often an instance publishes its heartbeat.
const HEARTBEAT: Duration = Duration::from_millis(250);
/// Without a heartbeat heard for this long, the subscription is not live.
const STALE: Duration = Duration::from_secs(1);
/// Without a heartbeat heard for this long, the subscription is dropped and made again (a connection
/// that never errors, such as one to a frozen server or across a silent network cut, is abandoned).
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(5);

/// Whether the subscription is live: subscribed, and the instance's own heartbeat came back less than
/// [`STALE`] ago. Caches read it to pick their time-to-live. The default is not live.
#[derive(Clone)]
pub struct BusHealth(Arc<Liveness>);

struct Liveness {
    epoch: Instant,
    /// When the last heartbeat was heard, in milliseconds since `epoch` (at least 1); 0 when not
    /// subscribed.
    heard_ms: AtomicU64,
}

impl Default for BusHealth {
    fn default() -> Self {
        BusHealth(Arc::new(Liveness {
            epoch: Instant::now(),
            heard_ms: AtomicU64::new(0),
        }))
    }
}

impl BusHealth {
    pub fn is_up(&self) -> bool {
        self.silence().is_some_and(|silence| silence < STALE)
    }

    /// How long since the last heartbeat; `None` when not subscribed.
    fn silence(&self) -> Option<Duration> {
        let heard = self.0.heard_ms.load(Ordering::Acquire);
        (heard != 0).then(|| Duration::from_millis(self.now_ms().saturating_sub(heard)))
    }

    fn now_ms(&self) -> u64 {
        self.0.epoch.elapsed().as_millis() as u64
    }

    fn heard(&self) {
        self.0
            .heard_ms
            .store(self.now_ms().max(1), Ordering::Release);
    }

    fn down(&self) {
        self.0.heard_ms.store(0, Ordering::Release);
    }
}

pub struct InvalidationBus {
    store: RedisStore,
    channel: String,
    /// This instance's own heartbeat channel, `<prefix>:heartbeat:<random id>`.
    heartbeat: String,
    health: BusHealth,
    listeners: Vec<Arc<dyn InvalidationListener>>,
}

impl InvalidationBus {
    pub fn new(
        store: RedisStore,
        health: BusHealth,
        listeners: Vec<Arc<dyn InvalidationListener>>,
    ) -> Self {
        let channel = store.global_key(CHANNEL);
        let heartbeat = store.global_key(&format!("heartbeat:{}", uuid::Uuid::new_v4().simple()));
        InvalidationBus {
            store,
            channel,
            heartbeat,
            health,
            listeners,
        }
    }

    pub fn health(&self) -> &BusHealth {
        &self.health
    }

    /// Applies `message` to this instance's caches at once, then tells the others. A failed publish
    /// is logged: the other instances' entries then expire by their own (short) lifetime.
    pub async fn publish(&self, message: Invalidation) {
        self.deliver(&message);
        announce(&self.store, &message).await;
    }

    fn deliver(&self, message: &Invalidation) {
        for listener in &self.listeners {
            listener.invalidate(message);
        }
    }

    fn flush(&self) {
        for listener in &self.listeners {
            listener.flush();
        }
    }

    /// Subscribes and keeps the subscription alive, reconnecting with backoff, and publishes the
    /// heartbeat, until the task is dropped.
    pub fn spawn_listener(self: Arc<Self>) -> JoinHandle<()> {
        let beating = self.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            // The heartbeat lives and dies with the listener.
            let heart = tokio::spawn(async move {
                let mut every = tokio::time::interval(HEARTBEAT);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    every.tick().await;
                    let channel = beating.heartbeat.clone();
                    beating
                        .store
                        .run(|mut conn| async move { conn.publish::<_, _, i64>(channel, 1).await })
                        .await;
                }
            });
            let _heart = AbortOnDrop(heart);
            loop {
                match self.listen_once().await {
                    Ok(()) => tracing::warn!("invalidation subscription ended; reconnecting"),
                    Err(error) => tracing::debug!(%error, "invalidation subscription unavailable"),
                }
                if self.health.silence().is_some() {
                    // It had been subscribed: start the next attempts quickly.
                    backoff = Duration::from_millis(100);
                }
                self.health.down();
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        })
    }

    async fn listen_once(&self) -> ::redis::RedisResult<()> {
        let timeout = self.store.timeout() * 4;
        let timed_out = || ::redis::RedisError::from((::redis::ErrorKind::Io, "timed out"));
        let mut pubsub = tokio::time::timeout(timeout, self.store.client().get_async_pubsub())
            .await
            .map_err(|_| timed_out())??;
        tokio::time::timeout(
            timeout,
            pubsub.subscribe(&[self.channel.as_str(), self.heartbeat.as_str()]),
        )
        .await
        .map_err(|_| timed_out())??;
        tracing::info!(channel = %self.channel, "listening for invalidations");
        let mut messages = pubsub.on_message();
        let mut check = tokio::time::interval(HEARTBEAT);
        loop {
            let message = tokio::select! {
                message = messages.next() => message,
                _ = check.tick() => {
                    if self.health.silence().is_some_and(|silence| silence > RESUBSCRIBE_AFTER) {
                        return Err(::redis::RedisError::from((
                            ::redis::ErrorKind::Io,
                            "no heartbeat heard",
                        )));
                    }
                    continue;
                }
            };
            let Some(message) = message else {
                return Ok(());
            };
            if message.get_channel_name() == self.heartbeat {
                self.heard();
                continue;
            }
            let payload: String = match message.get_payload() {
                Ok(payload) => payload,
                Err(error) => {
                    tracing::warn!(%error, "unreadable invalidation");
                    continue;
                }
            };
            match serde_json::from_str::<Invalidation>(&payload) {
                Ok(invalidation) => self.deliver(&invalidation),
                // An unknown message may come from a newer instance: be safe, forget everything.
                Err(_) => self.flush(),
            }
        }
    }

    /// Our heartbeat came back. If the subscription was not live, whatever was published meanwhile
    /// was lost: start from empty caches (before the long lifetime applies again).
    fn heard(&self) {
        if !self.health.is_up() {
            self.flush();
            tracing::info!(channel = %self.channel, "invalidations live");
        }
        self.health.heard();
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
