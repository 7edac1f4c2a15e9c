use serde_json::Value;

use crate::helpers::{assert_error, TestApp, TOKEN};
use doorman::devices::CheckLocks;

#[tokio::test]
async fn healthz_and_readyz_answer_when_the_database_is_up() {
    let app = TestApp::spawn().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn readyz_fails_while_the_database_is_unreachable() {
    // A pool pointing at a port where nothing listens.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let pool = doorman::db::pool(&format!("postgres://postgres@127.0.0.1:{port}/none")).unwrap();
    let app = TestApp::spawn_on(pool, &[]).await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "liveness does not depend on the database");
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
}

#[tokio::test]
async fn the_admin_api_needs_the_bearer_token() {
    let app = TestApp::spawn().await;
    let missing = app.client.get(app.url("/api/v1/audit")).send().await.unwrap();
    assert_error(missing, 401, "unauthorized").await;
    let wrong = app.client.get(app.url("/api/v1/audit")).bearer_auth("not-the-token-at-all").send().await.unwrap();
    assert_error(wrong, 401, "unauthorized").await;
    let basic = app.client.get(app.url("/api/v1/audit")).basic_auth("admin", Some(TOKEN)).send().await.unwrap();
    assert_error(basic, 401, "unauthorized").await;
    let right = app.client.get(app.url("/api/v1/audit")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(right.status(), 200);
}

#[tokio::test]
async fn without_a_token_configured_the_admin_api_is_off() {
    let app = TestApp::spawn_with(&[]).await;
    let response = app.client.get(app.url("/api/v1/audit")).bearer_auth("anything-at-all-here").send().await.unwrap();
    let message = assert_error(response, 404, "api_disabled").await;
    assert!(message.contains("ADMIN_API_TOKEN"), "{message}");
}

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    let app = TestApp::spawn().await;
    assert_error(app.get("/api/v1/nothing-here").await, 404, "not_found").await;
    let outside = app.client.get(app.url("/nope")).send().await.unwrap();
    assert_error(outside, 404, "not_found").await;
}

#[tokio::test]
async fn the_openapi_document_lists_every_admin_route() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/api/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/properties",
        "/api/v1/properties/{id}",
        "/api/v1/properties/{id}/rooms",
        "/api/v1/locks",
        "/api/v1/locks/{id}",
        "/api/v1/locks/{id}/codes",
        "/api/v1/staff",
        "/api/v1/bookings/{external_ref}",
        "/api/v1/audit",
        "/api/v1/notifications",
    ] {
        assert!(paths.contains_key(path), "{path} missing from the OpenAPI document");
    }
    assert!(doc["components"]["schemas"]["BookingRequest"].is_object());
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
}

const METRICS_TOKEN: &str = "test-metrics-token-0123456789";

/// The value of an unlabelled series, or of one with exactly these labels.
fn series(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| line.strip_prefix(key)?.strip_prefix(' ').map(str::to_owned))
}

#[tokio::test]
async fn with_a_metrics_token_set_metrics_need_it() {
    let app = TestApp::spawn_with(&[("METRICS_TOKEN", METRICS_TOKEN)]).await;
    let metrics = || app.client.get(app.url("/metrics"));
    assert_error(metrics().send().await.unwrap(), 401, "unauthorized").await;
    let wrong = metrics().bearer_auth("not-the-metrics-token").send().await.unwrap();
    assert_error(wrong, 401, "unauthorized").await;
    let basic = metrics().basic_auth("prometheus", Some(METRICS_TOKEN)).send().await.unwrap();
    assert_error(basic, 401, "unauthorized").await;

    let right = metrics().bearer_auth(METRICS_TOKEN).send().await.unwrap();
    assert_eq!(right.status(), 200);
    let text = right.text().await.unwrap();
    assert_eq!(series(&text, r#"doorman_codes{provider="simulated",state="set"}"#).as_deref(), Some("0"), "{text}");
    assert_eq!(series(&text, r#"doorman_jobs{state="dead"}"#).as_deref(), Some("0"), "{text}");
    assert_eq!(series(&text, "doorman_jobs_due").as_deref(), Some("0"), "{text}");
}

#[tokio::test]
async fn metrics_answer_from_their_cache_while_the_database_is_blocked() {
    let app = TestApp::spawn().await;
    let scrape = || async { app.client.get(app.url("/metrics")).send().await.unwrap() };
    let first = scrape().await.text().await.unwrap();
    assert_eq!(series(&first, "doorman_jobs_due").as_deref(), Some("0"), "{first}");

    // A job falls due, then a transaction locks the jobs table against
    // every read: a scrape that went to the database now would wait.
    let mut conn = app.db.acquire().await.unwrap();
    doorman::jobs::queue::enqueue(&mut conn, &CheckLocks {}, chrono::Utc::now()).await.unwrap();
    drop(conn);
    let mut blocker = app.db.begin().await.unwrap();
    sqlx::query("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE").execute(&mut *blocker).await.unwrap();

    let flood = futures_util::future::join_all((0..20).map(|_| async { scrape().await.text().await.unwrap() }));
    let answers = tokio::time::timeout(std::time::Duration::from_secs(30), flood)
        .await
        .expect("scrapes answer while the jobs table is locked");
    for text in answers {
        assert_eq!(series(&text, "doorman_jobs_due").as_deref(), Some("0"), "the figures from before the lock");
    }
    blocker.rollback().await.unwrap();
}
