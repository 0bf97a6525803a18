//! The shared Redis connection: one lazily connected, self-reconnecting multiplexed connection with short
//! timeouts, behind a breaker: after a failure, calls fail at once for a second instead of each waiting
//! for the timeout, so a Redis outage costs a request next to nothing, never a hang.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use ::redis::{
    AsyncCommands, Client, RedisResult,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use secrecy::ExposeSecret;

use crate::{config::RedisSettings, domain::TenantId};

#[derive(Clone)]
pub struct RedisStore {
    client: Client,
    manager: ConnectionManager,
    prefix: String,
    timeout: Duration,
    breaker: Arc<Breaker>,
}

/// Open (failing fast) until a moment, counted in milliseconds since the store was made.
struct Breaker {
    epoch: Instant,
    open_until_ms: AtomicU64,
}

/// How long calls fail fast after a failure.
const BREAKER_OPEN: Duration = Duration::from_secs(1);

impl Breaker {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn is_open(&self) -> bool {
        self.now_ms() < self.open_until_ms.load(Ordering::Acquire)
    }

    fn trip(&self) {
        let until = self.now_ms() + BREAKER_OPEN.as_millis() as u64;
        self.open_until_ms.store(until, Ordering::Release);
    }

    fn reset(&self) {
        self.open_until_ms.store(0, Ordering::Release);
    }
}

impl RedisStore {
    /// Never fails because Redis is down: the connection is made on first use.
    pub fn new(settings: &RedisSettings) -> RedisResult<Self> {
        let client = Client::open(settings.url.expose_secret())?;
        let timeout = Duration::from_millis(settings.timeout_ms.max(1));
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        Ok(RedisStore {
            client,
            manager,
            prefix: settings.key_prefix.clone(),
            timeout,
            breaker: Arc::new(Breaker {
                epoch: Instant::now(),
                open_until_ms: AtomicU64::new(0),
            }),
        })
    }

    /// Runs one Redis operation within the timeout; `None` when Redis failed, timed out, or failed
    /// within the last second (then without trying). Callers fall back to what they do without Redis.
    pub async fn run<T, F, Fut>(&self, operation: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        if self.breaker.is_open() {
            return None;
        }
        match tokio::time::timeout(self.timeout, operation(self.conn())).await {
            Ok(Ok(value)) => {
                self.breaker.reset();
                Some(value)
            }
            Ok(Err(error)) => {
                tracing::debug!(%error, "redis call failed");
                self.breaker.trip();
                None
            }
            Err(_) => {
                tracing::debug!("redis call timed out");
                self.breaker.trip();
                None
            }
        }
    }

    /// A cloned handle to the multiplexed connection (cheap). Prefer [`RedisStore::run`].
    fn conn(&self) -> ConnectionManager {
        self.manager.clone()
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A tenant's key: `<prefix>:{<tenant_id>}:<rest>`; the hash tag keeps a tenant on one cluster slot.
    pub fn tenant_key(&self, tenant: TenantId, rest: &str) -> String {
        format!("{}:{{{tenant}}}:{rest}", self.prefix)
    }

    /// A key or channel that belongs to no tenant: `<prefix>:<rest>`.
    pub fn global_key(&self, rest: &str) -> String {
        format!("{}:{rest}", self.prefix)
    }

    /// Whether Redis answers a PING within the timeout.
    pub async fn ping(&self) -> bool {
        self.run(|mut conn| async move { conn.ping::<String>().await })
            .await
            .is_some()
    }
}
