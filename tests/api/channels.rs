//! WhatsApp and Telegram through the running service, with Meta and
//! Telegram as mock servers answering in their documented shapes.

use chrono::{Duration, Utc};
use doorman::channels::whatsapp::sign;
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{Fixture, TestApp, TOKEN};
use doorman::db::housekeeping::Prune;
use doorman::devices::CheckLocks;

pub(crate) const APP_SECRET: &str = "meta-app-secret";
pub(crate) const TG_SECRET: &str = "telegram-webhook-secret-0123";
const BOT_TOKEN: &str = "123456:ABC-test-token";
pub(crate) const GUEST: &str = "421900000001";

pub(crate) struct Channels {
    pub(crate) app: TestApp,
    pub(crate) meta: MockServer,
    pub(crate) telegram: MockServer,
}

async fn spawn() -> Channels {
    spawn_with(&[]).await
}

/// The channels with these settings added.
pub(crate) async fn spawn_with(extra: &[(&str, &str)]) -> Channels {
    let meta = MockServer::start().await;
    let telegram = MockServer::start().await;
    let meta_base = format!("{}/v26.0", meta.uri());
    let telegram_base = telegram.uri();
    let app = TestApp::spawn_with(
        &[
            extra,
            &[
                ("ADMIN_API_TOKEN", TOKEN),
                ("WHATSAPP_TOKEN", "wa-access-token"),
                ("WHATSAPP_PHONE_NUMBER_ID", "106540352242922"),
                ("WHATSAPP_APP_SECRET", APP_SECRET),
                ("WHATSAPP_VERIFY_TOKEN", "verify-me-please"),
                ("WHATSAPP_API_BASE", &meta_base),
                ("TELEGRAM_BOT_TOKEN", BOT_TOKEN),
                ("TELEGRAM_WEBHOOK_SECRET", TG_SECRET),
                ("TELEGRAM_API_BASE", &telegram_base),
                ("TELEGRAM_BOT_USERNAME", "doorman_test_bot"),
            ],
        ]
        .concat(),
    )
    .await;
    Channels { app, meta, telegram }
}

/// Meta accepts every message and answers with a fresh id.
pub(crate) async fn meta_accepts(meta: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v26.0/106540352242922/messages"))
        .respond_with(|request: &wiremock::Request| {
            let n = request.body.len();
            ResponseTemplate::new(200).set_body_json(json!({
                "messaging_product": "whatsapp",
                "contacts": [{ "input": GUEST, "wa_id": GUEST }],
                "messages": [{ "id": format!("wamid.HBgL{n}{}", uuid::Uuid::new_v4().simple()) }]
            }))
        })
        .mount(meta)
        .await;
}

/// Telegram accepts every sendMessage, numbering messages as it does.
pub(crate) async fn telegram_accepts(telegram: &MockServer) {
    static NEXT_MESSAGE_ID: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(100);
    Mock::given(method("POST"))
        .and(path_regex(format!("(?i)^/bot{BOT_TOKEN}/sendmessage$")))
        .respond_with(|request: &wiremock::Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            ResponseTemplate::new(200).set_body_json(json!({ "ok": true, "result": {
                "message_id": NEXT_MESSAGE_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed), "date": 1767225600,
                "chat": { "id": body["chat_id"], "type": "private", "first_name": "Anna" },
                "from": { "id": 123456, "is_bot": true, "first_name": "doorman", "username": "doorman_test_bot" },
                "text": body["text"]
            }}))
        })
        .mount(telegram)
        .await;
}

pub(crate) fn text_webhook(id: &str, from: &str, body: &str) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "102290129340398", "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550783881", "phone_number_id": "106540352242922" },
            "contacts": [{ "profile": { "name": "Anna Novak" }, "wa_id": from, "user_id": "SK.1349120865530" }],
            "messages": [{ "from": from, "id": id, "timestamp": Utc::now().timestamp().to_string(), "type": "text",
                           "text": { "body": body } }]
        }}]}]
    })
}

pub(crate) fn status_webhook(wamid: &str, status: &str, errors: Option<Value>) -> Value {
    let mut entry = json!({ "id": wamid, "status": status, "timestamp": Utc::now().timestamp().to_string(),
                            "recipient_id": GUEST });
    if let Some(errors) = errors {
        entry["errors"] = errors;
    }
    json!({ "object": "whatsapp_business_account", "entry": [{ "id": "1", "changes": [{ "field": "messages",
        "value": { "messaging_product": "whatsapp",
                   "metadata": { "display_phone_number": "15550783881", "phone_number_id": "106540352242922" },
                   "statuses": [entry] } }] }] })
}

/// Posts `body` to the WhatsApp webhook of `app`, signed with `secret`
/// (unsigned when `None`).
async fn post_whatsapp(app: &TestApp, body: Vec<u8>, secret: Option<&[u8]>) -> reqwest::Response {
    let mut request = app.client.post(app.url("/webhooks/whatsapp")).header("content-type", "application/json");
    if let Some(secret) = secret {
        request = request.header("x-hub-signature-256", sign(secret, &body));
    }
    request.body(body).send().await.unwrap()
}

impl Channels {
    pub(crate) async fn whatsapp(&self, payload: &Value) -> reqwest::Response {
        post_whatsapp(&self.app, serde_json::to_vec(payload).unwrap(), Some(APP_SECRET.as_bytes())).await
    }

    pub(crate) async fn telegram_update(&self, update: &Value) -> reqwest::Response {
        self.app
            .client
            .post(self.app.url("/webhooks/telegram"))
            .header("x-telegram-bot-api-secret-token", TG_SECRET)
            .json(update)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn meta_requests(&self) -> Vec<Value> {
        self.meta.received_requests().await.unwrap().iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect()
    }

    pub(crate) async fn telegram_requests(&self) -> Vec<Value> {
        self.telegram
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect()
    }

    /// A booking of room 101 for the guest +421900000001, checking in
    /// `from_now` from now.
    pub(crate) async fn booking(&self, fixture: &Fixture, reference: &str, from_now: Duration, extra: Value) -> Value {
        let check_in = Utc::now() + from_now;
        let mut body = json!({
            "property_id": fixture.property_id, "room": "101",
            "guest": { "name": "Anna Novak", "phone": format!("+{GUEST}"), "language": "en" },
            "check_in_at": check_in, "check_out_at": check_in + Duration::days(3), "status": "confirmed"
        });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let response = self.app.put(&format!("/api/v1/bookings/{reference}"), &body).await;
        assert!(response.status().is_success(), "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    pub(crate) async fn notifications(&self, reference: &str) -> Vec<Value> {
        let response = self.app.get(&format!("/api/v1/notifications?booking_ref={reference}")).await;
        response.json::<Value>().await.unwrap().as_array().unwrap().clone()
    }
}

#[tokio::test]
async fn the_whatsapp_handshake_echoes_the_challenge_for_the_right_token_only() {
    let c = spawn().await;
    let ok =
        c.app
            .client
            .get(c.app.url(
                "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-me-please&hub.challenge=1158201444",
            ))
            .send()
            .await
            .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    let wrong = c
        .app
        .client
        .get(c.app.url("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);

    let off = TestApp::spawn().await;
    let response =
        off.client.get(off.url("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=x")).send().await.unwrap();
    assert_eq!(response.status(), 404, "a channel without credentials is off");
}

#[tokio::test]
async fn unsigned_wrongly_signed_and_malformed_webhooks_are_refused_and_store_nothing() {
    let c = spawn().await;
    let payload = serde_json::to_vec(&text_webhook("wamid.A1", GUEST, "hi")).unwrap();
    let unsigned = post_whatsapp(&c.app, payload.clone(), None).await;
    assert_eq!(unsigned.status(), 401);
    let forged = post_whatsapp(&c.app, payload.clone(), Some(b"not-the-secret")).await;
    assert_eq!(forged.status(), 401);
    let tampered = c
        .app
        .client
        .post(c.app.url("/webhooks/whatsapp"))
        .header("x-hub-signature-256", sign(APP_SECRET.as_bytes(), &payload))
        .body([&payload[..], b" "].concat())
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), 401);

    let malformed = b"{\"entry\": [".to_vec();
    let response = post_whatsapp(&c.app, malformed, Some(APP_SECRET.as_bytes())).await;
    assert_eq!(response.status(), 400);

    let huge = vec![b' '; 1024 * 1024 + 10];
    let response = post_whatsapp(&c.app, huge, Some(APP_SECRET.as_bytes())).await;
    assert_eq!(response.status(), 413);

    let telegram =
        c.app.client.post(c.app.url("/webhooks/telegram")).json(&json!({ "update_id": 1 })).send().await.unwrap();
    assert_eq!(telegram.status(), 401);
    let wrong = c
        .app
        .client
        .post(c.app.url("/webhooks/telegram"))
        .header("x-telegram-bot-api-secret-token", "telegram-webhook-secret-0124")
        .json(&json!({ "update_id": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM inbound_updates").fetch_one(&c.app.db).await.unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn a_redelivered_message_is_answered_once() {
    let c = spawn().await;
    meta_accepts(&c.meta).await;
    let payload = text_webhook("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0", GUEST, "hello");
    assert_eq!(c.whatsapp(&payload).await.status(), 200);
    assert_eq!(c.whatsapp(&payload).await.status(), 200);
    c.app.run_jobs().await;
    assert_eq!(c.whatsapp(&payload).await.status(), 200, "redelivered after processing");
    c.app.run_jobs().await;
    let sent = c.meta_requests().await;
    assert_eq!(sent.len(), 1, "one reply for one message: {sent:?}");
    assert_eq!(sent[0]["to"], GUEST);
    assert_eq!(sent[0]["type"], "text", "inside the 24-hour window");
    let request = &c.meta.received_requests().await.unwrap()[0];
    assert_eq!(request.headers.get("authorization").unwrap(), "Bearer wa-access-token");
}

#[tokio::test]
async fn unknown_message_types_and_fields_are_stored_and_acknowledged() {
    let c = spawn().await;
    meta_accepts(&c.meta).await;
    let mut payload = text_webhook("wamid.IMG", GUEST, "x");
    let message = &mut payload["entry"][0]["changes"][0]["value"]["messages"][0];
    message["type"] = json!("image");
    message["image"] = json!({ "id": "2754859441498128", "mime_type": "image/jpeg" });
    message["brand_new_field"] = json!({ "nested": true });
    assert_eq!(c.whatsapp(&payload).await.status(), 200);
    let kind: String = sqlx::query_scalar("SELECT payload->'content'->>'type' FROM inbound_updates")
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    assert_eq!(kind, "unsupported");
}

#[tokio::test]
async fn the_pre_arrival_message_uses_the_template_outside_the_window_and_text_inside_it() {
    let c = spawn().await;
    meta_accepts(&c.meta).await;
    let fixture = c.app.seed_property().await;
    let booking = c.booking(&fixture, "BK-1", Duration::hours(20), json!({})).await;
    c.app.run_jobs().await;
    let sent = c.meta_requests().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["type"], "template", "the guest never wrote: only a template may go out");
    assert_eq!(sent[0]["template"]["name"], "doorman_pre_arrival");
    let params: Vec<&str> = sent[0]["template"]["components"][0]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(params[0], "Anna");
    assert_eq!(params[1], "Old Town Flats");
    let code = booking["codes"][0]["code"].as_str().unwrap();
    assert!(params[4].starts_with(code), "{params:?}");
    assert!(params.iter().all(|p| !p.contains('\n')), "template parameters are single lines");

    let notifications = c.notifications("BK-1").await;
    assert_eq!(notifications[0]["template"], "pre_arrival");
    assert_eq!(notifications[0]["status"], "sent");
    assert!(notifications[0]["provider_message_id"].as_str().unwrap().starts_with("wamid."));

    // After the guest writes, the window is open: text.
    c.whatsapp(&text_webhook("wamid.IN1", GUEST, "thanks!")).await;
    c.booking(&fixture, "BK-2", Duration::hours(10), json!({ "room": "102" })).await;
    c.app.run_jobs().await;
    let sent = c.meta_requests().await;
    let pre_arrival = sent
        .iter()
        .filter(|r| r["type"] == "text")
        .find(|r| r["text"]["body"].as_str().unwrap().contains("access code"))
        .unwrap();
    assert!(pre_arrival["text"]["body"].as_str().unwrap().contains("Room 102"));
}

#[tokio::test]
async fn error_131047_falls_back_to_the_template() {
    let c = spawn().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({ "type": "text" })))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": {
            "message": "(#131047) Re-engagement message", "type": "OAuthException", "code": 131047,
            "error_data": { "messaging_product": "whatsapp", "details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number." },
            "fbtrace_id": "AbCd" } })))
        .mount(&c.meta)
        .await;
    meta_accepts(&c.meta).await;
    let fixture = c.app.seed_property().await;
    // Our record says the guest wrote; Meta disagrees.
    c.whatsapp(&text_webhook("wamid.IN", GUEST, "hello")).await;
    c.app.run_jobs().await;
    c.booking(&fixture, "BK-1", Duration::hours(20), json!({})).await;
    c.app.run_jobs().await;
    let notifications = c.notifications("BK-1").await;
    assert_eq!(notifications[0]["status"], "sent");
    let types: Vec<String> = c.meta_requests().await.iter().map(|r| r["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(types.last().unwrap(), "template");
}

#[tokio::test]
async fn rate_limits_are_retried_and_undeliverable_numbers_are_reported_not_retried() {
    let c = spawn().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": {
            "message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429, "fbtrace_id": "x" } })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&c.meta)
        .await;
    meta_accepts(&c.meta).await;
    let fixture = c.app.seed_property().await;
    c.booking(&fixture, "BK-1", Duration::hours(20), json!({})).await;
    c.app.run_jobs().await;
    assert_eq!(c.notifications("BK-1").await[0]["status"], "queued", "waiting to retry");
    c.app.run_jobs_through_retries(1).await;
    assert_eq!(c.notifications("BK-1").await[0]["status"], "sent");

    let c = spawn().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": {
            "message": "Message undeliverable", "type": "OAuthException", "code": 131026, "fbtrace_id": "x" } })))
        .mount(&c.meta)
        .await;
    let fixture = c.app.seed_property().await;
    c.booking(&fixture, "BK-1", Duration::hours(20), json!({})).await;
    c.app.run_jobs_through_retries(3).await;
    let notification = &c.notifications("BK-1").await[0];
    assert_eq!(notification["status"], "failed");
    assert!(notification["error"].as_str().unwrap().contains("131026"));
    assert_eq!(c.meta_requests().await.len(), 1, "a permanent error is not retried");
    let events: Value = c.app.get("/api/v1/audit?booking_ref=BK-1").await.json().await.unwrap();
    assert!(events.as_array().unwrap().iter().any(|e| e["action"] == "code.delivery_failed"));
}

#[tokio::test]
async fn delivery_reports_apply_in_precedence_order() {
    let c = spawn().await;
    meta_accepts(&c.meta).await;
    let fixture = c.app.seed_property().await;
    c.booking(&fixture, "BK-1", Duration::hours(20), json!({})).await;
    c.app.run_jobs().await;
    let wamid = c.notifications("BK-1").await[0]["provider_message_id"].as_str().unwrap().to_owned();
    for status in ["read", "delivered", "sent"] {
        assert_eq!(c.whatsapp(&status_webhook(&wamid, status, None)).await.status(), 200);
    }
    c.app.run_jobs().await;
    assert_eq!(c.notifications("BK-1").await[0]["status"], "read", "a late 'delivered' does not undo 'read'");

    // A report about a message doorman has not recorded yet is retried.
    c.whatsapp(&status_webhook("wamid.unknown", "delivered", None)).await;
    c.app.run_jobs().await;
    let waiting: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'process_inbound' AND state = 'queued'")
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    assert_eq!(waiting, 1);
}

#[tokio::test]
async fn a_failed_report_carries_metas_error_into_the_log() {
    let c = spawn().await;
    meta_accepts(&c.meta).await;
    let fixture = c.app.seed_property().await;
    c.booking(&fixture, "BK-1", Duration::hours(20), json!({})).await;
    c.app.run_jobs().await;
    let wamid = c.notifications("BK-1").await[0]["provider_message_id"].as_str().unwrap().to_owned();
    let errors = json!([{ "code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
        "error_data": { "details": "Message could not be delivered" } }]);
    c.whatsapp(&status_webhook(&wamid, "failed", Some(errors))).await;
    c.app.run_jobs().await;
    let notification = &c.notifications("BK-1").await[0];
    assert_eq!(notification["status"], "failed");
    assert!(notification["error"].as_str().unwrap().starts_with("(#131026)"));
}

#[tokio::test]
async fn pre_arrival_waits_for_the_release_window_and_follows_the_booking() {
    let c = spawn().await;
    meta_accepts(&c.meta).await;
    let fixture = c.app.seed_property().await;
    let body = c.booking(&fixture, "BK-1", Duration::days(3), json!({})).await;
    c.app.run_jobs().await;
    assert!(c.meta_requests().await.is_empty(), "three days before check-in is too early");
    let run_at: chrono::DateTime<Utc> =
        sqlx::query_scalar("SELECT run_at FROM jobs WHERE kind = 'pre_arrival'").fetch_one(&c.app.db).await.unwrap();
    let check_in: chrono::DateTime<Utc> = body["check_in_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(run_at, check_in - Duration::hours(24));

    // The dates move closer: the message goes at once.
    c.booking(&fixture, "BK-1", Duration::hours(5), json!({})).await;
    c.app.run_jobs().await;
    assert_eq!(c.meta_requests().await.len(), 1);
    // Confirming again, or another run, sends nothing more.
    c.booking(&fixture, "BK-1", Duration::hours(5), json!({})).await;
    c.app.run_jobs().await;
    assert_eq!(c.meta_requests().await.len(), 1, "exactly once");

    // A cancelled booking gets nothing.
    c.booking(&fixture, "BK-2", Duration::days(2), json!({ "room": "102" })).await;
    c.booking(&fixture, "BK-2", Duration::days(2), json!({ "room": "102", "status": "cancelled" })).await;
    sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = 'pre_arrival'").execute(&c.app.db).await.unwrap();
    c.app.run_jobs().await;
    assert!(c.notifications("BK-2").await.is_empty());
}

#[tokio::test]
async fn pre_arrival_is_withheld_until_the_booking_is_verified() {
    let c = spawn().await;
    meta_accepts(&c.meta).await;
    let property: Value = c
        .app
        .post(
            "/api/v1/properties",
            &json!({ "name": "Strict Suites", "timezone": "Europe/Vienna", "requires_verification": true }),
        )
        .await
        .json()
        .await
        .unwrap();
    let property_id = property["id"].as_str().unwrap();
    c.app.post(&format!("/api/v1/properties/{property_id}/rooms"), &json!({ "name": "101" })).await;
    c.app.post("/api/v1/locks", &json!({ "property_id": property_id, "name": "Door", "provider": "simulated" })).await;
    let fixture =
        Fixture { property_id: property_id.parse().unwrap(), rooms: Default::default(), locks: Default::default() };
    c.booking(&fixture, "BK-V", Duration::hours(10), json!({ "verified": false })).await;
    c.app.run_jobs().await;
    assert!(c.notifications("BK-V").await.is_empty(), "verification pending: no code");
    c.booking(&fixture, "BK-V", Duration::hours(10), json!({ "verified": true })).await;
    c.app.run_jobs().await;
    assert_eq!(c.notifications("BK-V").await.len(), 1);
}

#[tokio::test]
async fn two_workers_send_the_pre_arrival_message_once() {
    let c = spawn().await;
    meta_accepts(&c.meta).await;
    let fixture = c.app.seed_property().await;
    c.booking(&fixture, "BK-1", Duration::hours(20), json!({})).await;
    let other = doorman::context::JobContext { ..c.app.jobs.clone() };
    let (a, b) = tokio::join!(doorman::app::run_pending_jobs(&c.app.jobs), doorman::app::run_pending_jobs(&other));
    assert!(a + b > 0);
    c.app.run_jobs().await;
    assert_eq!(c.meta_requests().await.iter().filter(|r| r["type"] == "template").count(), 1);
}

pub(crate) fn telegram_message(update_id: u64, chat: i64, extra: Value) -> Value {
    let mut message = json!({
        "message_id": 1365, "date": Utc::now().timestamp(),
        "chat": { "id": chat, "type": "private", "first_name": "Anna" },
        "from": { "id": chat, "is_bot": false, "first_name": "Anna", "last_name": "Novak", "language_code": "en" }
    });
    message.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    json!({ "update_id": update_id, "message": message })
}

/// The Telegram chat linked to a booking now, if any.
pub(crate) async fn linked_chat(db: &sqlx::PgPool) -> Option<i64> {
    sqlx::query_scalar("SELECT address::bigint FROM booking_contacts WHERE kind = 'telegram' AND ended_at IS NULL")
        .fetch_optional(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_telegram_deep_link_links_the_chat_once_and_the_codes_follow() {
    let c = spawn().await;
    meta_accepts(&c.meta).await;
    telegram_accepts(&c.telegram).await;
    let fixture = c.app.seed_property().await;
    let booking = c.booking(&fixture, "BK-1", Duration::hours(20), json!({})).await;
    c.app.run_jobs().await;
    let whatsapp = c.meta_requests().await;
    let text = whatsapp[0].to_string();
    assert!(!text.contains("BK-1"), "the link never carries the booking reference");
    let params = whatsapp[0]["template"]["components"][0]["parameters"].as_array().unwrap();
    let offer = params.last().unwrap()["text"].as_str().unwrap();
    let link = offer.split_whitespace().find(|w| w.starts_with("https://t.me/doorman_test_bot?start=")).unwrap();
    let start_token = link.rsplit('=').next().unwrap();

    let start = telegram_message(500, 1111111, json!({ "text": format!("/start {start_token}") }));
    assert_eq!(c.telegram_update(&start).await.status(), 200);
    c.app.run_jobs().await;
    let linked = linked_chat(&c.app.db).await;
    assert_eq!(linked, Some(1111111));
    let sent = c.telegram_requests().await;
    assert!(sent.iter().all(|r| r["parse_mode"] == "MarkdownV2"));
    assert!(sent.iter().any(|r| r["text"].as_str().unwrap().contains("linked")));
    let code = booking["codes"][0]["code"].as_str().unwrap();
    let pre_arrival =
        sent.iter().find(|r| r["text"].as_str().unwrap().contains(code)).expect("the codes on Telegram too");
    assert!(pre_arrival["text"].as_str().unwrap().contains(&format!("`{code}`")));
    assert!(pre_arrival["text"].as_str().unwrap().contains("Check\\-out"), "MarkdownV2 escaped");

    let telegram_statuses: Vec<String> =
        sqlx::query_scalar("SELECT status || ' ' || coalesce(error, '') FROM notifications WHERE channel = 'telegram'")
            .fetch_all(&c.app.db)
            .await
            .unwrap();
    assert!(telegram_statuses.len() >= 2 && telegram_statuses.iter().all(|s| s == "sent "), "{telegram_statuses:?}");

    // The token works once, and only for that chat.
    let again = telegram_message(501, 2222222, json!({ "text": format!("/start {start_token}") }));
    c.telegram_update(&again).await;
    c.app.run_jobs().await;
    let still = linked_chat(&c.app.db).await;
    assert_eq!(still, Some(1111111));
    let last = c.telegram_requests().await.into_iter().last().unwrap();
    assert_eq!(last["chat_id"], 2222222);
    assert!(last["text"].as_str().unwrap().contains("invalid or has expired"));
}

#[tokio::test]
async fn a_shared_contact_links_only_when_it_is_the_senders_own() {
    let c = spawn().await;
    meta_accepts(&c.meta).await;
    telegram_accepts(&c.telegram).await;
    let fixture = c.app.seed_property().await;
    c.booking(&fixture, "BK-1", Duration::days(5), json!({})).await;
    let foreign = telegram_message(
        600,
        3333333,
        json!({ "contact": { "phone_number": GUEST, "first_name": "Anna", "user_id": 1111111 } }),
    );
    c.telegram_update(&foreign).await;
    c.app.run_jobs().await;
    let linked = linked_chat(&c.app.db).await;
    assert_eq!(linked, None, "someone else's contact card links nothing");

    let own = telegram_message(
        601,
        1111111,
        json!({ "contact": { "phone_number": format!("+{GUEST}"), "first_name": "Anna", "user_id": 1111111 } }),
    );
    c.telegram_update(&own).await;
    c.app.run_jobs().await;
    let linked = linked_chat(&c.app.db).await;
    assert_eq!(linked, Some(1111111));
}

#[tokio::test]
async fn a_guest_who_links_telegram_is_told_so_in_their_language() {
    let c = spawn().await;
    meta_accepts(&c.meta).await;
    telegram_accepts(&c.telegram).await;
    let fixture = c.app.seed_property().await;
    let german = json!({ "guest": { "name": "Anna Novak", "phone": format!("+{GUEST}"), "language": "de" } });
    c.booking(&fixture, "BK-1", Duration::days(5), german).await;
    let own = telegram_message(
        601,
        1111111,
        json!({ "contact": { "phone_number": format!("+{GUEST}"), "first_name": "Anna", "user_id": 1111111 } }),
    );
    c.telegram_update(&own).await;
    c.app.run_jobs().await;
    let sent = c.telegram_requests().await;
    let texts: Vec<&str> = sent.iter().filter_map(|r| r["text"].as_str()).collect();
    assert!(
        texts.iter().any(|t| t.starts_with("Danke Anna, dieser Chat ist jetzt mit Ihrer Buchung verbunden")),
        "{texts:?}"
    );
    assert!(!texts.iter().any(|t| t.contains("this chat is now linked")), "{texts:?}");
}

#[tokio::test]
async fn telegram_flood_control_is_honoured_and_a_blocked_bot_is_final() {
    let c = spawn().await;
    Mock::given(method("POST"))
        .and(path_regex(format!("(?i)^/bot{BOT_TOKEN}/sendmessage$")))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({ "ok": false, "error_code": 429,
            "description": "Too Many Requests: retry after 17", "parameters": { "retry_after": 17 } })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&c.telegram)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(format!("(?i)^/bot{BOT_TOKEN}/sendmessage$")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({ "ok": false, "error_code": 403,
            "description": "Forbidden: bot was blocked by the user" })))
        .mount(&c.telegram)
        .await;
    c.telegram_update(&telegram_message(700, 4444444, json!({ "text": "hello" }))).await;
    c.app.run_jobs().await;
    let (status, delay): (String, f64) = sqlx::query_as(
        "SELECT n.status, EXTRACT(EPOCH FROM (j.run_at - now()))::float8 FROM notifications n, jobs j WHERE j.kind = 'send_message'",
    )
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!(status, "queued");
    assert!((14.0..=18.0).contains(&delay), "retried after Telegram's retry_after, not our backoff: {delay}");
    c.app.run_jobs_through_retries(2).await;
    let (status, error): (String, String) =
        sqlx::query_as("SELECT status, error FROM notifications").fetch_one(&c.app.db).await.unwrap();
    assert_eq!(status, "failed");
    assert!(error.contains("blocked"), "{error}");
    assert_eq!(c.telegram.received_requests().await.unwrap().len(), 2, "not retried once blocked");
}

#[tokio::test]
async fn telegram_updates_are_stored_once_and_unknown_kinds_are_kept() {
    let c = spawn().await;
    telegram_accepts(&c.telegram).await;
    let update = telegram_message(800, 5555555, json!({ "text": "Wie lautet der Türcode?" }));
    assert_eq!(c.telegram_update(&update).await.status(), 200);
    assert_eq!(c.telegram_update(&update).await.status(), 200);
    let poll = json!({ "update_id": 801, "poll": { "id": "1", "question": "?", "options": [], "total_voter_count": 0,
        "is_closed": false, "is_anonymous": true, "type": "regular", "allows_multiple_answers": false } });
    assert_eq!(c.telegram_update(&poll).await.status(), 200);
    let malformed = c
        .app
        .client
        .post(c.app.url("/webhooks/telegram"))
        .header("x-telegram-bot-api-secret-token", TG_SECRET)
        .body("{\"update_id\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM inbound_updates ORDER BY id").fetch_all(&c.app.db).await.unwrap();
    assert_eq!(kinds, ["message", "ignored"]);
    c.app.run_jobs().await;
    assert_eq!(c.telegram_requests().await.len(), 1);
}

#[tokio::test]
async fn the_console_channel_goes_through_the_same_pipeline() {
    let app = TestApp::spawn().await;
    let settings = doorman::jobs::WorkerSettings { tick: std::time::Duration::from_millis(50), ..Default::default() };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker =
        tokio::spawn(doorman::jobs::Worker::new(doorman::app::runner(app.jobs.clone()), settings).run(stopped));
    let input = tokio::io::BufReader::new(&b"how do I get in?\n"[..]);
    let mut output = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        doorman::channels::console::run(&app.db, "+421900000001", input, &mut output),
    )
    .await
    .expect("the console finishes")
    .unwrap();
    stop.send(true).unwrap();
    worker.await.unwrap();
    let printed = String::from_utf8(output).unwrap();
    assert!(printed.starts_with("doorman> "), "{printed:?}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM inbound_updates WHERE channel = 'console'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn a_burst_goes_out_at_the_rate_limit_without_rate_limit_errors() {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    // The sender is set to 50/s; the mock refuses past 60 in any second, a
    // margin for network jitter between the limiter and the mock.
    const LIMIT: usize = 60;
    let meta = MockServer::start().await;
    // Meta's throughput limit: more than LIMIT messages in any second is
    // answered with 130429.
    let window: Arc<Mutex<VecDeque<Instant>>> = Arc::default();
    let rejected = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (seen, refused) = (window.clone(), rejected.clone());
    Mock::given(method("POST"))
        .respond_with(move |_: &wiremock::Request| {
            let now = Instant::now();
            let mut recent = seen.lock().unwrap();
            while recent.front().is_some_and(|t| now.duration_since(*t) >= std::time::Duration::from_secs(1)) {
                recent.pop_front();
            }
            if recent.len() >= LIMIT {
                refused.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                return ResponseTemplate::new(400).set_body_json(json!({ "error": {
                    "message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429, "fbtrace_id": "x" } }));
            }
            recent.push_back(now);
            ResponseTemplate::new(200).set_body_json(json!({ "messaging_product": "whatsapp",
                "messages": [{ "id": format!("wamid.{}", uuid::Uuid::new_v4().simple()) }] }))
        })
        .mount(&meta)
        .await;
    let base = format!("{}/v26.0", meta.uri());
    let app = TestApp::spawn_with(&[
        ("WHATSAPP_TOKEN", "t"),
        ("WHATSAPP_PHONE_NUMBER_ID", "1"),
        ("WHATSAPP_APP_SECRET", APP_SECRET),
        ("WHATSAPP_API_BASE", &base),
        ("WHATSAPP_RATE_PER_SECOND", "50"),
    ])
    .await;
    let mut tx = app.db.begin().await.unwrap();
    for n in 0..120 {
        let message = doorman::channels::Outgoing {
            channel: doorman::channels::Channel::Whatsapp,
            address: format!("+4219000{n:05}"),
            purpose: "pre_arrival".into(),
            body: "Your code".into(),
            template: Some(doorman::channels::Template {
                name: "doorman_pre_arrival".into(),
                params: vec!["x".into()],
            }),
            language: "en".into(),
            booking_id: None,
            dedupe_key: Some(format!("burst:{n}")),
            subject: None,
            html: None,
        };
        doorman::channels::outbox::enqueue(&mut tx, &message).await.unwrap();
    }
    tx.commit().await.unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(
        doorman::jobs::Worker::new(doorman::app::runner(app.jobs.clone()), Default::default()).run(stopped),
    );
    let all_sent = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications WHERE status = 'queued'")
                .fetch_one(&app.db)
                .await
                .unwrap();
            if queued == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    stop.send(true).unwrap();
    worker.await.unwrap();
    assert!(all_sent.is_ok(), "every message went out");
    let sent: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications WHERE status = 'sent'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(sent, 120);
    assert_eq!(rejected.load(std::sync::atomic::Ordering::SeqCst), 0, "no request ever hit Meta's rate limit");
}

/// The value of the series `name` whose labels include `labels`, from
/// Prometheus text.
fn series(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let (key, value) = line.rsplit_once(' ')?;
        let (series_name, rest) = key.split_once('{').unwrap_or((key, ""));
        let matches = series_name == name && labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        matches.then(|| value.parse().ok()).flatten()
    })
}

// The only test that scrapes `/metrics`: the recorder is shared by the
// whole test binary, so counters are asserted as "at least", gauges
// (written from this test's database at scrape time) exactly.
#[tokio::test]
async fn metrics_show_messages_codes_providers_jobs_and_rejections() {
    let c = spawn().await;
    meta_accepts(&c.meta).await;
    let fixture = c.app.seed_property().await;
    c.booking(&fixture, "BK-METRICS", Duration::days(2), json!({})).await;
    c.app.run_jobs().await;
    let wifi = text_webhook("wamid.METRICS1", GUEST, "what is the wifi password?");
    assert_eq!(c.whatsapp(&wifi).await.status(), 200);
    let forged = post_whatsapp(&c.app, b"{}".to_vec(), Some(b"not-the-secret")).await;
    assert_eq!(forged.status(), 401);
    let garbled = post_whatsapp(&c.app, b"{not json".to_vec(), Some(APP_SECRET.as_bytes())).await;
    assert_eq!(garbled.status(), 400);
    c.app.run_jobs().await;
    // A job that waits: the queue shows it.
    let mut conn = c.app.db.acquire().await.unwrap();
    let due = Utc::now() - Duration::seconds(30);
    doorman::jobs::queue::enqueue(&mut conn, &CheckLocks {}, due).await.unwrap();

    let response = c.app.client.get(c.app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let at_least_one = |name: &str, labels: &[(&str, &str)]| {
        let value = series(&text, name, labels).unwrap_or_else(|| panic!("{name} {labels:?} missing:\n{text}"));
        assert!(value >= 1.0, "{name} {labels:?} = {value}");
    };
    at_least_one("doorman_inbound_messages_total", &[("channel", "whatsapp"), ("intent", "wifi")]);
    at_least_one("doorman_outbound_messages_total", &[("channel", "whatsapp"), ("outcome", "sent")]);
    at_least_one("doorman_webhook_rejections_total", &[("channel", "whatsapp"), ("reason", "signature")]);
    at_least_one("doorman_webhook_rejections_total", &[("channel", "whatsapp"), ("reason", "malformed")]);
    at_least_one("doorman_provider_call_seconds_count", &[("provider", "simulated"), ("operation", "create_code")]);
    at_least_one("doorman_jobs_total", &[("kind", "program_code"), ("outcome", "done")]);

    let codes: i64 =
        sqlx::query_scalar("SELECT count(*) FROM access_codes WHERE state = 'set'").fetch_one(&c.app.db).await.unwrap();
    assert!(codes >= 2, "the fixture has two locks for room 101");
    assert_eq!(series(&text, "doorman_codes", &[("provider", "simulated"), ("state", "set")]), Some(codes as f64));
    assert_eq!(series(&text, "doorman_codes", &[("provider", "nuki"), ("state", "set")]), Some(0.0));
    assert_eq!(series(&text, "doorman_jobs_due", &[]), Some(1.0));
    let lag = series(&text, "doorman_job_queue_lag_seconds", &[]).unwrap();
    assert!((29.0..120.0).contains(&lag), "the waiting job is about 30 s late: {lag}");
}

/// Two full instances (HTTP and scheduler each) on one database, as on
/// Fly.io with two machines: webhooks land on either, Meta redelivers to the
/// other, both schedulers race for the same jobs.
#[tokio::test]
async fn two_instances_on_one_database_answer_each_message_once_and_send_one_pre_arrival() {
    let meta = MockServer::start().await;
    meta_accepts(&meta).await;
    let meta_base = format!("{}/v26.0", meta.uri());
    let db = crate::helpers::fresh_database().await;
    let vars = [
        ("ADMIN_API_TOKEN", TOKEN),
        ("WHATSAPP_TOKEN", "wa-access-token"),
        ("WHATSAPP_PHONE_NUMBER_ID", "106540352242922"),
        ("WHATSAPP_APP_SECRET", APP_SECRET),
        ("WHATSAPP_API_BASE", meta_base.as_str()),
        ("SCHEDULER_ENABLED", "true"),
        ("SCHEDULER_TICK_MS", "50"),
    ];
    let a = TestApp::spawn_on(db.clone(), &vars).await;
    let b = TestApp::spawn_on(db.clone(), &vars).await;
    let fixture = a.seed_property().await;
    let check_in = Utc::now() + Duration::hours(20);
    let booking = json!({
        "property_id": fixture.property_id, "room": "101",
        "guest": { "name": "Anna Novak", "phone": format!("+{GUEST}"), "language": "en" },
        "check_in_at": check_in, "check_out_at": check_in + Duration::days(2), "status": "confirmed"
    });
    // The PMS sends the booking to both (a retry after a timeout).
    assert!(a.put("/api/v1/bookings/BK-TWO", &booking).await.status().is_success());
    assert!(b.put("/api/v1/bookings/BK-TWO", &booking).await.status().is_success());

    let messages = 30;
    for n in 0..messages {
        let payload = serde_json::to_vec(&text_webhook(&format!("wamid.TWO{n}"), GUEST, "hello")).unwrap();
        // Delivered to one instance, then redelivered to the other.
        for app in [&a, &b] {
            let response = post_whatsapp(app, payload.clone(), Some(APP_SECRET.as_bytes())).await;
            assert_eq!(response.status(), 200);
        }
    }

    let expected = messages + 1; // a greeting each, and the pre-arrival message
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let sent = meta.received_requests().await.unwrap().len();
        if sent >= expected || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Anything extra would show up now.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let sent: Vec<Value> =
        meta.received_requests().await.unwrap().iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    assert_eq!(sent.len(), expected, "one reply per message, whichever instance took it: {sent:?}");
    let by_purpose: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT template, status, count(*) FROM notifications GROUP BY 1, 2 ORDER BY 1, 2")
            .fetch_all(&db)
            .await
            .unwrap();
    assert!(by_purpose.contains(&("pre_arrival".into(), "sent".into(), 1)), "{by_purpose:?}");
    let handled: i64 = sqlx::query_scalar("SELECT count(*) FROM inbound_updates").fetch_one(&db).await.unwrap();
    assert_eq!(handled, messages as i64, "each message stored once");

    // Each lock got the guest's code once.
    let codes = crate::helpers::codes_of(&a, "BK-TWO").await;
    assert_eq!(codes.len(), 2, "one code per lock of room 101: {codes:?}");
    assert!(codes.iter().all(|c| c["state"] == "set"), "{codes:?}");
    for code in &codes {
        let lock = code["lock_id"].as_str().unwrap();
        let on_device: Value = a.get(&format!("/api/v1/locks/{lock}/device-codes")).await.json().await.unwrap();
        assert_eq!(on_device.as_array().unwrap().len(), 1, "lock {lock}: {on_device}");
    }
    let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'dead'").fetch_one(&db).await.unwrap();
    assert_eq!(dead, 0);
}

#[tokio::test]
async fn a_flood_from_one_number_is_stored_and_answered_only_up_to_the_per_minute_limit() {
    let c = spawn_with(&[("INBOUND_PER_SENDER_PER_MINUTE", "5")]).await;
    meta_accepts(&c.meta).await;
    for n in 0..8 {
        assert_eq!(c.whatsapp(&text_webhook(&format!("wamid.FLOOD{n}"), GUEST, "hello")).await.status(), 200);
    }
    assert_eq!(c.whatsapp(&text_webhook("wamid.CALM", "421900000099", "hello")).await.status(), 200);
    c.app.run_jobs().await;
    let sent = c.meta_requests().await;
    let to_flooder = sent.iter().filter(|r| r["to"] == GUEST).count();
    assert_eq!(to_flooder, 5, "five answers, then silence for the rest of the minute");
    assert_eq!(sent.iter().filter(|r| r["to"] == "421900000099").count(), 1, "other senders are not affected");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM inbound_updates WHERE processed_at IS NOT NULL")
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    assert_eq!(stored, 9, "every message is kept and marked processed");

    // A minute later the sender is answered again.
    sqlx::query("UPDATE chat_contacts SET window_started_at = window_started_at - interval '61 seconds'")
        .execute(&c.app.db)
        .await
        .unwrap();
    assert_eq!(c.whatsapp(&text_webhook("wamid.LATER", GUEST, "hello")).await.status(), 200);
    c.app.run_jobs().await;
    assert_eq!(c.meta_requests().await.iter().filter(|r| r["to"] == GUEST).count(), 6);
}

#[tokio::test]
async fn a_message_with_a_nul_character_is_stored_and_answered() {
    let c = spawn().await;
    meta_accepts(&c.meta).await;
    // PostgreSQL refuses U+0000 in text and jsonb; the message must not be
    // refused on every redelivery because of it.
    let payload = text_webhook("wamid.NUL\u{0}1", GUEST, "hello\u{0} there");
    assert_eq!(c.whatsapp(&payload).await.status(), 200);
    c.app.run_jobs().await;
    assert_eq!(c.meta_requests().await.len(), 1, "answered");
}

#[tokio::test]
async fn set_webhook_asks_telegram_only_for_the_updates_doorman_reads() {
    let telegram = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex(format!("(?i)^/bot{BOT_TOKEN}/setwebhook$")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "ok": true, "result": true })))
        .mount(&telegram)
        .await;
    let token = secrecy::SecretString::from(BOT_TOKEN);
    let client = doorman::channels::telegram::client::TelegramClient::new(&token, Some(&telegram.uri())).unwrap();
    let secret = secrecy::SecretString::from(TG_SECRET);
    client.set_webhook("https://doorman.example.com/webhooks/telegram", &secret).await.unwrap();

    let requests = telegram.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    // teloxide sends setWebhook as multipart/form-data.
    let body = String::from_utf8(requests[0].body.clone()).unwrap();
    let field = |name: &str| {
        let start = format!("name=\"{name}\"\r\n\r\n");
        let (_, rest) = body.split_once(&start).unwrap_or_else(|| panic!("no {name} in {body}"));
        rest.split("\r\n").next().unwrap().to_owned()
    };
    let allowed: Value = serde_json::from_str(&field("allowed_updates")).unwrap();
    assert_eq!(allowed, json!(["message", "callback_query"]));
    assert_eq!(field("secret_token"), TG_SECRET);
    assert_eq!(field("url"), "https://doorman.example.com/webhooks/telegram");
}

#[tokio::test]
async fn a_telegram_update_doorman_does_not_read_is_stored_as_processed_and_pruned_after_30_days() {
    let c = spawn().await;
    let edited = json!({ "update_id": 900, "edited_message": {
        "message_id": 1366, "date": Utc::now().timestamp(), "edit_date": Utc::now().timestamp(),
        "chat": { "id": 6666666, "type": "private", "first_name": "Anna" },
        "from": { "id": 6666666, "is_bot": false, "first_name": "Anna" }, "text": "edited" } });
    assert_eq!(c.telegram_update(&edited).await.status(), 200);
    let (kind, processed): (String, bool) =
        sqlx::query_as("SELECT kind, processed_at IS NOT NULL FROM inbound_updates WHERE provider_id = '900'")
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    assert_eq!((kind.as_str(), processed), ("ignored", true));

    sqlx::query("UPDATE inbound_updates SET received_at = received_at - interval '31 days', processed_at = processed_at - interval '31 days'")
        .execute(&c.app.db)
        .await
        .unwrap();
    let mut conn = c.app.db.acquire().await.unwrap();
    doorman::jobs::queue::enqueue(&mut conn, &Prune {}, Utc::now()).await.unwrap();
    c.app.run_jobs().await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM inbound_updates").fetch_one(&c.app.db).await.unwrap();
    assert_eq!(left, 0, "the nightly prune reaches it");
}

#[tokio::test]
async fn a_whatsapp_change_for_another_business_number_is_acknowledged_and_ignored() {
    let c = spawn().await;
    meta_accepts(&c.meta).await;
    let mut other = text_webhook("wamid.OTHER1", GUEST, "hello");
    other["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = json!("999999999999999");
    assert_eq!(c.whatsapp(&other).await.status(), 200);
    let mut without = text_webhook("wamid.OTHER2", GUEST, "hello");
    without["entry"][0]["changes"][0]["value"].as_object_mut().unwrap().remove("metadata");
    assert_eq!(c.whatsapp(&without).await.status(), 200);
    c.app.run_jobs().await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM inbound_updates").fetch_one(&c.app.db).await.unwrap();
    assert_eq!(stored, 0);
    assert!(c.meta_requests().await.is_empty(), "nothing answered");

    assert_eq!(c.whatsapp(&text_webhook("wamid.OURS", GUEST, "hello")).await.status(), 200);
    c.app.run_jobs().await;
    assert_eq!(c.meta_requests().await.len(), 1, "our own number's message is answered");
}

#[tokio::test]
async fn a_batched_whatsapp_message_never_takes_another_contacts_bsuid() {
    let c = spawn().await;
    let mut batch = text_webhook("wamid.BATCH1", GUEST, "hello");
    let value = &mut batch["entry"][0]["changes"][0]["value"];
    let now = Utc::now().timestamp().to_string();
    value["messages"].as_array_mut().unwrap().extend([
        json!({ "from": "421900000055", "id": "wamid.BATCH2", "timestamp": now, "type": "text", "text": { "body": "hi" } }),
        json!({ "id": "wamid.BATCH3", "timestamp": now, "type": "text", "text": { "body": "who am I?" } }),
    ]);
    assert_eq!(c.whatsapp(&batch).await.status(), 200);
    let stored: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT provider_id, payload->>'address', payload->>'user_id' FROM inbound_updates ORDER BY provider_id",
    )
    .fetch_all(&c.app.db)
    .await
    .unwrap();
    assert_eq!(
        stored,
        [
            ("wamid.BATCH1".to_owned(), format!("+{GUEST}"), Some("SK.1349120865530".to_owned())),
            ("wamid.BATCH2".to_owned(), "+421900000055".to_owned(), None),
        ],
        "a message without a sender of its own is not answered at someone else's address"
    );
}
