//! Plans and limits: a feature the plan lacks hides its routes (404), the API rate limit is the tenant's
//! or its plan's and says so when it refuses, and the seat limit holds on every path that adds a member
//! (invitation, reactivation, import, SCIM, just-in-time SSO) with an error that names it.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use trellis::{
    coordination::{
        InvalidationListener,
        bus::{self, Invalidation},
    },
    domain::TenantSlug,
    tenancy::{
        plan::Plan,
        provision::{self, TenantChange},
    },
};

use crate::{
    helpers::{TestApp, TestTenant, expect_problem, problem, spawn_app},
    op::{Browser, OpUser, TestOp},
};

/// Changes what the platform sets for `tenant`, as `trellis tenant update` does.
async fn update(app: &TestApp, tenant: &TestTenant, change: TenantChange) {
    let owner = sea_orm::Database::connect(secrecy::ExposeSecret::expose_secret(
        &app.settings.database.owner_url().unwrap(),
    ))
    .await
    .unwrap();
    provision::update_tenant(
        &owner,
        trellis::clock::Clock::now(&app.clock),
        &TenantSlug::parse(&tenant.slug).unwrap(),
        &change,
        "test",
    )
    .await
    .unwrap();
    owner.close().await.unwrap();
    bus::announce(
        &app.state.redis,
        &Invalidation::Tenant {
            slug: tenant.slug.clone(),
        },
    )
    .await;
    // Every instance forgets the tenant within the cache's lifetime; this one at once.
    app.state.tenants.invalidate(&Invalidation::Tenant {
        slug: tenant.slug.clone(),
    });
}

async fn code_of(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body = problem(response).await;
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn features_the_plan_lacks_hide_their_routes() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let scim_token = crate::scim::scim_token(&app, &acme).await;
    let sso = "/api/v1/sso/oidc";
    let stream = "/api/v1/audit-stream";
    // Enterprise has everything: the routes answer (nothing configured yet).
    assert_eq!(
        code_of(app.get("acme", sso, &owner.access).await).await,
        (StatusCode::NOT_FOUND, "sso_not_configured".into())
    );
    assert_eq!(
        code_of(app.get("acme", stream, &owner.access).await).await,
        (StatusCode::NOT_FOUND, "audit_stream_not_configured".into())
    );
    let (status, _) =
        crate::scim::scim(&app, "acme", &scim_token, Method::GET, "/Users", None).await;
    assert_eq!(status, StatusCode::OK);

    // Pro: single sign-on, but no SCIM and no log stream.
    update(
        &app,
        &acme,
        TenantChange {
            plan: Some(Plan::Pro),
            ..TenantChange::default()
        },
    )
    .await;
    assert_eq!(
        code_of(app.get("acme", sso, &owner.access).await).await,
        (StatusCode::NOT_FOUND, "sso_not_configured".into())
    );
    for (method, path) in [
        (Method::GET, stream),
        (Method::DELETE, stream),
        (Method::POST, "/api/v1/audit-stream/test"),
        (Method::GET, "/api/v1/sso/scim"),
        (Method::POST, "/api/v1/sso/scim/token"),
    ] {
        let response = app
            .request(method.clone(), "acme", path)
            .bearer_auth(&owner.access)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            code_of(response).await,
            (StatusCode::NOT_FOUND, "route_not_found".into()),
            "{method} {path}"
        );
    }
    let put = app
        .send_json(
            Method::PUT,
            "acme",
            stream,
            &owner.access,
            &json!({ "url": "https://siem.example/in", "secret": "0123456789abcdef" }),
        )
        .await;
    assert_eq!(put.status(), StatusCode::NOT_FOUND, "nothing is stored");
    let (status, _) =
        crate::scim::scim(&app, "acme", &scim_token, Method::GET, "/Users", None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the directory's token opens nothing"
    );

    // Free: no single sign-on either, in the API and in the browser.
    update(
        &app,
        &acme,
        TenantChange {
            plan: Some(Plan::Free),
            ..TenantChange::default()
        },
    )
    .await;
    assert_eq!(
        code_of(app.get("acme", sso, &owner.access).await).await,
        (StatusCode::NOT_FOUND, "route_not_found".into())
    );
    assert_eq!(
        code_of(
            app.get("acme", "/api/v1/sso/role-mappings", &owner.access)
                .await
        )
        .await,
        (StatusCode::NOT_FOUND, "route_not_found".into()),
        "directory groups need SSO or SCIM"
    );
    let (status, _) =
        crate::scim::scim(&app, "acme", &scim_token, Method::DELETE, "/Users", None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "not even a 405 tells the endpoint exists"
    );
    let start = app
        .request(Method::GET, "acme", "/auth/sso/start")
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::NOT_FOUND);

    // The organization sees its plan; the change is in its audit log.
    let overview: Value = app
        .get("acme", "/api/v1/analytics/overview", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(overview["plan"]["plan"], "free", "{overview}");
    assert_eq!(
        overview["plan"]["features"],
        json!(["interview", "networking"])
    );
    let pool = app.owner_pool().await;
    let changes: Vec<Value> = sqlx::query_scalar(
        "SELECT metadata FROM audit_events WHERE tenant_id = $1 AND action = 'tenant.updated' \
         ORDER BY occurred_at, id",
    )
    .bind(acme.id.as_uuid())
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0]["before"]["plan"], "enterprise");
    assert_eq!(changes[1]["after"]["plan"], "free");
    assert_eq!(
        changes[1]["after"]["seat_limit"], 100,
        "the seats stay unless changed"
    );
}

#[tokio::test]
async fn the_api_rate_limit_is_the_organizations_or_its_plans_and_names_itself() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    let owner = app.login_owner(&acme).await;
    let globex_owner = app.login_owner(&globex).await;
    let me = app.get("acme", "/api/v1/me", &owner.access).await;
    assert_eq!(
        me.headers()["ratelimit-limit"],
        "30000",
        "enterprise's limit"
    );

    update(
        &app,
        &acme,
        TenantChange {
            api_rate_limit: Some(Some(5)),
            ..TenantChange::default()
        },
    )
    .await;
    // A fresh minute, so the requests above do not count.
    app.clock.advance(chrono::Duration::seconds(60));
    let mut remaining = Vec::new();
    for _ in 0..5 {
        let response = app.get("acme", "/api/v1/me", &owner.access).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["ratelimit-limit"], "5");
        remaining.push(
            response.headers()["ratelimit-remaining"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(remaining, ["4", "3", "2", "1", "0"]);
    let refused = app.get("acme", "/api/v1/me", &owner.access).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let body = problem(refused).await;
    assert_eq!(body["code"], "api_rate_limit_exceeded");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("5 API requests per minute"),
        "{body}"
    );
    // Nobody without acme's credentials uses up its members' minute: they count per client.
    app.clock.advance(chrono::Duration::seconds(60));
    let anonymous = || async {
        app.request(Method::GET, "acme", "/api/v1/members")
            .send()
            .await
            .unwrap()
            .status()
    };
    for _ in 0..5 {
        assert_eq!(anonymous().await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(anonymous().await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        app.get("acme", "/api/v1/me", &owner.access).await.status(),
        StatusCode::OK,
        "the members' bucket is untouched by anonymous requests"
    );
    // Another organization is not held back by acme's limit.
    let other = app.get("globex", "/api/v1/me", &globex_owner.access).await;
    assert_eq!(other.status(), StatusCode::OK);
    // The next minute starts afresh; back to the plan's limit when the override goes.
    app.clock.advance(chrono::Duration::seconds(60));
    assert_eq!(
        app.get("acme", "/api/v1/me", &owner.access).await.status(),
        StatusCode::OK
    );
    update(
        &app,
        &acme,
        TenantChange {
            api_rate_limit: Some(None),
            plan: Some(Plan::Pro),
            ..TenantChange::default()
        },
    )
    .await;
    let pro = app.get("acme", "/api/v1/me", &owner.access).await;
    assert_eq!(pro.headers()["ratelimit-limit"], "3000");
}

#[tokio::test]
async fn the_seat_limit_holds_on_every_path_that_adds_a_member() {
    let app = spawn_app().await;
    let op = TestOp::start().await;
    // The owner and one more.
    let acme = app.create_tenant_with_seats("acme", 2).await;
    let owner = app.login_owner(&acme).await;
    crate::sso::connect(
        &app,
        &acme,
        &owner,
        &op,
        json!({ "jit_provisioning": true }),
    )
    .await;
    let scim_token = crate::scim::scim_token(&app, &acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let ada_id = ada.id.to_string();
    let full = |code: String, detail: &str, path: &str| {
        assert_eq!(code, "seat_limit_reached", "{path}");
        assert!(detail.contains("2 seats"), "{path}: {detail}");
    };

    // An invitation.
    let invited = app
        .post(
            "acme",
            "/api/v1/invitations",
            &owner.access,
            &json!({ "email": "bob@acme.example", "role": "member" }),
        )
        .await;
    assert_eq!(invited.status(), StatusCode::CONFLICT);
    let body = problem(invited).await;
    full(
        body["code"].as_str().unwrap().into(),
        body["detail"].as_str().unwrap(),
        "invitation",
    );

    // An import.
    let upload: Value = crate::imports::upload(
        &app,
        "acme",
        &owner,
        "people.csv",
        b"email,name\ncarol@acme.example,Carol\n",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let import_id = upload["import"]["id"].as_str().unwrap().to_owned();
    let committed = app
        .post(
            "acme",
            &format!("/api/v1/imports/{import_id}/commit"),
            &owner.access,
            &json!({ "mode": "upsert" }),
        )
        .await;
    assert_eq!(committed.status(), StatusCode::CONFLICT);
    let body = problem(committed).await;
    assert_eq!(body["code"], "seat_limit_reached", "{body}");

    // SCIM.
    let (status, error) = crate::scim::scim(
        &app,
        "acme",
        &scim_token,
        Method::POST,
        "/Users",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "dan@acme.example",
            "emails": [{ "value": "dan@acme.example", "primary": true }],
            "active": true,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert!(
        error["detail"].as_str().unwrap().contains("2 seats"),
        "{error}"
    );

    // Just-in-time sign-in through the identity provider.
    let eve = OpUser::new("eve-1", "eve@acme.example");
    let refused = Browser::new(&app, "acme").sso(&op, &eve).await;
    let reason = crate::sso::failure_reason(refused, StatusCode::FORBIDDEN).await;
    assert_eq!(reason, "seat_limit_reached");

    // Reactivation: Ada's seat is freed by deactivating her, then taken by another.
    let deactivated = app
        .post(
            "acme",
            &format!("/api/v1/members/{ada_id}/deactivate"),
            &owner.access,
            &json!({}),
        )
        .await;
    assert!(
        deactivated.status().is_success(),
        "{}",
        deactivated.status()
    );
    app.invite("acme", &owner, "fay@acme.example", "member")
        .await;
    let reactivated = app
        .post(
            "acme",
            &format!("/api/v1/members/{ada_id}/reactivate"),
            &owner.access,
            &json!({}),
        )
        .await;
    expect_problem(reactivated, StatusCode::CONFLICT).await;

    // Nobody was added on any refused path.
    let members: Value = app
        .get("acme", "/api/v1/members?limit=200", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    let emails: Vec<&str> = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    for absent in ["bob@", "carol@", "dan@", "eve@"] {
        assert!(!emails.iter().any(|e| e.starts_with(absent)), "{emails:?}");
    }
}

#[tokio::test]
async fn without_the_plans_sso_the_sign_in_page_offers_none_and_sso_required_lapses() {
    let app = spawn_app().await;
    let op = TestOp::start().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    crate::sso::connect(&app, &acme, &owner, &op, json!({ "sso_required": true })).await;
    let page = |app: &TestApp| {
        let browser = Browser::new(app, "acme");
        async move {
            browser
                .get(&browser.url("/login"))
                .await
                .text()
                .await
                .unwrap()
        }
    };
    assert!(page(&app).await.contains("/auth/sso/start"));
    let refused = app.try_login("acme", &ada.email, &ada.password).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "SSO is required");

    update(
        &app,
        &acme,
        TenantChange {
            plan: Some(Plan::Free),
            ..TenantChange::default()
        },
    )
    .await;
    assert!(!page(&app).await.contains("/auth/sso/start"));
    let allowed = app.try_login("acme", &ada.email, &ada.password).await;
    assert_eq!(
        allowed.status(),
        StatusCode::OK,
        "a requirement the plan no longer includes does not lock members out"
    );
}
