//! Authorization, table-driven from the real `policies/policy.csv`: every baseline role is signed in and
//! probed on a route for every permission that has one; then the no-escalation and last-owner rules.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Session, TestApp, TestTenant, expect_problem, spawn_app};

/// role -> permissions, read from the policy file the server loads.
fn policy() -> BTreeMap<String, BTreeSet<String>> {
    let csv = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/policies/policy.csv"))
        .unwrap();
    let mut roles: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in csv
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        roles
            .entry(fields[1].to_owned())
            .or_default()
            .insert(format!("{}:{}", fields[3], fields[4]));
    }
    roles
}

/// A request that needs exactly `permission`: with it the answer is not 403, without it 403.
/// Permissions whose routes arrive with later issues have no probe (the `/me` check covers them).
async fn probe(
    app: &TestApp,
    tenant: &TestTenant,
    session: &Session,
    permission: &str,
) -> Option<StatusCode> {
    let missing = Uuid::now_v7();
    let slug = tenant.slug.as_str();
    let token = session.access.as_str();
    let response = match permission {
        "org_settings:read" => app.get(slug, "/api/v1/org", token).await,
        "org_settings:update" => {
            app.send_json(
                Method::PATCH,
                slug,
                "/api/v1/org/settings",
                token,
                &json!({}),
            )
            .await
        }
        "members:read" => app.get(slug, "/api/v1/members", token).await,
        "members:invite" => {
            app.post(
                slug,
                "/api/v1/invitations",
                token,
                &json!({ "email": "not-an-email" }),
            )
            .await
        }
        "members:update_role" => {
            let path = format!("/api/v1/members/{missing}/role");
            app.send_json(
                Method::PUT,
                slug,
                &path,
                token,
                &json!({ "role": "member" }),
            )
            .await
        }
        "members:deactivate" => {
            app.post(
                slug,
                &format!("/api/v1/members/{missing}/deactivate"),
                token,
                &json!({}),
            )
            .await
        }
        "members:remove" => {
            app.delete(slug, &format!("/api/v1/members/{missing}"), token)
                .await
        }
        "invitations:read" => app.get(slug, "/api/v1/invitations", token).await,
        "invitations:revoke" => {
            app.post(
                slug,
                &format!("/api/v1/invitations/{missing}/revoke"),
                token,
                &json!({}),
            )
            .await
        }
        "roles:read" => app.get(slug, "/api/v1/roles", token).await,
        "roles:manage" => {
            app.post(
                slug,
                "/api/v1/roles",
                token,
                &json!({ "name": "x", "permissions": [] }),
            )
            .await
        }
        "sessions:read" => {
            app.get(slug, &format!("/api/v1/members/{missing}/sessions"), token)
                .await
        }
        "sessions:revoke" => {
            app.delete(slug, &format!("/api/v1/members/{missing}/sessions"), token)
                .await
        }
        "api_keys:manage" => app.get(slug, "/api/v1/api-keys", token).await,
        "mfa:reset" => {
            app.delete(slug, &format!("/api/v1/members/{missing}/mfa"), token)
                .await
        }
        "sso:manage" => app.get(slug, "/api/v1/sso/role-mappings", token).await,
        "members:import" => app.get(slug, "/api/v1/imports", token).await,
        "audit_log:read" => {
            app.get(slug, "/api/v1/audit-events/public-key", token)
                .await
        }
        "audit_log:export" => {
            // A refused format is checked after the permission: 422 with it, 403 without.
            app.get(slug, "/api/v1/audit-events/export?format=xml", token)
                .await
        }
        "audit_log:configure" => app.get(slug, "/api/v1/audit-stream", token).await,
        "analytics:read" => app.get(slug, "/api/v1/analytics/adoption", token).await,
        "career:use" => app.get(slug, "/api/v1/career/skill-groups", token).await,
        "career:read" => {
            // Someone who is no one's report: only career:read opens their profile.
            app.get(
                slug,
                &format!("/api/v1/career/people/{}", tenant.owner.id),
                token,
            )
            .await
        }
        "career:manage" => {
            app.post(
                slug,
                "/api/v1/career/skill-groups",
                token,
                &json!({ "name": "" }),
            )
            .await
        }
        "interview:use" => app.get(slug, "/api/v1/interview/questions", token).await,
        "interview:manage" => {
            app.post(
                slug,
                "/api/v1/interview/questions",
                token,
                &json!({ "kind": "behavioral", "category": "Teamwork", "difficulty": 2, "text": "" }),
            )
            .await
        }
        "networking:use" => app.get(slug, "/api/v1/network/postings", token).await,
        "networking:manage" => {
            app.post(
                slug,
                "/api/v1/network/postings",
                token,
                &json!({ "title": "" }),
            )
            .await
        }
        "workspaces:use" => app.get(slug, "/api/v1/workspaces", token).await,
        "billing:manage" => return None,
        other => panic!("no probe for the permission {other}: add one to tests/api/authz.rs"),
    };
    Some(response.status())
}

#[tokio::test]
async fn every_role_can_do_exactly_what_the_policy_grants() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let policy = policy();
    let every_permission: BTreeSet<String> = policy.values().flatten().cloned().collect();
    assert_eq!(
        policy.keys().cloned().collect::<BTreeSet<_>>(),
        trellis::authz::BASELINE_ROLES
            .iter()
            .map(|r| r.to_string())
            .collect(),
        "policy.csv grants exactly the baseline roles"
    );
    assert_eq!(
        policy["owner"], every_permission,
        "the owner holds every permission"
    );

    for (role, granted) in &policy {
        let session = if role == "owner" {
            owner.clone()
        } else {
            let user = app
                .add_member(&acme, &owner, &format!("{role}-user"), role)
                .await;
            app.login("acme", &user).await
        };
        let me: Value = app
            .get("acme", "/api/v1/me", &session.access)
            .await
            .json()
            .await
            .unwrap();
        let held: BTreeSet<String> = me["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            &held, granted,
            "{role}: /me permissions differ from policy.csv"
        );

        for permission in &every_permission {
            let Some(status) = probe(&app, &acme, &session, permission).await else {
                continue;
            };
            if granted.contains(permission) {
                assert_ne!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role} should have {permission}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role} should not have {permission}"
                );
            }
        }
    }
}

#[tokio::test]
async fn nobody_grants_or_manages_a_role_beyond_their_own() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let hr = app.add_member(&acme, &owner, "hr", "hr").await;
    let hr = app.login("acme", &hr).await;
    let admin_user = app.add_member(&acme, &owner, "admin", "admin").await;
    let admin = app.login("acme", &admin_user).await;
    let member = app.add_member(&acme, &owner, "member", "member").await;

    // HR may invite members and managers, not admins.
    let as_admin = app
        .post(
            "acme",
            "/api/v1/invitations",
            &hr.access,
            &json!({ "email": "x@acme.example", "role": "admin" }),
        )
        .await;
    assert_eq!(
        expect_problem(as_admin, StatusCode::FORBIDDEN).await,
        "role_escalation"
    );
    let as_member = app
        .post(
            "acme",
            "/api/v1/invitations",
            &hr.access,
            &json!({ "email": "y@acme.example", "role": "manager" }),
        )
        .await;
    assert_eq!(as_member.status(), StatusCode::CREATED);

    // HR may not promote anyone to admin, nor deactivate or demote an admin.
    let promote = app
        .send_json(
            Method::PUT,
            "acme",
            &format!("/api/v1/members/{}/role", member.id),
            &hr.access,
            &json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(
        expect_problem(promote, StatusCode::FORBIDDEN).await,
        "role_escalation"
    );
    let deactivate = app
        .post(
            "acme",
            &format!("/api/v1/members/{}/deactivate", admin_user.id),
            &hr.access,
            &json!({}),
        )
        .await;
    assert_eq!(
        expect_problem(deactivate, StatusCode::FORBIDDEN).await,
        "role_escalation"
    );

    // An admin may not make an owner (billing is the owner's alone); an owner may.
    let path = format!("/api/v1/members/{}/role", member.id);
    let by_admin = app
        .send_json(
            Method::PUT,
            "acme",
            &path,
            &admin.access,
            &json!({ "role": "owner" }),
        )
        .await;
    assert_eq!(
        expect_problem(by_admin, StatusCode::FORBIDDEN).await,
        "role_escalation"
    );
    let by_owner = app
        .send_json(
            Method::PUT,
            "acme",
            &path,
            &owner.access,
            &json!({ "role": "owner" }),
        )
        .await;
    assert_eq!(by_owner.status(), StatusCode::OK);

    // An unknown role is a validation error, not a silent grant.
    let unknown = app
        .send_json(
            Method::PUT,
            "acme",
            &path,
            &owner.access,
            &json!({ "role": "superuser" }),
        )
        .await;
    assert_eq!(
        expect_problem(unknown, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_failed"
    );
}

#[tokio::test]
async fn the_last_owner_can_be_neither_demoted_deactivated_nor_removed() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let me = acme.owner.id;

    let demote = app
        .send_json(
            Method::PUT,
            "acme",
            &format!("/api/v1/members/{me}/role"),
            &owner.access,
            &json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(
        expect_problem(demote, StatusCode::CONFLICT).await,
        "last_owner"
    );
    let deactivate = app
        .post(
            "acme",
            &format!("/api/v1/members/{me}/deactivate"),
            &owner.access,
            &json!({}),
        )
        .await;
    assert_eq!(
        expect_problem(deactivate, StatusCode::CONFLICT).await,
        "self_action"
    );

    // A second owner can demote the first, but then cannot leave the organization ownerless.
    let second = app.add_member(&acme, &owner, "second", "owner").await;
    let second_session = app.login("acme", &second).await;
    let demote_first = app
        .send_json(
            Method::PUT,
            "acme",
            &format!("/api/v1/members/{me}/role"),
            &second_session.access,
            &json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(demote_first.status(), StatusCode::OK);
    let remove_self = app
        .delete(
            "acme",
            &format!("/api/v1/members/{}", second.id),
            &second_session.access,
        )
        .await;
    assert_eq!(
        expect_problem(remove_self, StatusCode::CONFLICT).await,
        "self_action"
    );
    let demote_self = app
        .send_json(
            Method::PUT,
            "acme",
            &format!("/api/v1/members/{}/role", second.id),
            &second_session.access,
            &json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(
        expect_problem(demote_self, StatusCode::CONFLICT).await,
        "last_owner"
    );
    // The former owner, now an admin, may not touch the owner.
    let first_again = app.login_owner(&acme).await;
    let remove_owner = app
        .delete(
            "acme",
            &format!("/api/v1/members/{}", second.id),
            &first_again.access,
        )
        .await;
    assert_eq!(
        expect_problem(remove_owner, StatusCode::FORBIDDEN).await,
        "role_escalation"
    );
}
