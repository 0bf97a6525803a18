//! The portal's workspaces (ADR 0018 part 5): in two real browsers, two members edit the same document
//! at once — the later save is refused and the conflict page shows the other's version, the lines
//! that differ and the member's own text kept — then merge and save; each sees the other present and
//! the other's save live; a passage is quoted by selecting it and commented on; a review is asked for
//! and approved; the history compares versions. Refused forms change nothing and say why; a workspace
//! the member is not in is not found.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    browser::{Browser, url},
    career::ok,
    console::{browser, request, sign_in},
    helpers::{PASSWORD, Session, TestApp, TestUser, spawn_app},
    portal::post_form,
};

async fn signed_in(app: &TestApp, user: &TestUser) -> Browser {
    let browser = Browser::start().await;
    browser.open(&url(app, "acme", "/login")).await;
    browser.fill("input[name=email]", &user.email).await;
    browser.fill("input[name=password]", &user.password).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_title("Home — acme Inc").await;
    browser
}

/// Waits until `css`'s text contains `part` (the page's script changes it), and returns it.
async fn eventually(browser: &Browser, css: &str, part: &str) -> String {
    let mut seen = None;
    for _ in 0..100 {
        seen = browser.text_now(css).await;
        if seen.as_deref().is_some_and(|t| t.contains(part)) {
            return seen.unwrap_or_default();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never contained {part:?}: {seen:?}");
}

async fn document(app: &TestApp, session: &Session, path: &str) -> Value {
    ok(app
        .get("acme", &format!("/api/v1{path}"), &session.access)
        .await)
    .await
}

#[tokio::test]
async fn two_members_edit_one_document_the_later_save_shows_the_conflict_and_they_review_it() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let bob = app.add_member(&acme, &owner, "bob", "member").await;
    let ada_session = app.login("acme", &ada).await;

    // Ada starts a workspace and a document in it.
    let a = signed_in(&app, &ada).await;
    a.click("nav a[href='/workspaces']").await;
    a.wait_for_title("Workspaces — acme Inc").await;
    a.fill("#name", "Spring applications").await;
    a.click("#start-workspace").await;
    a.wait_for_url("done=created").await;
    a.click("details summary").await;
    a.fill("#doc-title", "Cover letter").await;
    a.fill(
        "#doc-body",
        "Dear hiring team,\nI would like to join Acme.\nKind regards,\nAda",
    )
    .await;
    a.click("#start-document").await;
    a.wait_for_title("Cover letter — Spring applications — acme Inc")
        .await;
    let path = a
        .script("return window.location.pathname;", json!([]))
        .await
        .as_str()
        .unwrap()
        .to_owned();
    let parts: Vec<&str> = path.split('/').collect();
    let (workspace, doc) = (parts[2].to_owned(), parts[4].to_owned());
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            &format!("/api/v1/workspaces/{workspace}/members/{}", bob.id),
            &ada_session.access,
            &json!({ "role": "editor" }),
        )
        .await)
    .await;

    // Both open the editor on version 1.
    a.click("#edit").await;
    a.wait_for_title("Edit: Cover letter — acme Inc").await;
    let b = signed_in(&app, &bob).await;
    b.open(&url(&app, "acme", &format!("{path}/edit"))).await;
    b.wait_for_title("Edit: Cover letter — acme Inc").await;

    // Bob saves first.
    b.clear("#body").await;
    b.fill(
        "#body",
        "Dear hiring team,\nI would love to join Acme's data team.\nKind regards,\nAda",
    )
    .await;
    b.fill("#change-summary", "Warmer second line").await;
    b.click("#save").await;
    b.wait_for_url("done=saved").await;
    assert_eq!(b.text("#version").await, "version 2");

    // Ada's save, based on version 1, is refused: her text is kept, with Bob's and the differences.
    a.clear("#body").await;
    a.fill(
        "#body",
        "Dear hiring team,\nI would like to join Acme.\nI bring ten years of SQL.\nKind regards,\nAda",
    )
    .await;
    a.click("#save").await;
    a.wait_for_title("Saved meanwhile: Cover letter — acme Inc")
        .await;
    let conflict = a.text("#conflict").await;
    assert!(
        conflict.contains("Version 2 was saved by bob@acme.example"),
        "{conflict}"
    );
    let diff = a.text("#diff").await;
    assert!(
        diff.contains("− I would love to join Acme's data team.")
            && diff.contains("+ I would like to join Acme.")
            && diff.contains("+ I bring ten years of SQL."),
        "{diff}"
    );
    assert!(
        !diff.contains("− Dear hiring team,") && !diff.contains("+ Dear hiring team,"),
        "the lines both have are not changes (the browser's CRLF is the document's LF): {diff}"
    );
    let kept = a
        .script("return document.getElementById('body').value;", json!([]))
        .await;
    assert_eq!(
        kept,
        "Dear hiring team,\nI would like to join Acme.\nI bring ten years of SQL.\nKind regards,\nAda"
    );
    let current = document(
        &app,
        &ada_session,
        &format!("/workspaces/{workspace}/documents/{doc}"),
    )
    .await;
    assert_eq!(current["version"], 2, "nothing overwritten: {current}");
    a.assert_accessible().await;
    a.screenshot("portal-document-conflict").await;

    // Bob has the document open; Ada merges, saves, and goes to it too.
    b.open(&url(&app, "acme", &path)).await;
    b.wait_for_title("Cover letter — Spring applications — acme Inc")
        .await;
    a.clear("#body").await;
    a.fill(
        "#body",
        "Dear hiring team,\nI would love to join Acme's data team.\nI bring ten years of SQL.\nKind regards,\nAda",
    )
    .await;
    a.click("#save").await;
    a.wait_for_url("done=saved").await;
    assert_eq!(a.text("#version").await, "version 3");
    // Bob's page hears of her save at once, and says his text is old; each sees the other here.
    eventually(&b, "#stale", "ada@acme.example saved version 3").await;
    eventually(&b, "#activity", "ada@acme.example saved version 3").await;
    eventually(&b, "#here", "Also open now by ada@acme.example").await;
    eventually(&a, "#here", "Also open now by bob@acme.example").await;

    // Ada quotes a passage by selecting it, and comments on it.
    a.script(
        "var text = document.getElementById('doc-body').firstChild;
         var at = text.data.indexOf('ten years of SQL');
         var range = document.createRange();
         range.setStart(text, at); range.setEnd(text, at + 16);
         window.getSelection().removeAllRanges(); window.getSelection().addRange(range);",
        json!([]),
    )
    .await;
    for _ in 0..50 {
        let quoted = a
            .script("return document.getElementById('quote').value;", json!([]))
            .await;
        if quoted == "ten years of SQL" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    a.fill("#comment-body", "Twelve, by now?").await;
    a.click("#send-comment").await;
    a.wait_for_url("done=commented").await;
    let threads = a.text("#threads").await;
    assert!(
        threads.contains("ten years of SQL") && threads.contains("Twelve, by now?"),
        "{threads}"
    );
    let comments = document(
        &app,
        &ada_session,
        &format!("/workspaces/{workspace}/documents/{doc}/comments"),
    )
    .await;
    // A reply posted from a page with no browser behind it reaches Bob's open page live.
    let ada_client = browser();
    sign_in(&app, &ada_client, &ada.email, PASSWORD).await;
    let (_, ada_csrf) = crate::portal::page_and_csrf(&app, &ada_client, &path).await;
    let thread = comments["items"][0]["id"].as_str().unwrap();
    let (replied, _) = post_form(
        &app,
        &ada_client,
        &format!("{path}/comments/{thread}/replies"),
        &ada_csrf,
        &[("body", "Or\r\nthirteen.")],
    )
    .await;
    assert_eq!(replied, StatusCode::SEE_OTHER);
    eventually(&b, "#activity", "ada@acme.example replied on").await;
    let anchor = &comments["items"][0]["anchor"];
    assert_eq!(
        (
            anchor["version"].as_i64(),
            anchor["start"].as_i64(),
            anchor["quote"].as_str()
        ),
        (Some(3), Some(65), Some("ten years of SQL")),
        "{comments}"
    );

    // She asks Bob to review; he approves in his browser.
    a.click("#reviews-h ~ details summary").await;
    a.click(&format!("#approver-1 option[value='{}']", bob.id))
        .await;
    a.fill("#review-message", "Ready for a last look").await;
    a.click("#ask-review").await;
    a.wait_for_url("done=asked").await;
    assert_eq!(a.text("#review-state").await, "in review");
    assert_eq!(a.count("#edit").await, 0, "no editing while in review");
    a.assert_accessible().await;
    a.screenshot("portal-document").await;
    b.open(&url(&app, "acme", &path)).await;
    b.wait_for_title("Cover letter — Spring applications — acme Inc")
        .await;
    b.click("#reviews button[value=approve]").await;
    b.wait_for_url("done=decided").await;
    assert_eq!(b.text("#review-state").await, "approved");

    // The history compares any two versions.
    b.click("#history").await;
    b.wait_for_title("History: Cover letter — acme Inc").await;
    assert_eq!(b.count("#versions tbody tr").await, 3);
    assert!(
        b.text("#diff-summary")
            .await
            .starts_with("1 line added (+), 0 removed (−)"),
        "version 2 to 3"
    );
    b.assert_accessible().await;
    b.screenshot("portal-document-history").await;
    a.quit().await;
    b.quit().await;
}

#[tokio::test]
async fn refused_workspace_forms_change_nothing_and_others_workspaces_are_not_found() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let vic = app.add_member(&acme, &owner, "vic", "member").await;
    let eve = app.add_member(&acme, &owner, "eve", "member").await;
    let ada_session = app.login("acme", &ada).await;
    let space = ok(app
        .post(
            "acme",
            "/api/v1/workspaces",
            &ada_session.access,
            &json!({ "name": "Spring applications" }),
        )
        .await)
    .await;
    let workspace = space["id"].as_str().unwrap();
    let created = ok(app
        .post(
            "acme",
            &format!("/api/v1/workspaces/{workspace}/documents"),
            &ada_session.access,
            &json!({ "type": "note", "title": "Plan", "body": "One\nTwo" }),
        )
        .await)
    .await;
    let doc = created["id"].as_str().unwrap();
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            &format!("/api/v1/workspaces/{workspace}/members/{}", vic.id),
            &ada_session.access,
            &json!({ "role": "viewer" }),
        )
        .await)
    .await;
    let path = format!("/workspaces/{workspace}/documents/{doc}");

    // Vic may read but not write: no Edit, a refused save and comment, nothing changed.
    let vic_client = browser();
    sign_in(&app, &vic_client, &vic.email, PASSWORD).await;
    let (page, csrf) = crate::portal::page_and_csrf(&app, &vic_client, &path).await;
    assert!(
        page.contains("One\nTwo") && !page.contains("id=\"edit\""),
        "{page}"
    );
    assert!(
        !page.contains("id=\"send-comment\""),
        "a viewer does not comment"
    );
    let (saved, page) = post_form(
        &app,
        &vic_client,
        &path,
        &csrf,
        &[
            ("title", "Plan"),
            ("body", "Vic was here"),
            ("based_on", "1"),
        ],
    )
    .await;
    assert_eq!(saved, StatusCode::FORBIDDEN);
    assert!(
        page.contains("writing documents needs the editor role")
            && page.contains(">\nVic was here</textarea>"),
        "{page}"
    );
    let editor = request(&app, &vic_client, Method::GET, &format!("{path}/edit"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        editor.status(),
        StatusCode::FORBIDDEN,
        "no editor for a viewer"
    );

    // Ada's comment on a passage that is not in the text: refused, her words kept.
    let ada_client = browser();
    sign_in(&app, &ada_client, &ada.email, PASSWORD).await;
    let (_, ada_csrf) = crate::portal::page_and_csrf(&app, &ada_client, &path).await;
    let comments = format!("{path}/comments");
    let (refused, page) = post_form(
        &app,
        &ada_client,
        &comments,
        &ada_csrf,
        &[("quote", "Three"), ("body", "Where did three go?")],
    )
    .await;
    assert_eq!(refused, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("quote is not in the document")
            && page.contains(">Where did three go?</textarea>"),
        "{page}"
    );
    // A save based on a version that is not current shows the conflict, and keeps version 1.
    let (stale, page) = post_form(
        &app,
        &ada_client,
        &path,
        &ada_csrf,
        &[
            ("title", "Plan"),
            ("body", "One\nTwo\nThree"),
            ("based_on", "7"),
        ],
    )
    .await;
    assert_eq!(stale, StatusCode::PRECONDITION_FAILED);
    assert!(page.contains("id=\"conflict\""));
    let thread = document(
        &app,
        &ada_session,
        &format!("/workspaces/{workspace}/documents/{doc}/comments"),
    )
    .await;
    assert_eq!(thread["items"], json!([]), "{thread}");
    let current = document(
        &app,
        &ada_session,
        &format!("/workspaces/{workspace}/documents/{doc}"),
    )
    .await;
    assert_eq!(
        (current["version"].as_i64(), current["body"].as_str()),
        (Some(1), Some("One\nTwo"))
    );
    // A passage over two lines, as a browser sends it (CRLF), is found in the text (LF).
    let (quoted, _) = post_form(
        &app,
        &ada_client,
        &comments,
        &ada_csrf,
        &[("quote", "One\r\nTwo"), ("body", "Both lines?")],
    )
    .await;
    assert_eq!(quoted, StatusCode::SEE_OTHER);
    // A save refused for another reason (a title too long) keeps the version it was based on: once
    // someone else has saved, trying again shows the conflict instead of overwriting their version.
    ok(app
        .request(
            Method::PUT,
            "acme",
            &format!("/api/v1/workspaces/{workspace}/documents/{doc}"),
        )
        .bearer_auth(&ada_session.access)
        .header("if-match", "\"v1\"")
        .json(&json!({ "body": "One\nTwo\nThree" }))
        .send()
        .await
        .unwrap())
    .await;
    let long_title = "T".repeat(201);
    let (refused, page) = post_form(
        &app,
        &ada_client,
        &path,
        &ada_csrf,
        &[
            ("title", long_title.as_str()),
            ("body", "Mine"),
            ("based_on", "1"),
        ],
    )
    .await;
    assert_eq!(refused, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("name=\"based_on\" value=\"1\""),
        "still based on version 1: {page}"
    );

    // Eve is not in the workspace: nothing of it exists for her.
    let eve_client = browser();
    sign_in(&app, &eve_client, &eve.email, PASSWORD).await;
    let (listed, eve_csrf) = crate::portal::page_and_csrf(&app, &eve_client, "/workspaces").await;
    assert!(!listed.contains("Spring applications"), "{listed}");
    for page in [
        format!("/workspaces/{workspace}"),
        path.clone(),
        format!("{path}/history"),
        format!("{path}/versions/1"),
    ] {
        let response = request(&app, &eve_client, Method::GET, &page)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{page}");
    }
    let (post, _) = post_form(
        &app,
        &eve_client,
        &comments,
        &eve_csrf,
        &[("body", "Eve was here")],
    )
    .await;
    assert_eq!(post, StatusCode::NOT_FOUND);

    let threads = document(
        &app,
        &ada_session,
        &format!("/workspaces/{workspace}/documents/{doc}/comments"),
    )
    .await;
    let items = threads["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "only Ada's, none of Eve's: {threads}");
    assert_eq!(
        (
            items[0]["anchor"]["quote"].as_str(),
            items[0]["anchor"]["start"].as_i64()
        ),
        (Some("One\nTwo"), Some(0)),
        "{threads}"
    );
}
