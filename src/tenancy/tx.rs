//! [`TenantTx`]: the only door to tenant tables.
//!
//! It owns one pooled connection as the app role for the length of one request and opens it with a single
//! message: `BEGIN; SET LOCAL app.tenant_id = '…'; SET LOCAL app.user_id = '…'` (plus, for an
//! authenticated request, the session check; see [`TenantTx::begin_with`]). The literals are formatted
//! only from parsed UUIDs and timestamps, never from client text. `SET LOCAL` lasts until the
//! transaction ends, so nothing survives into the connection's next use.
//!
//! It implements sea-orm's [`ConnectionTrait`], so entities and query builders run on it. Dropping it
//! without [`TenantTx::commit`] rolls back (off the request path) before the connection is reused.

use std::sync::atomic::{AtomicBool, Ordering};

use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr, Statement,
    sea_query::Values,
};
use sea_query_sqlx::SqlxValues;
use sqlx::{AssertSqlSafe, PgPool, Postgres, pool::PoolConnection, postgres::PgRow};
use tokio::sync::Mutex;

use crate::domain::{TenantId, UserId};

pub struct TenantTx {
    conn: Mutex<Option<PoolConnection<Postgres>>>,
    tenant_id: TenantId,
    user_id: Option<UserId>,
    /// Set when a statement failed: the server has aborted the transaction, so COMMIT would silently
    /// roll back. `commit` refuses instead.
    failed: AtomicBool,
}

/// Named advisory locks, one per purpose and tenant (`pg_advisory_xact_lock(purpose, hash(tenant))`).
#[derive(Debug, Clone, Copy)]
pub enum TenantLock {
    /// Seat accounting: inviting, reactivating and importing members.
    Seats = 1,
    /// Owner accounting: the last owner can be neither removed, demoted nor deactivated.
    Owners = 2,
    /// Directory role sync: SCIM group changes, one at a time, so concurrent ones cannot leave a member
    /// with a role worked out from groups they have since left.
    Directory = 3,
    /// The audit chain: one sealer (or retention run) at a time extends or trims a tenant's chain.
    AuditChain = 4,
    /// The usage roll-up: one worker at a time recomputes a tenant's days.
    UsageRollup = 5,
}

impl TenantTx {
    /// Opens a transaction for `tenant_id`, acting as `user_id` when there is one.
    pub async fn begin(
        pool: &PgPool,
        tenant_id: TenantId,
        user_id: Option<UserId>,
    ) -> Result<TenantTx, DbErr> {
        let (tx, _) = Self::open(pool, tenant_id, user_id, None).await?;
        Ok(tx)
    }

    /// Opens a transaction and, in the same message, runs `trailing` (statements whose literals come only
    /// from parsed values, never from client text), returning the rows they produce. An authenticated
    /// request checks its session this way (see `auth::session_check`) at no extra round trip.
    pub async fn begin_with(
        pool: &PgPool,
        tenant_id: TenantId,
        user_id: Option<UserId>,
        trailing: String,
    ) -> Result<(TenantTx, Vec<PgRow>), DbErr> {
        Self::open(pool, tenant_id, user_id, Some(trailing)).await
    }

    /// Sends the opening message on a pooled connection, on another if the server had closed that one
    /// while it sat idle ([`crate::db::pool::on_live_connection`]).
    async fn open(
        pool: &PgPool,
        tenant_id: TenantId,
        user_id: Option<UserId>,
        check: Option<String>,
    ) -> Result<(TenantTx, Vec<PgRow>), DbErr> {
        crate::db::pool::on_live_connection(pool, crate::error::connection_lost, || {
            Self::open_once(pool, tenant_id, user_id, check.clone())
        })
        .await
    }

    async fn open_once(
        pool: &PgPool,
        tenant_id: TenantId,
        user_id: Option<UserId>,
        check: Option<String>,
    ) -> Result<(TenantTx, Vec<PgRow>), DbErr> {
        let conn = pool.acquire().await.map_err(conn_err)?;
        // Owned by the TenantTx before BEGIN is sent: if this future is dropped mid-message (a sibling
        // extractor failed, the client went away), Drop still rolls back before the connection is reused.
        let tx = TenantTx {
            conn: Mutex::new(Some(conn)),
            tenant_id,
            user_id,
            failed: AtomicBool::new(false),
        };
        let user = user_id.map(|u| u.to_string()).unwrap_or_default();
        let mut sql = format!(
            "BEGIN; SET LOCAL app.tenant_id = '{tenant_id}'; SET LOCAL app.user_id = '{user}'"
        );
        if let Some(check) = check {
            sql.push_str("; ");
            sql.push_str(&check);
        }
        let rows = tx
            .with_conn(async |conn| {
                sqlx::raw_sql(AssertSqlSafe(sql))
                    .fetch_all(&mut **conn)
                    .await
            })
            .await?;
        Ok((tx, rows))
    }

    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }

    pub fn user_id(&self) -> Option<UserId> {
        self.user_id
    }

    /// Serialises this tenant's transactions that take the same lock, until this one ends.
    pub async fn lock(&self, lock: TenantLock) -> Result<(), DbErr> {
        self.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            [(lock as i32).into(), self.tenant_id.to_string().into()],
        ))
        .await
        .map(|_| ())
    }

    /// Takes `lock` if nobody holds it, until this transaction ends; `false` when somebody does.
    pub async fn try_lock(&self, lock: TenantLock) -> Result<bool, DbErr> {
        let row = self
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS taken",
                [(lock as i32).into(), self.tenant_id.to_string().into()],
            ))
            .await?;
        match row {
            Some(row) => row.try_get("", "taken"),
            None => Ok(false),
        }
    }

    /// Streams what `data` yields into `statement`, a `COPY … FROM STDIN` written in the code, and
    /// returns the rows copied. COPY FROM refuses tables under row-level security, so it fills a
    /// temporary table that a set-based statement then moves into tenant tables, where RLS applies.
    pub async fn copy_in(
        &self,
        statement: &'static str,
        mut data: tokio::sync::mpsc::Receiver<Vec<u8>>,
    ) -> Result<u64, DbErr> {
        self.with_conn(async |conn| {
            let mut copy = conn.copy_in_raw(statement).await?;
            while let Some(chunk) = data.recv().await {
                if let Err(error) = copy.send(chunk).await {
                    let _ = copy.abort(error.to_string()).await;
                    return Err(error);
                }
            }
            copy.finish().await
        })
        .await
    }

    /// Commits. Refuses when a statement of this transaction failed (the server would roll back).
    pub async fn commit(self) -> Result<(), DbErr> {
        let conn = self.conn.lock().await.take();
        let Some(mut conn) = conn else {
            return Err(closed());
        };
        if self.failed.load(Ordering::Acquire) {
            Self::rollback_conn(conn).await;
            return Err(DbErr::Custom(
                "a statement of this transaction failed; it was rolled back".into(),
            ));
        }
        sqlx::raw_sql("COMMIT")
            .execute(&mut *conn)
            .await
            .map(|_| ())
            .map_err(exec_err)
    }

    /// Rolls back now (dropping the transaction does the same, off the request path).
    pub async fn rollback(self) {
        if let Some(conn) = self.conn.lock().await.take() {
            Self::rollback_conn(conn).await;
        }
    }

    async fn rollback_conn(mut conn: PoolConnection<Postgres>) {
        if sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.is_err() {
            conn.close_on_drop();
        }
    }

    async fn with_conn<T>(
        &self,
        run: impl AsyncFnOnce(&mut PoolConnection<Postgres>) -> Result<T, sqlx::Error>,
    ) -> Result<T, DbErr> {
        let mut guard = self.conn.lock().await;
        let conn = guard.as_mut().ok_or_else(closed)?;
        let result = run(conn).await;
        if result.is_err() {
            self.failed.store(true, Ordering::Release);
        }
        result.map_err(exec_err)
    }
}

impl Drop for TenantTx {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.get_mut().take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(Self::rollback_conn(conn));
            }
            // No runtime to roll back on: close the connection instead of returning it.
            Err(_) => conn.close_on_drop(),
        }
    }
}

fn sqlx_query(stmt: &Statement) -> sqlx::query::Query<'_, Postgres, SqlxValues> {
    let values = stmt.values.clone().unwrap_or(Values(Vec::new()));
    sqlx::query_with(AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values))
}

#[async_trait::async_trait]
impl ConnectionTrait for TenantTx {
    fn get_database_backend(&self) -> DbBackend {
        DbBackend::Postgres
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.with_conn(async |conn| sqlx_query(&stmt).execute(&mut **conn).await)
            .await
            .map(Into::into)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let sql = sql.to_owned();
        self.with_conn(async |conn| sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut **conn).await)
            .await
            .map(Into::into)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.with_conn(async |conn| sqlx_query(&stmt).fetch_optional(&mut **conn).await)
            .await
            .map(|row| row.map(Into::into))
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.with_conn(async |conn| sqlx_query(&stmt).fetch_all(&mut **conn).await)
            .await
            .map(|rows| rows.into_iter().map(Into::into).collect())
    }
}

fn exec_err(error: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(error.into()))
}

fn conn_err(error: sqlx::Error) -> DbErr {
    DbErr::Conn(RuntimeErr::SqlxError(error.into()))
}

fn closed() -> DbErr {
    DbErr::Custom("the tenant transaction has already ended".into())
}
