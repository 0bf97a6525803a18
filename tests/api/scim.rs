//! SCIM 2.0 through HTTP as the directories drive it: an independent compliance checker
//! (scim2-tester), Okta's and Entra ID's provisioning requests, deprovisioning, groups mapped to roles,
//! seat limits, and one organization's token never opening another's.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestTenant, spawn_app};

/// The organization's SCIM token, created by its owner.
pub(crate) async fn scim_token(app: &TestApp, tenant: &TestTenant) -> String {
    let owner = app.login_owner(tenant).await;
    let created = app
        .post(
            &tenant.slug,
            "/api/v1/sso/scim/token",
            &owner.access,
            &json!({}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let body: Value = created.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

/// A SCIM request on `slug`'s host.
pub(crate) async fn scim(
    app: &TestApp,
    slug: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app
        .request(method, slug, &format!("/scim/v2{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/scim+json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_independent_scim_checker_finds_no_error() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let token = scim_token(&app, &acme).await;
    let (port, host) = (app.port, app.host("acme"));
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/scim/check_server.py"
            ))
            .arg(format!("http://127.0.0.1:{port}/scim/v2"))
            .arg(host)
            .arg(&token)
            .output()
    })
    .await
    .unwrap()
    .expect("python3 runs tests/scim/check_server.py (scim2-tester is installed by .ci/test)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let failures: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("\"ERROR\"") || l.contains("\"CRITICAL\""))
        .collect();
    let summary: Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    assert!(
        output.status.success() && failures.is_empty(),
        "scim2-tester failed:\n{}\n{}\nstderr: {}",
        failures.join("\n"),
        summary,
        String::from_utf8_lossy(&output.stderr)
    );
    // It did check something: discovery, and creating, reading, replacing, patching, deleting both resources.
    assert!(summary["checks"].as_u64().unwrap() >= 30, "{stdout}");
}

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The member's row as Trellis's own API shows it (`None` when there is no such member).
async fn member(app: &TestApp, tenant: &TestTenant, email: &str) -> Option<Value> {
    let owner = app.login_owner(tenant).await;
    let list: Value = app
        .get(&tenant.slug, "/api/v1/members?limit=200", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == email)
        .cloned()
}

/// What Okta sends when it provisions a user.
fn okta_user(user_name: &str, given: &str, family: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": user_name,
        "name": { "givenName": given, "familyName": family },
        "emails": [{ "primary": true, "value": user_name, "type": "work" }],
        "displayName": format!("{given} {family}"),
        "locale": "en-US",
        "externalId": format!("00u{given}"),
        "groups": [],
        "password": "never-stored-1A!",
        "active": true,
    })
}

#[tokio::test]
async fn okta_provisions_finds_updates_and_deactivates_a_user() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let token = scim_token(&app, &acme).await;

    // Okta's connection test: a page of two.
    let (status, page) = scim(
        &app,
        "acme",
        &token,
        Method::GET,
        "/Users?startIndex=1&count=2",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    assert_eq!(page["totalResults"], 1, "the owner: {page}");
    assert_eq!(page["startIndex"], 1);

    // Is the user there? (userName compared without case.) No: create them.
    let filter = "/Users?filter=userName%20eq%20%22Ada%40acme.example%22&startIndex=1&count=100";
    let (_, found) = scim(&app, "acme", &token, Method::GET, filter, None).await;
    assert_eq!(found["totalResults"], 0);
    let (status, created) = scim(
        &app,
        "acme",
        &token,
        Method::POST,
        "/Users",
        Some(okta_user("ada@acme.example", "Ada", "Lovelace")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["userName"], "ada@acme.example");
    assert_eq!(created["name"]["familyName"], "Lovelace");
    assert_eq!(created["externalId"], "00uAda");
    assert_eq!(created["active"], true);
    assert!(created.get("password").is_none());
    let row = member(&app, &acme, "ada@acme.example")
        .await
        .expect("a member now");
    assert_eq!(row["status"], "active");
    assert_eq!(row["role"], "member", "the organization's default role");
    let (_, found) = scim(&app, "acme", &token, Method::GET, filter, None).await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], id.as_str());

    // The same user again: a uniqueness conflict, nothing created.
    let (status, conflict) = scim(
        &app,
        "acme",
        &token,
        Method::POST,
        "/Users",
        Some(okta_user("ADA@acme.example", "Ada", "L")),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(conflict["scimType"], "uniqueness");
    assert_eq!(
        conflict["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );

    // A profile change by PUT, then deactivation by PATCH active=false: signed out at once, still visible.
    let mut changed = okta_user("ada@acme.example", "Ada", "King");
    changed["title"] = json!("Analyst");
    let (status, replaced) = scim(
        &app,
        "acme",
        &token,
        Method::PUT,
        &format!("/Users/{id}"),
        Some(changed),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["title"], "Analyst");
    assert_eq!(replaced["name"]["familyName"], "King");

    let deactivate = json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "value": { "active": false } }] });
    let (status, patched) = scim(
        &app,
        "acme",
        &token,
        Method::PATCH,
        &format!("/Users/{id}"),
        Some(deactivate),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["active"], false);
    let (status, still) = scim(
        &app,
        "acme",
        &token,
        Method::GET,
        &format!("/Users/{id}"),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a deactivated user is still there for Okta"
    );
    assert_eq!(still["active"], false);
    assert_eq!(
        member(&app, &acme, "ada@acme.example").await.unwrap()["status"],
        "deactivated"
    );

    // Reactivation.
    let reactivate = json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "value": { "active": true } }] });
    let (status, back) = scim(
        &app,
        "acme",
        &token,
        Method::PATCH,
        &format!("/Users/{id}"),
        Some(reactivate),
    )
    .await;
    assert_eq!(
        (status, back["active"].clone()),
        (StatusCode::OK, json!(true))
    );

    let pool = app.owner_pool().await;
    let actors: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT action, actor_type, coalesce(metadata->>'source', '') FROM audit_events \
         WHERE tenant_id = $1 AND actor_type = 'scim_token' ORDER BY occurred_at, id",
    )
    .bind(acme.id.as_uuid())
    .fetch_all(&pool)
    .await
    .unwrap();
    let actions: Vec<&str> = actors.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "member.provisioned",
            "member.profile_updated",
            "member.deactivated",
            "member.reactivated"
        ],
        "every change, with the token as actor"
    );
    assert!(actors.iter().all(|(_, _, source)| source == "scim"));
}

#[tokio::test]
async fn entra_capitalised_operations_string_booleans_and_external_id_filters_work() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let token = scim_token(&app, &acme).await;
    let entra_user = json!({
        "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "8f3c1a2b-entra",
        "userName": "Grace.Hopper@acme.example",
        "active": "True",
        "displayName": "Grace Hopper",
        "emails": [{ "primary": true, "type": "work", "value": "Grace.Hopper@acme.example" }],
        "name": { "formatted": "Grace Hopper", "familyName": "Hopper", "givenName": "Grace" },
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "department": "Navy", "employeeNumber": "1906" },
    });
    let (_, none) = scim(
        &app,
        "acme",
        &token,
        Method::GET,
        "/Users?filter=externalId+eq+%228f3c1a2b-entra%22",
        None,
    )
    .await;
    assert_eq!(none["totalResults"], 0);
    let (status, created) = scim(
        &app,
        "acme",
        &token,
        Method::POST,
        "/Users",
        Some(entra_user),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["userName"], "Grace.Hopper@acme.example",
        "echoed as sent"
    );
    let (_, found) = scim(
        &app,
        "acme",
        &token,
        Method::GET,
        "/Users?filter=externalId+eq+%228f3c1a2b-entra%22",
        None,
    )
    .await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(
        found["Resources"][0]["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "Navy"
    );

    let ops = json!({
        "schemas": [PATCH],
        "Operations": [
            { "op": "Replace", "path": "active", "value": "False" },
            { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "grace@acme.example" },
            { "op": "Add", "path": "title", "value": "Rear Admiral" },
            { "op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Computing" },
            { "op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Arlington" },
        ]
    });
    let (status, patched) = scim(
        &app,
        "acme",
        &token,
        Method::PATCH,
        &format!("/Users/{id}"),
        Some(ops),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["active"], false);
    assert_eq!(patched["title"], "Rear Admiral");
    assert_eq!(patched["emails"][0]["value"], "grace@acme.example");
    assert_eq!(
        patched["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "Computing"
    );
    let row = member(&app, &acme, "grace@acme.example")
        .await
        .expect("the address changed in Trellis too");
    assert_eq!(row["status"], "deactivated");
    assert_eq!(row["department"], "Computing");

    // A PATCH Trellis cannot apply changes nothing.
    let bad = json!({ "schemas": [PATCH], "Operations": [
        { "op": "Replace", "path": "title", "value": "Commodore" },
        { "op": "Replace", "path": "active", "value": "perhaps" },
    ] });
    let (status, error) = scim(
        &app,
        "acme",
        &token,
        Method::PATCH,
        &format!("/Users/{id}"),
        Some(bad),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["scimType"], "invalidValue");
    let (_, unchanged) = scim(
        &app,
        "acme",
        &token,
        Method::GET,
        &format!("/Users/{id}"),
        None,
    )
    .await;
    assert_eq!(unchanged["title"], "Rear Admiral");
}

#[tokio::test]
async fn deleting_a_user_signs_them_out_at_once_and_then_they_are_gone_for_scim() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let token = scim_token(&app, &acme).await;
    let owner = app.login_owner(&acme).await;
    // A member who signed in with a password before the directory was connected.
    let worker = app.add_member(&acme, &owner, "worker", "member").await;
    let session = app.login("acme", &worker).await;
    assert_eq!(
        app.get("acme", "/api/v1/me", &session.access)
            .await
            .status(),
        StatusCode::OK
    );

    // The directory takes them over (same address) and then deletes them.
    let (status, adopted) = scim(
        &app,
        "acme",
        &token,
        Method::POST,
        "/Users",
        Some(okta_user(&worker.email, "Work", "Er")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{adopted}");
    assert_eq!(
        adopted["id"],
        worker.id.to_string(),
        "the existing member, not a second one"
    );
    let (status, _) = scim(
        &app,
        "acme",
        &token,
        Method::DELETE,
        &format!("/Users/{}", worker.id),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    assert_eq!(
        app.get("acme", "/api/v1/me", &session.access)
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "their session ended with the delete"
    );
    let (status, gone) = scim(
        &app,
        "acme",
        &token,
        Method::GET,
        &format!("/Users/{}", worker.id),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{gone}");
    assert_eq!(gone["status"], "404");
    let (status, _) = scim(
        &app,
        "acme",
        &token,
        Method::DELETE,
        &format!("/Users/{}", worker.id),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let filter = format!("/Users?filter=userName+eq+%22{}%22", worker.email);
    let (_, listed) = scim(&app, "acme", &token, Method::GET, &filter, None).await;
    assert_eq!(listed["totalResults"], 0);
    let row = member(&app, &acme, &worker.email)
        .await
        .expect("Trellis keeps the member");
    assert_eq!(row["status"], "deactivated");

    // Re-hired: the same address comes back as the same member, active again.
    let (status, rehired) = scim(
        &app,
        "acme",
        &token,
        Method::POST,
        "/Users",
        Some(okta_user(&worker.email, "Work", "Er")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{rehired}");
    assert_eq!(rehired["id"], worker.id.to_string());
    assert_eq!(
        member(&app, &acme, &worker.email).await.unwrap()["status"],
        "active"
    );
    app.assert_audited(acme.id, &["member.deprovisioned", "member.deactivated"])
        .await;
}

#[tokio::test]
async fn group_memberships_give_the_mapped_roles_but_never_touch_an_owner() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let token = scim_token(&app, &acme).await;
    let owner = app.login_owner(&acme).await;
    let mapped = app
        .send_json(Method::PUT, "acme", "/api/v1/sso/role-mappings", &owner.access,
            &json!({ "default_role": "member", "mappings": [{ "group": "People Ops", "role": "hr" }] }))
        .await;
    assert_eq!(mapped.status(), StatusCode::OK);
    let (_, ada) = scim(
        &app,
        "acme",
        &token,
        Method::POST,
        "/Users",
        Some(okta_user("ada@acme.example", "Ada", "L")),
    )
    .await;
    let ada_id = ada["id"].as_str().unwrap().to_owned();
    let owner_id = acme.owner.id.to_string();

    let (status, group) = scim(
        &app,
        "acme",
        &token,
        Method::POST,
        "/Groups",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "People Ops",
            "members": [],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let group_id = group["id"].as_str().unwrap().to_owned();
    // Okta adds members with PATCH.
    let add = json!({ "schemas": [PATCH], "Operations": [{ "op": "add", "path": "members",
        "value": [{ "value": ada_id, "display": "ada@acme.example" }, { "value": owner_id }] }] });
    let (status, patched) = scim(
        &app,
        "acme",
        &token,
        Method::PATCH,
        &format!("/Groups/{group_id}"),
        Some(add),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["members"].as_array().unwrap().len(), 2);
    assert_eq!(
        member(&app, &acme, "ada@acme.example").await.unwrap()["role"],
        "hr"
    );
    assert_eq!(
        member(&app, &acme, &acme.owner.email).await.unwrap()["role"],
        "owner",
        "owners are never changed"
    );

    let (_, by_member) = scim(
        &app,
        "acme",
        &token,
        Method::GET,
        &format!("/Groups?filter=members.value+eq+%22{ada_id}%22&excludedAttributes=members"),
        None,
    )
    .await;
    assert_eq!(by_member["totalResults"], 1);
    assert!(by_member["Resources"][0].get("members").is_none());

    // Entra removes a member by filter: back to the default role.
    let remove = json!({ "schemas": [PATCH], "Operations": [{ "op": "Remove", "path": format!("members[value eq \"{ada_id}\"]") }] });
    let (status, _) = scim(
        &app,
        "acme",
        &token,
        Method::PATCH,
        &format!("/Groups/{group_id}"),
        Some(remove),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        member(&app, &acme, "ada@acme.example").await.unwrap()["role"],
        "member"
    );

    // A member who is not a User here is refused, and the group is unchanged.
    let stranger = json!({ "schemas": [PATCH], "Operations": [{ "op": "add", "path": "members", "value": [{ "value": uuid::Uuid::now_v7().to_string() }] }] });
    let (status, error) = scim(
        &app,
        "acme",
        &token,
        Method::PATCH,
        &format!("/Groups/{group_id}"),
        Some(stranger),
    )
    .await;
    assert_eq!(
        (status, error["scimType"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalidValue"))
    );
    let (status, _) = scim(
        &app,
        "acme",
        &token,
        Method::DELETE,
        &format!("/Groups/{group_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.assert_audited(
        acme.id,
        &[
            "scim.group_created",
            "scim.group_updated",
            "scim.group_deleted",
            "member.role_changed",
        ],
    )
    .await;
}

#[tokio::test]
async fn the_seat_limit_holds_with_a_clear_scim_error() {
    let app = spawn_app().await;
    let acme = app.create_tenant_with_seats("acme", 1).await;
    let token = scim_token(&app, &acme).await;
    let (status, error) = scim(
        &app,
        "acme",
        &token,
        Method::POST,
        "/Users",
        Some(okta_user("ada@acme.example", "Ada", "L")),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        error["detail"].as_str().unwrap().contains("seat"),
        "{error}"
    );
    assert!(
        member(&app, &acme, "ada@acme.example").await.is_none(),
        "nothing half-written"
    );
    // An inactive user takes no seat.
    let mut inactive = okta_user("ada@acme.example", "Ada", "L");
    inactive["active"] = json!(false);
    let (status, _) = scim(&app, "acme", &token, Method::POST, "/Users", Some(inactive)).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_token_opens_its_own_organization_only_and_stops_when_rotated_or_revoked() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    let acme_token = scim_token(&app, &acme).await;
    let globex_token = scim_token(&app, &globex).await;
    let (_, ada) = scim(
        &app,
        "acme",
        &acme_token,
        Method::POST,
        "/Users",
        Some(okta_user("ada@acme.example", "Ada", "L")),
    )
    .await;
    let ada_id = ada["id"].as_str().unwrap().to_owned();
    let (_, group) = scim(
        &app,
        "acme",
        &acme_token,
        Method::POST,
        "/Groups",
        Some(json!({ "displayName": "Acme Secret Group", "members": [{ "value": ada_id }] })),
    )
    .await;
    let group_id = group["id"].as_str().unwrap().to_owned();

    // Acme's token on globex's host: 401, in SCIM's format.
    for path in ["/Users", "/Groups", "/ServiceProviderConfig"] {
        let (status, error) = scim(&app, "globex", &acme_token, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(error["status"], "401");
    }
    let (status, _) = scim(
        &app,
        "acme",
        "scim_notatokenxx_AAAA",
        Method::GET,
        "/Users",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Globex's own token with acme's ids: 404 for every verb, as for ids that exist nowhere.
    for (method, path) in [
        (Method::GET, format!("/Users/{ada_id}")),
        (Method::PUT, format!("/Users/{ada_id}")),
        (Method::PATCH, format!("/Users/{ada_id}")),
        (Method::DELETE, format!("/Users/{ada_id}")),
        (Method::GET, format!("/Groups/{group_id}")),
        (Method::PUT, format!("/Groups/{group_id}")),
        (Method::PATCH, format!("/Groups/{group_id}")),
        (Method::DELETE, format!("/Groups/{group_id}")),
    ] {
        let body = match method {
            Method::PUT if path.starts_with("/Users") => {
                Some(okta_user("x@globex.example", "X", "Y"))
            }
            Method::PUT => Some(json!({ "displayName": "taken over" })),
            Method::PATCH => Some(
                json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "value": { "active": false, "displayName": "x" } }] }),
            ),
            _ => None,
        };
        let (status, _) = scim(&app, "globex", &globex_token, method.clone(), &path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    // Globex's lists and filters never show acme's.
    for path in [
        "/Users",
        "/Groups",
        "/Users?filter=userName+eq+%22ada%40acme.example%22",
        "/Groups?filter=displayName+eq+%22Acme+Secret+Group%22",
    ] {
        let (_, list) = scim(&app, "globex", &globex_token, Method::GET, path, None).await;
        let text = list.to_string();
        assert!(
            !text.contains("ada@acme.example")
                && !text.contains(&ada_id)
                && !text.contains("Acme Secret"),
            "{path}: {text}"
        );
    }
    // Acme is untouched.
    let (_, still) = scim(
        &app,
        "acme",
        &acme_token,
        Method::GET,
        &format!("/Groups/{group_id}"),
        None,
    )
    .await;
    assert_eq!(still["displayName"], "Acme Secret Group");
    assert_eq!(still["members"][0]["value"], ada_id.as_str());
    assert_eq!(
        member(&app, &acme, "ada@acme.example").await.unwrap()["status"],
        "active"
    );

    // Rotation: the new token works, the old one stops at once; revocation stops the new one.
    let rotated = scim_token(&app, &acme).await;
    assert_eq!(
        scim(&app, "acme", &acme_token, Method::GET, "/Users", None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        scim(&app, "acme", &rotated, Method::GET, "/Users", None)
            .await
            .0,
        StatusCode::OK
    );
    let owner = app.login_owner(&acme).await;
    let status: Value = app
        .get("acme", "/api/v1/sso/scim", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert!(rotated.starts_with(&format!(
        "scim_{}_",
        status["token"]["prefix"].as_str().unwrap()
    )));
    assert!(
        !status.to_string().contains(&rotated),
        "the token is never shown again"
    );
    assert_eq!(
        app.delete("acme", "/api/v1/sso/scim/token", &owner.access)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        scim(&app, "acme", &rotated, Method::GET, "/Users", None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    app.assert_audited(acme.id, &["scim.token_created", "scim.token_revoked"])
        .await;
}

#[tokio::test]
async fn only_a_person_with_sso_manage_creates_a_scim_token() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let hr = app.add_member(&acme, &owner, "hr", "hr").await;
    let hr_session = app.login("acme", &hr).await;
    let refused = app
        .post(
            "acme",
            "/api/v1/sso/scim/token",
            &hr_session.access,
            &json!({}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let key: Value = app
        .post(
            "acme",
            "/api/v1/api-keys",
            &owner.access,
            &json!({ "name": "automation", "role": "admin" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let by_key = app
        .post(
            "acme",
            "/api/v1/sso/scim/token",
            key["key"].as_str().unwrap(),
            &json!({}),
        )
        .await;
    assert_eq!(
        by_key.status(),
        StatusCode::FORBIDDEN,
        "an API key cannot hand out directory access"
    );
    let status: Value = app
        .get("acme", "/api/v1/sso/scim", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert!(status["token"].is_null());
}

#[tokio::test]
async fn owners_stay_in_trellis_hands_and_real_clients_odd_requests_work() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let token = scim_token(&app, &acme).await;
    let owner_id = acme.owner.id.to_string();

    // The owner's address and status cannot be changed through SCIM (an admin may hold the token).
    let hijack = json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "emails",
        "value": [{ "value": "me@evil.example", "primary": true }] }] });
    let (status, _) = scim(
        &app,
        "acme",
        &token,
        Method::PATCH,
        &format!("/Users/{owner_id}"),
        Some(hijack),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = scim(
        &app,
        "acme",
        &token,
        Method::DELETE,
        &format!("/Users/{owner_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let off = json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "active", "value": false }] });
    let (status, _) = scim(
        &app,
        "acme",
        &token,
        Method::PATCH,
        &format!("/Users/{owner_id}"),
        Some(off),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let owner_row = member(&app, &acme, &acme.owner.email).await.unwrap();
    assert_eq!(owner_row["status"], "active");
    // Their title is the directory's to keep up to date.
    let title = json!({ "schemas": [PATCH], "Operations": [{ "op": "add", "path": "title", "value": "Founder" }] });
    let (status, _) = scim(
        &app,
        "acme",
        &token,
        Method::PATCH,
        &format!("/Users/{owner_id}"),
        Some(title),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // A member known by their address is found by a userName equal to it, even with another primary
    // address: taken over, not duplicated.
    let owner = app.login_owner(&acme).await;
    let alice = app.add_member(&acme, &owner, "alice", "member").await;
    let (_, found) = scim(
        &app,
        "acme",
        &token,
        Method::GET,
        &format!(
            "/Users?filter=userName+eq+%22{}%22",
            alice.email.to_uppercase()
        ),
        None,
    )
    .await;
    assert_eq!(found["totalResults"], 1, "{found}");
    let mut doc = okta_user(&alice.email, "Alice", "Smith");
    doc["emails"] =
        json!([{ "value": "alice.smith@acme.example", "primary": true, "type": "work" }]);
    let (status, adopted) = scim(&app, "acme", &token, Method::POST, "/Users", Some(doc)).await;
    assert_eq!(status, StatusCode::CREATED, "{adopted}");
    assert_eq!(adopted["id"], alice.id.to_string());

    // Entra sends the manager as a bare id.
    let (_, bob) = scim(
        &app,
        "acme",
        &token,
        Method::POST,
        "/Users",
        Some(okta_user("bob@acme.example", "Bob", "B")),
    )
    .await;
    let bob_id = bob["id"].as_str().unwrap().to_owned();
    let manager = json!({ "schemas": [PATCH], "Operations": [{ "op": "Add",
        "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": alice.id.to_string() }] });
    let (status, managed) = scim(
        &app,
        "acme",
        &token,
        Method::PATCH,
        &format!("/Users/{bob_id}"),
        Some(manager),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{managed}");
    assert_eq!(
        managed["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"],
        alice.id.to_string()
    );

    // Okta renames a group with its id in the value.
    let (_, group) = scim(
        &app,
        "acme",
        &token,
        Method::POST,
        "/Groups",
        Some(json!({ "displayName": "Sales" })),
    )
    .await;
    let group_id = group["id"].as_str().unwrap().to_owned();
    let rename = json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "value": { "id": group_id, "displayName": "Sales EMEA" } }] });
    let (status, renamed) = scim(
        &app,
        "acme",
        &token,
        Method::PATCH,
        &format!("/Groups/{group_id}"),
        Some(rename),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["displayName"], "Sales EMEA");

    // A NUL character is a 400, not a failure of the server.
    let (status, error) = scim(
        &app,
        "acme",
        &token,
        Method::POST,
        "/Users",
        Some(okta_user("nul\u{0}@acme.example", "N", "U")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    let (status, _) = scim(
        &app,
        "acme",
        &token,
        Method::POST,
        "/Groups",
        Some(json!({ "displayName": "x\u{0}" })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = scim(
        &app,
        "acme",
        &token,
        Method::GET,
        "/Users?filter=userName+eq+%22%5Cu0000%22",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
