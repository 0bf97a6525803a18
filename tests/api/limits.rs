//! Limits hold at their edge and beyond it: every list's page size (read from the OpenAPI document, so a
//! new list is covered without new test code), bodies announced or streamed up to a gigabyte, an
//! import's rows, and clients that never finish their request head. The limit itself passes; one more
//! is a 4xx naming it, that changes nothing and leaves the server serving.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{
    helpers::{TestApp, problem, spawn_app, spawn_app_with},
    imports::upload,
};

#[tokio::test]
async fn every_list_takes_its_largest_page_and_refuses_one_more() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let doc = app.openapi("acme").await;
    // Lists under a path parameter, with a resource of that kind to list in.
    let community: Value = app
        .post(
            "acme",
            "/api/v1/network/communities",
            &owner.access,
            &json!({ "name": "Limits" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let workspace: Value = app
        .post(
            "acme",
            "/api/v1/workspaces",
            &owner.access,
            &json!({ "name": "Limits" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let fixtures = [
        ("community_id", community["id"].as_str().unwrap().to_owned()),
        ("workspace_id", workspace["id"].as_str().unwrap().to_owned()),
    ];
    let mut checked = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        let Some(list) = item.get("get") else {
            continue;
        };
        let parameters = list["parameters"].as_array().cloned().unwrap_or_default();
        let Some(limit) = parameters
            .iter()
            .find(|p| p["name"] == "limit" && p["in"] == "query")
        else {
            continue;
        };
        let mut path = template.clone();
        for parameter in parameters.iter().filter(|p| p["in"] == "path") {
            let name = parameter["name"].as_str().unwrap();
            let (_, id) = fixtures
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap_or_else(|| {
                    panic!("{template}: a list under a path parameter needs a fixture here")
                });
            path = path.replace(&format!("{{{name}}}"), id);
        }
        let path = &path;
        let max = limit["schema"]["maximum"]
            .as_u64()
            .unwrap_or_else(|| panic!("{path}: `limit` does not document its maximum"));
        let min = limit["schema"]["minimum"]
            .as_u64()
            .unwrap_or_else(|| panic!("{path}: `limit` does not document its minimum"));
        let page = app
            .get("acme", &format!("{path}?limit={max}"), &owner.access)
            .await;
        assert_eq!(page.status(), StatusCode::OK, "{path}?limit={max}");
        for beyond in [max + 1, min - 1, 100_000_000] {
            let refused = app
                .get("acme", &format!("{path}?limit={beyond}"), &owner.access)
                .await;
            assert_eq!(
                refused.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{path}?limit={beyond}"
            );
            let body = problem(refused).await;
            assert_eq!(body["errors"][0]["field"], "limit", "{path}: {body}");
        }
        checked.push(path.clone());
    }
    assert!(
        checked.len() >= 5,
        "only these lists take a limit: {checked:?}"
    );
}

/// Sends `head` and then, unless the server answers first, a chunked body of up to 1 GiB; returns the
/// server's answer and how many body bytes had been sent when it came.
async fn stream_a_gigabyte(app: &TestApp, head: String) -> (String, u64) {
    let socket = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let (mut reader, mut writer) = socket.into_split();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = sent.clone();
    let feeding = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000)).into_bytes();
        while counter.load(std::sync::atomic::Ordering::Relaxed) < 1 << 30 {
            writer.write_all(&chunk).await?;
            counter.fetch_add(0x10000, std::sync::atomic::Ordering::Relaxed);
        }
        writer.write_all(b"0\r\n\r\n").await
    });
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(60), reader.read(&mut answer))
        .await
        .expect("no answer while a gigabyte was sent")
        .unwrap();
    let at = sent.load(std::sync::atomic::Ordering::Relaxed);
    feeding.abort();
    (String::from_utf8_lossy(&answer[..n]).into_owned(), at)
}

/// Sends `head` announcing a gigabyte and nothing of the body; returns the answer.
async fn announce_a_gigabyte(app: &TestApp, head: String) -> String {
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(30), socket.read(&mut answer))
        .await
        .expect("the server waited for a gigabyte it will refuse")
        .unwrap();
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

#[tokio::test]
async fn a_gigabyte_body_is_refused_without_being_read_and_changes_nothing() {
    let app = spawn_app_with(|s| s.imports.max_upload_bytes = 1 << 20).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let host = app.host("acme");
    let before = roles_of(&app, &owner.access).await;
    let routes = [
        (
            "/api/v1/roles",
            "application/json",
            "413",
            "payload_too_large",
        ),
        (
            "/api/v1/imports",
            "multipart/form-data; boundary=x",
            "422",
            "file_too_large",
        ),
    ];
    for (path, content_type, status, code) in routes {
        let head = |length: &str| {
            format!(
                "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
                 Content-Type: {content_type}\r\n{length}\r\n",
                owner.access
            )
        };
        let answer = announce_a_gigabyte(&app, head("Content-Length: 1073741824\r\n")).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")) && answer.contains(code),
            "{path}, announced: {answer}"
        );
        eprintln!("{path}: announced ok");
        let (answer, sent) = stream_a_gigabyte(&app, head("Transfer-Encoding: chunked\r\n")).await;
        eprintln!("{path}: streamed {sent}: {answer}");
        let first_line = answer.lines().next().unwrap_or_default();
        assert!(
            first_line.starts_with("HTTP/1.1 4"),
            "{path}, streamed: {answer}"
        );
        assert!(
            sent < 64 << 20,
            "{path}: the server read {sent} bytes before refusing"
        );
    }
    // The server still serves, and nothing was written.
    assert_eq!(roles_of(&app, &owner.access).await, before);
    let imports: Value = app
        .get("acme", "/api/v1/imports", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(imports["items"], json!([]));
}

async fn roles_of(app: &TestApp, token: &str) -> Value {
    app.get("acme", "/api/v1/roles", token)
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_import_takes_its_largest_file_and_refuses_one_more_row() {
    let app = spawn_app_with(|s| s.imports.max_rows = 3).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let csv = |rows: usize| {
        let mut csv = String::from("email,name\n");
        for i in 0..rows {
            csv.push_str(&format!("p{i}@acme.example,Person {i}\n"));
        }
        csv
    };
    let taken = upload(&app, "acme", &owner, "three.csv", csv(3).as_bytes(), None).await;
    assert_eq!(taken.status(), StatusCode::CREATED);
    let refused = upload(&app, "acme", &owner, "four.csv", csv(4).as_bytes(), None).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem(refused).await["code"], "too_many_rows");
    let imports: Value = app
        .get("acme", "/api/v1/imports", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        imports["items"].as_array().unwrap().len(),
        1,
        "the refused file was kept: {imports}"
    );
}

#[tokio::test]
async fn clients_that_never_finish_their_request_head_are_cut_off() {
    let app = spawn_app_with(|s| s.server.head_timeout_ms = 500).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    // Fifty clients start a request and stall in its head.
    let mut stalled = Vec::new();
    for _ in 0..50 {
        let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
            .await
            .unwrap();
        let head = format!(
            "GET /api/v1/me HTTP/1.1\r\nHost: {}\r\nX-Slow: ",
            app.host("acme")
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        stalled.push(socket);
    }
    // Others are served meanwhile.
    let me = app.get("acme", "/api/v1/me", &owner.access).await;
    assert_eq!(me.status(), StatusCode::OK);
    // Each stalled connection is answered 408 or closed; none is left open.
    for mut socket in stalled {
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(30), socket.read_to_end(&mut answer))
            .await
            .expect("a stalled request head kept its connection open")
            .unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{answer}"
        );
    }
}
