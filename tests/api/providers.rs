//! Real lock providers through the whole service: bookings, jobs and the
//! admin API against a Nuki Web API and a Seam that behave like the real
//! ones (stateful fakes on wiremock, answering with the documented shapes):
//! Nuki's 204-now-visible-later codes, Seam's `setting` → `set`, orphans
//! added behind doorman's back, reconciliation, usage, backup codes.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use uuid::Uuid;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::{assert_error, codes_of, id_of, TestApp, TOKEN};

const NUKI_DEVICE: &str = "18298712180";

/// A keypad code on the fake Nuki lock.
#[derive(Clone)]
struct Auth {
    id: String,
    name: String,
    code: i64,
    from: Option<String>,
    until: Option<String>,
    /// Listings still to go before it shows (Nuki applies creates later).
    lists_until_visible: usize,
}

/// A Nuki account with one smart lock and keypad. Creates answer 204 and
/// show up one listing later; while `offline`, nothing lands.
#[derive(Clone, Default)]
struct FakeNuki {
    auths: Arc<Mutex<Vec<Auth>>>,
    offline: Arc<AtomicBool>,
    keypad_battery_critical: Arc<AtomicBool>,
    deletes: Arc<AtomicUsize>,
    log: Arc<Mutex<Vec<Value>>>,
    /// Answer this many next calls with 503.
    fail_next: Arc<AtomicUsize>,
    /// Calls answered, failures included.
    calls: Arc<AtomicUsize>,
    /// Until then every call hangs past the client's timeout and changes
    /// nothing (the bridge is unreachable).
    unreachable_until: Arc<Mutex<Option<std::time::Instant>>>,
}

impl FakeNuki {
    async fn start(&self) -> MockServer {
        let server = MockServer::start().await;
        let base = format!("/smartlock/{NUKI_DEVICE}");
        Mock::given(method("PUT")).and(path(format!("{base}/auth"))).respond_with(self.clone()).mount(&server).await;
        Mock::given(method("GET")).and(path(format!("{base}/auth"))).respond_with(self.clone()).mount(&server).await;
        Mock::given(method("POST"))
            .and(path_regex(format!("^{base}/auth/[0-9a-f]+$")))
            .respond_with(self.clone())
            .mount(&server)
            .await;
        Mock::given(method("DELETE"))
            .and(path_regex(format!("^{base}/auth/[0-9a-f]+$")))
            .respond_with(self.clone())
            .mount(&server)
            .await;
        Mock::given(method("GET")).and(path(format!("{base}/log"))).respond_with(self.clone()).mount(&server).await;
        Mock::given(method("GET")).and(path(base)).respond_with(self.clone()).mount(&server).await;
        server
    }

    /// A code someone put on the keypad in the Nuki app.
    fn add_behind_doormans_back(&self, name: &str, code: i64) -> String {
        let id = format!("{:024x}", rand_id());
        self.auths.lock().unwrap().push(Auth {
            id: id.clone(),
            name: name.into(),
            code,
            from: None,
            until: None,
            lists_until_visible: 0,
        });
        id
    }

    fn visible(&self) -> Vec<Auth> {
        self.auths.lock().unwrap().iter().filter(|a| a.lists_until_visible == 0).cloned().collect()
    }
}

fn rand_id() -> u128 {
    Uuid::new_v4().as_u128() & ((1 << 96) - 1)
}

impl Respond for FakeNuki {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path().to_owned();
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.unreachable_until.lock().unwrap().is_some_and(|until| std::time::Instant::now() < until) {
            return ResponseTemplate::new(503).set_delay(std::time::Duration::from_secs(30));
        }
        let failing = self.fail_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if failing {
            return ResponseTemplate::new(503).set_body_string("Service Unavailable");
        }
        let offline = self.offline.load(Ordering::SeqCst);
        match (request.method.as_str(), path.ends_with("/auth"), path.ends_with("/log")) {
            ("PUT", true, _) => {
                let body: Value = serde_json::from_slice(&request.body).unwrap();
                assert_eq!(body["type"], 13, "a keypad code");
                assert!(body["code"].is_i64(), "Nuki takes the code as a number");
                assert_eq!(body["allowedWeekDays"], 127);
                assert!(body["name"].as_str().unwrap().chars().count() <= 20);
                self.auths.lock().unwrap().push(Auth {
                    id: format!("{:024x}", rand_id()),
                    name: body["name"].as_str().unwrap().into(),
                    code: body["code"].as_i64().unwrap(),
                    from: body["allowedFromDate"].as_str().map(Into::into),
                    until: body["allowedUntilDate"].as_str().map(Into::into),
                    lists_until_visible: 1,
                });
                ResponseTemplate::new(204)
            }
            ("GET", true, _) => {
                let mut auths = self.auths.lock().unwrap();
                let listed: Vec<Value> = auths
                    .iter()
                    .filter(|a| a.lists_until_visible == 0)
                    .map(|a| {
                        json!({ "id": a.id, "smartlockId": 18298712180_i64, "authId": 3, "type": 13, "name": a.name,
                                "enabled": true, "remoteAllowed": false, "code": a.code, "allowedWeekDays": 127,
                                "allowedFromDate": a.from, "allowedUntilDate": a.until,
                                "creationDate": "2026-11-20T08:00:00.000Z" })
                    })
                    .collect();
                if !offline {
                    for auth in auths.iter_mut() {
                        auth.lists_until_visible = auth.lists_until_visible.saturating_sub(1);
                    }
                }
                ResponseTemplate::new(200).set_body_json(listed)
            }
            ("POST", _, _) => {
                let id = path.rsplit('/').next().unwrap();
                let body: Value = serde_json::from_slice(&request.body).unwrap();
                let mut auths = self.auths.lock().unwrap();
                match auths.iter_mut().find(|a| a.id == id) {
                    Some(auth) => {
                        auth.from = body["allowedFromDate"].as_str().map(Into::into);
                        auth.until = body["allowedUntilDate"].as_str().map(Into::into);
                        auth.name = body["name"].as_str().unwrap_or(&auth.name).into();
                        ResponseTemplate::new(204)
                    }
                    None => ResponseTemplate::new(404),
                }
            }
            ("DELETE", _, _) => {
                let id = path.rsplit('/').next().unwrap().to_owned();
                self.deletes.fetch_add(1, Ordering::SeqCst);
                self.auths.lock().unwrap().retain(|a| a.id != id);
                ResponseTemplate::new(204)
            }
            ("GET", _, true) => ResponseTemplate::new(200).set_body_json(self.log.lock().unwrap().clone()),
            _ => ResponseTemplate::new(200).set_body_json(json!({
                "smartlockId": 18298712180_i64, "accountId": 1, "type": 4, "authId": 1, "name": "Room 201",
                "state": { "mode": 2, "state": 1, "batteryCritical": false, "batteryCharge": 81,
                           "keypadBatteryCritical": self.keypad_battery_critical.load(Ordering::SeqCst) },
                "serverState": if offline { 4 } else { 0 }, "adminPinState": 0, "virtualDevice": false
            })),
        }
    }
}

/// A property with one room, `201`, whose only lock is `provider`'s device.
async fn property_with_lock(app: &TestApp, provider: &str, device: &str, extra: Value) -> (Uuid, Uuid) {
    let property: Value = app
        .post("/api/v1/properties", &json!({ "name": "Riverside", "timezone": "Europe/Vienna" }))
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
    let mut body = json!({ "property_id": property_id, "room_id": id_of(&room), "name": "Room 201",
                           "provider": provider, "provider_device_id": device });
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    let lock = app.post("/api/v1/locks", &body).await;
    assert_eq!(lock.status(), 201);
    (property_id, id_of(&lock.json().await.unwrap()))
}

fn stay(property_id: Uuid, check_in: DateTime<Utc>, status: &str) -> Value {
    json!({
        "property_id": property_id, "room": "201",
        "guest": { "name": "Jana Horvath", "phone": "+421900000077" },
        "check_in_at": check_in, "check_out_at": check_in + Duration::days(2), "status": status,
    })
}

async fn audit_actions(app: &TestApp, lock_id: Uuid) -> Vec<String> {
    let events: Value = app.get(&format!("/api/v1/audit?lock_id={lock_id}")).await.json().await.unwrap();
    events.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

async fn alerts(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT body FROM notifications WHERE template = 'alert' ORDER BY created_at")
        .fetch_all(&app.db)
        .await
        .unwrap()
}

async fn nuki_app(fake: &FakeNuki) -> (TestApp, MockServer) {
    let server = fake.start().await;
    let app = TestApp::spawn_with(&[
        ("ADMIN_API_TOKEN", TOKEN),
        ("NUKI_API_TOKEN", "nuki-test-token-0123456789"),
        ("NUKI_API_BASE", &server.uri()),
    ])
    .await;
    (app, server)
}

async fn add_staff(app: &TestApp, property_id: Uuid) -> Uuid {
    let staff = app
        .post(
            "/api/v1/staff",
            &json!({ "name": "Petra", "phone": "+421900000500", "role": "manager", "property_ids": [property_id] }),
        )
        .await;
    let body: Value = staff.json().await.unwrap();
    id_of(&body)
}

#[tokio::test]
async fn a_nuki_code_is_set_only_once_it_shows_on_the_keypad_and_removed_only_once_gone() {
    let fake = FakeNuki::default();
    let (app, server) = nuki_app(&fake).await;
    let (property_id, lock_id) = property_with_lock(&app, "nuki", NUKI_DEVICE, json!({})).await;
    let lock: Value = app.get(&format!("/api/v1/locks/{lock_id}")).await.json().await.unwrap();
    assert_eq!((lock["device_online"].clone(), lock["battery_percent"].clone()), (json!(true), json!(81)));

    let check_in = Utc::now() + Duration::days(3);
    app.put("/api/v1/bookings/BK-7001", &stay(property_id, check_in, "confirmed")).await;
    app.run_jobs().await;
    let code = codes_of(&app, "BK-7001").await.remove(0);
    assert_eq!(code["state"], "programming", "Nuki answered 204: accepted, not yet on the lock");
    let value = code["code"].as_str().unwrap();
    assert!(value.len() == 6 && !value.contains('0') && !value.starts_with("12"), "Nuki's rules: {value}");
    let created = &fake.auths.lock().unwrap()[0].clone();
    assert_eq!(created.code.to_string(), value);
    assert!(created.name.starts_with("BK-7001-"), "{}", created.name);
    assert_eq!(created.from.as_deref().unwrap(), check_in.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());

    app.run_jobs_through_retries(3).await;
    let code = codes_of(&app, "BK-7001").await.remove(0);
    assert_eq!(code["state"], "set");
    let puts = server.received_requests().await.unwrap().iter().filter(|r| r.method.as_str() == "PUT").count();
    assert_eq!(puts, 1, "one create, then polling");
    for request in server.received_requests().await.unwrap() {
        assert_eq!(request.headers["authorization"], "Bearer nuki-test-token-0123456789");
    }

    let mut cancelled = stay(property_id, check_in, "cancelled");
    cancelled["status"] = json!("cancelled");
    app.put("/api/v1/bookings/BK-7001", &cancelled).await;
    app.run_jobs_through_retries(3).await;
    assert_eq!(codes_of(&app, "BK-7001").await[0]["state"], "removed");
    assert!(fake.visible().is_empty(), "the keypad no longer holds it");
    assert_eq!(fake.deletes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_nuki_keypad_gets_no_master_code_as_short_as_a_guests() {
    let fake = FakeNuki::default();
    let (app, _server) = nuki_app(&fake).await;
    let (_property_id, lock_id) = property_with_lock(&app, "nuki", NUKI_DEVICE, json!({})).await;
    let response = app.post(&format!("/api/v1/locks/{lock_id}/codes"), &json!({ "kind": "master" })).await;
    let message = assert_error(response, 422, "invalid_value").await;
    assert!(message.contains("longer than the lock's guest codes") && message.contains("Nuki"), "{message}");
    app.run_jobs().await;
    assert!(fake.auths.lock().unwrap().is_empty(), "nothing was sent to the keypad");
}

#[tokio::test]
async fn a_nuki_code_that_never_lands_fails_alerts_staff_and_is_set_when_it_lands_late() {
    let fake = FakeNuki::default();
    let (app, _server) = nuki_app(&fake).await;
    let (property_id, lock_id) = property_with_lock(&app, "nuki", NUKI_DEVICE, json!({})).await;
    add_staff(&app, property_id).await;
    fake.offline.store(true, Ordering::SeqCst);
    app.put("/api/v1/bookings/BK-7002", &stay(property_id, Utc::now() + Duration::days(3), "confirmed")).await;
    app.run_jobs_through_retries(18).await;
    assert_eq!(codes_of(&app, "BK-7002").await[0]["state"], "failed");
    assert!(alerts(&app).await.iter().any(|a| a.contains("could not be put on")), "{:?}", alerts(&app).await);

    // The lock comes back and applies the queued create; the nightly run
    // (here on demand) believes the lock.
    fake.offline.store(false, Ordering::SeqCst);
    fake.auths.lock().unwrap().iter_mut().for_each(|a| a.lists_until_visible = 0);
    let report: Value = app.post(&format!("/api/v1/locks/{lock_id}/reconcile"), &json!({})).await.json().await.unwrap();
    assert_eq!(report["confirmed"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["orphans"], json!([]));
    assert_eq!(codes_of(&app, "BK-7002").await[0]["state"], "set");
}

#[tokio::test]
async fn reconciliation_reports_orphans_reprograms_missing_codes_and_fixes_windows() {
    let fake = FakeNuki::default();
    let (app, server) = nuki_app(&fake).await;
    let (property_id, lock_id) = property_with_lock(&app, "nuki", NUKI_DEVICE, json!({})).await;
    app.put("/api/v1/bookings/BK-7003", &stay(property_id, Utc::now() + Duration::days(3), "confirmed")).await;
    app.run_jobs_through_retries(3).await;
    let code = codes_of(&app, "BK-7003").await.remove(0);
    assert_eq!(code["state"], "set");

    // Behind doorman's back: someone adds a code in the Nuki app, and
    // someone else moves our code's end date.
    let orphan = fake.add_behind_doormans_back("Cleaner", 947_215);
    fake.auths.lock().unwrap()[0].until = Some("2031-01-01T00:00:00.000Z".into());
    let report: Value = app.post(&format!("/api/v1/locks/{lock_id}/reconcile"), &json!({})).await.json().await.unwrap();
    assert_eq!(report["orphans"], json!([orphan]));
    assert_eq!(report["window_fixed"], json!([code["id"]]));
    assert_eq!(report["reprogrammed"], json!([]));
    app.run_jobs().await;
    let ours = fake.visible().into_iter().find(|a| a.name.starts_with("BK-7003")).unwrap();
    let until: DateTime<Utc> = code["valid_until"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        ours.until.unwrap(),
        until.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "the window is doorman's again"
    );
    assert_eq!(fake.deletes.load(Ordering::SeqCst), 0, "an orphan is never removed automatically");
    let device: Value = app.get(&format!("/api/v1/locks/{lock_id}/device-codes")).await.json().await.unwrap();
    let statuses: Vec<(&str, &str)> = device
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["status"].as_str().unwrap(), c["on_device"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses, [("managed", "set"), ("orphan", "set")]);

    // Our code disappears from the keypad: programmed again.
    fake.auths.lock().unwrap().retain(|a| !a.name.starts_with("BK-7003"));
    let report: Value = app.post(&format!("/api/v1/locks/{lock_id}/reconcile"), &json!({})).await.json().await.unwrap();
    assert_eq!(report["reprogrammed"], json!([code["id"]]));
    app.run_jobs_through_retries(3).await;
    let again = codes_of(&app, "BK-7003").await.remove(0);
    assert_eq!((again["state"].as_str(), again["code"].as_str()), (Some("set"), code["code"].as_str()));
    let puts = server.received_requests().await.unwrap().iter().filter(|r| r.method.as_str() == "PUT").count();
    assert_eq!(puts, 2);
    let actions = audit_actions(&app, lock_id).await;
    for expected in ["lock.orphan_found", "code.drift_window", "code.drift_missing", "lock.reconciled"] {
        assert!(actions.iter().any(|a| a == expected), "{expected} in {actions:?}");
    }
}

#[tokio::test]
async fn the_first_keypad_unlock_with_a_guest_code_marks_the_guest_arrived() {
    let fake = FakeNuki::default();
    let (app, _server) = nuki_app(&fake).await;
    let (property_id, lock_id) = property_with_lock(&app, "nuki", NUKI_DEVICE, json!({})).await;
    app.put("/api/v1/bookings/BK-7004", &stay(property_id, Utc::now() - Duration::hours(1), "confirmed")).await;
    app.run_jobs_through_retries(3).await;
    let auth_id = fake.visible()[0].id.clone();
    let entry = |id: &str, auth: &str, at: DateTime<Utc>, trigger: i32| {
        json!({ "id": id, "smartlockId": 18298712180_i64, "deviceType": 4, "authId": auth, "name": "Jana",
                "action": 1, "trigger": trigger, "state": 0, "autoUnlock": false,
                "date": at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string() })
    };
    let first = Utc::now() - Duration::minutes(20);
    *fake.log.lock().unwrap() = vec![
        entry("6570aa01aa01aa01aa01aa01", &auth_id, Utc::now() - Duration::minutes(5), 255),
        entry("6570aa00aa00aa00aa00aa00", &auth_id, first, 255),
        // Opened with the app: not a code.
        entry("6570aa02aa02aa02aa02aa02", "6570ffffffffffffffffffff", Utc::now() - Duration::minutes(30), 0),
    ];
    sqlx::query("INSERT INTO jobs (kind, payload, dedupe_key) VALUES ('check_lock_activity', '{\"kind\":\"check_lock_activity\"}', 'check_lock_activity')")
        .execute(&app.db)
        .await
        .unwrap();
    app.run_jobs().await;
    let booking: Value = app.get("/api/v1/bookings/BK-7004").await.json().await.unwrap();
    let arrived: DateTime<Utc> = booking["arrived_at"].as_str().expect("arrived").parse().unwrap();
    assert!((arrived - first).num_milliseconds().abs() < 1000, "the first use: {arrived} vs {first}");
    let used = audit_actions(&app, lock_id).await.iter().filter(|a| *a == "code.used").count();
    assert_eq!(used, 2);

    // Reading the log again (the next poll overlaps) counts nothing twice.
    app.fast_forward().await;
    app.run_jobs().await;
    let used = audit_actions(&app, lock_id).await.iter().filter(|a| *a == "code.used").count();
    assert_eq!(used, 2);
}

#[tokio::test]
async fn three_invalid_codes_in_the_nuki_log_during_an_arrival_send_the_guest_their_code_again() {
    let fake = FakeNuki::default();
    let (app, _server) = nuki_app(&fake).await;
    let (property_id, lock_id) = property_with_lock(&app, "nuki", NUKI_DEVICE, json!({})).await;
    add_staff(&app, property_id).await;
    app.put("/api/v1/bookings/BK-7010", &stay(property_id, Utc::now() + Duration::hours(1), "confirmed")).await;
    app.run_jobs_through_retries(3).await;
    let code = codes_of(&app, "BK-7010").await.remove(0);
    assert_eq!(code["state"], "set");
    // The keypad's log: three refused codes (state 224, "invalid code") in
    // two minutes, one by the keypad error trigger (253).
    let refused = |id: &str, minutes_ago: i64, trigger: i32| {
        let at = Utc::now() - Duration::minutes(minutes_ago);
        json!({ "id": id, "smartlockId": 18298712180_i64, "deviceType": 4, "name": "Keypad",
                "action": 1, "trigger": trigger, "state": 224, "autoUnlock": false, "source": 1,
                "date": at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string() })
    };
    *fake.log.lock().unwrap() = vec![
        refused("6570bb03bb03bb03bb03bb03", 1, 255),
        refused("6570bb02bb02bb02bb02bb02", 2, 253),
        refused("6570bb01bb01bb01bb01bb01", 3, 255),
    ];
    sqlx::query("INSERT INTO jobs (kind, payload, dedupe_key) VALUES ('check_lock_activity', '{\"kind\":\"check_lock_activity\"}', 'check_lock_activity')")
        .execute(&app.db)
        .await
        .unwrap();
    app.run_jobs().await;
    let resent: Vec<String> = sqlx::query_scalar(
        "SELECT body FROM notifications WHERE template = 'code'
           AND booking_id = (SELECT id FROM bookings WHERE external_ref = 'BK-7010')",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(resent.len(), 1, "{resent:?}");
    assert!(resent[0].contains(code["code"].as_str().unwrap()) && resent[0].contains("not accepted"), "{}", resent[0]);
    assert!(alerts(&app).await.iter().any(|a| a.contains("BK-7010") && a.contains("3 wrong codes")));
    assert!(
        app.get("/api/v1/bookings/BK-7010").await.json::<Value>().await.unwrap()["arrived_at"].is_null(),
        "a refused code is no arrival"
    );
    let denied = audit_actions(&app, lock_id).await.iter().filter(|a| *a == "lock.access_denied").count();
    assert_eq!(denied, 3);
}

#[tokio::test]
async fn a_burst_of_server_errors_is_retried_until_the_code_is_set() {
    let fake = FakeNuki::default();
    let (app, _server) = nuki_app(&fake).await;
    let (property_id, _lock) = property_with_lock(&app, "nuki", NUKI_DEVICE, json!({})).await;
    fake.fail_next.store(3, Ordering::SeqCst);
    app.put("/api/v1/bookings/BK-7005", &stay(property_id, Utc::now() + Duration::days(3), "confirmed")).await;
    app.run_jobs_through_retries(6).await;
    let code = codes_of(&app, "BK-7005").await.remove(0);
    assert_eq!(code["state"], "set", "{code}");
    assert_eq!(code["last_error"], Value::Null);
}

/// A fault test in real time, with the real scheduler: the Nuki API times
/// out on every call for a minute while a guest's check-in is 90 minutes
/// away (inside the two-hour deadline).
#[tokio::test]
async fn a_lock_provider_that_times_out_for_a_minute_ends_with_the_code_set_and_staff_told_meanwhile() {
    let fake = FakeNuki::default();
    let server = fake.start().await;
    let app = TestApp::spawn_with(&[
        ("ADMIN_API_TOKEN", TOKEN),
        ("NUKI_API_TOKEN", "nuki-test-token-0123456789"),
        ("NUKI_API_BASE", &server.uri()),
        ("SCHEDULER_ENABLED", "true"),
        ("SCHEDULER_TICK_MS", "100"),
    ])
    .await;
    let (property_id, _lock) = property_with_lock(&app, "nuki", NUKI_DEVICE, json!({})).await;
    add_staff(&app, property_id).await;
    let outage = std::time::Duration::from_secs(60);
    let started = std::time::Instant::now();
    *fake.unreachable_until.lock().unwrap() = Some(started + outage);
    app.put("/api/v1/bookings/BK-7011", &stay(property_id, Utc::now() + Duration::minutes(90), "confirmed")).await;

    // Meanwhile staff are told, and the code is not called set.
    let wait = |limit: std::time::Duration| started + limit;
    loop {
        if !alerts(&app).await.is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < wait(outage), "no alert during the outage");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(std::time::Instant::now() < started + outage, "told while the lock was unreachable");
    let code = codes_of(&app, "BK-7011").await.remove(0);
    assert_ne!(code["state"], "set", "{code}");
    let told = alerts(&app).await;
    assert!(told.iter().any(|a| a.contains("201")), "the alert names the room: {told:?}");

    // Once it answers again, the code gets on the lock by itself.
    loop {
        let code = codes_of(&app, "BK-7011").await.remove(0);
        if code["state"] == "set" {
            assert!(std::time::Instant::now() >= started + outage);
            break;
        }
        assert!(std::time::Instant::now() < wait(outage * 3), "never set after the outage: {code}");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(fake.visible().len(), 1, "one code on the keypad, no duplicate from the timed-out attempts");
}

#[tokio::test]
async fn a_lock_that_keeps_failing_is_left_alone_while_the_other_locks_carry_on() {
    let fake = FakeNuki::default();
    let (app, _server) = nuki_app(&fake).await;
    let (property_id, nuki_lock) = property_with_lock(&app, "nuki", NUKI_DEVICE, json!({})).await;
    // The same room also has a simulated entrance lock.
    let entrance = json!({ "property_id": property_id, "name": "Entrance", "provider": "simulated" });
    assert_eq!(app.post("/api/v1/locks", &entrance).await.status(), 201);
    fake.fail_next.store(1000, Ordering::SeqCst);
    let before = fake.calls.load(Ordering::SeqCst);
    app.put("/api/v1/bookings/BK-7006", &stay(property_id, Utc::now() + Duration::days(3), "confirmed")).await;
    app.run_jobs_through_retries(9).await;
    let calls = fake.calls.load(Ordering::SeqCst) - before;
    assert_eq!(calls, 5, "after five failures in a row the lock is not called for a while");
    let codes = codes_of(&app, "BK-7006").await;
    let state_on = |lock: Uuid| codes.iter().find(|c| c["lock_id"] == lock.to_string()).unwrap()["state"].clone();
    assert_eq!(state_on(nuki_lock), "programming");
    assert!(codes.iter().any(|c| c["lock_id"] != nuki_lock.to_string() && c["state"] == "set"), "{codes:?}");
    let code = codes.iter().find(|c| c["lock_id"] == nuki_lock.to_string()).unwrap();
    assert!(code["last_error"].as_str().unwrap().contains("503"), "the lock's own error is kept: {code}");
}

#[tokio::test]
async fn a_low_keypad_battery_is_stored_and_told_to_staff() {
    let fake = FakeNuki::default();
    fake.keypad_battery_critical.store(true, Ordering::SeqCst);
    let (app, _server) = nuki_app(&fake).await;
    let (property_id, lock_id) = property_with_lock(&app, "nuki", NUKI_DEVICE, json!({})).await;
    add_staff(&app, property_id).await;
    let lock: Value = app.get(&format!("/api/v1/locks/{lock_id}")).await.json().await.unwrap();
    assert_eq!(lock["keypad_battery_low"], true);
    sqlx::query("INSERT INTO jobs (kind, payload, dedupe_key) VALUES ('check_locks', '{\"kind\":\"check_locks\"}', 'check_locks')")
        .execute(&app.db)
        .await
        .unwrap();
    app.run_jobs().await;
    let alerts = alerts(&app).await;
    assert_eq!(
        alerts.iter().filter(|a| a.contains("keypad of lock Room 201 has a low battery")).count(),
        1,
        "{alerts:?}"
    );
}

#[tokio::test]
async fn a_device_the_provider_does_not_know_is_refused_at_registration() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/smartlock/999"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({ "detailMessage": "not found" })))
        .mount(&server)
        .await;
    let app = TestApp::spawn_with(&[
        ("ADMIN_API_TOKEN", TOKEN),
        ("NUKI_API_TOKEN", "nuki-test-token-0123456789"),
        ("NUKI_API_BASE", &server.uri()),
    ])
    .await;
    let fixture = app.seed_property().await;
    let body = json!({ "property_id": fixture.property_id, "name": "Side door", "provider": "nuki",
                       "provider_device_id": "999" });
    let message = assert_error(app.post("/api/v1/locks", &body).await, 422, "invalid_value").await;
    assert!(message.contains("provider_device_id"), "{message}");
}

// ------------------------------------------------------------------ Seam

/// Seam with one device: a create is `setting` until the next listing,
/// then `set`, unless the device refuses it.
#[derive(Clone, Default)]
struct FakeSeam {
    codes: Arc<Mutex<Vec<Value>>>,
    refuse_with: Arc<Mutex<Option<&'static str>>>,
    never_sets: Arc<AtomicBool>,
    backup_pool: Arc<AtomicBool>,
    rate_limit_next_create: Arc<AtomicBool>,
    /// Time-bound codes wait `unset` until their start, as Seam reports them.
    holds_until_start: Arc<AtomicBool>,
}

impl FakeSeam {
    async fn start(&self) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST")).respond_with(self.clone()).mount(&server).await;
        server
    }
}

impl Respond for FakeSeam {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(json!({}));
        let ok = |mut value: Value| {
            value["ok"] = json!(true);
            ResponseTemplate::new(200).set_body_json(value)
        };
        match request.url.path() {
            "/devices/get" => ok(json!({ "device": {
                "device_id": body["device_id"], "device_type": "schlage_lock", "display_name": "Room 201",
                "properties": { "online": true, "locked": true, "battery_level": 0.9,
                                "battery": { "level": 0.9, "status": "full" },
                                "supported_code_lengths": [4, 5, 6, 7, 8], "max_active_codes_supported": 30,
                                "supports_backup_access_code_pool": self.backup_pool.load(Ordering::SeqCst),
                                "code_constraints": [{ "constraint_type": "no_zeros" }] },
                "errors": [], "warnings": [], "created_at": "2026-01-01T00:00:00.000Z" } })),
            "/access_codes/create" => {
                if self.rate_limit_next_create.swap(false, Ordering::SeqCst) {
                    return ResponseTemplate::new(429).insert_header("retry-after", "30").set_body_json(
                        json!({ "error": { "type": "rate_limited", "message": "Too many requests" }, "ok": false }),
                    );
                }
                let code = json!({
                    "access_code_id": Uuid::new_v4(), "device_id": body["device_id"], "name": body["name"],
                    "code": body["code"], "type": "time_bound",
                    "status": if self.holds_until_start.load(Ordering::SeqCst) { "unset" } else { "setting" },
                    "starts_at": body["starts_at"],
                    "ends_at": body["ends_at"], "errors": [], "warnings": [], "is_managed": true,
                    "is_backup_access_code_available": false, "created_at": "2026-11-20T08:00:00.000Z" });
                self.codes.lock().unwrap().push(code.clone());
                ok(json!({ "access_code": code }))
            }
            "/access_codes/list" => {
                let mut codes = self.codes.lock().unwrap();
                let listed = codes.clone();
                for code in codes.iter_mut() {
                    if let Some(error) = *self.refuse_with.lock().unwrap() {
                        code["errors"] = json!([{ "error_code": error, "message": "The lock refused the code", "is_access_code_error": true }]);
                    } else if !self.never_sets.load(Ordering::SeqCst) && code["status"] == "setting" {
                        code["errors"] = json!([]);
                        code["status"] = json!("set");
                    }
                }
                ok(json!({ "access_codes": listed }))
            }
            "/access_codes/delete" => {
                self.codes.lock().unwrap().retain(|c| c["access_code_id"] != body["access_code_id"]);
                ok(
                    json!({ "action_attempt": { "action_attempt_id": Uuid::new_v4(), "status": "pending", "action_type": "DELETE_ACCESS_CODE" } }),
                )
            }
            "/access_codes/pull_backup_access_code" => ok(json!({ "backup_access_code": {
                "access_code_id": "b7c1d2e3-0000-4000-8000-00000000babe", "device_id": "seam-dev-1", "name": "Backup",
                "code": "58317", "type": "time_bound", "status": "set", "is_backup": true,
                "pulled_backup_access_code_id": body["access_code_id"], "errors": [], "warnings": [],
                "created_at": "2026-11-20T08:00:00.000Z" } })),
            other => ResponseTemplate::new(404)
                .set_body_json(json!({ "error": { "type": "not_found", "message": other }, "ok": false })),
        }
    }
}

async fn seam_app(fake: &FakeSeam, extra: &[(&str, &str)]) -> (TestApp, MockServer) {
    let server = fake.start().await;
    let uri = server.uri();
    let mut vars =
        vec![("ADMIN_API_TOKEN", TOKEN), ("SEAM_API_KEY", "seam_test_key_0123456789"), ("SEAM_API_BASE", uri.as_str())];
    vars.extend_from_slice(extra);
    (TestApp::spawn_with(&vars).await, server)
}

#[tokio::test]
async fn a_seam_code_follows_setting_then_set_within_the_devices_constraints() {
    let fake = FakeSeam::default();
    let (app, server) = seam_app(&fake, &[]).await;
    let (property_id, _lock) = property_with_lock(&app, "seam", "seam-dev-1", json!({ "code_length": 6 })).await;
    app.put("/api/v1/bookings/BK-8001", &stay(property_id, Utc::now() + Duration::days(3), "confirmed")).await;
    app.run_jobs().await;
    assert_eq!(codes_of(&app, "BK-8001").await[0]["state"], "programming", "Seam said setting");
    app.run_jobs_through_retries(3).await;
    let code = codes_of(&app, "BK-8001").await.remove(0);
    assert_eq!(code["state"], "set");
    assert!(!code["code"].as_str().unwrap().contains('0'), "the device's no_zeros constraint");
    let create =
        server.received_requests().await.unwrap().into_iter().find(|r| r.url.path() == "/access_codes/create").unwrap();
    assert_eq!(create.headers["authorization"], "Bearer seam_test_key_0123456789");
    let sent: Value = serde_json::from_slice(&create.body).unwrap();
    assert_eq!(sent["device_id"], "seam-dev-1");
    assert_eq!(sent["code"], code["code"]);
    assert!(sent["starts_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn a_code_seam_cannot_put_on_the_device_fails_and_staff_are_told() {
    let fake = FakeSeam::default();
    *fake.refuse_with.lock().unwrap() = Some("no_space_for_access_code_on_device");
    let (app, _server) = seam_app(&fake, &[]).await;
    let (property_id, _lock) = property_with_lock(&app, "seam", "seam-dev-1", json!({})).await;
    add_staff(&app, property_id).await;
    app.put("/api/v1/bookings/BK-8002", &stay(property_id, Utc::now() + Duration::days(3), "confirmed")).await;
    app.run_jobs_through_retries(3).await;
    let code = codes_of(&app, "BK-8002").await.remove(0);
    assert_eq!(code["state"], "failed");
    assert!(code["last_error"].as_str().unwrap().contains("no_space_for_access_code_on_device"), "{code}");
    assert!(alerts(&app).await.iter().any(|a| a.contains("no_space_for_access_code_on_device")));
}

#[tokio::test]
async fn seams_429_postpones_the_job_by_the_stated_delay() {
    let fake = FakeSeam::default();
    fake.rate_limit_next_create.store(true, Ordering::SeqCst);
    let (app, _server) = seam_app(&fake, &[]).await;
    let (property_id, _lock) = property_with_lock(&app, "seam", "seam-dev-1", json!({})).await;
    app.put("/api/v1/bookings/BK-8003", &stay(property_id, Utc::now() + Duration::days(3), "confirmed")).await;
    app.run_jobs().await;
    let wait: f64 = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM run_at - now())::float8 FROM jobs WHERE kind = 'program_code' AND state = 'queued'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!((25.0..=31.0).contains(&wait), "retried after Seam's Retry-After, not before: {wait}");
    app.run_jobs_through_retries(3).await;
    assert_eq!(codes_of(&app, "BK-8003").await[0]["state"], "set");
}

#[tokio::test]
async fn a_guest_whose_code_is_not_set_in_time_gets_a_backup_from_seams_pool() {
    let fake = FakeSeam::default();
    fake.never_sets.store(true, Ordering::SeqCst);
    fake.backup_pool.store(true, Ordering::SeqCst);
    let (app, _server) = seam_app(&fake, &[]).await;
    let (property_id, lock_id) = property_with_lock(&app, "seam", "seam-dev-1", json!({})).await;
    add_staff(&app, property_id).await;
    // Arriving in 90 minutes: the 2-hour deadline has passed.
    app.put("/api/v1/bookings/BK-8004", &stay(property_id, Utc::now() + Duration::minutes(90), "confirmed")).await;
    app.run_jobs().await;
    // The locks get a few minutes; then the deadline check runs.
    app.fast_forward().await;
    app.run_jobs().await;

    let codes = codes_of(&app, "BK-8004").await;
    let live: Vec<&Value> = codes.iter().filter(|c| c["state"] != "removing" && c["state"] != "removed").collect();
    assert_eq!(live.len(), 1, "{codes:?}");
    assert_eq!((live[0]["code"].as_str(), live[0]["state"].as_str()), (Some("58317"), Some("set")));
    assert!(codes.iter().any(|c| c["state"] == "removed"), "the unset code is taken off: {codes:?}");
    assert_eq!(fake.codes.lock().unwrap().len(), 0, "and deleted at Seam");
    let alerts = alerts(&app).await;
    assert!(
        alerts.iter().any(|a| a.contains("backup code") && a.contains("••••17") && !a.contains("58317")),
        "{alerts:?}"
    );
    let sent: Vec<String> = sqlx::query_scalar(
        "SELECT body FROM notifications WHERE booking_id = (SELECT id FROM bookings WHERE external_ref = 'BK-8004')
           AND template <> 'alert'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert!(sent.iter().any(|b| b.contains("58317")), "the guest gets the backup code: {sent:?}");
    assert!(audit_actions(&app, lock_id).await.contains(&"code.backup_assigned".to_owned()));
}

#[tokio::test]
async fn a_signed_seam_unlock_event_marks_the_guest_arrived_once() {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let secret_bytes = b"doorman-seam-webhook-secret-bytes";
    let secret = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(secret_bytes));
    let fake = FakeSeam::default();
    let (app, _server) = seam_app(&fake, &[("SEAM_WEBHOOK_SECRET", secret.as_str())]).await;
    let (property_id, _lock) = property_with_lock(&app, "seam", "seam-dev-1", json!({})).await;
    app.put("/api/v1/bookings/BK-8005", &stay(property_id, Utc::now() - Duration::hours(2), "confirmed")).await;
    app.run_jobs_through_retries(3).await;
    let access_code_id = fake.codes.lock().unwrap()[0]["access_code_id"].as_str().unwrap().to_owned();

    let event = json!({ "event_id": Uuid::new_v4(), "event_type": "lock.unlocked", "device_id": "seam-dev-1",
                        "access_code_id": access_code_id, "method": "keycode", "workspace_id": Uuid::new_v4(),
                        "occurred_at": "2026-11-21T14:03:00.000Z", "created_at": "2026-11-21T14:03:01.000Z" })
    .to_string();
    let send = |body: String, key: &'static [u8]| {
        let id = format!("msg_{}", Uuid::new_v4().simple());
        let timestamp = Utc::now().timestamp().to_string();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
        let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        app.client
            .post(app.url("/webhooks/seam"))
            .header("svix-id", id)
            .header("svix-timestamp", timestamp)
            .header("svix-signature", format!("v1,{signature}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let forged = send(event.clone(), b"someone-else's-secret").await.unwrap();
    assert_eq!(forged.status(), 401);
    let unsigned = app.client.post(app.url("/webhooks/seam")).body(event.clone()).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
    // Whatever was wrong, the answer is the same and says nothing about the secret.
    for refused in [forged, unsigned] {
        let body: Value = refused.json().await.unwrap();
        assert_eq!(
            body["error"],
            json!({ "code": "bad_signature", "message": "missing or wrong webhook signature" }),
            "{body}"
        );
    }
    assert_eq!(send(event.clone(), secret_bytes).await.unwrap().status(), 200);
    assert_eq!(send(event.clone(), secret_bytes).await.unwrap().status(), 200, "a redelivery is accepted");
    let booking: Value = app.get("/api/v1/bookings/BK-8005").await.json().await.unwrap();
    assert_eq!(booking["arrived_at"], "2026-11-21T14:03:00Z");
    let used: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'code.used'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(used, 1, "one event, however often delivered");
}

// ------------------------------------------------- any provider (simulated)

#[tokio::test]
async fn a_lock_keeps_its_backup_codes_and_a_late_guest_gets_one() {
    let app = TestApp::spawn().await;
    let (property_id, lock_id) =
        property_with_lock(&app, "simulated", "sim-backup-door", json!({ "backup_codes": 1 })).await;
    add_staff(&app, property_id).await;
    app.run_jobs().await;
    let backups: Value = app.get(&format!("/api/v1/locks/{lock_id}/codes")).await.json().await.unwrap();
    let backup = backups.as_array().unwrap().iter().find(|c| c["kind"] == "backup").expect("a backup code").clone();
    assert_eq!(backup["state"], "set", "kept on the lock");

    // The lock stops applying new codes; a guest arrives in 90 minutes.
    sqlx::query("UPDATE simulated_devices SET confirm_delay_ms = 86400000 WHERE device_id = 'sim-backup-door'")
        .execute(&app.db)
        .await
        .unwrap();
    app.put("/api/v1/bookings/BK-9001", &stay(property_id, Utc::now() + Duration::minutes(90), "confirmed")).await;
    app.run_jobs().await;
    app.fast_forward().await;
    app.run_jobs().await;
    let codes = codes_of(&app, "BK-9001").await;
    let live: Vec<&Value> = codes.iter().filter(|c| c["state"] != "removing" && c["state"] != "removed").collect();
    assert_eq!(live.len(), 1, "{codes:?}");
    assert_eq!(live[0]["id"], backup["id"], "the backup code is now the guest's");
    assert_eq!((live[0]["kind"].as_str(), live[0]["state"].as_str()), (Some("guest"), Some("set")));
    assert!(alerts(&app).await.iter().any(|a| a.contains("backup code")));
    let refilled: Value = app.get(&format!("/api/v1/locks/{lock_id}/codes")).await.json().await.unwrap();
    let waiting = refilled.as_array().unwrap().iter().filter(|c| c["kind"] == "backup").count();
    assert_eq!(waiting, 1, "the pool is refilled");
}

#[tokio::test]
async fn an_orphan_on_the_lock_can_be_adopted_as_a_staff_code() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let staff = add_staff(&app, fixture.property_id).await;
    let lock_id = fixture.locks["101"];
    app.get(&format!("/api/v1/locks/{lock_id}/device-codes")).await;
    sqlx::query(
        "INSERT INTO simulated_codes (provider_ref, device_id, name, code)
         SELECT 'sim-cleaner', provider_device_id, 'Cleaner', '539176' FROM locks WHERE id = $1",
    )
    .bind(lock_id)
    .execute(&app.db)
    .await
    .unwrap();
    let adopt = format!("/api/v1/locks/{lock_id}/device-codes/sim-cleaner/adopt");
    assert_error(app.post(&adopt, &json!({ "staff_id": staff })).await, 404, "not_found").await;
    let listed: Value = app.get(&format!("/api/v1/locks/{lock_id}/device-codes")).await.json().await.unwrap();
    assert_eq!(listed[0]["status"], "orphan");

    assert_error(app.post(&adopt, &json!({ "staff_id": Uuid::new_v4() })).await, 422, "invalid_value").await;
    let adopted = app.post(&adopt, &json!({ "staff_id": staff })).await;
    assert_eq!(adopted.status(), 201);
    let code: Value = adopted.json().await.unwrap();
    assert_eq!(
        (code["kind"].as_str(), code["state"].as_str(), code["code"].as_str()),
        (Some("staff"), Some("set"), Some("539176"))
    );
    let listed: Value = app.get(&format!("/api/v1/locks/{lock_id}/device-codes")).await.json().await.unwrap();
    assert_eq!((listed[0]["status"].as_str(), listed[0]["code_id"].as_str()), (Some("managed"), code["id"].as_str()));
    app.run_jobs().await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM simulated_codes WHERE code = '539176'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 1, "the same code stays on the lock");
    assert!(audit_actions(&app, lock_id).await.contains(&"code.adopted".to_owned()));
}

#[tokio::test]
async fn a_seam_code_held_until_its_start_counts_as_set_and_a_later_failure_is_caught() {
    let fake = FakeSeam::default();
    fake.holds_until_start.store(true, Ordering::SeqCst);
    let (app, _server) = seam_app(&fake, &[]).await;
    let (property_id, lock_id) = property_with_lock(&app, "seam", "seam-dev-1", json!({})).await;
    add_staff(&app, property_id).await;
    app.put("/api/v1/bookings/BK-8006", &stay(property_id, Utc::now() + Duration::days(3), "confirmed")).await;
    app.run_jobs_through_retries(2).await;
    assert_eq!(codes_of(&app, "BK-8006").await[0]["state"], "set", "Seam activates it at its start");
    let device: Value = app.get(&format!("/api/v1/locks/{lock_id}/device-codes")).await.json().await.unwrap();
    assert_eq!(device[0]["on_device"], "scheduled");

    // Later Seam reports it could not keep the code on the device.
    *fake.refuse_with.lock().unwrap() = Some("failed_to_set_on_device");
    app.get(&format!("/api/v1/locks/{lock_id}/device-codes")).await;
    let report: Value = app.post(&format!("/api/v1/locks/{lock_id}/reconcile"), &json!({})).await.json().await.unwrap();
    assert_eq!(report["failed_on_device"].as_array().unwrap().len(), 1, "{report}");
    let code = codes_of(&app, "BK-8006").await.remove(0);
    assert_eq!(code["state"], "failed");
    app.run_jobs().await;
    assert!(alerts(&app).await.iter().any(|a| a.contains("stopped working") && a.contains("failed_to_set_on_device")));
}

#[tokio::test]
async fn backup_codes_cannot_be_made_by_hand() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let body = json!({ "kind": "backup", "label": "spare" });
    let message = assert_error(
        app.post(&format!("/api/v1/locks/{}/codes", fixture.locks["101"]), &body).await,
        422,
        "invalid_value",
    )
    .await;
    assert!(message.contains("backup_codes"), "{message}");
}

#[tokio::test]
async fn a_pulled_backup_doorman_cannot_use_is_given_back() {
    let fake = FakeSeam::default();
    fake.never_sets.store(true, Ordering::SeqCst);
    fake.backup_pool.store(true, Ordering::SeqCst);
    let (app, server) = seam_app(&fake, &[]).await;
    let (property_id, lock_id) = property_with_lock(&app, "seam", "seam-dev-1", json!({})).await;
    // The pool's code has the value of a code someone set at the keypad.
    sqlx::query("INSERT INTO device_codes (lock_id, provider_ref, code, name, managed) VALUES ($1, 'keypad-1', '58317', 'Cleaner', false)")
        .bind(lock_id)
        .execute(&app.db)
        .await
        .unwrap();
    app.put("/api/v1/bookings/BK-8007", &stay(property_id, Utc::now() + Duration::minutes(90), "confirmed")).await;
    app.run_jobs().await;
    app.fast_forward().await;
    app.run_jobs().await;
    assert!(codes_of(&app, "BK-8007").await.iter().all(|c| c["code"] != "58317"));
    let deleted: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/access_codes/delete")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert!(
        deleted.iter().any(|d| d["access_code_id"] == "b7c1d2e3-0000-4000-8000-00000000babe"),
        "the backup goes back: {deleted:?}"
    );
}
