//! sea-orm entities, generated from the migrated schema by `sea-orm-cli generate entity` (partitions and
//! `seaql_migrations` left out). Never edit `generated/` by hand: change the migration, then run
//! `.ci/entities --write`; `.ci/entities` (run by the test command) fails when they drift apart.
//! Behaviour belongs in the server crate, not here.

#[path = "generated/mod.rs"]
mod generated;

pub use generated::*;
