//! The audit log's write path: every state change records an event in the same transaction as the
//! change, so both commit or neither does. Events are append-only in the database itself (a trigger
//! refuses UPDATE and DELETE; the app role may only INSERT and SELECT). Around the writer: search and
//! export (`query`, `routes`), the hash chain (`chain`, `sealer`, `signing`, `verify`; ADR 0009) and
//! retention (`retention`). docs/audit.md describes the log as compliance staff use it.

pub mod chain;
pub mod query;
pub mod retention;
pub mod routes;
pub mod sealer;
pub mod signing;
pub mod stream;
pub mod verify;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use serde_json::Value;

use crate::{
    domain::{TenantId, UserId},
    http::RequestContext,
    tenancy::TenantTx,
};

/// Who acted.
#[derive(Debug, Clone)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<uuid::Uuid>,
    pub display: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    User,
    ApiKey,
    /// An organization's SCIM token: its directory (Okta, Entra ID...) provisioning members.
    ScimToken,
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::ApiKey => "api_key",
            ActorKind::ScimToken => "scim_token",
            ActorKind::System => "system",
        }
    }
}

impl Actor {
    pub fn user(id: UserId, display: &str) -> Actor {
        Actor {
            kind: ActorKind::User,
            id: Some(id.as_uuid()),
            display: Some(display.to_owned()),
        }
    }

    pub fn api_key(id: uuid::Uuid, name: &str) -> Actor {
        Actor {
            kind: ActorKind::ApiKey,
            id: Some(id),
            display: Some(name.to_owned()),
        }
    }

    /// The organization's SCIM token (its directory provisioning members).
    pub fn scim_token(id: uuid::Uuid, display: &str) -> Actor {
        Actor {
            kind: ActorKind::ScimToken,
            id: Some(id),
            display: Some(display.to_owned()),
        }
    }

    /// A user not (yet) known to exist, e.g. a failed sign-in for an unknown email.
    pub fn claimed(display: &str) -> Actor {
        Actor {
            kind: ActorKind::User,
            id: None,
            display: Some(display.chars().take(254).collect()),
        }
    }

    pub fn system(display: &str) -> Actor {
        Actor {
            kind: ActorKind::System,
            id: None,
            display: Some(display.to_owned()),
        }
    }
}

/// Everything about a request that an event records besides the change itself.
#[derive(Debug, Clone)]
pub struct AuditCtx {
    pub actor: Actor,
    pub request: RequestContext,
    pub now: DateTime<Utc>,
}

impl AuditCtx {
    /// A request whose caller is not known yet (sign-in, invitation acceptance).
    pub fn anonymous(request: RequestContext, now: DateTime<Utc>) -> AuditCtx {
        AuditCtx {
            actor: Actor::system("anonymous"),
            request,
            now,
        }
    }

    /// The same request, now acting as `actor` (e.g. after a sign-in resolves who it is).
    pub fn with_actor(&self, actor: Actor) -> AuditCtx {
        AuditCtx {
            actor,
            ..self.clone()
        }
    }
}

/// What changed.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// `resource.verb`, from the catalogue in docs/audit.md.
    pub action: &'static str,
    pub target: Option<Target>,
    /// Details: `before`/`after` for changes. Never a secret.
    pub metadata: Value,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub kind: &'static str,
    pub id: String,
    pub display: Option<String>,
}

impl AuditEvent {
    pub fn new(action: &'static str) -> AuditEvent {
        AuditEvent {
            action,
            target: None,
            metadata: Value::Object(Default::default()),
        }
    }

    pub fn target(
        mut self,
        kind: &'static str,
        id: impl ToString,
        display: Option<&str>,
    ) -> AuditEvent {
        self.target = Some(Target {
            kind,
            id: id.to_string(),
            display: display.map(str::to_owned),
        });
        self
    }

    pub fn metadata(mut self, metadata: Value) -> AuditEvent {
        self.metadata = metadata;
        self
    }
}

/// Records `event` in the request's transaction.
pub async fn record(tx: &TenantTx, ctx: &AuditCtx, event: AuditEvent) -> Result<(), DbErr> {
    record_in(tx, tx.tenant_id(), ctx, event).await
}

/// Records many events of one actor in one statement (a chunk of an import).
pub async fn record_many(
    tx: &TenantTx,
    ctx: &AuditCtx,
    events: Vec<AuditEvent>,
) -> Result<(), DbErr> {
    if events.is_empty() {
        return Ok(());
    }
    let rows = events
        .into_iter()
        .map(|event| row(tx.tenant_id(), ctx, event));
    entity::audit_events::Entity::insert_many(rows)
        .exec_without_returning(tx)
        .await
        .map(|_| ())
}

/// Records one `action` event on a `target_type` for each row of `events`, the last of the common table
/// expressions in `with` (columns `target_id`, `target_display`, `metadata`), in the same statement as
/// the change those expressions make: a set-based change (a chunk of an import) writes its rows and their
/// events at once. `values` are `with`'s parameters ($1…); the events' own are numbered after them.
/// Returns how many events were recorded.
pub async fn record_each(
    tx: &TenantTx,
    ctx: &AuditCtx,
    action: &'static str,
    target_type: &'static str,
    with: &str,
    mut values: Vec<sea_orm::Value>,
) -> Result<u64, DbErr> {
    let n = values.len();
    let common = Common::of(ctx);
    let sql = format!(
        "WITH {with} \
         INSERT INTO audit_events (tenant_id, occurred_at, id, actor_type, actor_id, actor_display, action, \
           target_type, target_id, target_display, request_id, ip, user_agent, metadata) \
         SELECT ${t}::uuid, ${at}::timestamptz, app.uuid_v7(), ${a}::text, ${a_id}::uuid, ${a_display}::text, \
           ${action}::text, ${target}::text, e.target_id, e.target_display, ${request}::text, ${ip}::text, \
           ${agent}::text, e.metadata \
         FROM events e",
        t = n + 1,
        at = n + 2,
        a = n + 3,
        a_id = n + 4,
        a_display = n + 5,
        action = n + 6,
        target = n + 7,
        request = n + 8,
        ip = n + 9,
        agent = n + 10,
    );
    values.extend([
        tx.tenant_id().as_uuid().into(),
        ctx.now.into(),
        common.actor_type.into(),
        common.actor_id.into(),
        common.actor_display.into(),
        action.into(),
        target_type.into(),
        common.request_id.into(),
        common.ip.into(),
        common.user_agent.into(),
    ]);
    tx.execute_raw(sea_orm::Statement::from_sql_and_values(
        sea_orm::DbBackend::Postgres,
        sql,
        values,
    ))
    .await
    .map(|r| r.rows_affected())
}

/// Records `event` for `tenant` on any connection (the owner's, when provisioning a tenant).
pub async fn record_in(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    ctx: &AuditCtx,
    event: AuditEvent,
) -> Result<(), DbErr> {
    entity::audit_events::Entity::insert(row(tenant, ctx, event))
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// What every event of a request records besides the change itself: who acted, and from where.
struct Common {
    actor_type: &'static str,
    actor_id: Option<uuid::Uuid>,
    actor_display: Option<String>,
    request_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl Common {
    fn of(ctx: &AuditCtx) -> Common {
        Common {
            actor_type: ctx.actor.kind.as_str(),
            actor_id: ctx.actor.id,
            actor_display: ctx.actor.display.clone(),
            request_id: Some(ctx.request.request_id.clone()).filter(|id| !id.is_empty()),
            ip: ctx.request.ip.map(|ip| ip.to_string()),
            user_agent: ctx.request.user_agent.clone(),
        }
    }
}

/// The row an event is stored as.
fn row(tenant: TenantId, ctx: &AuditCtx, event: AuditEvent) -> entity::audit_events::ActiveModel {
    let (target_type, target_id, target_display) = match event.target {
        Some(t) => (Some(t.kind.to_owned()), Some(t.id), t.display),
        None => (None, None, None),
    };
    let common = Common::of(ctx);
    entity::audit_events::ActiveModel {
        tenant_id: Set(tenant.as_uuid()),
        occurred_at: Set(ctx.now.into()),
        id: Set(uuid::Uuid::now_v7()),
        actor_type: Set(common.actor_type.to_owned()),
        actor_id: Set(common.actor_id),
        actor_display: Set(common.actor_display),
        action: Set(event.action.to_owned()),
        target_type: Set(target_type),
        target_id: Set(target_id),
        target_display: Set(target_display),
        request_id: Set(common.request_id),
        ip: Set(common.ip),
        user_agent: Set(common.user_agent),
        metadata: Set(event.metadata),
    }
}
