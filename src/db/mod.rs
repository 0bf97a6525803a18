//! Database access below the tenant layer: the connection pools, the bootstrap that creates the database
//! and its roles in local and test, and migrations.

pub mod bootstrap;
pub mod embedded;
pub mod pool;
pub mod sql;

pub use bootstrap::{BootstrapOutcome, bootstrap, migrate};
pub use pool::{connect_app_pool, connect_owner};
