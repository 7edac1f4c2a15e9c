//! SMS (mock Africa's Talking) and email (an SMTP sink started by the test)
//! receive exactly the expected messages; failures are logged and do not
//! block the other channels.

use std::sync::{Arc, Mutex};

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{id_of, TestApp, TOKEN};

/// A minimal SMTP server: accepts every message and keeps its DATA.
pub(crate) async fn smtp_sink() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let store = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.ok();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            store.lock().unwrap().push(data.take().unwrap());
                            write.write_all(b"250 queued\r\n").await.ok();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or_default().to_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.ok();
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.ok();
                }
            });
        }
    });
    (url, received)
}

async fn africas_talking(code: i64, status: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/version1/messaging"))
        .and(header("apiKey", "at-key"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "SMSMessageData": {
            "Message": "Sent to 1/1 Total Cost: EUR 0.0500",
            "Recipients": [{ "statusCode": code, "number": "+421900000001", "status": status, "cost": "EUR 0.0500",
                             "messageId": "ATXid_5b9e8f" }] } })))
        .mount(&server)
        .await;
    server
}

async fn spawn(at: &MockServer, smtp: &str) -> (TestApp, String) {
    let at_base = at.uri();
    let app = TestApp::spawn_with(&[
        ("ADMIN_API_TOKEN", TOKEN),
        ("AT_USERNAME", "sandbox"),
        ("AT_API_KEY", "at-key"),
        ("AT_SENDER_ID", "OldTown"),
        ("AT_API_BASE", &at_base),
        ("SMTP_URL", smtp),
        ("SMTP_FROM", "Old Town Flats <stay@example.com>"),
    ])
    .await;
    let property: Value = app
        .post(
            "/api/v1/properties",
            &json!({ "name": "Old Town Flats", "timezone": "Europe/Bratislava",
            "knowledge": { "entry_instructions": "Green door, then the keypad." } }),
        )
        .await
        .json()
        .await
        .unwrap();
    let property_id = property["id"].as_str().unwrap().to_owned();
    let room: Value = app
        .post(&format!("/api/v1/properties/{property_id}/rooms"), &json!({ "name": "101" }))
        .await
        .json()
        .await
        .unwrap();
    app.post("/api/v1/locks", &json!({ "property_id": property_id, "room_id": id_of(&room), "name": "Room 101 door", "provider": "simulated" })).await;
    (app, property_id)
}

async fn book(app: &TestApp, property_id: &str, from_now: Duration, email: Option<&str>) -> Value {
    let check_in = Utc::now() + from_now;
    let booking: Value = app
        .put(
            "/api/v1/bookings/BK-10234",
            &json!({
                "property_id": property_id, "room": "101",
                "guest": { "name": "Anna Novak", "phone": "+421900000001", "email": email },
                "check_in_at": check_in, "check_out_at": check_in + Duration::days(2), "status": "confirmed"
            }),
        )
        .await
        .json()
        .await
        .unwrap();
    app.run_jobs().await;
    booking
}

#[tokio::test]
async fn the_code_goes_out_by_sms_and_email_with_the_right_local_times() {
    let at = africas_talking(101, "Success").await;
    let (smtp, mails) = smtp_sink().await;
    let (app, property_id) = spawn(&at, &smtp).await;
    let booking = book(&app, &property_id, Duration::hours(10), Some("anna@example.com")).await;
    let code = booking["codes"][0]["code"].as_str().unwrap();

    let sms: Vec<String> =
        at.received_requests().await.unwrap().iter().map(|r| String::from_utf8_lossy(&r.body).to_string()).collect();
    assert_eq!(sms.len(), 1, "{sms:?}");
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(sms[0].as_bytes()).into_owned().collect();
    assert_eq!(form["username"], "sandbox");
    assert_eq!(form["to"], "+421900000001");
    assert_eq!(form["from"], "OldTown");
    assert!(form["message"].contains(&format!("Your access code: {code}")), "{}", form["message"]);
    assert!(form["message"].contains("BK-10234") && form["message"].contains("room 101"));

    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert!(mail.contains("Content-Type: text/plain") && mail.contains("Content-Type: text/html"), "both parts");
    assert!(mail.matches(code).count() >= 2, "the code in both parts");
    let check_in: chrono::DateTime<Utc> = booking["check_in_at"].as_str().unwrap().parse().unwrap();
    let local = check_in.with_timezone(&chrono_tz::Europe::Bratislava).format("%-d %b %Y %H:%M").to_string();
    assert!(mail.contains(&local), "local check-in time {local} in the email");

    let log: Value = app.get("/api/v1/notifications?booking_ref=BK-10234").await.json().await.unwrap();
    let by_channel: Vec<(String, String)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["channel"].as_str().unwrap().to_owned(), n["status"].as_str().unwrap().to_owned()))
        .collect();
    assert!(by_channel.contains(&("sms".into(), "sent".into())), "{by_channel:?}");
    assert!(by_channel.contains(&("email".into(), "sent".into())), "{by_channel:?}");
    let sms_row = log.as_array().unwrap().iter().find(|n| n["channel"] == "sms").unwrap();
    assert_eq!(sms_row["provider_message_id"], "ATXid_5b9e8f");
}

#[tokio::test]
async fn a_confirmation_goes_out_early_without_the_code_and_missing_details_skip_a_channel() {
    let at = africas_talking(101, "Success").await;
    let (smtp, mails) = smtp_sink().await;
    let (app, property_id) = spawn(&at, &smtp).await;
    let booking = book(&app, &property_id, Duration::days(5), None).await;
    let code = booking["codes"][0]["code"].as_str().unwrap();
    let sms: Vec<String> =
        at.received_requests().await.unwrap().iter().map(|r| String::from_utf8_lossy(&r.body).to_string()).collect();
    assert_eq!(sms.len(), 1);
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(sms[0].as_bytes()).into_owned().collect();
    assert!(
        form["message"].contains("confirmed") && form["message"].contains("will be sent on"),
        "{}",
        form["message"]
    );
    assert!(!form["message"].contains(code), "no code before the release time");
    assert!(mails.lock().unwrap().is_empty(), "no email address: the email channel is skipped");
}

#[tokio::test]
async fn a_failed_sms_is_logged_with_its_reason_and_does_not_block_email() {
    let at = africas_talking(405, "InsufficientBalance").await;
    let (smtp, mails) = smtp_sink().await;
    let (app, property_id) = spawn(&at, &smtp).await;
    book(&app, &property_id, Duration::hours(10), Some("anna@example.com")).await;
    let log: Value = app.get("/api/v1/notifications?booking_ref=BK-10234").await.json().await.unwrap();
    let sms = log.as_array().unwrap().iter().find(|n| n["channel"] == "sms").unwrap();
    assert_eq!(sms["status"], "failed");
    assert!(sms["error"].as_str().unwrap().contains("InsufficientBalance"), "{sms}");
    assert_eq!(mails.lock().unwrap().len(), 1, "email still went out");
    assert_eq!(at.received_requests().await.unwrap().len(), 1, "a permanent SMS error is not retried");
}

#[tokio::test]
async fn a_property_can_turn_channels_off() {
    let at = africas_talking(101, "Success").await;
    let (smtp, mails) = smtp_sink().await;
    let (app, property_id) = spawn(&at, &smtp).await;
    sqlx::query("UPDATE properties SET notify_channels = '{email}'").execute(&app.db).await.unwrap();
    book(&app, &property_id, Duration::hours(10), Some("anna@example.com")).await;
    assert!(at.received_requests().await.unwrap().is_empty(), "SMS is off for this property");
    assert_eq!(mails.lock().unwrap().len(), 1);
    let bad =
        app.post("/api/v1/properties", &json!({ "name": "X", "timezone": "UTC", "notify_channels": ["pigeon"] })).await;
    assert_eq!(bad.status(), 422);
}

#[tokio::test]
async fn an_undeliverable_whatsapp_number_gets_the_message_by_sms() {
    let at = africas_talking(101, "Success").await;
    let meta = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": {
            "message": "Message undeliverable", "type": "OAuthException", "code": 131026, "fbtrace_id": "x" } })))
        .mount(&meta)
        .await;
    let (smtp, _mails) = smtp_sink().await;
    let at_base = at.uri();
    let meta_base = format!("{}/v26.0", meta.uri());
    let app = TestApp::spawn_with(&[
        ("ADMIN_API_TOKEN", TOKEN),
        ("AT_USERNAME", "sandbox"),
        ("AT_API_KEY", "at-key"),
        ("AT_API_BASE", &at_base),
        ("SMTP_URL", &smtp),
        ("SMTP_FROM", "stay@example.com"),
        ("WHATSAPP_TOKEN", "t"),
        ("WHATSAPP_PHONE_NUMBER_ID", "1"),
        ("WHATSAPP_APP_SECRET", "s"),
        ("WHATSAPP_API_BASE", &meta_base),
    ])
    .await;
    let property: Value = app
        .post(
            "/api/v1/properties",
            &json!({ "name": "Old Town Flats", "timezone": "Europe/Bratislava", "notify_channels": ["whatsapp"] }),
        )
        .await
        .json()
        .await
        .unwrap();
    let property_id = property["id"].as_str().unwrap().to_owned();
    let room: Value = app
        .post(&format!("/api/v1/properties/{property_id}/rooms"), &json!({ "name": "101" }))
        .await
        .json()
        .await
        .unwrap();
    app.post("/api/v1/locks", &json!({ "property_id": property_id, "room_id": id_of(&room), "name": "Room 101 door", "provider": "simulated" })).await;
    let booking = book(&app, &property_id, Duration::hours(10), None).await;
    app.run_jobs().await;
    let sms: Vec<String> =
        at.received_requests().await.unwrap().iter().map(|r| String::from_utf8_lossy(&r.body).to_string()).collect();
    assert_eq!(sms.len(), 1, "one SMS instead of the undeliverable WhatsApp message");
    assert!(sms[0].contains(booking["codes"][0]["code"].as_str().unwrap()));
}
