//! Single-use values with a lifetime (an SSO sign-in's state, nonce and PKCE verifier between the
//! redirect to the provider and the callback): kept in Redis so any instance can take them, and taken
//! with `GETDEL`, so of two callbacks with the same state exactly one gets it. With Redis down they are
//! kept in this process (a callback that reaches another instance then fails and the user starts over).

use std::time::Duration;

use ::redis::AsyncCommands;

use super::RedisStore;
use crate::{cache::TtlCache, domain::TenantId};

pub struct OneTimeStore {
    redis: RedisStore,
    local: TtlCache<String, String>,
    ttl: Duration,
}

impl OneTimeStore {
    pub fn new(redis: RedisStore, ttl: Duration, capacity: usize) -> Self {
        OneTimeStore {
            redis,
            local: TtlCache::new(capacity),
            ttl,
        }
    }

    fn key(&self, tenant: TenantId, purpose: &str, id: &str) -> String {
        self.redis.tenant_key(tenant, &format!("{purpose}:{id}"))
    }

    /// Keeps `value` under `id` for the store's lifetime.
    pub async fn put(&self, tenant: TenantId, purpose: &str, id: &str, value: String) {
        let key = self.key(tenant, purpose, id);
        let secs = self.ttl.as_secs().max(1);
        let (redis_key, redis_value) = (key.clone(), value.clone());
        let stored =
            self.redis
                .run(|mut conn| async move {
                    conn.set_ex::<_, _, ()>(redis_key, redis_value, secs).await
                })
                .await;
        if stored.is_none() {
            self.local.insert(key, value);
        }
    }

    /// The value under `id`, removed: a second take gets nothing.
    pub async fn take(&self, tenant: TenantId, purpose: &str, id: &str) -> Option<String> {
        let key = self.key(tenant, purpose, id);
        let redis_key = key.clone();
        let from_redis = self
            .redis
            .run(|mut conn| async move { conn.get_del::<_, Option<String>>(redis_key).await })
            .await
            .flatten();
        from_redis.or_else(|| self.local.take(&key, self.ttl))
    }
}
