//! The shared Redis connection: one lazily connected, self-reconnecting multiplexed connection with short
//! timeouts, behind a breaker: after a failure, calls fail at once for a second instead of each waiting
//! for the timeout, then one call probes; so a Redis outage, stopped or frozen, costs a request next to
//! nothing, never a hang.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
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

/// Closed (calls go through), open (calls fail at once) until a moment counted in milliseconds since the
/// store was made, then half-open: one call probes Redis while the others still fail at once, so an
/// outage costs one request per second a timeout, never every request that arrives as the breaker
/// closes.
struct Breaker {
    epoch: Instant,
    /// 0 while closed.
    open_until_ms: AtomicU64,
    /// A probe is under way (half-open).
    probing: AtomicBool,
}

/// Trips the breaker if a probe is still under way when it is dropped (its caller went away); after
/// the probe's outcome was recorded, `probing` is already false and this changes nothing.
struct ProbeGuard<'a>(&'a Breaker);

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if self.0.probing.load(Ordering::Acquire) {
            self.0.trip();
        }
    }
}

/// What the breaker lets a call do.
#[derive(Debug, PartialEq, Eq)]
enum Admission {
    Call,
    Probe,
    FailFast,
}

/// How long calls fail fast after a failure.
const BREAKER_OPEN: Duration = Duration::from_secs(1);

impl Breaker {
    fn new() -> Self {
        Breaker {
            epoch: Instant::now(),
            open_until_ms: AtomicU64::new(0),
            probing: AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn admit(&self) -> Admission {
        let until = self.open_until_ms.load(Ordering::Acquire);
        if until == 0 {
            Admission::Call
        } else if self.now_ms() < until {
            Admission::FailFast
        } else if self
            .probing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            Admission::Probe
        } else {
            Admission::FailFast
        }
    }

    fn trip(&self) {
        let until = self.now_ms() + BREAKER_OPEN.as_millis() as u64;
        self.open_until_ms.store(until.max(1), Ordering::Release);
        self.probing.store(false, Ordering::Release);
    }

    fn reset(&self) {
        self.open_until_ms.store(0, Ordering::Release);
        self.probing.store(false, Ordering::Release);
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
            breaker: Arc::new(Breaker::new()),
        })
    }

    /// Runs one Redis operation within the timeout; `None` when Redis failed, timed out, or failed
    /// within the last second or is being probed by another call (then without trying). Callers fall
    /// back to what they do without Redis.
    pub async fn run<T, F, Fut>(&self, operation: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let admission = self.breaker.admit();
        if admission == Admission::FailFast {
            return None;
        }
        // A probe whose caller goes away before it ends counts as failed, so the next one can start.
        let _probe = (admission == Admission::Probe).then(|| ProbeGuard(&self.breaker));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_fails_fast_while_open_then_lets_one_probe_through() {
        // A breaker made ten seconds ago, so that "the open second has passed" can be written below.
        let breaker = Breaker {
            epoch: Instant::now() - Duration::from_secs(10),
            ..Breaker::new()
        };
        assert_eq!(breaker.admit(), Admission::Call);
        breaker.trip();
        assert_eq!(breaker.admit(), Admission::FailFast, "open");
        // The open second has passed.
        breaker.open_until_ms.store(1, Ordering::Release);
        assert_eq!(breaker.admit(), Admission::Probe);
        assert_eq!(breaker.admit(), Admission::FailFast, "a second probe");
        breaker.trip();
        assert_eq!(breaker.admit(), Admission::FailFast, "the probe failed");
        breaker.open_until_ms.store(1, Ordering::Release);
        assert_eq!(breaker.admit(), Admission::Probe);
        breaker.reset();
        assert_eq!(breaker.admit(), Admission::Call, "the probe succeeded");
        assert_eq!(breaker.admit(), Admission::Call);
    }
}
