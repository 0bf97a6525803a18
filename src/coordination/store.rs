//! The shared Redis connection: one lazily connected, self-reconnecting multiplexed connection with short
//! timeouts, so a Redis outage costs a request a few milliseconds, never a hang.

use std::time::Duration;

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
        })
    }

    /// A cloned handle to the multiplexed connection (cheap).
    pub fn conn(&self) -> ConnectionManager {
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
        let mut conn = self.conn();
        let ping = async move { conn.ping::<String>().await };
        matches!(tokio::time::timeout(self.timeout, ping).await, Ok(Ok(_)))
    }
}
