//! The invalidation bus: one Redis pub/sub channel (`<prefix>:invalidate`) on which any instance
//! announces that a cached tenant or a tenant's policy changed. Each instance listens and tells its
//! caches. While the subscription is down the caches fall back to a 1-second lifetime, and on every
//! (re)subscription they are flushed, because messages sent meanwhile were lost: authorization and
//! tenant status never fail open for longer than that.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
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
}

/// A cache that listens to the bus.
pub trait InvalidationListener: Send + Sync {
    fn invalidate(&self, message: &Invalidation);
    /// Forget everything (the subscription was lost and came back).
    fn flush(&self);
}

/// Whether the subscription is live; caches read it to pick their time-to-live.
#[derive(Clone, Default)]
pub struct BusHealth(Arc<AtomicBool>);

impl BusHealth {
    pub fn is_up(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self, up: bool) {
        self.0.store(up, Ordering::Release);
    }
}

pub struct InvalidationBus {
    store: RedisStore,
    channel: String,
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
        InvalidationBus {
            store,
            channel,
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

    /// Subscribes and keeps the subscription alive, reconnecting with backoff, until the task is dropped.
    pub fn spawn_listener(self: Arc<Self>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                match self.listen_once().await {
                    Ok(()) => tracing::warn!("invalidation subscription ended; reconnecting"),
                    Err(error) => tracing::debug!(%error, "invalidation subscription unavailable"),
                }
                self.health.set(false);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        })
    }

    async fn listen_once(&self) -> ::redis::RedisResult<()> {
        let connect = self.store.client().get_async_pubsub();
        let mut pubsub = tokio::time::timeout(self.store.timeout() * 4, connect)
            .await
            .map_err(|_| {
                ::redis::RedisError::from((::redis::ErrorKind::Io, "connect timed out"))
            })??;
        pubsub.subscribe(&self.channel).await?;
        // Whatever was published while we were not listening is lost: start from empty caches.
        self.flush();
        self.health.set(true);
        tracing::info!(channel = %self.channel, "listening for invalidations");
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
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
        Ok(())
    }
}
