//! CSV imports through HTTP: upload (streamed, shape checked), column mapping, the dry-run report and
//! the error file.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Session, TestApp, TestTenant, spawn_app, spawn_app_with};

/// Uploads `bytes` as `file_name` (multipart, as a browser form does), with an optional mapping part.
pub async fn upload(
    app: &TestApp,
    slug: &str,
    session: &Session,
    file_name: &str,
    bytes: &[u8],
    mapping: Option<&Value>,
) -> reqwest::Response {
    let boundary = "trellis-test-boundary-7d3f";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(b"\r\n");
    if let Some(mapping) = mapping {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"mapping\"\r\n\r\n{mapping}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    app.request(Method::POST, slug, "/api/v1/imports")
        .bearer_auth(&session.access)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

pub async fn uploaded(
    app: &TestApp,
    slug: &str,
    session: &Session,
    name: &str,
    csv: &str,
) -> Value {
    let response = upload(app, slug, session, name, csv.as_bytes(), None).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn validate(app: &TestApp, slug: &str, session: &Session, id: &str, mode: &str) -> Value {
    let response = app
        .post(
            slug,
            &format!("/api/v1/imports/{id}/validate"),
            &session.access,
            &json!({ "mode": mode }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let import: Value = response.json().await.unwrap();
    assert_eq!(import["state"], "validated");
    import["report"].clone()
}

async fn problem_code(response: reqwest::Response) -> (StatusCode, String, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["code"].as_str().unwrap_or_default().to_owned(),
        body["detail"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn an_upload_is_read_as_it_is_written_and_its_columns_recognised() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    // A spreadsheet's export: BOM, semicolons, a quoted cell holding the delimiter and a line break.
    let csv = "\u{feff}E-mail;First Name;Surname;Job Title;Team;Notes\r\n\
               ada@acme.example;Ada;Lovelace;Analyst;R&D;\"likes; semicolons\r\nand lines\"\r\n\
               grace@acme.example;Grace;Hopper;Admiral;Navy;\r\n\
               \r\n";
    let body = uploaded(&app, "acme", &owner, "people.csv", csv).await;
    let import = &body["import"];
    assert_eq!(import["state"], "uploaded");
    assert_eq!(import["delimiter"], ";");
    assert_eq!(import["total_rows"], 2, "the empty line is no row");
    assert_eq!(
        import["headers"],
        json!([
            "E-mail",
            "First Name",
            "Surname",
            "Job Title",
            "Team",
            "Notes"
        ])
    );
    assert_eq!(
        import["mapping"],
        json!({ "email": "E-mail", "first_name": "First Name", "last_name": "Surname",
                "title": "Job Title", "department": "Team" })
    );
    assert_eq!(import["unmapped_columns"], json!(["Notes"]));
    let sha = Sha256::digest(csv.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    assert_eq!(import["file_sha256"], sha);
    assert!(body["same_file_as"].is_null());

    let again = uploaded(&app, "acme", &owner, "people.csv", csv).await;
    assert_eq!(
        again["same_file_as"]["id"], import["id"],
        "the same file is recognised"
    );

    let report = validate(
        &app,
        "acme",
        &owner,
        import["id"].as_str().unwrap(),
        "upsert",
    )
    .await;
    assert_eq!(report["counts"]["create"], 2, "{report}");
    assert_eq!(
        report["preview"][0]["member"]["display_name"],
        "Ada Lovelace"
    );
    assert_eq!(report["preview"][0]["member"]["department"], "R&D");
    app.assert_audited(acme.id, &["import.uploaded", "import.validated"])
        .await;
}

#[tokio::test]
async fn bad_files_get_a_precise_error_and_leave_nothing_behind() {
    let app = spawn_app_with(|s| s.imports.max_upload_bytes = 4096).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "binary",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec(),
            "binary_file",
            "binary",
        ),
        (
            "latin-1",
            b"email,name\nrene@acme.example,Ren\xe9\n".to_vec(),
            "not_utf8",
            "line 2",
        ),
        ("empty", Vec::new(), "empty_file", "empty"),
        (
            "header only",
            b"email,name\n".to_vec(),
            "no_rows",
            "no rows",
        ),
        (
            "duplicate headers",
            b"email,Name,name\na@acme.example,A,B\n".to_vec(),
            "duplicate_header",
            "columns 2 and 3",
        ),
        (
            "empty header",
            b"email,,name\na@acme.example,A,B\n".to_vec(),
            "empty_header",
            "column 2",
        ),
        (
            "too large",
            format!("email\n{}", "a@acme.example\n".repeat(400)).into_bytes(),
            "file_too_large",
            "limit",
        ),
    ];
    for (what, bytes, code, says) in cases {
        let (status, got, detail) =
            problem_code(upload(&app, "acme", &owner, "x.csv", &bytes, None).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        assert_eq!(got, code, "{what}: {detail}");
        assert!(detail.contains(says), "{what}: {detail}");
    }
    let list: Value = app
        .get("acme", "/api/v1/imports", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"], json!([]), "nothing was kept");
    // No file part at all.
    let (status, _, detail) = problem_code(
        app.request(Method::POST, "acme", "/api/v1/imports")
            .bearer_auth(&owner.access)
            .header("content-type", "multipart/form-data; boundary=x")
            .body("--x\r\nContent-Disposition: form-data; name=\"mapping\"\r\n\r\n{}\r\n--x--\r\n")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{detail}");
}

async fn people(app: &TestApp, acme: &TestTenant, owner: &Session) {
    // An existing member the file will meet again.
    app.add_member(acme, owner, "existing", "member").await;
}

#[tokio::test]
async fn the_dry_run_reports_every_problem_by_line_and_column_and_writes_no_member() {
    let app = spawn_app().await;
    let acme = app.create_tenant_with_seats("acme", 5).await;
    let owner = app.login_owner(&acme).await;
    people(&app, &acme, &owner).await;
    let csv = "email,full name,role,manager email,start date,employee id,title\n\
               ada@acme.example,Ada Lovelace,member,,2026-01-05,E1,Analyst\n\
               not-an-address,Bad Address,member,,,E2,\n\
               ada@acme.example,Ada Again,member,,,E3,\n\
               bob@acme.example,Bob,wizard,,,E4,\n\
               carl@acme.example,Carl,member,nobody@acme.example,,E5,\n\
               dina@acme.example,Dina,member,ada@acme.example,05/01/2026,E6,\n\
               eve@acme.example,Eve,member,,,E7,=HYPERLINK(\"http://evil.example\")\n\
               fay@acme.example,Fay,owner,,,E8,\n\
               existing@acme.example,Existing Person,member,,,,\n\
               gus@acme.example,Gus,member,ada@acme.example,,E9\n";
    let body = uploaded(&app, "acme", &owner, "people.csv", csv).await;
    let id = body["import"]["id"].as_str().unwrap().to_owned();
    let report = validate(&app, "acme", &owner, &id, "upsert").await;
    let reasons: Vec<(i64, String, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_i64().unwrap(),
                e["column"].as_str().unwrap_or_default().to_owned(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let has = |line: i64, column: &str, text: &str| {
        assert!(
            reasons
                .iter()
                .any(|(l, c, r)| *l == line && c == column && r.contains(text)),
            "line {line} {column} {text:?} not in {reasons:#?}"
        )
    };
    has(3, "email", "not an email address");
    has(4, "email", "the same email as line 2");
    has(5, "role", "\"wizard\" is not a role");
    has(6, "manager email", "neither in the file nor a member");
    has(7, "start date", "YYYY-MM-DD");
    has(8, "title", "formulas are not accepted");
    has(9, "role", "owner cannot be given");
    has(11, "", "has 6 fields; the header has 7");
    assert_eq!(report["counts"]["error"], 8, "{report}");
    assert_eq!(report["counts"]["create"], 1, "ada");
    assert_eq!(
        report["counts"]["update"], 1,
        "existing gets a display name"
    );
    assert_eq!(report["seats"]["ok"], true);

    // Nothing was written: still two members.
    let members: Value = app
        .get("acme", "/api/v1/members", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(members["items"].as_array().unwrap().len(), 2);

    // The error file: the original columns, the line and the reasons; formulas defused.
    let errors = app
        .get(
            "acme",
            &format!("/api/v1/imports/{id}/errors"),
            &owner.access,
        )
        .await;
    assert_eq!(errors.status(), StatusCode::OK);
    assert!(
        errors.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = errors.text().await.unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header.last().map(String::as_str), Some("error"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 8);
    let eve = rows.iter().find(|r| &r[0] == "eve@acme.example").unwrap();
    assert!(eve[6].starts_with("'="), "defused: {:?}", &eve[6]);
    assert!(!text.contains(",=HYPERLINK"), "{text}");

    // The seat limit: sync mode would also leave the owner; more people than seats is refused.
    let many: String = (0..6).map(|i| format!("p{i}@acme.example\n")).collect();
    let crowd = uploaded(&app, "acme", &owner, "crowd.csv", &format!("email\n{many}")).await;
    let crowd_report = validate(
        &app,
        "acme",
        &owner,
        crowd["import"]["id"].as_str().unwrap(),
        "upsert",
    )
    .await;
    assert_eq!(crowd_report["seats"]["ok"], false, "{crowd_report}");
    assert_eq!(crowd_report["can_commit"], false);
    let sync_report = validate(
        &app,
        "acme",
        &owner,
        crowd["import"]["id"].as_str().unwrap(),
        "sync",
    )
    .await;
    assert_eq!(
        sync_report["counts"]["deactivate"], 1,
        "existing is missing from the file; owners never"
    );
}

#[tokio::test]
async fn the_mapping_can_be_set_by_the_caller_and_is_checked() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let csv = "Correo,Nombre\nana@acme.example,Ana\n";
    let body = uploaded(&app, "acme", &owner, "gente.csv", csv).await;
    let id = body["import"]["id"].as_str().unwrap().to_owned();
    assert_eq!(body["import"]["mapping"], json!({}));
    let no_email = app
        .post(
            "acme",
            &format!("/api/v1/imports/{id}/validate"),
            &owner.access,
            &json!({}),
        )
        .await;
    assert_eq!(no_email.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = no_email.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "mapping.email", "{problem}");

    let path = format!("/api/v1/imports/{id}/mapping");
    let wrong = app
        .send_json(
            Method::PUT,
            "acme",
            &path,
            &owner.access,
            &json!({ "mapping": { "email": "Mail", "nickname": "Nombre" } }),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let set = app
        .send_json(
            Method::PUT,
            "acme",
            &path,
            &owner.access,
            &json!({ "mapping": { "email": "Correo", "full_name": "Nombre" } }),
        )
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    let report = validate(&app, "acme", &owner, &id, "create_only").await;
    assert_eq!(report["counts"]["create"], 1);
    assert_eq!(report["preview"][0]["member"]["display_name"], "Ana");

    // A mapping given with the upload.
    let with_mapping = upload(
        &app,
        "acme",
        &owner,
        "gente.csv",
        csv.as_bytes(),
        Some(&json!({ "email": "Correo" })),
    )
    .await;
    let with_mapping: Value = with_mapping.json().await.unwrap();
    assert_eq!(
        with_mapping["import"]["mapping"],
        json!({ "email": "Correo" })
    );
    app.assert_audited(acme.id, &["import.mapping_changed"])
        .await;
}

async fn commit(app: &TestApp, session: &Session, id: &str, body: Value) -> reqwest::Response {
    app.post(
        "acme",
        &format!("/api/v1/imports/{id}/commit"),
        &session.access,
        &body,
    )
    .await
}

async fn import_of(app: &TestApp, session: &Session, id: &str) -> Value {
    app.get("acme", &format!("/api/v1/imports/{id}"), &session.access)
        .await
        .json()
        .await
        .unwrap()
}

async fn member_rows(app: &TestApp, session: &Session) -> Vec<Value> {
    let list: Value = app
        .get("acme", "/api/v1/members?limit=200", &session.access)
        .await
        .json()
        .await
        .unwrap();
    list["items"].as_array().unwrap().clone()
}

async fn audit_count(app: &TestApp, tenant: &TestTenant, action: &str, source: &str) -> i64 {
    let pool = app.owner_pool().await;
    sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND action = $2 \
         AND coalesce(metadata->>'source', '') = $3",
    )
    .bind(tenant.id.as_uuid())
    .bind(action)
    .bind(source)
    .fetch_one(&pool)
    .await
    .unwrap()
}

/// Runs the queued import job of `tenant` for one chunk, as a worker killed after it would have.
async fn one_chunk(
    app: &TestApp,
    tenant: &TestTenant,
) -> trellis::modules::imports::process::Progress {
    let payload: Value =
        sqlx::query_scalar("SELECT payload FROM jobs WHERE kind = 'import.run' AND tenant_id = $1")
            .bind(tenant.id.as_uuid())
            .fetch_one(&app.owner_pool().await)
            .await
            .unwrap();
    let clock: trellis::clock::SharedClock = std::sync::Arc::new(app.clock.clone());
    trellis::modules::imports::process::run(
        &app.state.pool,
        &clock,
        &app.state.crypto,
        None,
        tenant.id,
        &payload,
        trellis::modules::imports::process::Extent::Chunks(1),
    )
    .await
    .unwrap()
}

const STAFF: &str = "email,name,role,manager email,department,employee id\n\
    carol@acme.example,Carol Chief,manager,,Board,E100\n\
    dan@acme.example,Dan Dev,member,carol@acme.example,R&D,E101\n\
    erin@acme.example,Erin HR,hr,carol@acme.example,People,E102\n\
    existing@acme.example,Existing Person,member,dan@acme.example,R&D,E103\n\
    finn@acme.example,Finn,member,zoe@acme.example,R&D,E104\n\
    zoe@acme.example,Zoe Later,member,carol@acme.example,R&D,E105\n";

#[tokio::test]
async fn a_commit_writes_every_row_in_chunks_links_managers_and_a_rerun_changes_nothing() {
    let app = spawn_app_with(|s| s.imports.chunk_rows = 2).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    people(&app, &acme, &owner).await;
    let body = uploaded(&app, "acme", &owner, "staff.csv", STAFF).await;
    let id = body["import"]["id"].as_str().unwrap().to_owned();
    let committed = commit(&app, &owner, &id, json!({ "mode": "upsert" })).await;
    assert_eq!(committed.status(), StatusCode::ACCEPTED);
    let committed: Value = committed.json().await.unwrap();
    assert_eq!(committed["state"], "queued");
    assert_eq!(committed["report"]["counts"]["create"], 5, "{committed}");
    assert_eq!(committed["report"]["counts"]["update"], 1);

    app.worker.run_once().await.unwrap();
    let done = import_of(&app, &owner, &id).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["processed_rows"], 6);
    assert_eq!(done["counts"]["created"], 5);
    assert_eq!(done["counts"]["updated"], 1);

    let members = member_rows(&app, &owner).await;
    let by_email = |email: &str| {
        members
            .iter()
            .find(|m| m["email"] == email)
            .cloned()
            .unwrap()
    };
    let carol = by_email("carol@acme.example");
    assert_eq!(carol["role"], "manager");
    assert_eq!(by_email("erin@acme.example")["role"], "hr");
    assert_eq!(by_email("dan@acme.example")["manager_id"], carol["id"]);
    let zoe = by_email("zoe@acme.example");
    assert_eq!(
        by_email("finn@acme.example")["manager_id"],
        zoe["id"],
        "a manager later in the file"
    );
    let existing = by_email("existing@acme.example");
    assert_eq!(existing["display_name"], "Existing Person");
    assert_eq!(existing["department"], "R&D");
    assert_eq!(existing["manager_id"], by_email("dan@acme.example")["id"]);
    assert_eq!(
        audit_count(&app, &acme, "member.provisioned", "import").await,
        5
    );
    assert_eq!(
        audit_count(&app, &acme, "member.profile_updated", "import").await,
        1
    );
    // The update's event holds exactly what changed, before and after.
    let change: Value = sqlx::query_scalar(
        "SELECT metadata FROM audit_events WHERE tenant_id = $1 AND action = 'member.profile_updated' \
         AND target_id = $2",
    )
    .bind(acme.id.as_uuid())
    .bind(existing["id"].as_str().unwrap())
    .fetch_one(&app.owner_pool().await)
    .await
    .unwrap();
    assert_eq!(change["after"]["department"], "R&D", "{change}");
    assert_eq!(change["before"]["department"], Value::Null, "{change}");
    assert_eq!(change["after"]["manager_email"], "dan@acme.example");
    assert_eq!(change["after"]["display_name"], "Existing Person");
    assert!(
        change["after"].get("email").is_none(),
        "unchanged: {change}"
    );
    assert!(change["after"].get("role").is_none(), "unchanged: {change}");
    app.assert_audited(acme.id, &["import.committed", "import.completed"])
        .await;

    // The same file again: nothing to do, and it says so.
    let again = uploaded(&app, "acme", &owner, "staff.csv", STAFF).await;
    assert_eq!(again["same_file_as"]["id"], id.as_str());
    let again_id = again["import"]["id"].as_str().unwrap().to_owned();
    let rerun = commit(&app, &owner, &again_id, json!({ "mode": "upsert" })).await;
    assert_eq!(rerun.status(), StatusCode::ACCEPTED);
    let rerun: Value = rerun.json().await.unwrap();
    assert_eq!(rerun["state"], "completed");
    assert_eq!(rerun["counts"]["nothing_to_change"], true, "{rerun}");
    assert_eq!(rerun["counts"]["unchanged"], 6);
    assert_eq!(member_rows(&app, &owner).await.len(), members.len());
    assert_eq!(
        audit_count(&app, &acme, "member.provisioned", "import").await,
        5
    );
}

#[tokio::test]
async fn a_committed_import_wakes_the_worker_at_once_not_at_its_next_poll() {
    // The worker polls hourly here: only the commit's notification can wake it in time.
    let app = spawn_app_with(|s| s.jobs.poll_interval_ms = 3_600_000).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    people(&app, &acme, &owner).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(app.worker.clone().run(stopped));
    let body = uploaded(&app, "acme", &owner, "staff.csv", STAFF).await;
    let id = body["import"]["id"].as_str().unwrap().to_owned();
    let committed = commit(&app, &owner, &id, json!({ "mode": "upsert" })).await;
    assert_eq!(committed.status(), StatusCode::ACCEPTED);
    let mut state = Value::Null;
    for _ in 0..300 {
        state = import_of(&app, &owner, &id).await["state"].clone();
        if state == "completed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(state, "completed");
    stop.send(true).unwrap();
    running.await.unwrap();
}

#[tokio::test]
async fn a_committed_import_holds_its_seats_until_its_members_take_them() {
    // Nine seats: the owner, an existing member, the five new members of STAFF, and two more.
    let app = spawn_app_with(|s| s.imports.chunk_rows = 2).await;
    let acme = app.create_tenant_with_seats("acme", 9).await;
    let owner = app.login_owner(&acme).await;
    people(&app, &acme, &owner).await;
    let body = uploaded(&app, "acme", &owner, "staff.csv", STAFF).await;
    let id = body["import"]["id"].as_str().unwrap().to_owned();
    let committed = commit(&app, &owner, &id, json!({ "mode": "upsert" })).await;
    assert_eq!(committed.status(), StatusCode::ACCEPTED);
    let committed: Value = committed.json().await.unwrap();
    assert_eq!(committed["report"]["seats"]["needed"], 5, "{committed}");

    // Queued, nothing written yet: two seats are free, not seven.
    let invite = |email: &'static str| {
        let (app, owner) = (&app, &owner);
        async move {
            app.post(
                "acme",
                "/api/v1/invitations",
                &owner.access,
                &json!({ "email": email, "role": "member" }),
            )
            .await
            .status()
        }
    };
    assert_eq!(invite("gail@acme.example").await, StatusCode::CREATED);
    assert_eq!(
        invite("hank@acme.example").await,
        StatusCode::CREATED,
        "the ninth seat"
    );
    assert_eq!(
        invite("ivan@acme.example").await,
        StatusCode::CONFLICT,
        "the import's five seats are held"
    );

    // Half way, the seats written and the seats still held add up to the same.
    assert_eq!(
        one_chunk(&app, &acme).await,
        trellis::modules::imports::process::Progress::Paused
    );
    assert_eq!(
        invite("ivan@acme.example").await,
        StatusCode::CONFLICT,
        "written or held, the seats are the import's"
    );
    app.worker.run_once().await.unwrap();
    let done = import_of(&app, &owner, &id).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["counts"]["created"], 5);
    assert_eq!(
        invite("ivan@acme.example").await,
        StatusCode::CONFLICT,
        "all nine seats are taken"
    );
}

#[tokio::test]
async fn a_worker_stopped_between_chunks_is_resumed_exactly_where_it_stopped() {
    let app = spawn_app_with(|s| s.imports.chunk_rows = 2).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    people(&app, &acme, &owner).await;
    let body = uploaded(&app, "acme", &owner, "staff.csv", STAFF).await;
    let id = body["import"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        commit(&app, &owner, &id, json!({})).await.status(),
        StatusCode::ACCEPTED
    );

    // A worker gets through one chunk and stops (killed): that chunk is committed, nothing else.
    assert_eq!(
        one_chunk(&app, &acme).await,
        trellis::modules::imports::process::Progress::Paused
    );
    let halfway = import_of(&app, &owner, &id).await;
    assert_eq!(halfway["state"], "processing");
    assert_eq!(halfway["processed_rows"], 2);
    assert_eq!(halfway["counts"]["created"], 2);
    assert_eq!(halfway["progress"]["percent"], 33);
    assert_eq!(halfway["progress"]["total_rows"], 6);
    assert_eq!(member_rows(&app, &owner).await.len(), 2 + 2);

    // Another worker takes the job and finishes from the checkpoint: no row twice, none lost.
    app.worker.run_once().await.unwrap();
    let done = import_of(&app, &owner, &id).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["processed_rows"], 6);
    assert_eq!(done["counts"]["created"], 5);
    assert_eq!(done["counts"]["updated"], 1);
    assert_eq!(member_rows(&app, &owner).await.len(), 2 + 5);
    assert_eq!(
        audit_count(&app, &acme, "member.provisioned", "import").await,
        5
    );
}

#[tokio::test]
async fn sync_deactivates_the_members_the_file_leaves_out_only_when_confirmed() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let kept = app.add_member(&acme, &owner, "kept", "member").await;
    let leaver = app.add_member(&acme, &owner, "leaver", "member").await;
    let leaver_session = app.login("acme", &leaver).await;
    let csv = format!("email,name\n{},Kept Person\n", kept.email);
    let body = uploaded(&app, "acme", &owner, "everyone.csv", &csv).await;
    let id = body["import"]["id"].as_str().unwrap().to_owned();
    let unconfirmed = commit(&app, &owner, &id, json!({ "mode": "sync" })).await;
    assert_eq!(unconfirmed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong = commit(
        &app,
        &owner,
        &id,
        json!({ "mode": "sync", "confirm_deactivations": 5 }),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        member_rows(&app, &owner)
            .await
            .iter()
            .filter(|m| m["status"] == "deactivated")
            .count(),
        0
    );

    let confirmed = commit(
        &app,
        &owner,
        &id,
        json!({ "mode": "sync", "confirm_deactivations": 1 }),
    )
    .await;
    assert_eq!(confirmed.status(), StatusCode::ACCEPTED);
    app.worker.run_once().await.unwrap();
    let done = import_of(&app, &owner, &id).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["counts"]["deactivated"], 1);
    let members = member_rows(&app, &owner).await;
    let status =
        |email: &str| members.iter().find(|m| m["email"] == email).unwrap()["status"].clone();
    assert_eq!(status(&leaver.email), "deactivated");
    assert_eq!(status(&kept.email), "active");
    assert_eq!(
        status(&acme.owner.email),
        "active",
        "owners are never deactivated by a sync"
    );
    assert_eq!(
        app.get("acme", "/api/v1/me", &leaver_session.access)
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "signed out at once"
    );
    assert_eq!(
        audit_count(&app, &acme, "member.deactivated", "import").await,
        1
    );
}

#[tokio::test]
async fn errors_block_a_commit_unless_skipped_and_an_import_can_be_cancelled_between_chunks() {
    let app = spawn_app_with(|s| s.imports.chunk_rows = 1).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let csv = "email,name\nok1@acme.example,One\nnot-an-address,Bad\nok2@acme.example,Two\nok3@acme.example,Three\n";
    let body = uploaded(&app, "acme", &owner, "mixed.csv", csv).await;
    let id = body["import"]["id"].as_str().unwrap().to_owned();
    let refused = commit(&app, &owner, &id, json!({})).await;
    let (status, code, _) = problem_code(refused).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "import_has_errors")
    );
    assert_eq!(
        import_of(&app, &owner, &id).await["report"]["counts"]["error"],
        1
    );

    let skipping = commit(&app, &owner, &id, json!({ "skip_error_rows": true })).await;
    assert_eq!(skipping.status(), StatusCode::ACCEPTED);
    one_chunk(&app, &acme).await;
    let cancel = app
        .post(
            "acme",
            &format!("/api/v1/imports/{id}/cancel"),
            &owner.access,
            &json!({}),
        )
        .await;
    assert_eq!(cancel.status(), StatusCode::ACCEPTED);
    app.worker.run_once().await.unwrap();
    let done = import_of(&app, &owner, &id).await;
    assert_eq!(done["state"], "cancelled", "{done}");
    assert_eq!(
        done["processed_rows"], 1,
        "stopped after the chunk it was in"
    );
    let emails: Vec<String> = member_rows(&app, &owner)
        .await
        .iter()
        .map(|m| m["email"].as_str().unwrap().to_owned())
        .collect();
    assert!(emails.contains(&"ok1@acme.example".to_owned()));
    assert!(!emails.contains(&"ok3@acme.example".to_owned()));
    let again = app
        .post(
            "acme",
            &format!("/api/v1/imports/{id}/cancel"),
            &owner.access,
            &json!({}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    app.assert_audited(acme.id, &["import.cancel_requested", "import.cancelled"])
        .await;
}

#[tokio::test]
async fn new_members_can_be_invited_by_mail_once_the_chunk_has_committed() {
    let smtp = crate::smtp::TestSmtp::start().await;
    let url = smtp.url();
    let app = spawn_app_with(|s| s.mail.smtp_url = Some(secrecy::SecretString::from(url))).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let csv = "email,name\nnew1@acme.example,New One\nnew2@acme.example,New Two\n";
    let body = uploaded(&app, "acme", &owner, "hires.csv", csv).await;
    let id = body["import"]["id"].as_str().unwrap().to_owned();
    let committed = commit(&app, &owner, &id, json!({ "send_invitations": true })).await;
    assert_eq!(committed.status(), StatusCode::ACCEPTED);
    assert!(
        smtp.messages().is_empty(),
        "nothing is sent inside the request"
    );

    // The import job runs, queueing one mail job per new member; the mails go out after.
    app.worker.run_once().await.unwrap();
    app.worker.run_once().await.unwrap();
    let members = member_rows(&app, &owner).await;
    let new1 = members
        .iter()
        .find(|m| m["email"] == "new1@acme.example")
        .unwrap();
    assert_eq!(new1["status"], "invited");
    let mails = smtp.messages_to("new1@acme.example");
    assert_eq!(mails.len(), 1, "{:?}", smtp.messages());
    assert_eq!(smtp.messages_to("new2@acme.example").len(), 1);
    let token = mails[0].link_token("/admin/accept-invitation");
    assert_eq!(
        app.accept("acme", &token, crate::helpers::PASSWORD)
            .await
            .status(),
        StatusCode::OK,
        "the mailed link lets the new member in"
    );
}

#[tokio::test]
async fn progress_streams_as_server_sent_events_until_the_import_is_done() {
    let app = spawn_app_with(|s| s.imports.chunk_rows = 1).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let csv = "email\nsse1@acme.example\nsse2@acme.example\nsse3@acme.example\n";
    let body = uploaded(&app, "acme", &owner, "sse.csv", csv).await;
    let id = body["import"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        commit(&app, &owner, &id, json!({})).await.status(),
        StatusCode::ACCEPTED
    );

    let mut stream = app
        .get(
            "acme",
            &format!("/api/v1/imports/{id}/events"),
            &owner.access,
        )
        .await;
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let worker = app.worker.clone();
    let running = tokio::spawn(async move { worker.run_once().await.unwrap() });
    let mut text = String::new();
    let mut events: Vec<(String, Value)> = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        let Some(chunk) = stream.chunk().await.unwrap() else {
            break;
        };
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let kind = block
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap()
                .to_owned();
            let data = block
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap();
            events.push((kind, serde_json::from_str(data).unwrap()));
        }
        if events.last().is_some_and(|(kind, _)| kind == "done") {
            break;
        }
    }
    running.await.unwrap();
    let (kind, last) = events.last().expect("some events");
    assert_eq!(kind, "done", "{events:?}");
    assert_eq!(last["state"], "completed");
    assert_eq!(last["progress"]["percent"], 100);
    assert_eq!(events[0].0, "progress");
    assert_eq!(events[0].1["state"], "queued");
    assert!(events.len() >= 2, "{events:?}");
}

#[tokio::test]
async fn column_names_from_the_file_never_reach_the_sql_as_text() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let header = "Mail'); DROP TABLE users; --";
    let csv = format!("\"{header}\",Name\nx@acme.example,X\nx@acme.example,Y\n");
    let body = upload(
        &app,
        "acme",
        &owner,
        "odd.csv",
        csv.as_bytes(),
        Some(&json!({ "email": header })),
    )
    .await;
    assert_eq!(body.status(), StatusCode::CREATED);
    let body: Value = body.json().await.unwrap();
    let report = validate(
        &app,
        "acme",
        &owner,
        body["import"]["id"].as_str().unwrap(),
        "upsert",
    )
    .await;
    assert_eq!(report["errors"][0]["column"], header, "{report}");
    assert_eq!(report["errors"][0]["line"], 3);
    assert_eq!(
        member_rows(&app, &owner).await.len(),
        1,
        "users is still there"
    );
}

#[tokio::test]
async fn the_command_line_imports_through_the_same_path() {
    let app = spawn_app_with(|s| s.imports.chunk_rows = 2).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("staff.csv");
    std::fs::write(&file, STAFF).unwrap();
    let args = |dry_run: bool| trellis::modules::imports::command::ImportArgs {
        tenant: "acme".into(),
        file: file.clone(),
        mode: "upsert".into(),
        dry_run,
        send_invitations: false,
        confirm_deactivations: None,
        skip_error_rows: false,
    };
    trellis::modules::imports::command::run(&app.settings, args(true))
        .await
        .unwrap();
    assert_eq!(
        member_rows(&app, &owner).await.len(),
        1,
        "a dry run writes no member"
    );

    trellis::modules::imports::command::run(&app.settings, args(false))
        .await
        .unwrap();
    let members = member_rows(&app, &owner).await;
    assert_eq!(members.len(), 1 + 6);
    let carol = members
        .iter()
        .find(|m| m["email"] == "carol@acme.example")
        .unwrap();
    let dan = members
        .iter()
        .find(|m| m["email"] == "dan@acme.example")
        .unwrap();
    assert_eq!(dan["manager_id"], carol["id"]);
    let list: Value = app
        .get("acme", "/api/v1/imports", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["state"], "completed");
    let pool = app.owner_pool().await;
    let actor: String = sqlx::query_scalar(
        "SELECT actor_type FROM audit_events WHERE action = 'import.committed' AND tenant_id = $1",
    )
    .bind(acme.id.as_uuid())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        actor, "system",
        "the command acts as the organization, not as a person"
    );

    // Again: nothing to change, and a wrong tenant is an error.
    trellis::modules::imports::command::run(&app.settings, args(false))
        .await
        .unwrap();
    assert_eq!(member_rows(&app, &owner).await.len(), 7);
    let mut wrong = args(false);
    wrong.tenant = "nosuch".into();
    assert!(
        trellis::modules::imports::command::run(&app.settings, wrong)
            .await
            .is_err()
    );
}
