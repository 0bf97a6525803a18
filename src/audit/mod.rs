//! The audit log's write path: every state change records an event in the same transaction as the
//! change, so both commit or neither does. Events are append-only in the database itself (a trigger
//! refuses UPDATE and DELETE; the app role may only INSERT and SELECT). Search, export and the hash
//! chain build on this table (docs/audit.md).

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
    fn as_str(self) -> &'static str {
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

/// The row an event is stored as.
fn row(tenant: TenantId, ctx: &AuditCtx, event: AuditEvent) -> entity::audit_events::ActiveModel {
    let (target_type, target_id, target_display) = match event.target {
        Some(t) => (Some(t.kind.to_owned()), Some(t.id), t.display),
        None => (None, None, None),
    };
    entity::audit_events::ActiveModel {
        tenant_id: Set(tenant.as_uuid()),
        occurred_at: Set(ctx.now.into()),
        id: Set(uuid::Uuid::now_v7()),
        actor_type: Set(ctx.actor.kind.as_str().to_owned()),
        actor_id: Set(ctx.actor.id),
        actor_display: Set(ctx.actor.display.clone()),
        action: Set(event.action.to_owned()),
        target_type: Set(target_type),
        target_id: Set(target_id),
        target_display: Set(target_display),
        request_id: Set(Some(ctx.request.request_id.clone()).filter(|id| !id.is_empty())),
        ip: Set(ctx.request.ip.map(|ip| ip.to_string())),
        user_agent: Set(ctx.request.user_agent.clone()),
        metadata: Set(event.metadata),
    }
}
