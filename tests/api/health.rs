use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_answers_on_the_base_domain() {
    let app = spawn_app().await;
    let response = app.base_get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn readyz_reports_the_database_and_redis() {
    let app = spawn_app().await;
    let response = app.base_get("/readyz").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["database"], "up");
    assert_eq!(body["redis"], "up");
}
