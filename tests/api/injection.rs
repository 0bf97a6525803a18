//! SQL metacharacters, and NUL, in every string the API takes, generated from the OpenAPI document (so a
//! new operation is covered without new test code): each string in each operation's example body, one
//! at a time, and each string query parameter of each read. They stay data: no answer is a 5xx (a NUL,
//! which PostgreSQL text cannot hold, is refused, not passed on), a value the API accepts comes back
//! exactly as it was sent, and the organization still reads afterwards.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{Session, TestApp, spawn_app_with},
    isolation::{example_body, make_fixtures},
};

/// Quotes of both kinds, a statement separator, comments, a backslash, LIKE wildcards, a placeholder.
const PROBE: &str = "O'Brien \"quoted\"; DROP TABLE users; -- \\ 100% _x_ $1 /* */";
const PROBE_NUL: &str = "nul\u{0}byte'; --";

/// The JSON pointers of the string leaves of `value`, each with the name of the key that holds it.
fn string_leaves(value: &Value, pointer: String, key: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(_) => out.push((pointer, key.to_owned())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                string_leaves(item, format!("{pointer}/{i}"), key, out);
            }
        }
        Value::Object(fields) => {
            for (name, item) in fields {
                let escaped = name.replace('~', "~0").replace('/', "~1");
                string_leaves(item, format!("{pointer}/{escaped}"), name, out);
            }
        }
        _ => {}
    }
}

/// Every string value held under `key` anywhere in `value`.
fn values_under<'a>(value: &'a Value, key: &str, out: &mut Vec<&'a str>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| values_under(item, key, out)),
        Value::Object(fields) => {
            for (name, item) in fields {
                if name == key
                    && let Some(text) = item.as_str()
                {
                    out.push(text);
                }
                values_under(item, key, out);
            }
        }
        _ => {}
    }
}

struct Prober<'a> {
    app: &'a TestApp,
    owner: Session,
    acme: &'a crate::helpers::TestTenant,
    /// Accepted values that came back as sent.
    echoed: Vec<String>,
    sent: usize,
}

impl Prober<'_> {
    /// Sends one request as the owner (signing in again if an earlier probe ended the session) and
    /// checks the answer: never a 5xx; if accepted and the answer holds values under `key`, one of them
    /// is `value` exactly.
    async fn probe(
        &mut self,
        method: &Method,
        url: &str,
        body: Option<&Value>,
        key: &str,
        value: &str,
    ) {
        let mut response = self.send(method, url, body).await;
        if response.status() == StatusCode::UNAUTHORIZED {
            self.owner = self.app.login_owner(self.acme).await;
            response = self.send(method, url, body).await;
        }
        self.sent += 1;
        let status = response.status();
        let text = response.text().await.unwrap();
        let label = format!("{method} {url} with {key} = {value:?}");
        assert!(!status.is_server_error(), "{label}: {status} {text}");
        if !status.is_success() {
            return;
        }
        let Ok(answer) = serde_json::from_str::<Value>(&text) else {
            return;
        };
        let mut found = Vec::new();
        values_under(&answer, key, &mut found);
        if !found.is_empty() {
            assert!(
                found.contains(&value),
                "{label}: accepted, but {key} came back as {found:?}"
            );
            self.echoed.push(label);
        }
    }

    async fn send(&self, method: &Method, url: &str, body: Option<&Value>) -> reqwest::Response {
        let mut request = self
            .app
            .request(method.clone(), "acme", url)
            .bearer_auth(&self.owner.access);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metacharacters_and_nul_in_every_string_stay_data() {
    let app = spawn_app_with(|s| {
        s.plans.enterprise.api_requests_per_minute = 10_000_000;
        s.auth.login_ip_limit = 100_000;
        s.auth.login_account_limit = 100_000;
    })
    .await;
    let acme = app.create_tenant("acme").await;
    let fixtures = make_fixtures(&app, &acme).await;
    let doc = app.openapi("acme").await;
    let mut prober = Prober {
        owner: app.login_owner(&acme).await,
        app: &app,
        acme: &acme,
        echoed: Vec::new(),
        sent: 0,
    };
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch"] {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let label = format!("{} {path}", method.to_uppercase());
            let mut url = path.clone();
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for parameter in parameters.iter().filter(|p| p["in"] == "path") {
                let name = parameter["name"].as_str().unwrap();
                let id = fixtures.ids.get(name).unwrap_or_else(|| {
                    panic!("{label}: no fixture for the path parameter {name}; add one")
                });
                url = url.replace(&format!("{{{name}}}"), id);
            }
            let http = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            // Every string query parameter.
            for parameter in parameters.iter().filter(|p| p["in"] == "query") {
                let schema = &parameter["schema"];
                let is_string = schema["type"] == "string"
                    || schema["type"]
                        .as_array()
                        .is_some_and(|t| t.contains(&json!("string")));
                if !is_string {
                    continue;
                }
                let name = parameter["name"].as_str().unwrap();
                for value in [PROBE, PROBE_NUL] {
                    let query = serde_urlencoded::to_string([(name, value)]).unwrap();
                    prober
                        .probe(&http, &format!("{url}?{query}"), None, name, value)
                        .await;
                }
            }
            // Every string in the example body, one at a time.
            let Some(example) = example_body(&doc, operation, &label) else {
                continue;
            };
            let mut leaves = Vec::new();
            string_leaves(&example, String::new(), "", &mut leaves);
            for (pointer, key) in leaves {
                // Passwords are hashed, never put in SQL; changing the owner's own would lock the
                // test out.
                if key.contains("password") {
                    continue;
                }
                for value in [PROBE, PROBE_NUL] {
                    let mut body = example.clone();
                    *body.pointer_mut(&pointer).unwrap() = json!(value);
                    prober.probe(&http, &url, Some(&body), &key, value).await;
                }
            }
        }
    }
    assert!(prober.sent > 50, "only {} probes were sent", prober.sent);
    assert!(
        prober.echoed.len() >= 3,
        "too few accepted values came back to compare: {:?}",
        prober.echoed
    );
    let owner = app.login_owner(&acme).await;
    for path in ["/api/v1/members", "/api/v1/roles", "/api/v1/org"] {
        let response = app.get("acme", path, &owner.access).await;
        assert_eq!(response.status(), StatusCode::OK, "{path} afterwards");
    }
}
