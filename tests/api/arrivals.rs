//! Arrivals that go wrong (SPEC §12) through the running service, against
//! a Seam that behaves like the real one (a stateful fake on wiremock) and
//! Seam's webhooks signed as Seam (Svix) signs them: a burst of wrong codes
//! during an arrival sends the guest their code again with the guide, once,
//! and tells staff; wrong codes that go on after that give a backup code;
//! a guest whose code is unused by the property's `no_show_alert_time` is
//! an alert; a late arrival is a message to staff.

use std::sync::{Arc, Mutex};

use base64::Engine;
use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use uuid::Uuid;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::{assert_error, codes_of, id_of, TestApp, TOKEN};

const DEVICE: &str = "seam-door-7";
const SECRET: &[u8] = b"doorman-arrivals-webhook-secret";

/// Seam with one device: a code is `setting` until the next listing, then
/// `set`.
#[derive(Clone, Default)]
struct FakeSeam {
    codes: Arc<Mutex<Vec<Value>>>,
}

impl Respond for FakeSeam {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(json!({}));
        let ok = |mut value: Value| {
            value["ok"] = json!(true);
            ResponseTemplate::new(200).set_body_json(value)
        };
        let attempt = |kind: &str| json!({ "action_attempt": { "action_attempt_id": Uuid::new_v4(), "status": "success", "action_type": kind } });
        match request.url.path() {
            "/devices/get" => ok(json!({ "device": {
                "device_id": body["device_id"], "device_type": "kwikset_lock", "display_name": "Front door",
                "properties": { "online": true, "locked": true, "battery_level": 0.9,
                                "battery": { "level": 0.9, "status": "full" },
                                "supported_code_lengths": [4, 5, 6, 7, 8], "max_active_codes_supported": 30,
                                "supports_backup_access_code_pool": false },
                "errors": [], "warnings": [], "created_at": "2026-01-01T00:00:00.000Z" } })),
            "/access_codes/create" => {
                let code = json!({
                    "access_code_id": Uuid::new_v4(), "device_id": body["device_id"], "name": body["name"],
                    "code": body["code"], "type": "time_bound", "status": "setting", "starts_at": body["starts_at"],
                    "ends_at": body["ends_at"], "errors": [], "warnings": [], "is_managed": true,
                    "is_backup_access_code_available": false, "created_at": "2026-11-20T08:00:00.000Z" });
                self.codes.lock().unwrap().push(code.clone());
                ok(json!({ "access_code": code }))
            }
            "/access_codes/list" => {
                let mut codes = self.codes.lock().unwrap();
                let listed = codes.clone();
                for code in codes.iter_mut() {
                    code["status"] = json!("set");
                }
                ok(json!({ "access_codes": listed }))
            }
            "/access_codes/update" => {
                for code in self.codes.lock().unwrap().iter_mut() {
                    if code["access_code_id"] == body["access_code_id"] {
                        code["starts_at"] = body["starts_at"].clone();
                        code["ends_at"] = body["ends_at"].clone();
                        code["name"] = body["name"].clone();
                    }
                }
                ok(attempt("UPDATE_ACCESS_CODE"))
            }
            "/access_codes/delete" => {
                self.codes.lock().unwrap().retain(|c| c["access_code_id"] != body["access_code_id"]);
                ok(attempt("DELETE_ACCESS_CODE"))
            }
            "/events/list" => ok(json!({ "events": [] })),
            other => ResponseTemplate::new(404)
                .set_body_json(json!({ "error": { "type": "not_found", "message": other }, "ok": false })),
        }
    }
}

struct Arrivals {
    app: TestApp,
    property_id: Uuid,
    lock_id: Uuid,
    fake: FakeSeam,
    _server: MockServer,
}

/// The service with Seam and its webhook secret, a property in `timezone`
/// with room 201 whose only lock is Seam's device, and a manager.
async fn arrivals(timezone: &str, lock_extra: Value) -> Arrivals {
    let fake = FakeSeam::default();
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(fake.clone()).mount(&server).await;
    let secret = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(SECRET));
    let uri = server.uri();
    let app = TestApp::spawn_with(&[
        ("ADMIN_API_TOKEN", TOKEN),
        ("SEAM_API_KEY", "seam_test_key_0123456789"),
        ("SEAM_API_BASE", uri.as_str()),
        ("SEAM_WEBHOOK_SECRET", secret.as_str()),
    ])
    .await;
    let property: Value = app
        .post("/api/v1/properties", &json!({ "name": "Harbour Rooms", "timezone": timezone }))
        .await
        .json()
        .await
        .unwrap();
    let property_id = id_of(&property);
    let room: Value = app
        .post(&format!("/api/v1/properties/{property_id}/rooms"), &json!({ "name": "201" }))
        .await
        .json()
        .await
        .unwrap();
    let mut body = json!({ "property_id": property_id, "room_id": id_of(&room), "name": "Front door",
                           "provider": "seam", "provider_device_id": DEVICE });
    for (key, value) in lock_extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    let lock = app.post("/api/v1/locks", &body).await;
    assert_eq!(lock.status(), 201);
    let lock_id = id_of(&lock.json().await.unwrap());
    let staff = json!({ "name": "Petra", "phone": "+421900000500", "role": "manager", "property_ids": [property_id] });
    assert_eq!(app.post("/api/v1/staff", &staff).await.status(), 201);
    app.run_jobs_through_retries(2).await;
    Arrivals { app, property_id, lock_id, fake, _server: server }
}

impl Arrivals {
    /// A confirmed two-night stay in room 201 from `check_in`, its code set.
    async fn book(&self, reference: &str, guest: &str, check_in: DateTime<Utc>) {
        // A phone of each guest's own (a phone is who a guest is).
        let phone =
            format!("+4219000001{:02}", guest.bytes().zip(1..).map(|(b, i)| u32::from(b) * i).sum::<u32>() % 100);
        let body = json!({
            "property_id": self.property_id, "room": "201",
            "guest": { "name": guest, "phone": phone, "language": "de" },
            "check_in_at": check_in, "check_out_at": check_in + Duration::days(2), "status": "confirmed",
        });
        assert!(self.app.put(&format!("/api/v1/bookings/{reference}"), &body).await.status().is_success());
        self.settle().await;
    }

    /// Runs what is due, twice over: the codes land (`setting`, then `set`).
    async fn settle(&self) {
        for _ in 0..3 {
            sqlx::query(
                "UPDATE jobs SET run_at = now() WHERE state = 'queued'
                   AND kind IN ('program_code', 'confirm_code', 'update_code', 'remove_code', 'fill_backup_pool')",
            )
            .execute(&self.app.db)
            .await
            .unwrap();
            self.app.run_jobs().await;
        }
    }

    /// Sends a Seam event, signed, and runs the jobs it queued.
    async fn event(&self, event_type: &str, at: DateTime<Utc>, access_code_id: Option<&str>) -> Value {
        let mut event = json!({
            "event_id": Uuid::new_v4(), "event_type": event_type, "device_id": DEVICE,
            "connected_account_id": Uuid::new_v4(), "workspace_id": Uuid::new_v4(),
            "occurred_at": at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            "created_at": (at + Duration::seconds(1)).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        });
        if let Some(id) = access_code_id {
            event["access_code_id"] = json!(id);
        }
        self.send(&event).await;
        event
    }

    async fn send(&self, event: &Value) {
        let body = event.to_string();
        let id = format!("msg_{}", Uuid::new_v4().simple());
        let timestamp = Utc::now().timestamp().to_string();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET).unwrap();
        mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
        let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let answer = self
            .app
            .client
            .post(self.app.url("/webhooks/seam"))
            .header("svix-id", id)
            .header("svix-timestamp", timestamp)
            .header("svix-signature", format!("v1,{signature}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        self.app.run_jobs().await;
    }

    /// A wrong code at the keypad, `minutes_ago`.
    async fn denied(&self, minutes_ago: i64) {
        self.event("lock.access_denied", Utc::now() - Duration::minutes(minutes_ago), None).await;
    }

    /// The messages the booking's guest got (not staff alerts).
    async fn guest_messages(&self, reference: &str) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT body FROM notifications WHERE booking_id = (SELECT id FROM bookings WHERE external_ref = $1)
               AND template = 'code' ORDER BY created_at",
        )
        .bind(reference)
        .fetch_all(&self.app.db)
        .await
        .unwrap()
    }

    async fn alerts(&self, containing: &str) -> Vec<String> {
        let bodies: Vec<String> =
            sqlx::query_scalar("SELECT body FROM notifications WHERE template = 'alert' ORDER BY created_at")
                .fetch_all(&self.app.db)
                .await
                .unwrap();
        bodies.into_iter().filter(|b| b.contains(containing)).collect()
    }

    async fn patch_property(&self, body: Value) -> reqwest::Response {
        let path = format!("/api/v1/properties/{}", self.property_id);
        self.app.client.patch(self.app.url(&path)).bearer_auth(TOKEN).json(&body).send().await.unwrap()
    }

    async fn denials_recorded(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM lock_events WHERE lock_id = $1 AND denied")
            .bind(self.lock_id)
            .fetch_one(&self.app.db)
            .await
            .unwrap()
    }

    fn access_code_id(&self, code: &str) -> String {
        let codes = self.fake.codes.lock().unwrap();
        let on_seam = codes.iter().find(|c| c["code"] == code).expect("the code is at Seam");
        on_seam["access_code_id"].as_str().unwrap().to_owned()
    }
}

/// The guest's live code's value.
async fn live_code(app: &TestApp, reference: &str) -> Value {
    let codes = codes_of(app, reference).await;
    codes.into_iter().find(|c| c["state"] != "removing" && c["state"] != "removed").expect("a live code")
}

// ------------------------------------------------------------- wrong codes

#[tokio::test]
async fn three_wrong_codes_in_five_minutes_during_an_arrival_send_the_guest_their_code_and_the_guide_once() {
    let a = arrivals("Europe/Vienna", json!({})).await;
    a.book("BK-W1", "Jana Horvath", Utc::now() + Duration::hours(1)).await;
    let code = live_code(&a.app, "BK-W1").await;
    assert_eq!(code["state"], "set");
    let before = a.guest_messages("BK-W1").await.len();

    a.denied(4).await;
    let second = a.event("lock.access_denied", Utc::now() - Duration::minutes(3), None).await;
    // Seam delivers an event again: it counts once.
    a.send(&second).await;
    assert!(a.alerts("wrong codes").await.is_empty(), "two refused entries are not a burst");
    a.denied(1).await;

    let sent = a.guest_messages("BK-W1").await;
    assert_eq!(sent.len(), before + 1, "{sent:?}");
    let message = sent.last().unwrap();
    assert!(message.contains(code["code"].as_str().unwrap()), "the code again: {message}");
    assert!(message.contains("nicht angenommen") && message.contains("Front door"), "in German: {message}");
    assert!(message.contains("Tastenfeld"), "with the troubleshooting guide: {message}");
    let told = a.alerts("wrong codes").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains("BK-W1") && told[0].contains("Front door") && told[0].contains("3 wrong codes"),
        "{}",
        told[0]
    );
    assert!(!told[0].contains(code["code"].as_str().unwrap()), "no code in an alert: {}", told[0]);

    a.denied(0).await;
    assert_eq!(a.guest_messages("BK-W1").await.len(), before + 1, "once per booking");
    assert_eq!(a.alerts("wrong codes").await.len(), 1);
    assert_eq!(a.denials_recorded().await, 4);
}

#[tokio::test]
async fn two_wrong_codes_or_three_spread_over_twenty_minutes_send_nothing() {
    let a = arrivals("Europe/Vienna", json!({})).await;
    a.book("BK-W2", "Jana Horvath", Utc::now() + Duration::hours(1)).await;
    let before = a.guest_messages("BK-W2").await.len();
    a.denied(30).await;
    a.denied(29).await;
    assert_eq!(a.guest_messages("BK-W2").await.len(), before, "two");
    // Three more, but never three within five minutes.
    a.denied(20).await;
    a.denied(10).await;
    a.denied(0).await;
    assert_eq!(a.denials_recorded().await, 5);
    assert_eq!(a.guest_messages("BK-W2").await.len(), before, "spread over twenty minutes");
    assert!(a.alerts("wrong codes").await.is_empty());
}

#[tokio::test]
async fn wrong_codes_outside_any_arrival_window_are_only_recorded() {
    let a = arrivals("Europe/Vienna", json!({})).await;
    // Arriving in two days: today is nobody's arrival.
    a.book("BK-W3", "Jana Horvath", Utc::now() + Duration::days(2)).await;
    let before = a.guest_messages("BK-W3").await.len();
    for minutes_ago in [3, 2, 1, 0] {
        a.denied(minutes_ago).await;
    }
    assert_eq!(a.denials_recorded().await, 4, "recorded");
    assert_eq!(a.guest_messages("BK-W3").await.len(), before);
    assert!(a.alerts("wrong codes").await.is_empty());
    let trail: Value = a.app.get(&format!("/api/v1/audit?lock_id={}", a.lock_id)).await.json().await.unwrap();
    let denied = trail.as_array().unwrap().iter().filter(|e| e["action"] == "lock.access_denied").count();
    assert_eq!(denied, 4, "in the audit trail");
}

#[tokio::test]
async fn wrong_codes_before_the_guest_got_in_with_their_code_send_nothing() {
    let a = arrivals("Europe/Vienna", json!({})).await;
    a.book("BK-W6", "Jana Horvath", Utc::now() + Duration::hours(1)).await;
    let code = live_code(&a.app, "BK-W6").await;
    let access_code_id = a.access_code_id(code["code"].as_str().unwrap());
    a.event("lock.unlocked", Utc::now() - Duration::minutes(1), Some(&access_code_id)).await;
    let before = a.guest_messages("BK-W6").await.len();
    // Seam delivers the refused entries before it late.
    for minutes_ago in [4, 3, 2] {
        a.denied(minutes_ago).await;
    }
    assert_eq!(a.denials_recorded().await, 3);
    assert_eq!(a.guest_messages("BK-W6").await.len(), before, "they are in");
    assert!(a.alerts("wrong codes").await.is_empty());
}

#[tokio::test]
async fn wrong_codes_at_an_entrance_two_arriving_bookings_use_tell_staff_and_no_guest() {
    // The Seam lock is the property's entrance (no room).
    let a = arrivals("Europe/Vienna", json!({ "room_id": null })).await;
    let room = a.app.post(&format!("/api/v1/properties/{}/rooms", a.property_id), &json!({ "name": "202" })).await;
    assert_eq!(room.status(), 201);
    a.book("BK-E1", "Jana Horvath", Utc::now() + Duration::hours(1)).await;
    let check_in = Utc::now() + Duration::minutes(90);
    let other = json!({
        "property_id": a.property_id, "room": "202", "guest": { "name": "Karl Berger", "phone": "+421900000188" },
        "check_in_at": check_in, "check_out_at": check_in + Duration::days(2), "status": "confirmed",
    });
    assert!(a.app.put("/api/v1/bookings/BK-E2", &other).await.status().is_success());
    a.settle().await;
    let before = (a.guest_messages("BK-E1").await.len(), a.guest_messages("BK-E2").await.len());
    for minutes_ago in [3, 2, 1] {
        a.denied(minutes_ago).await;
    }
    let after = (a.guest_messages("BK-E1").await.len(), a.guest_messages("BK-E2").await.len());
    assert_eq!(after, before, "nobody can tell whose guest is at the door");
    let told = a.alerts("Several arrivals").await;
    assert_eq!(told.len(), 2, "one per booking: {told:?}");
    assert!(told.iter().all(|t| t.contains("BK-E1, BK-E2") && t.contains("Front door")), "{told:?}");
}

#[tokio::test]
async fn a_set_code_still_refused_after_it_was_sent_again_is_replaced_by_a_backup_code() {
    let a = arrivals("Europe/Vienna", json!({ "backup_codes": 1 })).await;
    a.settle().await;
    let backup: Value = a.app.get(&format!("/api/v1/locks/{}/codes", a.lock_id)).await.json().await.unwrap();
    let backup = backup.as_array().unwrap().iter().find(|c| c["kind"] == "backup").expect("a backup code").clone();
    assert_eq!(backup["state"], "set", "kept on the lock");
    a.book("BK-W4", "Jana Horvath", Utc::now() + Duration::hours(1)).await;
    let own = live_code(&a.app, "BK-W4").await;
    assert_eq!(own["state"], "set");

    for minutes_ago in [9, 8, 7] {
        a.denied(minutes_ago).await;
    }
    assert_eq!(a.alerts("sent their code again").await.len(), 1);
    assert_eq!(live_code(&a.app, "BK-W4").await["id"], own["id"], "not yet: the code was only sent again");
    // Two more: not yet.
    a.denied(5).await;
    a.denied(3).await;
    assert!(a.alerts("backup code").await.is_empty());
    a.denied(1).await;
    a.settle().await;

    let now_live = live_code(&a.app, "BK-W4").await;
    assert_eq!(now_live["id"], backup["id"], "the backup code is the guest's now");
    assert_eq!(now_live["state"], "set");
    let sent = a.guest_messages("BK-W4").await;
    assert!(sent.last().unwrap().contains(backup["code"].as_str().unwrap()), "sent to the guest: {sent:?}");
    let told = a.alerts("backup code").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains("BK-W4") && told[0].contains("3 more wrong codes"), "{}", told[0]);
    assert!(!told[0].contains(backup["code"].as_str().unwrap()), "masked: {}", told[0]);
    let old = codes_of(&a.app, "BK-W4").await.into_iter().find(|c| c["id"] == own["id"]).unwrap();
    assert!(old["state"] == "removing" || old["state"] == "removed", "the refused code goes: {old}");

    // More wrong codes change nothing now.
    let count = sent.len();
    for minutes_ago in [0, 0, 0] {
        a.denied(minutes_ago).await;
    }
    assert_eq!(a.guest_messages("BK-W4").await.len(), count);
}

#[tokio::test]
async fn a_guest_whose_code_the_release_rules_hold_back_is_not_sent_it_but_staff_are_told() {
    let a = arrivals("Europe/Vienna", json!({})).await;
    a.book("BK-W5", "Jana Horvath", Utc::now() + Duration::hours(1)).await;
    assert_eq!(a.patch_property(json!({ "requires_verification": true })).await.status(), 200);
    let code = live_code(&a.app, "BK-W5").await;
    let before = a.guest_messages("BK-W5").await.len();
    for minutes_ago in [3, 2, 1] {
        a.denied(minutes_ago).await;
    }
    assert_eq!(a.guest_messages("BK-W5").await.len(), before, "unverified: no code");
    let told = a.alerts("wrong codes").await;
    assert_eq!(told.len(), 1);
    assert!(told[0].contains("not sent"), "{}", told[0]);
    assert!(!told[0].contains(code["code"].as_str().unwrap()));
}

// ---------------------------------------------------------------- no-show

fn local(tz: chrono_tz::Tz, date: chrono::NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    tz.from_local_datetime(&date.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap())).unwrap().with_timezone(&Utc)
}

async fn check_arrived_at(app: &TestApp, reference: &str) -> Option<DateTime<Utc>> {
    sqlx::query_scalar(
        "SELECT run_at FROM jobs WHERE kind = 'check_arrived' AND state = 'queued'
           AND payload->>'booking_id' = (SELECT id::text FROM bookings WHERE external_ref = $1)",
    )
    .bind(reference)
    .fetch_optional(&app.db)
    .await
    .unwrap()
}

/// Runs the no-show checks now, as their time would.
async fn run_no_show_checks(app: &TestApp) {
    sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = 'check_arrived' AND state = 'queued'")
        .execute(&app.db)
        .await
        .unwrap();
    app.run_jobs().await;
}

#[tokio::test]
async fn a_guest_whose_code_is_unused_at_23_local_is_an_alert_and_one_who_used_it_is_not() {
    let ny = chrono_tz::America::New_York;
    let a = arrivals("America/New_York", json!({})).await;
    let property: Value = a.app.get(&format!("/api/v1/properties/{}", a.property_id)).await.json().await.unwrap();
    assert_eq!(property["no_show_alert_time"], "23:00", "the default");
    assert_eq!(property["late_arrival_alert_after"], Value::Null, "off by default");
    let tomorrow = Utc::now().with_timezone(&ny).date_naive() + Duration::days(1);
    a.book("BK-N1", "Anna Novak", local(ny, tomorrow, 15, 0)).await;
    a.book("BK-N2", "Karl Berger", local(ny, tomorrow + Duration::days(5), 15, 0)).await;
    assert_eq!(check_arrived_at(&a.app, "BK-N1").await, Some(local(ny, tomorrow, 23, 0)), "23:00 in New York");
    // Moved with the booking's dates.
    let later = tomorrow + Duration::days(1);
    a.book("BK-N1", "Anna Novak", local(ny, later, 16, 0)).await;
    assert_eq!(check_arrived_at(&a.app, "BK-N1").await, Some(local(ny, later, 23, 0)));

    // Karl opened the door with his code.
    let code = live_code(&a.app, "BK-N2").await;
    let access_code_id = a.access_code_id(code["code"].as_str().unwrap());
    a.event("lock.unlocked", local(ny, tomorrow + Duration::days(5), 17, 10), Some(&access_code_id)).await;
    let karl: Value = a.app.get("/api/v1/bookings/BK-N2").await.json().await.unwrap();
    assert!(karl["arrived_at"].is_string(), "{karl}");

    run_no_show_checks(&a.app).await;
    let told = a.alerts("has not arrived").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains("Anna Novak")
            && told[0].contains("BK-N1")
            && told[0].contains("room 201")
            && told[0].contains("16:00"),
        "{}",
        told[0]
    );
    run_no_show_checks(&a.app).await;
    a.app.run_jobs().await;
    assert_eq!(a.alerts("has not arrived").await.len(), 1, "once");
}

#[tokio::test]
async fn a_cancelled_booking_or_a_property_that_turned_it_off_gets_no_no_show_alert() {
    let ny = chrono_tz::America::New_York;
    let a = arrivals("America/New_York", json!({})).await;
    let tomorrow = Utc::now().with_timezone(&ny).date_naive() + Duration::days(1);
    a.book("BK-N3", "Anna Novak", local(ny, tomorrow, 15, 0)).await;
    // A later time moves the check; a check-in after it is checked 2 h later.
    let moved: Value = a.patch_property(json!({ "no_show_alert_time": "21:30" })).await.json().await.unwrap();
    assert_eq!(moved["no_show_alert_time"], "21:30");
    assert_eq!(check_arrived_at(&a.app, "BK-N3").await, Some(local(ny, tomorrow, 21, 30)));
    a.book("BK-N3", "Anna Novak", local(ny, tomorrow, 22, 0)).await;
    assert_eq!(check_arrived_at(&a.app, "BK-N3").await, Some(local(ny, tomorrow, 22, 0) + Duration::hours(2)));

    let off: Value = a.patch_property(json!({ "no_show_alert_time": null })).await.json().await.unwrap();
    assert_eq!(off["no_show_alert_time"], Value::Null, "null turns it off");
    run_no_show_checks(&a.app).await;
    assert!(a.alerts("has not arrived").await.is_empty(), "off");

    assert_eq!(a.patch_property(json!({ "no_show_alert_time": "23:00" })).await.status(), 200);
    let body = json!({
        "property_id": a.property_id, "room": "201", "guest": { "name": "Anna Novak", "phone": "+421900000077" },
        "check_in_at": local(ny, tomorrow, 22, 0), "check_out_at": local(ny, tomorrow + Duration::days(2), 11, 0),
        "status": "cancelled",
    });
    assert!(a.app.put("/api/v1/bookings/BK-N3", &body).await.status().is_success());
    run_no_show_checks(&a.app).await;
    assert!(a.alerts("has not arrived").await.is_empty(), "cancelled");
}

#[tokio::test]
async fn a_booking_whose_locks_report_no_use_gets_no_no_show_alert() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let staff =
        json!({ "name": "Marek", "phone": "+421900000002", "role": "manager", "property_ids": [fixture.property_id] });
    assert_eq!(app.post("/api/v1/staff", &staff).await.status(), 201);
    let check_in = Utc::now() + Duration::days(1);
    let body = json!({
        "property_id": fixture.property_id, "room": "101", "guest": { "name": "Anna Novak", "phone": "+421900000001" },
        "check_in_at": check_in, "check_out_at": check_in + Duration::days(2), "status": "confirmed",
    });
    assert!(app.put("/api/v1/bookings/BK-N4", &body).await.status().is_success());
    app.run_jobs().await;
    assert!(check_arrived_at(&app, "BK-N4").await.is_some(), "scheduled");
    run_no_show_checks(&app).await;
    let alerts: Vec<String> =
        sqlx::query_scalar("SELECT body FROM notifications WHERE template = 'alert'").fetch_all(&app.db).await.unwrap();
    assert!(alerts.iter().all(|a| !a.contains("has not arrived")), "simulated locks report no use: {alerts:?}");
}

#[tokio::test]
async fn bad_alert_times_are_refused() {
    let a = arrivals("Europe/Vienna", json!({})).await;
    for (field, value) in
        [("no_show_alert_time", "25:99"), ("late_arrival_alert_after", "late"), ("no_show_alert_time", "7pm")]
    {
        let mut body = json!({});
        body[field] = json!(value);
        let refused = a.patch_property(body).await;
        let message = assert_error(refused, 422, "invalid_value").await;
        assert!(message.contains(field), "{message}");
    }
    let refused = a.patch_property(json!({ "no_show_alert_time": 23 })).await;
    assert!(refused.status().is_client_error(), "{}", refused.status());
    let property: Value = a.app.get(&format!("/api/v1/properties/{}", a.property_id)).await.json().await.unwrap();
    assert_eq!(property["no_show_alert_time"], "23:00", "unchanged");
    // The OpenAPI document names both settings.
    let doc: Value = a.app.client.get(a.app.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    let schemas = &doc["components"]["schemas"];
    for field in ["no_show_alert_time", "late_arrival_alert_after"] {
        let patch = &schemas["PropertyPatch"]["properties"][field];
        assert!(patch["description"].as_str().is_some_and(|d| d.contains("null")), "{field}: {patch}");
        assert!(schemas["Property"]["properties"][field].is_object(), "{field} in Property");
    }
}

// ----------------------------------------------------------- late arrival

#[tokio::test]
async fn an_arrival_after_the_propertys_late_time_is_one_message_to_staff() {
    let vienna = chrono_tz::Europe::Vienna;
    let a = arrivals("Europe/Vienna", json!({})).await;
    let set: Value = a.patch_property(json!({ "late_arrival_alert_after": "22:00" })).await.json().await.unwrap();
    assert_eq!(set["late_arrival_alert_after"], "22:00");
    let day = Utc::now().with_timezone(&vienna).date_naive() + Duration::days(1);
    a.book("BK-L1", "Anna Novak", local(vienna, day, 15, 0)).await;
    a.book("BK-L2", "Karl Berger", local(vienna, day + Duration::days(3), 15, 0)).await;

    let early = live_code(&a.app, "BK-L2").await;
    let early_id = a.access_code_id(early["code"].as_str().unwrap());
    a.event("lock.unlocked", local(vienna, day + Duration::days(3), 16, 5), Some(&early_id)).await;
    assert!(a.alerts("arrived late").await.is_empty(), "16:05 is not late");

    let late = live_code(&a.app, "BK-L1").await;
    let late_id = a.access_code_id(late["code"].as_str().unwrap());
    a.event("lock.unlocked", local(vienna, day, 23, 40), Some(&late_id)).await;
    a.event("lock.unlocked", local(vienna, day, 23, 45), Some(&late_id)).await;
    let told = a.alerts("arrived late").await;
    assert_eq!(told.len(), 1, "the first use only: {told:?}");
    assert!(told[0].contains("Anna Novak") && told[0].contains("BK-L1") && told[0].contains("23:40"), "{}", told[0]);
}
