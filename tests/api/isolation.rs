//! The isolation matrix, generated from the OpenAPI document (which is generated from the route table):
//! every route added later is covered without new test code. For each operation, with resources made in
//! tenant A: A's token on B's host is 401; B's own token with A's ids is 404, exactly as for an id that
//! does not exist; B's lists never show A's data; and A's data is unchanged at the end.
//! A route with a new kind of path parameter fails here until it gets a fixture below.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestTenant, problem, spawn_app, spawn_app_with};

/// Resources of tenant A, by the path parameter that names them.
pub struct Fixtures {
    pub ids: BTreeMap<&'static str, String>,
    /// Everything of A's that must never appear in an answer to B.
    pub secrets: Vec<String>,
}

pub async fn make_fixtures(app: &TestApp, acme: &TestTenant) -> Fixtures {
    let owner = app.login_owner(acme).await;
    let invited = app
        .invite("acme", &owner, "pending-hire@acme.example", "member")
        .await;
    let hr = app.add_member(acme, &owner, "hr-lead", "hr").await;
    let invitation_id = invited["invitation"]["id"].as_str().unwrap().to_owned();
    let role: Value = app
        .post(
            "acme",
            "/api/v1/roles",
            &owner.access,
            &json!({ "name": "acme_secret_role", "permissions": ["members:read"] }),
        )
        .await
        .json()
        .await
        .unwrap();
    let role_id = role["id"].as_str().unwrap().to_owned();
    let key: Value = app
        .post(
            "acme",
            "/api/v1/api-keys",
            &owner.access,
            &json!({ "name": "acme secret key", "role": "member" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let api_key_id = key["api_key"]["id"].as_str().unwrap().to_owned();
    let connected = app
        .send_json(
            Method::PUT,
            "acme",
            "/api/v1/sso/oidc",
            &owner.access,
            &json!({
                "issuer_url": "https://idp.acme-secret.example",
                "client_id": "acme-secret-client",
                "client_secret": "acme-secret-client-secret",
                "allowed_email_domains": ["acme.example"],
                "jit_provisioning": true,
            }),
        )
        .await;
    assert_eq!(connected.status(), StatusCode::CREATED);
    let mapped = app
        .send_json(
            Method::PUT,
            "acme",
            "/api/v1/sso/role-mappings",
            &owner.access,
            &json!({ "default_role": "member", "mappings": [{ "group": "acme-secret-group", "role": "hr" }] }),
        )
        .await;
    assert_eq!(mapped.status(), StatusCode::OK);
    let scim = app
        .post("acme", "/api/v1/sso/scim/token", &owner.access, &json!({}))
        .await;
    assert_eq!(scim.status(), StatusCode::CREATED);
    let stream = app
        .send_json(
            Method::PUT,
            "acme",
            "/api/v1/audit-stream",
            &owner.access,
            &json!({
                "url": "https://siem.acme-secret.example/in",
                "secret": "acme-secret-stream-secret",
                "headers": { "Authorization": "acme-secret-stream-token" },
            }),
        )
        .await;
    assert_eq!(stream.status(), StatusCode::CREATED);
    let import: Value = crate::imports::upload(
        app,
        "acme",
        &owner,
        "acme-secret-import.csv",
        b"email,name\nacme-secret-hire@acme.example,Secret Hire\n",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let import_id = import["import"]["id"].as_str().unwrap().to_owned();
    let hr_session = app.login("acme", &hr).await;
    let session_id = session_id_of(&hr_session.access);
    let career = crate::career::fixtures(app, &owner, &hr_session).await;
    let growth = crate::career_growth::fixtures(app, &owner, &hr_session).await;
    let interview = crate::interview::fixtures(app, &owner, &hr_session, &hr.id.to_string()).await;
    let referral = crate::referrals::fixtures(app, &owner, &hr_session).await;
    let mentoring =
        crate::mentoring::fixtures(app, &owner, &hr_session, &acme.owner.id.to_string()).await;
    let programme = crate::programmes::fixtures(app, &owner, &hr_session, &hr.id.to_string()).await;
    let community = crate::communities::fixtures(app, &owner, &hr_session).await;
    let workspace = crate::workspaces::fixtures(app, &owner, &hr.id.to_string()).await;
    let invited_member = invited["member"]["id"].as_str().unwrap().to_owned();
    let owner_pool = app.owner_pool().await;
    let (event_id,): (uuid::Uuid,) = sqlx::query_as(
        "SELECT id FROM audit_events WHERE tenant_id = $1 AND action = 'member.invited' LIMIT 1",
    )
    .bind(acme.id.as_uuid())
    .fetch_one(&owner_pool)
    .await
    .unwrap();
    owner_pool.close().await;
    app.worker.seal_audit().await.unwrap();
    Fixtures {
        ids: BTreeMap::from([
            ("member_id", hr.id.to_string()),
            ("invitation_id", invitation_id.clone()),
            ("role_id", role_id.clone()),
            ("session_id", session_id.clone()),
            ("api_key_id", api_key_id.clone()),
            ("import_id", import_id.clone()),
            ("event_id", event_id.to_string()),
            ("group_id", career.group_id.clone()),
            ("skill_id", career.skill_id.clone()),
            ("career_role_id", career.role_id.clone()),
            ("goal_id", career.goal_id.clone()),
            ("course_id", growth.course_id.clone()),
            ("enrolment_id", growth.enrolment_id.clone()),
            ("milestone_id", growth.milestone_id.clone()),
            ("project_id", growth.project_id.clone()),
            ("question_id", interview.question_id.clone()),
            ("interview_session_id", interview.session_id.clone()),
            ("position", "1".into()),
            ("assignment_id", interview.assignment_id.clone()),
            (
                "scheduled_interview_id",
                interview.scheduled_interview_id.clone(),
            ),
            ("checklist_item_id", interview.checklist_item_id.clone()),
            ("posting_id", referral.posting_id.clone()),
            ("referral_id", referral.referral_id.clone()),
            ("tracking_code", referral.tracking_code.clone()),
            ("mentor_id", mentoring.mentor_id.clone()),
            ("mentorship_id", mentoring.mentorship_id.clone()),
            ("programme_id", programme.programme_id.clone()),
            ("mentee_id", programme.mentee_id.clone()),
            ("community_id", community.community_id.clone()),
            ("post_id", community.post_id.clone()),
            ("network_event_id", community.network_event_id.clone()),
            ("workspace_id", workspace.workspace_id.clone()),
            ("workspace_member_id", workspace.workspace_member_id.clone()),
            ("document_id", workspace.document_id.clone()),
            ("version_number", "1".into()),
            ("comment_id", workspace.comment_id.clone()),
            ("notification_id", workspace.notification_id.clone()),
            ("review_id", workspace.review_id.clone()),
        ]),
        secrets: vec![
            acme.id.to_string(),
            acme.owner.id.to_string(),
            acme.owner.email.clone(),
            hr.id.to_string(),
            hr.email.clone(),
            invited_member,
            invitation_id,
            event_id.to_string(),
            role_id,
            session_id,
            api_key_id,
            "acme secret key".into(),
            "acme_secret_role".into(),
            "pending-hire@acme.example".into(),
            "idp.acme-secret.example".into(),
            "acme-secret-client".into(),
            "acme-secret-group".into(),
            import_id,
            "acme-secret-import".into(),
            "acme-secret-hire".into(),
            "siem.acme-secret.example".into(),
            "acme-secret-stream".into(),
            career.group_id,
            career.skill_id,
            career.role_id,
            career.goal_id,
            growth.course_id,
            growth.enrolment_id,
            growth.milestone_id,
            growth.project_id,
            interview.question_id,
            interview.session_id,
            interview.assignment_id,
            interview.scheduled_interview_id,
            interview.checklist_item_id,
            referral.posting_id,
            referral.referral_id,
            referral.tracking_code,
            mentoring.mentorship_id,
            programme.programme_id,
            "Acme Secret Programme".into(),
            community.community_id,
            community.post_id,
            community.network_event_id,
            "Acme Secret Circle".into(),
            "Acme Secret Post".into(),
            "Acme Secret Fair".into(),
            workspace.workspace_id,
            workspace.document_id,
            workspace.comment_id,
            workspace.notification_id,
            "Acme Secret Comment".into(),
            workspace.review_id,
            "Acme Secret Review".into(),
            "Acme Secret Workspace".into(),
            "Acme Secret Body".into(),
            "Acme Secret".into(),
            "acme-secret-skill".into(),
        ],
    }
}

/// The `sid` claim of an access token.
pub fn session_id_of(token: &str) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

/// What tenant A looks like through its own API (compared before and after the matrix).
async fn snapshot(app: &TestApp, acme: &TestTenant) -> Vec<String> {
    let owner = app.login_owner(acme).await;
    let mut seen = Vec::new();
    for path in [
        "/api/v1/members",
        "/api/v1/invitations",
        "/api/v1/org",
        "/api/v1/roles",
        "/api/v1/api-keys",
        "/api/v1/sso/oidc",
        "/api/v1/sso/role-mappings",
        "/api/v1/sso/scim",
        "/api/v1/imports",
        "/api/v1/audit-stream",
        "/api/v1/career/roles",
        "/api/v1/career/courses",
        "/api/v1/career/projects",
        "/api/v1/interview/questions?source=org",
        "/api/v1/interview/assignments",
        "/api/v1/network/postings?status=all",
        "/api/v1/network/referrals",
        "/api/v1/network/mentors/me",
        "/api/v1/network/mentorships",
        "/api/v1/network/programmes",
        "/api/v1/network/communities",
        "/api/v1/network/events",
        "/api/v1/workspaces",
        "/api/v1/notifications",
    ] {
        let response = app.get("acme", path, &owner.access).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let mut body: Value = response.json().await.unwrap();
        // Sign-ins by this snapshot itself are not a change.
        if let Some(items) = body["items"].as_array_mut() {
            for item in items {
                item["last_login_at"] = Value::Null;
            }
        }
        // Nor is the chain growing with A's own events (the stream's cursor is compared).
        if let Some(delivery) = body["delivery"].as_object_mut() {
            delivery.remove("head_seq");
            delivery.remove("pending_events");
            delivery.remove("state");
        }
        seen.push(body.to_string());
    }
    seen
}

pub fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// The request body's example, from the schema the document names.
pub fn example_body(doc: &Value, operation: &Value, label: &str) -> Option<Value> {
    let body = operation.get("requestBody")?;
    let schema = resolve(doc, &body["content"]["application/json"]["schema"]);
    let example = schema.get("example").cloned().or_else(|| {
        schema["examples"]
            .as_array()
            .and_then(|e| e.first().cloned())
    });
    Some(example.unwrap_or_else(|| panic!("{label}: its request body schema needs an example")))
}

#[tokio::test]
async fn every_route_keeps_tenants_apart() {
    // B signs in afresh for each operation (one of them is logout).
    let app = spawn_app_with(|s| s.auth.login_ip_limit = 1000).await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    let fixtures = make_fixtures(&app, &acme).await;
    let acme_session = app.login_owner(&acme).await;
    let doc = app.openapi("acme").await;
    let before = snapshot(&app, &acme).await;

    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let label = format!("{} {path}", method.to_uppercase());
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            let mut url = path.clone();
            let mut unknown_url = path.clone();
            let mut has_ids = false;
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] != "path" {
                    continue;
                }
                let name = parameter["name"].as_str().unwrap();
                let id = fixtures.ids.get(name).unwrap_or_else(|| {
                    panic!("{label}: no fixture for the path parameter {name}; add one")
                });
                url = url.replace(&format!("{{{name}}}"), id);
                unknown_url =
                    unknown_url.replace(&format!("{{{name}}}"), &Uuid::now_v7().to_string());
                has_ids = true;
            }
            let body = example_body(&doc, operation, &label);
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let send = |slug: &'static str, url: String, token: Option<String>| {
                let mut request = app.request(method.clone(), slug, &url);
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                if let Some(body) = &body {
                    request = request.json(body);
                }
                request.send()
            };

            if secured {
                // A's token on B's host.
                let response = send("globex", url.clone(), Some(acme_session.access.clone()))
                    .await
                    .unwrap();
                assert_eq!(
                    response.status(),
                    StatusCode::UNAUTHORIZED,
                    "{label}: A's token on B's host"
                );

                // B's own token, A's ids: the same 404 as for ids that exist nowhere.
                let globex_session = app.login_owner(&globex).await;
                let response = send("globex", url.clone(), Some(globex_session.access.clone()))
                    .await
                    .unwrap();
                let status = response.status();
                let text = response.text().await.unwrap();
                if has_ids {
                    assert_eq!(
                        status,
                        StatusCode::NOT_FOUND,
                        "{label}: B reached A's resource: {text}"
                    );
                    let unknown = send("globex", unknown_url, Some(globex_session.access))
                        .await
                        .unwrap();
                    assert_eq!(
                        unknown.status(),
                        StatusCode::NOT_FOUND,
                        "{label}: unknown id"
                    );
                    let unknown = problem(unknown).await;
                    let ours: Value = serde_json::from_str(&text).unwrap();
                    assert_eq!(
                        ours["code"], unknown["code"],
                        "{label}: A's id is told apart from a missing id"
                    );
                } else {
                    assert!(!status.is_server_error(), "{label}: {status} {text}");
                }
                for secret in &fixtures.secrets {
                    assert!(
                        !text.contains(secret.as_str()),
                        "{label}: B's answer reveals {secret}: {text}"
                    );
                }
            } else {
                // Anonymous routes on B's host with A's example data reveal nothing of A.
                let response = send("globex", url.clone(), None).await.unwrap();
                let status = response.status();
                let text = response.text().await.unwrap();
                assert!(!status.is_server_error(), "{label}: {status} {text}");
                for secret in &fixtures.secrets[..1] {
                    assert!(!text.contains(secret.as_str()), "{label}: reveals {secret}");
                }
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 18,
        "only {checked} operations in the OpenAPI document"
    );
    assert_eq!(
        snapshot(&app, &acme).await,
        before,
        "tenant A changed while B was probing"
    );
    assert_eq!(
        app.get("acme", "/api/v1/me", &acme_session.access)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn every_json_route_is_in_the_openapi_document_with_its_errors() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let doc = app.openapi("acme").await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        assert!(path.starts_with("/api/v1/"), "{path}");
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let responses = operation["responses"].as_object().unwrap();
            for status in ["400", "404", "500"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
            if operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
            {
                assert!(
                    responses.contains_key("401") && responses.contains_key("403"),
                    "{method} {path}"
                );
            }
            if operation.get("requestBody").is_some() {
                assert!(
                    responses.contains_key("422") && responses.contains_key("413"),
                    "{method} {path}"
                );
            }
        }
    }
    assert!(operations >= 18);
    // Each documented route answers (not the router's 404).
    for path in [
        "/api/v1/me",
        "/api/v1/members",
        "/api/v1/org",
        "/api/v1/invitations",
    ] {
        let response = app.request(Method::GET, "acme", path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let missing = app
        .request(Method::GET, "acme", "/api/v1/nothing-here")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(missing).await["code"], "route_not_found");
}
