//! SIGTERM to a real `trellis serve` process (the binary this package builds, with its in-process job
//! worker) while clients write and an import is being committed: requests in flight finish — one of
//! them still sending its body when the signal comes —, nothing answers 5xx, every committed change
//! has its audit event, the process exits 0, and the import's job is handed back at a checkpoint,
//! unlocked and with that attempt not counted, for the next worker to finish.

use std::{
    process::{Child, Command, Stdio},
    sync::Arc,
    time::Duration,
};

use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{
    helpers::{TestApp, eventually, spawn_app_with},
    imports::uploaded,
};

/// `trellis serve` on `app`'s database, Redis prefix and keys, on a port of its own.
struct Served {
    child: Child,
    port: u16,
    _var_dir: tempfile::TempDir,
}

impl Served {
    async fn start(app: &TestApp) -> Served {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let s = &app.settings;
        let secret = |value: &Option<secrecy::SecretString>| {
            value.as_ref().unwrap().expose_secret().to_owned()
        };
        let var_dir = tempfile::tempdir().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_trellis"))
            .arg("serve")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("APP_ENVIRONMENT", "test")
            .env("APP_SERVER__PORT", port.to_string())
            .env("APP_SERVER__VAR_DIR", var_dir.path())
            .env(
                "APP_DATABASE__ADMIN_URL",
                s.database.admin_url.expose_secret(),
            )
            .env("APP_DATABASE__NAME", &s.database.name)
            .env("APP_REDIS__URL", s.redis.url.expose_secret())
            .env("APP_REDIS__KEY_PREFIX", &s.redis.key_prefix)
            .env("APP_AUTH__JWT_KEYS", secret(&s.auth.jwt_keys))
            .env("APP_CRYPTO__KEYS", secret(&s.crypto.keys))
            .env("APP_AUDIT__SIGNING_KEYS", secret(&s.audit.signing_keys))
            .env("APP_JOBS__IN_PROCESS", "true")
            .env("APP_PLANS__ENTERPRISE__API_REQUESTS_PER_MINUTE", "1000000")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let served = Served {
            child,
            port,
            _var_dir: var_dir,
        };
        eventually("trellis serve starts", 60, async || {
            reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
                .await
                .is_ok()
        })
        .await;
        served
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_finishes_requests_in_flight_hands_back_the_import_and_loses_no_audit_event() {
    // This in-process instance only prepares the data; it runs no jobs.
    let app = spawn_app_with(|s| s.imports.chunk_rows = 5).await;
    let acme = app.create_tenant_with_seats("acme", 5000).await;
    let owner = app.login_owner(&acme).await;
    let host = format!("acme.{}", app.settings.server.base_domain);
    let rows: i32 = 3000;
    let mut csv = String::from("email,name\n");
    for i in 0..rows {
        csv.push_str(&format!("staff{i}@acme.example,Staff {i}\n"));
    }
    let import = uploaded(&app, "acme", &owner, "staff.csv", &csv).await;
    let import_id = import["import"]["id"].as_str().unwrap().to_owned();
    let committed = app
        .post(
            "acme",
            &format!("/api/v1/imports/{import_id}/commit"),
            &owner.access,
            &json!({ "mode": "upsert" }),
        )
        .await;
    assert_eq!(committed.status(), StatusCode::ACCEPTED);

    let served = Served::start(&app).await;
    let host = format!("{host}:{}", served.port);
    let pool = app.owner_pool().await;
    // The served instance's worker is under way with the import.
    let import = import_id.parse::<uuid::Uuid>().unwrap();
    eventually("the import starts", 60, async || {
        let checkpoint: i32 =
            sqlx::query_scalar("SELECT checkpoint_line FROM imports WHERE id = $1")
                .bind(import)
                .fetch_one(&pool)
                .await
                .unwrap();
        checkpoint > 0
    })
    .await;

    // Four clients create roles until the server stops answering.
    let answers = Arc::new(std::sync::Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let url = served.url("/api/v1/roles");
            let (host, token, answers) = (host.clone(), owner.access.clone(), answers.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                for i in 0.. {
                    let sent = client
                        .post(&url)
                        .header("host", &host)
                        .bearer_auth(&token)
                        .json(&json!({ "name": format!("term_{w}_{i}"), "permissions": ["members:read"] }))
                        .send()
                        .await;
                    match sent {
                        Ok(response) => answers.lock().unwrap().push(response.status()),
                        // The server stopped accepting: this request was never taken.
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A request still sending its body when the signal comes.
    let body = json!({ "name": "term_slow", "permissions": ["members:read"] }).to_string();
    let (first, rest) = body.split_at(10);
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", served.port))
        .await
        .unwrap();
    let head = format!(
        "POST /api/v1/roles HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}",
        owner.access,
        body.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    served.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    slow.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = String::new();
    slow.read_to_string(&mut answer).await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "the request in flight did not finish: {answer}"
    );

    for writer in writers {
        writer.await.unwrap();
    }
    let mut served = served;
    let mut exit = None;
    eventually("the server stops", 60, async || {
        exit = served.child.try_wait().unwrap();
        exit.is_some()
    })
    .await;
    let exit = exit.unwrap();
    assert!(exit.success(), "trellis serve exited with {exit}");

    // Every answer was a 201, and each of them is a role with its event; nothing else was written.
    let answers = answers.lock().unwrap().clone();
    assert!(answers.len() > 10, "the writers barely ran: {answers:?}");
    assert!(
        answers.iter().all(|s| *s == StatusCode::CREATED),
        "{answers:?}"
    );
    let (roles, events) =
        crate::helpers::roles_and_created_events(&pool, acme.id, "term\\_%").await;
    assert_eq!(roles, answers.len() as i64 + 1, "roles against 201 answers");
    assert_eq!(events, roles, "roles against role.created events");

    // The import's job was handed back at a checkpoint: queued, unlocked, that attempt not counted.
    let job: (String, Option<String>, i32, Value) = sqlx::query_as(
        "SELECT status, locked_by, attempts, payload FROM jobs \
         WHERE tenant_id = $1 AND kind = 'import.run'",
    )
    .bind(acme.id.as_uuid())
    .fetch_one(&pool)
    .await
    .unwrap();
    let (status, locked_by, attempts, _) = &job;
    assert_eq!(
        (status.as_str(), locked_by.as_deref(), *attempts),
        ("queued", None, 0),
        "the import's job after the stop"
    );
    let checkpoint: i32 = sqlx::query_scalar("SELECT checkpoint_line FROM imports WHERE id = $1")
        .bind(import)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        checkpoint > 1 && checkpoint < rows + 1,
        "checkpoint {checkpoint}"
    );

    // Another worker goes on from the checkpoint (in bigger chunks, to be quick): every row becomes one
    // member with one event, none twice.
    // (Due by the test instance's fixed clock, which the served instance's real clock is ahead of.)
    sqlx::query(
        "UPDATE jobs SET payload = jsonb_set(payload, '{chunk_rows}', '1000'), run_at = $2 \
         WHERE tenant_id = $1 AND kind = 'import.run'",
    )
    .bind(acme.id.as_uuid())
    .bind(trellis::clock::Clock::now(&app.clock))
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(app.worker.run_once().await.unwrap(), 1);
    let state: String = sqlx::query_scalar("SELECT state FROM imports WHERE id = $1")
        .bind(import)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(state, "completed");
    let (members, provisioned): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM users WHERE tenant_id = $1 AND email LIKE 'staff%@acme.example'), \
                (SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND action = 'member.provisioned')",
    )
    .bind(acme.id.as_uuid())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((members, provisioned), (rows as i64, rows as i64));
}
