//! Imports written set-based (ADR 0008): the mapping an import's rows were normalised with (validation
//! normalises again only when the mapping has changed since), the seats a committed import reserves, each row's own problems kept apart from
//! what comparing rows adds, the member each row's manager resolves to, and time-ordered (v7) ids for the
//! audit events that set-based statements write.

use crate::{APP_ROLE, WORKER_ROLE, run_sql};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            &format!(
                r#"
ALTER TABLE imports ADD COLUMN normalized_mapping jsonb,
    -- Seats held for the members a queued or processing import has yet to write (a seat is counted once:
    -- the reservation shrinks as the members are written).
    ADD COLUMN seats_reserved integer NOT NULL DEFAULT 0 CHECK (seats_reserved >= 0);
-- `row_errors`: what is wrong with the row on its own (set when it is normalised); `errors`: those and
-- what validation found comparing it with the file and the organization. `user_id`: the member the row
-- is (for a new one, the id it will get); `manager_id`: the member its manager is.
ALTER TABLE import_rows ADD COLUMN row_errors jsonb, ADD COLUMN manager_id uuid;

-- A version 7 UUID (RFC 9562): milliseconds since the epoch, then random bits.
CREATE FUNCTION app.uuid_v7() RETURNS uuid
    LANGUAGE sql VOLATILE PARALLEL SAFE
    AS $$
    SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) PLACING
        substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) FROM 1 FOR 6),
        52, 1), 53, 1), 'hex')::uuid
    $$;
REVOKE ALL ON FUNCTION app.uuid_v7() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.uuid_v7() TO {APP_ROLE}, {WORKER_ROLE};
"#
            ),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP FUNCTION app.uuid_v7(); \
             ALTER TABLE import_rows DROP COLUMN row_errors, DROP COLUMN manager_id; \
             ALTER TABLE imports DROP COLUMN normalized_mapping, DROP COLUMN seats_reserved;",
        )
        .await
    }
}
