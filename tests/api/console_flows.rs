//! The console end to end in a real browser (see [`crate::browser`]): the day of an admin — invite
//! one and many, change a role, deactivate and reactivate, import a CSV and watch it reach 100 %,
//! find the events, export them, verify the chain — then settings, roles, SSO and SCIM, and the pages
//! of people not signed in yet (invitation, password reset). Every page visited is checked for the
//! accessibility basics and saved to docs/screenshots/.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    browser::{Browser, sign_in, url},
    helpers::{invitation_token, spawn_app_with},
};

/// Employees for an import: `n` new people across five departments.
fn staff_csv(n: usize) -> String {
    let mut csv = String::from("Email,First name,Last name,Department\n");
    for i in 0..n {
        csv.push_str(&format!(
            "person{i}@acme.example,Person,Number {i},Team {}\n",
            i % 5
        ));
    }
    csv
}

#[tokio::test]
async fn an_owner_invites_imports_to_completion_finds_the_events_exports_and_verifies() {
    let app = spawn_app_with(|s| s.imports.chunk_rows = 10).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, &acme.owner.email, &acme.owner.password).await;
    browser.assert_accessible().await;

    // Many at once: all of them, or — one address unreadable — none.
    browser.open(&url(&app, "acme", "/admin/members")).await;
    browser.wait_for_title("Members — acme Inc").await;
    browser.assert_accessible().await;
    browser.click("details summary").await;
    browser
        .fill("#many-emails", "ok@acme.example\nnot-an-address")
        .await;
    browser.click("#invite-many").await;
    browser.wait_for_url("/admin/members/invite-many").await;
    let refused = browser.text("#invite-error").await;
    assert!(refused.contains("not-an-address"), "{refused}");
    let nobody: Value = app
        .get("acme", "/api/v1/members?q=ok%40acme", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(nobody["items"], json!([]), "a refused paste invites nobody");
    browser.clear("#many-emails").await;
    browser
        .fill(
            "#many-emails",
            "x1@acme.example\ny2@acme.example, z3@acme.example; X1@acme.example",
        )
        .await;
    browser.click("#invite-many").await;
    browser.wait_for_url("invited_count=3").await;
    assert_eq!(browser.text("#notice").await, "3 invitations sent.");

    // A member's page: change the role, deactivate, reactivate.
    browser.fill("#m-q", "ada").await;
    browser.click("#search").await;
    browser.wait_for_url("q=ada").await;
    browser.click("#members tbody a").await;
    browser
        .wait_for_title(&format!("{} — acme Inc", ada.email))
        .await;
    assert!(browser.text("#sessions").await.contains("invitation"));
    browser.click("#new-role option[value=hr]").await;
    browser.click("#change-role").await;
    browser.wait_for_url("done=role").await;
    assert_eq!(browser.text("#role").await, "hr");
    browser.click("#deactivate").await;
    browser.wait_for_url("done=deactivated").await;
    assert_eq!(browser.text("#status").await, "deactivated");
    assert_eq!(browser.count("#sessions").await, 0, "signed out everywhere");
    browser.click("#reactivate").await;
    browser.wait_for_url("done=reactivated").await;
    assert_eq!(browser.text("#status").await, "active");
    let about = browser.text("#events-about").await;
    assert!(
        about.contains("member.role_changed") && about.contains("member.deactivated"),
        "{about}"
    );
    browser.assert_accessible().await;
    browser.screenshot("member").await;

    // An import: upload, validate, commit, and the bar fed by server-sent events reaches 100 %.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("staff.csv");
    std::fs::write(&file, staff_csv(60)).unwrap();
    browser.open(&url(&app, "acme", "/admin/imports")).await;
    browser.wait_for_title("Imports — acme Inc").await;
    browser.assert_accessible().await;
    browser.fill("#file", file.to_str().unwrap()).await;
    browser.click("#upload").await;
    browser
        .wait_for_title("Import of staff.csv — acme Inc")
        .await;
    assert_eq!(browser.text("#rows").await, "60");
    browser.click("#validate").await;
    browser.wait_for_url("done=validated").await;
    let counts = browser.text("#report-counts").await;
    assert!(
        counts.starts_with("create update unchanged error deactivate\n60 0 0 0 0"),
        "{counts}"
    );
    browser.assert_accessible().await;
    browser.screenshot("import-report").await;
    browser.click("#commit").await;
    browser.wait_for_url("done=committed").await;
    assert_eq!(browser.text("#state").await, "queued");
    // The worker starts only now, so the page is open (and listening) while the rows are written.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(app.worker.clone().run(stopped));
    let mut seen = Vec::new();
    for _ in 0..300 {
        let live = browser
            .script(
                "const b = document.getElementById('import-progress'); \
                 return b ? [Number(b.value), b.dataset.done === 'true'] : null;",
                json!([]),
            )
            .await;
        if let Some([percent, done]) = live.as_array().map(Vec::as_slice) {
            seen.push(percent.as_i64().unwrap());
            if done == &json!(true) {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        seen.last(),
        Some(&100),
        "the live bar ends at 100: {seen:?}"
    );
    let live_text = browser.text("#import-progress-text").await;
    assert!(live_text.contains("60 of 60 rows (100%)"), "{live_text}");
    // The page reloads itself with the outcome.
    let mut state = None;
    for _ in 0..100 {
        state = browser.text_now("#state").await;
        if state.as_deref() == Some("completed") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(state.as_deref(), Some("completed"));
    assert!(browser.text("#outcome").await.contains("60"));
    browser.screenshot("import").await;
    browser.open(&url(&app, "acme", "/admin/imports")).await;
    browser.wait_for_title("Imports — acme Inc").await;
    assert!(
        browser
            .text("#imports")
            .await
            .contains("staff.csv 60 upsert completed")
    );
    browser.screenshot("imports").await;
    stop.send(true).unwrap();
    running.await.unwrap();

    // The events in the audit log, exported with the filters, and the chain verified.
    app.worker.seal_audit().await.unwrap();
    browser.open(&url(&app, "acme", "/admin/audit")).await;
    browser.wait_for_title("Audit log — acme Inc").await;
    browser.fill("#f-action", "import.").await;
    browser.click("#filter").await;
    browser.wait_for_url("action=import.").await;
    let events = browser.text("#events").await;
    for action in [
        "import.uploaded",
        "import.validated",
        "import.committed",
        "import.completed",
    ] {
        assert!(events.contains(action), "{action} in {events}");
    }
    browser.assert_accessible().await;
    let export = browser.attribute("#export-csv", "href").await.unwrap();
    let fetched = browser
        .script(
            "const x = new XMLHttpRequest(); x.open('GET', arguments[0], false); x.send(); \
             return [x.status, x.responseText];",
            json!([export]),
        )
        .await;
    assert_eq!(fetched[0], 200, "{fetched}");
    let csv = fetched[1].as_str().unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 4,
        "a header and the four events: {csv}"
    );
    assert!(csv.lines().skip(1).all(|l| l.contains(",import.")), "{csv}");
    browser
        .open(&url(&app, "acme", "/admin/audit/verify"))
        .await;
    browser
        .wait_for_title("Audit log integrity — acme Inc")
        .await;
    assert!(browser.text("#verdict").await.starts_with("Intact"));
    browser.assert_accessible().await;
    browser.quit().await;
}

#[tokio::test]
async fn compliance_reads_the_audit_log_but_manages_nothing() {
    let app = spawn_app_with(|_| {}).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let carol = app.add_member(&acme, &owner, "carol", "compliance").await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, &carol.email, &carol.password).await;
    let nav = browser.text("nav").await;
    assert!(
        nav.contains("Audit log") && nav.contains("Members"),
        "{nav}"
    );
    for absent in ["Roles", "Imports", "SSO", "Settings"] {
        assert!(!nav.contains(absent), "{absent} in {nav}");
    }
    browser
        .open(&url(&app, "acme", &format!("/admin/members/{}", ada.id)))
        .await;
    browser
        .wait_for_title(&format!("{} — acme Inc", ada.email))
        .await;
    for control in ["#change-role", "#deactivate", "#sessions"] {
        assert_eq!(
            browser.count(control).await,
            0,
            "{control} shown to compliance"
        );
    }
    assert!(
        browser
            .text("#events-about")
            .await
            .contains("member.invited")
    );
    for (path, needed) in [
        ("/admin/imports", "members:import"),
        ("/admin/roles", "roles:read"),
        ("/admin/sso", "sso:manage"),
    ] {
        browser.open(&url(&app, "acme", path)).await;
        browser.wait_for_title("Not allowed").await;
        assert!(browser.text("main").await.contains(needed), "{path}");
    }
    // Settings are readable, not changeable.
    browser.open(&url(&app, "acme", "/admin/settings")).await;
    browser.wait_for_title("Settings — acme Inc").await;
    assert_eq!(browser.count("#save-settings").await, 0);
    assert_eq!(browser.count("#save-stream").await, 0);
    // A page the console does not have, and a malformed address, answer as pages.
    browser.open(&url(&app, "acme", "/admin/nowhere")).await;
    browser.wait_for_title("Not Found").await;
    browser.assert_accessible().await;
    browser.screenshot("not-found").await;
    browser
        .open(&url(&app, "acme", "/admin/members?colour=red"))
        .await;
    browser.wait_for_title("Unprocessable Entity").await;
    assert!(browser.text("#problem").await.contains("colour"));
    browser.quit().await;

    // A role change posted by hand without the permission changes nothing.
    let session = app.login("acme", &carol).await;
    let page = app
        .request(Method::GET, "acme", "/admin/members")
        .header("cookie", format!("trellis_session={}", session.access))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = page
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned);
    let forged = app
        .request(
            Method::POST,
            "acme",
            &format!("/admin/members/{}/role", ada.id),
        )
        .header("cookie", format!("trellis_session={}", session.access))
        .form(&[
            ("csrf_token", csrf.as_deref().unwrap_or("none")),
            ("role", "admin"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let member: Value = app
        .get(
            "acme",
            &format!("/api/v1/members/{}", ada.id),
            &owner.access,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(member["role"], "member");
}

#[tokio::test]
async fn an_owner_keeps_settings_roles_sso_and_scim_in_the_console() {
    let app = spawn_app_with(|_| {}).await;
    let op = crate::op::TestOp::start().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, &acme.owner.email, &acme.owner.password).await;

    // Settings: a bad value is refused by name and nothing changes; then they are saved.
    browser.open(&url(&app, "acme", "/admin/settings")).await;
    browser.wait_for_title("Settings — acme Inc").await;
    browser.assert_accessible().await;
    browser.clear("#org-name").await;
    browser.fill("#org-name", "Acme Corporation").await;
    // The browser itself refuses a number below the field's minimum; the server refuses it regardless.
    browser
        .script(
            "document.getElementById('retention').removeAttribute('min');",
            json!([]),
        )
        .await;
    browser.clear("#retention").await;
    browser.fill("#retention", "30").await;
    browser.click("#save-settings").await;
    browser.wait_for_url("/admin/settings").await;
    for _ in 0..50 {
        if browser.count("#form-error").await > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let refused = browser.text("#form-error").await;
    assert!(
        refused.contains("audit retention days must be between 90 and 3650"),
        "{refused}"
    );
    let org: Value = app
        .get("acme", "/api/v1/org", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        org["settings"]["display_name"], "acme Inc",
        "nothing was saved"
    );
    assert_eq!(org["settings"]["audit_retention_days"], 365);
    browser.clear("#org-name").await;
    browser.fill("#org-name", "Acme Corporation").await;
    browser.clear("#retention").await;
    browser.fill("#retention", "400").await;
    browser.click("#save-settings").await;
    browser.wait_for_title("Settings — Acme Corporation").await;
    assert_eq!(browser.text("#notice").await, "The settings were saved.");
    browser.screenshot("settings").await;

    // Roles: a custom role created from the matrix's last column.
    browser.open(&url(&app, "acme", "/admin/roles")).await;
    browser.wait_for_title("Roles — Acme Corporation").await;
    browser.assert_accessible().await;
    browser.fill("#new-role-name", "recruiter").await;
    browser
        .click("input[form=role-new][name='p:members:read']")
        .await;
    browser
        .click("input[form=role-new][name='p:members:invite']")
        .await;
    browser.click("#create-role").await;
    browser.wait_for_url("done=created").await;
    let roles: Value = app
        .get("acme", "/api/v1/roles", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    let recruiter = roles["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "recruiter")
        .cloned()
        .unwrap_or_else(|| panic!("{roles}"));
    assert_eq!(
        recruiter["permissions"],
        json!(["members:read", "members:invite"])
    );
    assert!(browser.text("#matrix thead").await.contains("recruiter"));
    browser.screenshot("roles").await;

    // SSO: the provider typed in the form is tested (a real provider process), then saved.
    let (client_id, client_secret) = op.register_client(&app, "acme").await;
    browser.open(&url(&app, "acme", "/admin/sso")).await;
    browser
        .wait_for_title("SSO & provisioning — Acme Corporation")
        .await;
    browser.assert_accessible().await;
    browser.fill("#issuer", &op.issuer).await;
    browser.fill("#client-id", &client_id).await;
    browser.click("#test-sso").await;
    browser.wait_for_url("/admin/sso/test").await;
    let tested = browser.text("#test-result").await;
    assert!(tested.starts_with("The provider answers."), "{tested}");
    browser.fill("#client-secret", &client_secret).await;
    browser.click("#save-sso").await;
    browser.wait_for_url("done=saved").await;
    let connection: Value = app
        .get("acme", "/api/v1/sso/oidc", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(connection["issuer_url"], op.issuer.as_str());
    assert_eq!(connection["client_secret_set"], true);

    // SCIM: the token is shown once, on the answer to its creation.
    browser.click("#create-scim").await;
    browser.wait_for_url("/admin/sso/scim/token").await;
    let token = browser.text("#scim-token").await;
    let scim: Value = app
        .get("acme", "/api/v1/sso/scim", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    let prefix = scim["token"]["prefix"].as_str().unwrap();
    assert!(
        token.starts_with(&format!("scim_{prefix}_")),
        "{token} / {prefix}"
    );
    let users = app
        .request(Method::GET, "acme", "/scim/v2/Users")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), StatusCode::OK, "the shown token works");
    browser.screenshot("sso").await;
    browser.open(&url(&app, "acme", "/admin/sso")).await;
    browser
        .wait_for_title("SSO & provisioning — Acme Corporation")
        .await;
    assert_eq!(browser.count("#scim-token").await, 0, "shown once only");
    assert!(browser.text("#scim-live").await.contains(prefix));
    browser.quit().await;
    app.assert_audited(
        acme.id,
        &[
            "org.settings_updated",
            "role.created",
            "sso.connection_created",
            "scim.token_created",
        ],
    )
    .await;
}

#[tokio::test]
async fn an_invitee_joins_in_the_browser_and_a_member_resets_a_forgotten_password() {
    let smtp = crate::smtp::TestSmtp::start().await;
    let smtp_url = smtp.url();
    let app =
        spawn_app_with(|s| s.mail.smtp_url = Some(secrecy::SecretString::from(smtp_url))).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let invited = app
        .invite("acme", &owner, "newbie@acme.example", "member")
        .await;
    let token = invitation_token(&invited);

    let browser = Browser::start().await;
    browser
        .open(&url(
            &app,
            "acme",
            &format!("/admin/accept-invitation#token={token}"),
        ))
        .await;
    browser.wait_for_title("Join acme Inc").await;
    browser.assert_accessible().await;
    // The script moved the token from the fragment into the form, and out of the address bar.
    assert_eq!(
        browser
            .attribute("input[name=token]", "value")
            .await
            .as_deref(),
        Some(token.as_str())
    );
    let address = browser.command(Method::GET, "/url", Value::Null).await;
    assert!(!address.as_str().unwrap().contains("token"), "{address}");
    browser.screenshot("accept-invitation").await;
    browser.fill("#name", "New Bie").await;
    // The browser itself refuses a short password (minlength); the server refuses it regardless.
    browser
        .script(
            "document.getElementById('password').removeAttribute('minlength');",
            json!([]),
        )
        .await;
    browser.fill("#password", "short").await;
    browser.click("#accept").await;
    browser.wait_for_url("/admin/accept-invitation").await;
    for _ in 0..50 {
        if browser.count("#form-error").await > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(browser.text("#form-error").await.contains("at least 12"));
    browser.fill("#password", "a long enough passphrase").await;
    browser.click("#accept").await;
    // A member: the portal's home, not the console.
    browser.wait_for_title("Home — acme Inc").await;
    assert!(browser.text("main").await.contains("newbie@acme.example"));
    browser.quit().await;
    // Used once: the same link now says so.
    let again = app.accept("acme", &token, "another long passphrase").await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);

    // A forgotten password, through the mailed link.
    let browser = Browser::start().await;
    browser.open(&url(&app, "acme", "/admin/login")).await;
    browser.wait_for_title("Sign in — acme Inc").await;
    browser.assert_accessible().await;
    browser.screenshot("sign-in").await;
    browser.click("#forgot").await;
    browser
        .wait_for_title("Reset your password — acme Inc")
        .await;
    browser.assert_accessible().await;
    browser.fill("#email", "newbie@acme.example").await;
    browser.click("#send-link").await;
    browser.wait_for_title("Check your email — acme Inc").await;
    app.worker.run_once().await.unwrap();
    let mails = smtp.messages_to("newbie@acme.example");
    let link = mails
        .iter()
        .find(|m| m.text.contains("/admin/reset-password"))
        .map(|m| m.link_token("/admin/reset-password"))
        .unwrap_or_else(|| panic!("no reset mail among {}", mails.len()));
    browser
        .open(&url(
            &app,
            "acme",
            &format!("/admin/reset-password#token={link}"),
        ))
        .await;
    browser
        .wait_for_title("Choose a new password — acme Inc")
        .await;
    browser.fill("#password", "a brand new passphrase").await;
    browser.click("#reset").await;
    browser.wait_for_title("Password changed — acme Inc").await;
    browser.click("#to-sign-in").await;
    browser.wait_for_title("Sign in — acme Inc").await;
    browser
        .fill("input[name=email]", "newbie@acme.example")
        .await;
    browser
        .fill("input[name=password]", "a brand new passphrase")
        .await;
    browser.click("button[type=submit]").await;
    browser.wait_for_title("Home — acme Inc").await;
    browser.quit().await;
}

#[tokio::test]
async fn the_console_keeps_organizations_apart() {
    let app = spawn_app_with(|_| {}).await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    let acme_owner = app.login_owner(&acme).await;
    let globex_owner = app.login_owner(&globex).await;
    let gina = app
        .add_member(&globex, &globex_owner, "gina", "member")
        .await;
    let upload =
        crate::imports::uploaded(&app, "globex", &globex_owner, "g.csv", &staff_csv(3)).await;
    let import_id = upload["import"]["id"].as_str().unwrap().to_owned();
    let role: Value = app
        .post(
            "globex",
            "/api/v1/roles",
            &globex_owner.access,
            &json!({ "name": "auditor", "permissions": ["members:read"] }),
        )
        .await
        .json()
        .await
        .unwrap();
    let role_id = role["id"].as_str().unwrap().to_owned();

    // Acme's owner, signed in to acme's console, names globex's things by id.
    let cookie = format!("trellis_session={}", acme_owner.access);
    let page = app
        .request(Method::GET, "acme", "/admin/members")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    for path in [
        format!("/admin/members/{}", gina.id),
        format!("/admin/imports/{import_id}"),
    ] {
        let response = app
            .request(Method::GET, "acme", &path)
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body = response.text().await.unwrap();
        assert!(body.contains("<h1>Not Found</h1>"), "a page: {body}");
        assert!(!body.contains("gina") && !body.contains("g.csv"), "{body}");
    }
    let posts: [(String, Vec<(&str, &str)>); 6] = [
        (
            format!("/admin/members/{}/role", gina.id),
            vec![("role", "admin")],
        ),
        (format!("/admin/members/{}/deactivate", gina.id), vec![]),
        (
            format!("/admin/imports/{import_id}/validate"),
            vec![("mode", "upsert")],
        ),
        (format!("/admin/imports/{import_id}/cancel"), vec![]),
        (
            format!("/admin/roles/{role_id}"),
            vec![("p:members:invite", "on")],
        ),
        (format!("/admin/roles/{role_id}/delete"), vec![]),
    ];
    for (path, fields) in posts {
        let mut form = vec![("csrf_token", csrf.as_str())];
        form.extend(fields);
        let response = app
            .request(Method::POST, "acme", &path)
            .header("cookie", &cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // Globex is as it was.
    let member: Value = app
        .get(
            "globex",
            &format!("/api/v1/members/{}", gina.id),
            &globex_owner.access,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (member["role"].as_str(), member["status"].as_str()),
        (Some("member"), Some("active"))
    );
    let import: Value = app
        .get(
            "globex",
            &format!("/api/v1/imports/{import_id}"),
            &globex_owner.access,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(import["state"], "uploaded");
    let role: Value = app
        .get(
            "globex",
            &format!("/api/v1/roles/{role_id}"),
            &globex_owner.access,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(role["permissions"], json!(["members:read"]));
    // Acme's session cookie means nothing on globex's host.
    let elsewhere = app
        .request(Method::GET, "globex", "/admin/members")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        elsewhere.headers()["location"],
        "/login?return_to=%2Fadmin%2Fmembers"
    );
}

/// Every form of the console, as `(path, fields)`, for a tenant with a member, an import and a role.
fn every_form(
    member: &str,
    import: &str,
    role: &str,
) -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    vec![
        (
            "/admin/members/invite".into(),
            vec![("email", "f@acme.example"), ("role", "member")],
        ),
        (
            "/admin/members/invite-many".into(),
            vec![("emails", "f@acme.example"), ("role", "member")],
        ),
        (
            format!("/admin/members/{member}/role"),
            vec![("role", "admin")],
        ),
        (format!("/admin/members/{member}/deactivate"), vec![]),
        (format!("/admin/members/{member}/reactivate"), vec![]),
        (
            "/admin/roles".into(),
            vec![("name", "forged"), ("p:members:read", "on")],
        ),
        (
            format!("/admin/roles/{role}"),
            vec![("p:members:invite", "on")],
        ),
        (format!("/admin/roles/{role}/delete"), vec![]),
        (
            format!("/admin/imports/{import}/mapping"),
            vec![("map_email", "Email")],
        ),
        (
            format!("/admin/imports/{import}/validate"),
            vec![("mode", "upsert")],
        ),
        (
            format!("/admin/imports/{import}/commit"),
            vec![("mode", "upsert")],
        ),
        (format!("/admin/imports/{import}/cancel"), vec![]),
        (
            "/admin/sso".into(),
            vec![("issuer_url", "http://127.0.0.1:9"), ("client_id", "x")],
        ),
        (
            "/admin/sso/test".into(),
            vec![("issuer_url", "http://127.0.0.1:9")],
        ),
        ("/admin/sso/scim/token".into(), vec![]),
        ("/admin/sso/scim/revoke".into(), vec![]),
        (
            "/admin/settings".into(),
            vec![("display_name", "Forged"), ("audit_retention_days", "400")],
        ),
        (
            "/admin/settings/stream".into(),
            vec![("url", "http://127.0.0.1:9/x"), ("format", "json")],
        ),
        ("/admin/settings/stream/delete".into(), vec![]),
    ]
}

#[tokio::test]
async fn every_console_form_needs_the_sessions_csrf_token() {
    let app = spawn_app_with(|_| {}).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let upload = crate::imports::uploaded(&app, "acme", &owner, "s.csv", &staff_csv(2)).await;
    let import = upload["import"]["id"].as_str().unwrap().to_owned();
    let role: Value = app
        .post(
            "acme",
            "/api/v1/roles",
            &owner.access,
            &json!({ "name": "auditor", "permissions": ["members:read"] }),
        )
        .await
        .json()
        .await
        .unwrap();
    let role = role["id"].as_str().unwrap().to_owned();
    let before = app.audit_actions(acme.id).await;
    let cookie = format!("trellis_session={}", owner.access);
    for (path, fields) in every_form(&ada.id.to_string(), &import, &role) {
        for token in [None, Some("forged")] {
            let mut form = fields.clone();
            if let Some(token) = token {
                form.push(("csrf_token", token));
            }
            let response = app
                .request(Method::POST, "acme", &path)
                .header("cookie", &cookie)
                .form(&form)
                .send()
                .await
                .unwrap();
            let status = response.status();
            // A forged token is refused as such; a missing one may already fail the form's shape.
            let refused = match token {
                Some(_) => status == StatusCode::FORBIDDEN,
                None => status == StatusCode::FORBIDDEN || status == StatusCode::BAD_REQUEST,
            };
            assert!(refused, "{path} with {token:?}: {status}");
        }
    }
    // The upload (multipart) too.
    let boundary = "console-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nforged\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{}\r\n--{boundary}--\r\n",
        staff_csv(1)
    );
    let response = app
        .request(Method::POST, "acme", "/admin/imports")
        .header("cookie", &cookie)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.audit_actions(acme.id).await, before, "nothing happened");
}

#[tokio::test]
async fn settings_require_sso_and_stream_the_log_and_an_import_offers_its_error_file() {
    let app = spawn_app_with(|_| {}).await;
    let op = crate::op::TestOp::start().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    crate::sso::connect(&app, &acme, &owner, &op, json!({})).await;
    let cookie = format!("trellis_session={}", owner.access);
    let page = |path: &'static str| {
        let (app, cookie) = (&app, &cookie);
        async move {
            app.request(Method::GET, "acme", path)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let settings = page("/admin/settings").await;
    let csrf = settings
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert!(
        settings.contains("id=\"sso-required\""),
        "offered with a connection"
    );
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let (app, cookie, csrf) = (&app, &cookie, csrf.clone());
        async move {
            let mut form = form;
            form.push(("csrf_token", csrf));
            app.request(Method::POST, "acme", path)
                .header("cookie", cookie)
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let saved = post(
        "/admin/settings",
        vec![
            ("display_name", "acme Inc".into()),
            ("audit_retention_days", "365".into()),
            ("sso_offered", "on".into()),
            ("sso_required", "on".into()),
            ("session_idle_minutes", "30".into()),
        ],
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let connection: Value = app
        .get("acme", "/api/v1/sso/oidc", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(connection["sso_required"], true);
    assert_eq!(connection["client_secret_set"], true, "the secret was kept");
    let org: Value = app
        .get("acme", "/api/v1/org", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(org["settings"]["session_idle_minutes"], 30);
    app.assert_audited(acme.id, &["org.settings_updated", "sso.connection_updated"])
        .await;

    // The log stream: a bad secret is refused and nothing is stored; then it is saved and shown.
    let refused = post(
        "/admin/settings/stream",
        vec![
            ("url", "http://127.0.0.1:9/events".into()),
            ("format", "json".into()),
            ("secret", "short".into()),
            ("enabled", "on".into()),
            ("start_at", "now".into()),
        ],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("secret"));
    let none = app.get("acme", "/api/v1/audit-stream", &owner.access).await;
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
    let saved = post(
        "/admin/settings/stream",
        vec![
            ("url", "http://127.0.0.1:9/events".into()),
            ("format", "splunk_hec".into()),
            ("secret", "a secret of sixteen or more".into()),
            ("headers", "Authorization: Splunk abc".into()),
            ("enabled", "on".into()),
            ("start_at", "now".into()),
        ],
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let stream: Value = app
        .get("acme", "/api/v1/audit-stream", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stream["format"], "splunk_hec");
    assert_eq!(stream["header_names"], json!(["authorization"]));
    assert!(
        page("/admin/settings")
            .await
            .contains("id=\"stream-state\"")
    );
    let removed = post("/admin/settings/stream/delete", vec![]).await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    let gone = app.get("acme", "/api/v1/audit-stream", &owner.access).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);

    // An import with refused rows: the report lists them and links the error file.
    let csv = "Email,First name,Last name\nok@acme.example,Ok,Person\nnot-an-email,Bad,Row\n";
    let upload = crate::imports::uploaded(&app, "acme", &owner, "bad.csv", csv).await;
    let id = upload["import"]["id"].as_str().unwrap().to_owned();
    let validated = app
        .request(
            Method::POST,
            "acme",
            &format!("/admin/imports/{id}/validate"),
        )
        .header("cookie", &cookie)
        .form(&[("csrf_token", csrf.as_str()), ("mode", "upsert")])
        .send()
        .await
        .unwrap();
    assert_eq!(validated.status(), StatusCode::SEE_OTHER);
    let report = app
        .request(Method::GET, "acme", &format!("/admin/imports/{id}"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(report.contains("id=\"report-errors\""), "{report}");
    assert!(report.contains(&format!("href=\"/api/v1/imports/{id}/errors\"")));
    let errors = app
        .request(Method::GET, "acme", &format!("/api/v1/imports/{id}/errors"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(errors.status(), StatusCode::OK);
    let errors = errors.text().await.unwrap();
    assert!(
        errors.contains("not-an-email") && !errors.contains("ok@acme.example"),
        "{errors}"
    );
    // Committing it as it is is refused with the reason; skipping the refused rows works.
    let refused = app
        .request(Method::POST, "acme", &format!("/admin/imports/{id}/commit"))
        .header("cookie", &cookie)
        .form(&[("csrf_token", csrf.as_str()), ("mode", "upsert")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(refused.text().await.unwrap().contains("id=\"form-error\""));
    let committed = app
        .request(Method::POST, "acme", &format!("/admin/imports/{id}/commit"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("mode", "upsert"),
            ("skip_error_rows", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(committed.status(), StatusCode::SEE_OTHER);
}
