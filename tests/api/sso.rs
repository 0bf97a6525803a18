//! Single sign-on through a real OpenID Provider (`tests/oidc`, npm's oidc-provider) on loopback:
//! the admin connects it, members sign in (found by subject, linked by verified email, or created just
//! in time), roles follow the directory's groups, and every way a sign-in must fail fails with nothing
//! created: domains, unverified email, replayed or expired state, a wrong nonce, a tampered ID token,
//! a provider that is down. Password sign-in stops for everyone but owners when SSO is required.

use chrono::Duration;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::{
    helpers::{PASSWORD, Session, TestApp, TestTenant, expect_problem, spawn_app},
    op::{Browser, OpUser, TestOp, location},
};

/// Connects `tenant` to the provider through the admin API; returns the connection.
pub(crate) async fn connect(
    app: &TestApp,
    tenant: &TestTenant,
    admin: &Session,
    op: &TestOp,
    settings: Value,
) -> Value {
    let (client_id, client_secret) = op.register_client(app, &tenant.slug).await;
    let mut body = json!({
        "issuer_url": op.issuer,
        "client_id": client_id,
        "client_secret": client_secret,
        "scopes": ["openid", "email", "profile", "groups"],
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), settings.as_object()) {
        body.extend(extra.clone());
    }
    let response = app
        .send_json(
            Method::PUT,
            &tenant.slug,
            "/api/v1/sso/oidc",
            &admin.access,
            &body,
        )
        .await;
    assert!(
        [StatusCode::CREATED, StatusCode::OK].contains(&response.status()),
        "{}",
        response.status()
    );
    response.json().await.unwrap()
}

async fn members(app: &TestApp, slug: &str, session: &Session) -> Vec<Value> {
    let list: Value = app
        .get(slug, "/api/v1/members?limit=200", &session.access)
        .await
        .json()
        .await
        .unwrap();
    list["items"].as_array().unwrap().clone()
}

async fn member_role(app: &TestApp, slug: &str, session: &Session, email: &str) -> Option<String> {
    members(app, slug, session)
        .await
        .into_iter()
        .find(|m| m["email"] == email)
        .and_then(|m| m["role"].as_str().map(String::from))
}

async fn member_id(app: &TestApp, slug: &str, session: &Session, email: &str) -> String {
    members(app, slug, session)
        .await
        .into_iter()
        .find(|m| m["email"] == email)
        .and_then(|m| m["id"].as_str().map(String::from))
        .unwrap()
}

/// The failed sign-in's page says why; returns its reference (the audit reason).
pub(crate) async fn failure_reason(response: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    let page = response.text().await.unwrap();
    let marker = "Reference: <code>";
    let start = page.find(marker).unwrap_or_else(|| panic!("{page}")) + marker.len();
    page[start..].split('<').next().unwrap().to_owned()
}

async fn failed_reasons(app: &TestApp, tenant: &TestTenant) -> Vec<String> {
    let pool = app.owner_pool().await;
    let reasons: Vec<String> = sqlx::query_scalar(
        "SELECT metadata->>'reason' FROM audit_events WHERE tenant_id = $1 AND action = 'sso.login_failed' ORDER BY occurred_at, id",
    )
    .bind(tenant.id.as_uuid())
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    reasons
}

#[tokio::test]
async fn an_admin_connects_the_provider_and_members_sign_in_just_in_time() {
    let app = spawn_app().await;
    let op = TestOp::start().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let connection = connect(
        &app,
        &acme,
        &owner,
        &op,
        json!({ "jit_provisioning": true }),
    )
    .await;
    assert_eq!(connection["client_secret_set"], true);
    assert!(connection.get("client_secret").is_none(), "{connection}");
    assert_eq!(
        connection["redirect_uri"],
        format!("http://{}/auth/sso/callback", app.host("acme"))
    );
    let stored: String = {
        let pool = app.owner_pool().await;
        let sealed = sqlx::query_scalar("SELECT client_secret_sealed FROM sso_connections")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        sealed
    };
    assert!(!stored.is_empty());
    let fetched: Value = app
        .get("acme", "/api/v1/sso/oidc", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        !fetched.to_string().contains(&stored),
        "the sealed secret leaked"
    );

    // The admin's connection test runs discovery against the real provider.
    let tested: Value = app
        .post("acme", "/api/v1/sso/oidc/test", &owner.access, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tested["ok"], true, "{tested}");
    assert_eq!(tested["pkce_s256"], true, "{tested}");
    assert!(tested["signing_keys"].as_u64().unwrap() >= 1);

    // The sign-in page offers SSO; the flow creates Grace at her first sign-in.
    let browser = Browser::new(&app, "acme");
    let page = browser
        .get(&browser.url("/login"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("/auth/sso/start"), "{page}");
    let grace = OpUser::new("grace-1", "grace@acme.example");
    let signed_in = browser.sso(&op, &grace).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&signed_in),
        "/",
        "a member without a console section lands on the portal"
    );
    let me: Value = browser
        .get(&browser.url("/api/v1/me"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "grace@acme.example");
    assert_eq!(me["display_name"], "Grace Hopper");
    assert_eq!(me["role"], "member");
    let home = browser.get(&browser.url("/admin")).await;
    assert_eq!(home.status(), StatusCode::OK);

    // Again, from another browser: the same member, found by her subject.
    let again = Browser::new(&app, "acme").sso(&op, &grace).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);

    // A second organization with its own client at the same provider: the same person there is a
    // member of that organization only, and acme's members list does not change.
    let globex = app.create_tenant("globex").await;
    let globex_owner = app.login_owner(&globex).await;
    connect(
        &app,
        &globex,
        &globex_owner,
        &op,
        json!({ "jit_provisioning": true }),
    )
    .await;
    let at_globex = Browser::new(&app, "globex").sso(&op, &grace).await;
    assert_eq!(at_globex.status(), StatusCode::SEE_OTHER);
    let globex_people = members(&app, "globex", &globex_owner).await;
    assert!(
        globex_people
            .iter()
            .any(|m| m["email"] == "grace@acme.example")
    );
    let globex_grace = globex_people
        .iter()
        .find(|m| m["email"] == "grace@acme.example")
        .unwrap();
    let acme_grace = members(&app, "acme", &owner)
        .await
        .into_iter()
        .find(|m| m["email"] == "grace@acme.example")
        .unwrap();
    assert_ne!(
        globex_grace["id"], acme_grace["id"],
        "two members, one per organization"
    );
    let globex_connection: Value = app
        .get("globex", "/api/v1/sso/oidc", &globex_owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(
        globex_connection["client_id"], connection["client_id"],
        "different clients"
    );
    let everyone = members(&app, "acme", &owner).await;
    assert_eq!(
        everyone
            .iter()
            .filter(|m| m["email"] == "grace@acme.example")
            .count(),
        1
    );
    app.assert_audited(
        acme.id,
        &[
            "sso.connection_created",
            "member.provisioned",
            "sso.identity_linked",
            "sso.login_succeeded",
        ],
    )
    .await;
    let pool = app.owner_pool().await;
    let accounts: Vec<String> = sqlx::query_scalar(
        "SELECT metadata->>'account' FROM audit_events WHERE action = 'sso.login_succeeded' \
         AND tenant_id = $1 ORDER BY occurred_at, id",
    )
    .bind(acme.id.as_uuid())
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(accounts, vec!["provisioned", "linked"]);
}

#[tokio::test]
async fn without_jit_only_members_sign_in_and_only_with_a_verified_address_in_an_allowed_domain() {
    let app = spawn_app().await;
    let op = TestOp::start().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    connect(
        &app,
        &acme,
        &owner,
        &op,
        json!({ "allowed_email_domains": ["acme.example"] }),
    )
    .await;
    let ada = app.add_member(&acme, &owner, "ada", "manager").await;
    let before = members(&app, "acme", &owner).await.len();

    let stranger = Browser::new(&app, "acme")
        .sso(&op, &OpUser::new("s-1", "stranger@acme.example"))
        .await;
    assert_eq!(
        failure_reason(stranger, StatusCode::FORBIDDEN).await,
        "not_provisioned"
    );
    let outsider = Browser::new(&app, "acme")
        .sso(&op, &OpUser::new("o-1", "ada@elsewhere.example"))
        .await;
    assert_eq!(
        failure_reason(outsider, StatusCode::FORBIDDEN).await,
        "domain_not_allowed"
    );
    let unverified = Browser::new(&app, "acme")
        .sso(&op, &OpUser::new("a-1", &ada.email).unverified())
        .await;
    assert_eq!(
        failure_reason(unverified, StatusCode::FORBIDDEN).await,
        "email_not_verified"
    );
    assert_eq!(
        members(&app, "acme", &owner).await.len(),
        before,
        "nothing was created"
    );

    // Ada's verified address links her account to the provider's subject; she keeps her role.
    let linked = Browser::new(&app, "acme")
        .sso(&op, &OpUser::new("a-1", &ada.email))
        .await;
    assert_eq!(linked.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        member_role(&app, "acme", &owner, &ada.email)
            .await
            .as_deref(),
        Some("manager")
    );
    assert_eq!(
        failed_reasons(&app, &acme).await,
        vec![
            "not_provisioned",
            "domain_not_allowed",
            "email_not_verified"
        ]
    );
}

#[tokio::test]
async fn a_state_works_once_in_the_browser_that_started_it_and_not_for_long() {
    let app = spawn_app().await;
    let op = TestOp::start().await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    let owner = app.login_owner(&acme).await;
    connect(
        &app,
        &acme,
        &owner,
        &op,
        json!({ "jit_provisioning": true }),
    )
    .await;
    let grace = OpUser::new("grace-1", "grace@acme.example");

    // Replayed: the second use of a callback finds nothing.
    let browser = Browser::new(&app, "acme");
    let callback = browser.sign_in_at_provider(&op, &grace).await;
    assert_eq!(browser.get(&callback).await.status(), StatusCode::SEE_OTHER);
    let replay = browser.get(&callback).await;
    assert_eq!(
        failure_reason(replay, StatusCode::BAD_REQUEST).await,
        "state_invalid"
    );

    // Another browser (an attacker who sends the victim their callback link): refused.
    let callback = Browser::new(&app, "acme")
        .sign_in_at_provider(&op, &grace)
        .await;
    let elsewhere = Browser::new(&app, "acme").get(&callback).await;
    assert_eq!(
        failure_reason(elsewhere, StatusCode::BAD_REQUEST).await,
        "state_invalid"
    );

    // Another organization's host: acme's state means nothing on globex.
    let browser = Browser::new(&app, "acme");
    let callback = browser.sign_in_at_provider(&op, &grace).await;
    let on_globex = callback.replace(&app.host("acme"), &app.host("globex"));
    let globex_browser = Browser::new(&app, "globex");
    // Even with acme's state cookie copied along.
    let wrong_host = globex_browser
        .client
        .get(&on_globex)
        .header("cookie", browser.cookies())
        .send()
        .await
        .unwrap();
    assert!(
        browser.cookies().contains("trellis_sso="),
        "{}",
        browser.cookies()
    );
    assert_eq!(wrong_host.status(), StatusCode::BAD_REQUEST);
    assert!(
        failed_reasons(&app, &globex)
            .await
            .contains(&"state_invalid".to_owned())
    );

    // Too slow: past the ten minutes a sign-in may take.
    let browser = Browser::new(&app, "acme");
    let callback = browser.sign_in_at_provider(&op, &grace).await;
    app.clock.advance(Duration::minutes(11));
    let late = browser.get(&callback).await;
    assert_eq!(
        failure_reason(late, StatusCode::BAD_REQUEST).await,
        "state_expired"
    );
}

#[tokio::test]
async fn an_id_token_with_a_wrong_nonce_or_an_altered_payload_signs_nobody_in() {
    let app = spawn_app().await;
    let op = TestOp::start().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    connect(
        &app,
        &acme,
        &owner,
        &op,
        json!({ "jit_provisioning": true }),
    )
    .await;
    let before = members(&app, "acme", &owner).await.len();
    let grace = OpUser::new("grace-1", "grace@acme.example");

    op.tamper("nonce").await;
    let wrong_nonce = Browser::new(&app, "acme").sso(&op, &grace).await;
    assert_eq!(
        failure_reason(wrong_nonce, StatusCode::UNAUTHORIZED).await,
        "nonce_mismatch"
    );
    op.tamper("signature").await;
    let tampered = Browser::new(&app, "acme").sso(&op, &grace).await;
    assert_eq!(
        failure_reason(tampered, StatusCode::UNAUTHORIZED).await,
        "id_token_invalid"
    );
    assert_eq!(members(&app, "acme", &owner).await.len(), before);

    // The provider rotates its keys: the next ID token names a key we have not seen; we fetch the
    // keys again and the sign-in works.
    let first = Browser::new(&app, "acme").sso(&op, &grace).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    op.rotate_keys().await;
    let after_rotation = Browser::new(&app, "acme").sso(&op, &grace).await;
    assert_eq!(after_rotation.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_provider_that_is_down_gets_a_clear_page_and_changes_nothing() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let issuer = format!("http://127.0.0.1:{closed_port}");
    let saved = app
        .send_json(
            Method::PUT,
            "acme",
            "/api/v1/sso/oidc",
            &owner.access,
            &json!({ "issuer_url": issuer, "client_id": "c", "client_secret": "s", "jit_provisioning": true }),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::CREATED);
    let tested: Value = app
        .post("acme", "/api/v1/sso/oidc/test", &owner.access, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tested["ok"], false);
    assert_eq!(tested["failed_step"], "discovery");
    assert!(
        tested["error"].as_str().unwrap().contains("request failed"),
        "{tested}"
    );

    let browser = Browser::new(&app, "acme");
    let start = browser.get(&browser.url("/auth/sso/start")).await;
    assert_eq!(
        start
            .headers()
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap(),
        "text/html; charset=utf-8"
    );
    assert_eq!(
        failure_reason(start, StatusCode::BAD_GATEWAY).await,
        "provider_unavailable"
    );
    assert_eq!(members(&app, "acme", &owner).await.len(), 1);
}

#[tokio::test]
async fn roles_follow_the_directory_groups_at_each_sign_in_but_never_an_owners() {
    let app = spawn_app().await;
    let op = TestOp::start().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    connect(
        &app,
        &acme,
        &owner,
        &op,
        json!({ "jit_provisioning": true }),
    )
    .await;
    let mapped = app
        .send_json(
            Method::PUT,
            "acme",
            "/api/v1/sso/role-mappings",
            &owner.access,
            &json!({ "default_role": "member", "mappings": [
                { "group": "people-ops", "role": "hr" },
                { "group": "engineering-leads", "role": "manager" },
            ] }),
        )
        .await;
    assert_eq!(mapped.status(), StatusCode::OK);
    let owner_as_mapping = app
        .send_json(
            Method::PUT,
            "acme",
            "/api/v1/sso/role-mappings",
            &owner.access,
            &json!({ "default_role": "member", "mappings": [{ "group": "x", "role": "owner" }] }),
        )
        .await;
    assert_eq!(owner_as_mapping.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let grace = OpUser::new("grace-1", "grace@acme.example");
    let signed_in = Browser::new(&app, "acme")
        .sso(
            &op,
            &grace.clone().groups(&["engineering-leads", "people-ops"]),
        )
        .await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        member_role(&app, "acme", &owner, "grace@acme.example")
            .await
            .as_deref(),
        Some("hr"),
        "the first mapping that matches wins"
    );
    Browser::new(&app, "acme")
        .sso(&op, &grace.clone().groups(&["engineering-leads"]))
        .await;
    assert_eq!(
        member_role(&app, "acme", &owner, "grace@acme.example")
            .await
            .as_deref(),
        Some("manager")
    );
    Browser::new(&app, "acme").sso(&op, &grace).await;
    assert_eq!(
        member_role(&app, "acme", &owner, "grace@acme.example")
            .await
            .as_deref(),
        Some("member"),
        "in no mapped group: the default role"
    );

    // The owner's address at the provider is not enough to become the owner: owners sign in with
    // their password (an admin who controls the connection must not take their account).
    let owner_signs_in = Browser::new(&app, "acme")
        .sso(&op, &OpUser::new("owner-1", &acme.owner.email))
        .await;
    assert_eq!(
        failure_reason(owner_signs_in, StatusCode::FORBIDDEN).await,
        "owner_not_linked"
    );
    // A token without the groups claim leaves the role as it is.
    let admin_made = app
        .send_json(
            Method::PUT,
            "acme",
            &format!(
                "/api/v1/members/{}/role",
                member_id(&app, "acme", &owner, "grace@acme.example").await
            ),
            &owner.access,
            &json!({ "role": "manager" }),
        )
        .await;
    assert_eq!(admin_made.status(), StatusCode::OK);
    Browser::new(&app, "acme")
        .sso(&op, &grace.clone().without_groups())
        .await;
    assert_eq!(
        member_role(&app, "acme", &owner, "grace@acme.example")
            .await
            .as_deref(),
        Some("manager")
    );
    assert_eq!(
        member_role(&app, "acme", &owner, &acme.owner.email)
            .await
            .as_deref(),
        Some("owner")
    );
    let pool = app.owner_pool().await;
    let sources: Vec<String> = sqlx::query_scalar(
        "SELECT metadata->>'source' FROM audit_events WHERE action = 'member.role_changed' \
         AND metadata ? 'source' ORDER BY occurred_at, id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        sources,
        vec!["sso", "sso"],
        "hr -> manager -> member; the first sign-in provisioned grace as hr"
    );
    let provisioned: Vec<(String, String)> = sqlx::query_as(
        "SELECT metadata->>'source', metadata->>'role' FROM audit_events WHERE action = 'member.provisioned'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(provisioned, vec![("sso".to_owned(), "hr".to_owned())]);
}

#[tokio::test]
async fn when_sso_is_required_only_owners_sign_in_with_a_password() {
    let app = spawn_app().await;
    let op = TestOp::start().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "admin").await;
    connect(&app, &acme, &owner, &op, json!({ "sso_required": true })).await;

    let refused = app.try_login("acme", &ada.email, PASSWORD).await;
    assert_eq!(
        expect_problem(refused, StatusCode::FORBIDDEN).await,
        "sso_required"
    );
    // A wrong password, or an address with no account, gets the same answer: nothing is learnt.
    for (email, password) in [
        (ada.email.as_str(), "not the password"),
        ("nobody@acme.example", PASSWORD),
    ] {
        let refused = app.try_login("acme", email, password).await;
        assert_eq!(
            expect_problem(refused, StatusCode::FORBIDDEN).await,
            "sso_required",
            "{email}"
        );
    }
    // An invitation cannot be accepted with a password either (and is not used up).
    let invited = app
        .invite("acme", &owner, "newcomer@acme.example", "member")
        .await;
    let token = crate::helpers::invitation_token(&invited);
    let with_password = app.accept("acme", &token, PASSWORD).await;
    assert_eq!(
        expect_problem(with_password, StatusCode::FORBIDDEN).await,
        "sso_required"
    );
    let newcomer = Browser::new(&app, "acme")
        .sso(&op, &OpUser::new("newcomer-1", "newcomer@acme.example"))
        .await;
    assert_eq!(
        newcomer.status(),
        StatusCode::SEE_OTHER,
        "joins through the provider"
    );
    assert_eq!(
        app.try_login("acme", &acme.owner.email, PASSWORD)
            .await
            .status(),
        StatusCode::OK,
        "owners keep the password as a way in"
    );
    let ada_sso = Browser::new(&app, "acme")
        .sso(&op, &OpUser::new("ada-1", &ada.email))
        .await;
    assert_eq!(ada_sso.status(), StatusCode::SEE_OTHER);

    // Removing the connection lifts the requirement.
    let removed = app.delete("acme", "/api/v1/sso/oidc", &owner.access).await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.try_login("acme", &ada.email, PASSWORD).await.status(),
        StatusCode::OK
    );
    app.assert_audited(acme.id, &["sso.connection_deleted", "auth.login_failed"])
        .await;
}

#[tokio::test]
async fn connections_are_validated_and_a_new_one_needs_a_secret() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let put = |body: Value| {
        let app = &app;
        let token = owner.access.clone();
        async move {
            app.send_json(Method::PUT, "acme", "/api/v1/sso/oidc", &token, &body)
                .await
        }
    };
    let no_secret = put(json!({ "issuer_url": "https://idp.example.com", "client_id": "c" })).await;
    assert_eq!(no_secret.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad = put(json!({
        "issuer_url": "not a url",
        "client_id": "",
        "client_secret": "s",
        "scopes": ["email"],
        "allowed_email_domains": ["not a domain"],
    }))
    .await;
    let problem = crate::helpers::problem(bad).await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec![
            "issuer_url",
            "client_id",
            "scopes",
            "allowed_email_domains[0]"
        ]
    );
    let missing = app.get("acme", "/api/v1/sso/oidc", &owner.access).await;
    assert_eq!(
        expect_problem(missing, StatusCode::NOT_FOUND).await,
        "sso_not_configured"
    );

    // Replacing without a secret keeps the stored one, for the same client at the same provider only.
    let created = put(json!({
        "issuer_url": "https://idp.example.com",
        "client_id": "c",
        "client_secret": "plaintext-secret-s1",
    }))
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let elsewhere =
        put(json!({ "issuer_url": "https://idp.example.com/", "client_id": "c" })).await;
    assert_eq!(
        field_errors(elsewhere).await,
        ["client_secret"],
        "the stored secret is never sent to another issuer"
    );
    let other_client =
        put(json!({ "issuer_url": "https://idp.example.com", "client_id": "c2" })).await;
    assert_eq!(field_errors(other_client).await, ["client_secret"]);
    let replaced = put(json!({
        "issuer_url": "https://idp.example.com",
        "client_id": "c",
        "jit_provisioning": true,
    }))
    .await;
    assert_eq!(replaced.status(), StatusCode::OK);
    let replaced: Value = replaced.json().await.unwrap();
    assert_eq!(replaced["issuer_url"], "https://idp.example.com");
    assert_eq!(replaced["jit_provisioning"], true);
    assert_eq!(replaced["client_secret_set"], true);
    let exact = put(json!({
        "issuer_url": "https://idp.example.com/",
        "client_id": "c",
        "client_secret": "plaintext-secret-s2",
    }))
    .await;
    let exact: Value = exact.json().await.unwrap();
    assert_eq!(
        exact["issuer_url"], "https://idp.example.com/",
        "kept exactly as given"
    );
    assert!(!exact.to_string().contains("plaintext-secret"), "{exact}");
    let pool = app.owner_pool().await;
    let changed: Vec<Value> = sqlx::query_scalar(
        "SELECT metadata FROM audit_events WHERE action = 'sso.connection_updated' ORDER BY occurred_at, id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(changed.len(), 2, "the refused changes left no trace");
    assert_eq!(changed[0]["client_secret_changed"], false);
    assert_eq!(changed[1]["client_secret_changed"], true);
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT client_secret_sealed FROM sso_connections")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(
        !format!("{changed:?}{stored:?}").contains("plaintext-secret"),
        "no secret in the audit log or in clear in the database"
    );

    // No SSO configured: the sign-in route says so, as a page.
    let browser = Browser::new(&app, "acme");
    app.delete("acme", "/api/v1/sso/oidc", &owner.access).await;
    let start = browser.get(&browser.url("/auth/sso/start")).await;
    assert_eq!(
        failure_reason(start, StatusCode::NOT_FOUND).await,
        "sso_not_configured"
    );
}

/// The fields a 422 names.
async fn field_errors(response: reqwest::Response) -> Vec<String> {
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem = crate::helpers::problem(response).await;
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_address_is_trusted_only_as_far_as_the_provider_and_the_organization_vouch_for_it() {
    let app = spawn_app().await;
    let op = TestOp::start().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    connect(
        &app,
        &acme,
        &owner,
        &op,
        json!({ "jit_provisioning": true }),
    )
    .await;

    // Entra ID sends no email_verified: with no domain listed, the address proves nothing.
    let entra_ada = OpUser::new("entra-ada", &ada.email).without_email_verified();
    let refused = Browser::new(&app, "acme").sso(&op, &entra_ada).await;
    assert_eq!(
        failure_reason(refused, StatusCode::FORBIDDEN).await,
        "email_not_verified"
    );
    // With the organization's domain listed, it does.
    connect(
        &app,
        &acme,
        &owner,
        &op,
        json!({ "jit_provisioning": true, "allowed_email_domains": ["acme.example"] }),
    )
    .await;
    let linked = Browser::new(&app, "acme").sso(&op, &entra_ada).await;
    assert_eq!(linked.status(), StatusCode::SEE_OTHER);

    // Someone else at the same provider with ada's address (a reused address): not into ada's account.
    let impostor = Browser::new(&app, "acme")
        .sso(&op, &OpUser::new("someone-new", &ada.email))
        .await;
    assert_eq!(
        failure_reason(impostor, StatusCode::FORBIDDEN).await,
        "identity_conflict"
    );

    // An invitation that expired is not accepted by signing in through the provider.
    let invited = app
        .invite("acme", &owner, "late@acme.example", "member")
        .await;
    let pool = app.owner_pool().await;
    sqlx::query("UPDATE invitations SET expires_at = created_at WHERE id = $1::uuid")
        .bind(invited["invitation"]["id"].as_str().unwrap())
        .execute(&pool)
        .await
        .unwrap();
    let late = Browser::new(&app, "acme")
        .sso(&op, &OpUser::new("late-1", "late@acme.example"))
        .await;
    assert_eq!(
        failure_reason(late, StatusCode::FORBIDDEN).await,
        "invitation_expired"
    );
    let owner = app.login_owner(&acme).await;
    assert_eq!(
        members(&app, "acme", &owner)
            .await
            .into_iter()
            .find(|m| m["email"] == "late@acme.example")
            .unwrap()["status"],
        "invited",
        "nothing changed"
    );
    assert!(
        failed_reasons(&app, &acme)
            .await
            .contains(&"identity_conflict".to_owned())
    );
}
