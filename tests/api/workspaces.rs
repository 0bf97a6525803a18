//! Team workspaces through HTTP as the app role: membership and roles (a non-member gets 404 whatever
//! their organization role), documents whose every save is a version, optimistic concurrency with
//! ETag / If-Match (a stale save is 412 with the current version, never an overwrite), comparison and
//! restore.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::{
    career::ok,
    helpers::{Session, TestApp, expect_problem, spawn_app},
};

/// Tenant A's workspace resources for the isolation matrix.
pub struct WorkspaceFixtures {
    pub workspace_id: String,
    pub workspace_member_id: String,
    pub document_id: String,
    pub comment_id: String,
    pub notification_id: String,
    pub review_id: String,
}

pub async fn fixtures(app: &TestApp, owner: &Session, member_id: &str) -> WorkspaceFixtures {
    let workspace = ok(app
        .post(
            "acme",
            "/api/v1/workspaces",
            &owner.access,
            &json!({ "name": "Acme Secret Workspace" }),
        )
        .await)
    .await;
    let id = workspace["id"].as_str().unwrap().to_owned();
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            &format!("/api/v1/workspaces/{id}/members/{member_id}"),
            &owner.access,
            &json!({ "role": "editor" }),
        )
        .await)
    .await;
    let document = ok(app
        .post(
            "acme",
            &format!("/api/v1/workspaces/{id}/documents"),
            &owner.access,
            &json!({ "type": "note", "title": "Acme Secret Note", "body": "Acme Secret Body" }),
        )
        .await)
    .await;
    let document_id = document["id"].as_str().unwrap().to_owned();
    let thread = ok(app
        .post(
            "acme",
            &format!("/api/v1/workspaces/{id}/documents/{document_id}/comments"),
            &owner.access,
            &json!({ "body": "Acme Secret Comment", "mentions": [member_id],
                     "anchor": { "version": 1, "start": 0, "end": 4 } }),
        )
        .await)
    .await;
    let review = ok(app
        .post(
            "acme",
            &format!("/api/v1/workspaces/{id}/documents/{document_id}/reviews"),
            &owner.access,
            &json!({ "mode": "chain", "approvers": [member_id], "message": "Acme Secret Review" }),
        )
        .await)
    .await;
    let owner_pool = app.owner_pool().await;
    let (notification_id,): (uuid::Uuid,) = sqlx::query_as(
        "SELECT id FROM notifications WHERE user_id = $1::uuid AND kind = 'comment.mentioned'",
    )
    .bind(member_id)
    .fetch_one(&owner_pool)
    .await
    .unwrap();
    owner_pool.close().await;
    WorkspaceFixtures {
        workspace_id: id,
        workspace_member_id: member_id.to_owned(),
        document_id,
        comment_id: thread["id"].as_str().unwrap().to_owned(),
        notification_id: notification_id.to_string(),
        review_id: review["id"].as_str().unwrap().to_owned(),
    }
}

async fn save(
    app: &TestApp,
    session: &Session,
    path: &str,
    if_match: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut request = app
        .request(Method::PUT, "acme", path)
        .bearer_auth(&session.access)
        .json(&body);
    if let Some(tag) = if_match {
        request = request.header(header::IF_MATCH, tag);
    }
    request.send().await.unwrap()
}

fn etag_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn every_save_is_a_version_and_a_stale_one_is_refused_with_the_current() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let mut people = Vec::new();
    for name in ["ada", "bo", "cy", "di"] {
        let user = app.add_member(&acme, &owner, name, "member").await;
        let session = app.login("acme", &user).await;
        people.push((user, session));
    }
    let [(_, ada), (bo_u, bo), (cy_u, cy), (di_u, di)] = <[_; 4]>::try_from(people).ok().unwrap();

    let workspace = ok(app
        .post(
            "acme",
            "/api/v1/workspaces",
            &ada.access,
            &json!({ "name": "Spring applications" }),
        )
        .await)
    .await;
    assert_eq!(workspace["my_role"], "owner");
    let id = workspace["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/workspaces/{id}");
    for (user, role) in [(&bo_u, "editor"), (&cy_u, "viewer")] {
        ok(app
            .send_json(
                Method::PUT,
                "acme",
                &format!("{base}/members/{}", user.id),
                &ada.access,
                &json!({ "role": role }),
            )
            .await)
        .await;
    }
    let bad_role = app
        .send_json(
            Method::PUT,
            "acme",
            &format!("{base}/members/{}", cy_u.id),
            &ada.access,
            &json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(bad_role.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let by_editor = app
        .send_json(
            Method::PUT,
            "acme",
            &format!("{base}/members/{}", cy_u.id),
            &bo.access,
            &json!({ "role": "owner" }),
        )
        .await;
    assert_eq!(
        expect_problem(by_editor, StatusCode::FORBIDDEN).await,
        "workspace_role"
    );

    // Documents: editors write, viewers read, others see nothing — the organization's owner included.
    let created = app
        .post(
            "acme",
            &format!("{base}/documents"),
            &bo.access,
            &json!({ "type": "cover_letter", "title": "Cover letter: Data Lead",
                     "body": "Dear team,\nI lead data work.\nRegards", "change_summary": "First draft" }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(etag_of(&created), "\"v1\"");
    let doc: Value = created.json().await.unwrap();
    let path = format!("{base}/documents/{}", doc["id"].as_str().unwrap());
    let by_viewer = app
        .post(
            "acme",
            &format!("{base}/documents"),
            &cy.access,
            &json!({ "type": "note", "title": "Mine" }),
        )
        .await;
    assert_eq!(by_viewer.status(), StatusCode::FORBIDDEN);
    let read = app.get("acme", &path, &cy.access).await;
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(etag_of(&read), "\"v1\"");
    for session in [&di, &owner] {
        for what in [base.clone(), path.clone(), format!("{path}/versions")] {
            let hidden = app.get("acme", &what, &session.access).await;
            assert_eq!(hidden.status(), StatusCode::NOT_FOUND, "{what}");
        }
    }
    let listed = ok(app.get("acme", "/api/v1/workspaces", &owner.access).await).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);

    // Two editors start from version 1; the first save wins, the second gets 412 with the current.
    let first = save(
        &app,
        &ada,
        &path,
        Some("\"v1\""),
        json!({ "body": "Dear team,\nI lead data work at Acme.\nRegards", "change_summary": "Named us" }),
    )
    .await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(etag_of(&first), "\"v2\"");
    let stale = save(
        &app,
        &bo,
        &path,
        Some("\"v1\""),
        json!({ "body": "Hello,\nsomething else entirely" }),
    )
    .await;
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(etag_of(&stale), "\"v2\"");
    let problem: Value = stale.json().await.unwrap();
    assert_eq!(problem["code"], "version_conflict");
    assert_eq!(problem["current_version"], 2);
    let unchanged = ok(app.get("acme", &path, &bo.access).await).await;
    assert_eq!(
        unchanged["body"],
        "Dear team,\nI lead data work at Acme.\nRegards"
    );
    assert_eq!(unchanged["version"], 2);
    let blind = save(&app, &bo, &path, None, json!({ "body": "Overwrite" })).await;
    assert_eq!(
        expect_problem(blind, StatusCode::PRECONDITION_REQUIRED).await,
        "if_match_required"
    );
    // Only the tag as issued matches: not `*`, a weak tag, or the number spelt otherwise.
    for tag in ["*", "W/\"v2\"", "\"v02\"", "\"v+2\"", "\"v2\", \"v3\""] {
        let refused = save(&app, &bo, &path, Some(tag), json!({ "body": "Overwrite" })).await;
        assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED, "{tag}");
    }
    let by_viewer = save(
        &app,
        &cy,
        &path,
        Some("\"v2\""),
        json!({ "body": "Viewer" }),
    )
    .await;
    assert_eq!(by_viewer.status(), StatusCode::FORBIDDEN);
    let too_big = save(
        &app,
        &bo,
        &path,
        Some("\"v2\""),
        json!({ "body": "x".repeat(200_001) }),
    )
    .await;
    assert_eq!(too_big.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // History: every version, a comparison, and a restore that is a new version.
    let versions = ok(app
        .get("acme", &format!("{path}/versions"), &cy.access)
        .await)
    .await;
    let numbers: Vec<i64> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1]);
    assert_eq!(versions["items"][1]["change_summary"], "First draft");
    let diff = ok(app
        .get("acme", &format!("{path}/diff?from=1&to=2"), &cy.access)
        .await)
    .await;
    assert_eq!(
        (diff["inserted"].as_i64(), diff["deleted"].as_i64()),
        (Some(1), Some(1))
    );
    let ops: Vec<(String, String)> = diff["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["op"].as_str().unwrap().to_owned(),
                l["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            ("equal".to_owned(), "Dear team,".to_owned()),
            ("delete".to_owned(), "I lead data work.".to_owned()),
            ("insert".to_owned(), "I lead data work at Acme.".to_owned()),
            ("equal".to_owned(), "Regards".to_owned()),
        ]
    );
    assert!(
        diff["unified"]
            .as_str()
            .unwrap()
            .contains("-I lead data work.\n+I lead data work at Acme.")
    );
    let missing = app
        .get("acme", &format!("{path}/diff?from=1&to=9"), &cy.access)
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let restore = format!("{path}/versions/1/restore");
    let stale_restore = app
        .request(Method::POST, "acme", &restore)
        .bearer_auth(&bo.access)
        .header(header::IF_MATCH, "\"v1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale_restore.status(), StatusCode::PRECONDITION_FAILED);
    let restored = app
        .request(Method::POST, "acme", &restore)
        .bearer_auth(&bo.access)
        .header(header::IF_MATCH, "\"v2\"")
        .send()
        .await
        .unwrap();
    assert_eq!(restored.status(), StatusCode::OK);
    assert_eq!(etag_of(&restored), "\"v3\"");
    let restored: Value = restored.json().await.unwrap();
    assert_eq!(restored["body"], "Dear team,\nI lead data work.\nRegards");
    let v3 = ok(app
        .get("acme", &format!("{path}/versions/3"), &cy.access)
        .await)
    .await;
    assert_eq!(v3["restored_from"], 1);
    assert_eq!(v3["change_summary"], "Restored version 1");
    let latest = ok(app.get("acme", &format!("{path}/diff"), &cy.access).await).await;
    assert_eq!(
        (latest["from"].as_i64(), latest["to"].as_i64()),
        (Some(2), Some(3))
    );
    assert_eq!(latest["inserted"], 1, "{latest}");
    let absurd = app
        .get("acme", &format!("{path}/diff?to=-2147483648"), &cy.access)
        .await;
    assert_eq!(absurd.status(), StatusCode::NOT_FOUND);

    // Members: the last active owner stays (a deactivated owner does not count); an archived
    // workspace is read-only.
    let ada_id = workspace_owner_id(&app, &base, &ada).await;
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            &format!("{base}/members/{}", di_u.id),
            &ada.access,
            &json!({ "role": "owner" }),
        )
        .await)
    .await;
    ok(app
        .post(
            "acme",
            &format!("/api/v1/members/{}/deactivate", di_u.id),
            &owner.access,
            &json!({}),
        )
        .await)
    .await;
    let demote = app
        .send_json(
            Method::PUT,
            "acme",
            &format!("{base}/members/{ada_id}"),
            &ada.access,
            &json!({ "role": "editor" }),
        )
        .await;
    assert_eq!(
        expect_problem(demote, StatusCode::CONFLICT).await,
        "last_owner"
    );
    let leave = app
        .delete("acme", &format!("{base}/members/{ada_id}"), &ada.access)
        .await;
    assert_eq!(
        expect_problem(leave, StatusCode::CONFLICT).await,
        "last_owner"
    );
    let cy_leaves = app
        .delete("acme", &format!("{base}/members/{}", cy_u.id), &cy.access)
        .await;
    assert_eq!(cy_leaves.status(), StatusCode::NO_CONTENT);
    let gone = app.get("acme", &path, &cy.access).await;
    assert_eq!(
        gone.status(),
        StatusCode::NOT_FOUND,
        "a former member sees nothing"
    );
    ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &base,
            &ada.access,
            &json!({ "archived": true }),
        )
        .await)
    .await;
    let archived = save(&app, &bo, &path, Some("\"v3\""), json!({ "body": "Late" })).await;
    assert_eq!(
        expect_problem(archived, StatusCode::CONFLICT).await,
        "workspace_archived"
    );

    app.assert_audited(
        acme.id,
        &[
            "workspace.created",
            "workspace.member_set",
            "workspace.member_removed",
            "workspace.updated",
            "document.created",
            "document.saved",
            "document.restored",
        ],
    )
    .await;
}

async fn workspace_owner_id(app: &TestApp, base: &str, session: &Session) -> String {
    let members = ok(app
        .get("acme", &format!("{base}/members"), &session.access)
        .await)
    .await;
    members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "owner")
        .unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn two_saves_from_one_version_at_once_never_both_win() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let workspace = ok(app
        .post(
            "acme",
            "/api/v1/workspaces",
            &owner.access,
            &json!({ "name": "Race" }),
        )
        .await)
    .await;
    let base = format!("/api/v1/workspaces/{}", workspace["id"].as_str().unwrap());
    let doc = ok(app
        .post(
            "acme",
            &format!("{base}/documents"),
            &owner.access,
            &json!({ "type": "note", "title": "Race", "body": "v1" }),
        )
        .await)
    .await;
    let path = format!("{base}/documents/{}", doc["id"].as_str().unwrap());
    for round in 1..=5 {
        let tag = format!("\"v{round}\"");
        let (a, b) = tokio::join!(
            save(
                &app,
                &owner,
                &path,
                Some(&tag),
                json!({ "body": format!("a{round}") })
            ),
            save(
                &app,
                &owner,
                &path,
                Some(&tag),
                json!({ "body": format!("b{round}") })
            ),
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 412], "round {round}");
    }
    let versions = ok(app
        .get("acme", &format!("{path}/versions"), &owner.access)
        .await)
    .await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 6);
}
