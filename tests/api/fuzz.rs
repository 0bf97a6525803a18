//! The OpenAPI document against the server, by an independent fuzzer: schemathesis (installed by
//! .ci/test) generates requests for every operation from `/api/v1/openapi.json` — documented examples,
//! boundary values and random data — as the organization's owner, and checks every answer: no 5xx, no
//! status the operation does not document, the documented content type and the documented schema.
//!
//! A short pass runs with the suite; `bench/fuzz.sh` runs the same test with a larger budget
//! (`TRELLIS_FUZZ_EXAMPLES`, examples per operation and phase).

use serde_json::Value;

use crate::helpers::spawn_app_with;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_as_documented_under_fuzzing() {
    let app = spawn_app_with(|s| {
        // The fuzzer sends thousands of requests a minute; the rate limit has its own tests.
        s.plans.enterprise.api_requests_per_minute = 10_000_000;
    })
    .await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let schema: Value = app.openapi("acme").await;
    let dir = tempfile::tempdir().unwrap();
    let schema_file = dir.path().join("openapi.json");
    std::fs::write(&schema_file, schema.to_string()).unwrap();
    let examples = std::env::var("TRELLIS_FUZZ_EXAMPLES").unwrap_or_else(|_| "8".into());
    let (port, host, token) = (app.port, app.host("acme"), owner.access.clone());
    let workdir = dir.path().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("schemathesis")
            // Its run cache (`.schemathesis/`) goes to the temporary directory: every run starts
            // from the seed alone, and the checkout stays clean.
            .current_dir(&workdir)
            .env("NO_COLOR", "1")
            .args(["run", &schema_file.display().to_string()])
            .args(["--url", &format!("http://127.0.0.1:{port}")])
            .args(["--header", &format!("Host: {host}")])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            ])
            .args(["--phases", "examples,coverage,fuzzing"])
            .args(["--max-examples", &examples])
            // What ends the owner's own session (the fuzzer learns the ids from `GET /me/sessions`
            // and `GET /members`) would leave every later request answering 401; these four are
            // tested in auth.rs and sessions.rs.
            .args(["--exclude-name", "POST /api/v1/auth/logout"])
            .args(["--exclude-name", "DELETE /api/v1/me/sessions/{session_id}"])
            .args(["--exclude-name", "DELETE /api/v1/members/{member_id}/sessions"])
            .args([
                "--exclude-name",
                "DELETE /api/v1/members/{member_id}/sessions/{session_id}",
            ])
            .args(["--request-timeout", "10", "--workers", "2", "--seed", "7"])
            .output()
    })
    .await
    .unwrap()
    .expect("schemathesis runs (installed by .ci/test: pip install schemathesis)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // It did test every operation but the four left out, as the owner to the end (a session that
    // ended half-way would leave the rest answering only 401).
    let operations = schema["paths"]
        .as_object()
        .map(|paths| {
            paths
                .values()
                .map(|p| p.as_object().map_or(0, |o| o.len()))
                .sum::<usize>()
        })
        .unwrap_or(0);
    let tested: usize = stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("Tested: ")?.trim().parse().ok())
        .unwrap_or(0);
    assert!(operations > 60, "{operations} operations in the document");
    assert_eq!(tested, operations - 4, "{stdout}");
    let me = app.get("acme", "/api/v1/me", &owner.access).await;
    if me.status() != reqwest::StatusCode::OK {
        let ended: Vec<(String, Value)> = sqlx::query_as(
            "SELECT action, metadata FROM audit_events WHERE action LIKE 'session.%' \
             OR action LIKE 'member.%' OR action LIKE 'auth.%' ORDER BY occurred_at",
        )
        .fetch_all(&app.owner_pool().await)
        .await
        .unwrap_or_default();
        panic!(
            "the owner's session did not survive: {}\n{ended:#?}",
            me.text().await.unwrap_or_default()
        );
    }
}
