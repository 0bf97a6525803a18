//! Fixed-window rate limits. Counters live in Redis (`INCR` + `EXPIRE` in one round trip) so every
//! instance shares them; when Redis does not answer, the same counting happens in-process, so a Redis
//! outage weakens the limit to per-instance but never lifts it.

use std::{collections::HashMap, sync::Mutex};

use ::redis::AsyncCommands;
use chrono::{DateTime, Utc};

use crate::{config::AuthSettings, coordination::RedisStore, error::ApiError};

/// At most `max` events per fixed window of `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window_secs: u64,
}

impl Limit {
    /// Sign-in attempts per client IP.
    pub fn login_per_ip(auth: &AuthSettings) -> Limit {
        Limit {
            max: auth.login_ip_limit,
            window_secs: auth.login_ip_window_secs,
        }
    }

    /// Password-reset requests per account, and per IP.
    pub fn password_resets(auth: &AuthSettings) -> Limit {
        Limit {
            max: auth.password_reset_limit,
            window_secs: auth.password_reset_window_secs,
        }
    }

    /// Failed sign-ins (or wrong current passwords) per account.
    pub fn login_failures_per_account(auth: &AuthSettings) -> Limit {
        Limit {
            max: auth.login_account_limit,
            window_secs: auth.login_account_window_secs,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    /// Events counted in this window so far.
    pub count: u32,
    /// Seconds until the window resets.
    pub retry_after_secs: u64,
}

impl RateDecision {
    /// 429 with `Retry-After` when the limit is reached.
    pub fn or_too_many(self) -> Result<(), ApiError> {
        if self.allowed {
            Ok(())
        } else {
            Err(ApiError::TooManyRequests {
                retry_after_secs: self.retry_after_secs,
            })
        }
    }
}

pub struct RateLimiter {
    store: RedisStore,
    /// window key -> (count, end of the window in Unix seconds)
    local: Mutex<HashMap<String, (u32, u64)>>,
}

/// Most in-process counters kept; past it, counters of finished windows are dropped.
const LOCAL_CAPACITY: usize = 100_000;

impl RateLimiter {
    pub fn new(store: RedisStore) -> Self {
        RateLimiter {
            store,
            local: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one event for `key` and answers whether the window's count is within `limit`.
    pub async fn hit(&self, key: &str, limit: Limit, now: DateTime<Utc>) -> RateDecision {
        let (window_key, retry_after_secs) = window(key, limit.window_secs, now);
        let count = match self.redis_incr(&window_key, limit.window_secs).await {
            Some(count) => count,
            None => self.local_update(&window_key, now, retry_after_secs, |c| c.saturating_add(1)),
        };
        RateDecision {
            allowed: count <= limit.max,
            count,
            retry_after_secs,
        }
    }

    /// Whether `key` is still under `limit` in this window, without counting an event.
    pub async fn check(&self, key: &str, limit: Limit, now: DateTime<Utc>) -> RateDecision {
        let (window_key, retry_after_secs) = window(key, limit.window_secs, now);
        let count = match self.redis_get(&window_key).await {
            Some(count) => count,
            None => self.local_update(&window_key, now, retry_after_secs, |c| c),
        };
        RateDecision {
            allowed: count < limit.max,
            count,
            retry_after_secs,
        }
    }

    /// Forgets this window's count for `key` (a successful login clears its failures).
    pub async fn reset(&self, key: &str, limit: Limit, now: DateTime<Utc>) {
        let (window_key, _) = window(key, limit.window_secs, now);
        let redis_key = window_key.clone();
        self.store
            .run(|mut conn| async move { conn.del::<_, ()>(redis_key).await })
            .await;
        if let Ok(mut local) = self.local.lock() {
            local.remove(&window_key);
        }
    }

    async fn redis_incr(&self, key: &str, window_secs: u64) -> Option<u32> {
        let mut pipe = ::redis::pipe();
        pipe.atomic()
            .incr(key, 1u32)
            .expire(key, window_secs as i64)
            .ignore();
        self.store
            .run(|mut conn| async move { pipe.query_async::<(u32,)>(&mut conn).await })
            .await
            .map(|(count,)| count)
    }

    async fn redis_get(&self, key: &str) -> Option<u32> {
        let key = key.to_owned();
        self.store
            .run(|mut conn| async move { conn.get::<_, Option<u32>>(key).await })
            .await
            .map(|count| count.unwrap_or(0))
    }

    /// Counts in-process. Full of counters: those of finished windows go first; if every one is still
    /// live (a flood of distinct keys), a new key is refused rather than a live count forgotten.
    fn local_update(
        &self,
        window_key: &str,
        now: DateTime<Utc>,
        window_left_secs: u64,
        update: impl Fn(u32) -> u32,
    ) -> u32 {
        let Ok(mut local) = self.local.lock() else {
            // A poisoned lock: refuse rather than let everything through.
            return u32::MAX;
        };
        let now = now.timestamp().max(0) as u64;
        if local.len() >= LOCAL_CAPACITY && !local.contains_key(window_key) {
            local.retain(|_, (_, ends)| *ends > now);
            if local.len() >= LOCAL_CAPACITY {
                return u32::MAX;
            }
        }
        let entry = local
            .entry(window_key.to_owned())
            .or_insert((0, now + window_left_secs));
        entry.0 = update(entry.0);
        entry.0
    }
}

/// The key of the fixed window `now` falls in, and the seconds left in it.
fn window(key: &str, window_secs: u64, now: DateTime<Utc>) -> (String, u64) {
    let window_secs = window_secs.max(1);
    let now = now.timestamp().max(0) as u64;
    let index = now / window_secs;
    let retry_after = (index + 1) * window_secs - now;
    (format!("{key}:{index}"), retry_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_fixed_and_say_when_they_end() {
        let at = |ts| DateTime::from_timestamp(ts, 0).unwrap();
        let (a, retry) = window("k", 60, at(120));
        assert_eq!((a.as_str(), retry), ("k:2", 60));
        let (b, retry) = window("k", 60, at(179));
        assert_eq!((b.as_str(), retry), ("k:2", 1));
        assert_eq!(window("k", 60, at(180)).0, "k:3");
    }
}
