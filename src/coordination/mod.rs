//! What instances share through Redis: the connection ([`store`]) and the invalidation bus ([`bus`])
//! that tells every instance to drop a cached tenant or a tenant's authorization policy. Redis is
//! optional: when it is down the API keeps serving, caches live at most `tenancy.degraded_ttl_ms`, and
//! `/readyz` says so.

pub mod bus;
pub mod one_time;
pub mod store;

pub use bus::{BusHealth, Invalidation, InvalidationBus, InvalidationListener};
pub use one_time::OneTimeStore;
pub use store::RedisStore;
