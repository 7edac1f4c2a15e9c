//! Provider accounts (SPEC §12) through the whole service: a Seam connected
//! account disconnected (Seam's `connected_account.*` events, signed as
//! Svix signs them) and Nuki refusing its API token are one alert naming
//! every lock on the account, its locks are not called and their codes'
//! jobs wait, and one "back" message lets them go on. And `POST /locks`
//! taking a device from the provider's device list.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use uuid::Uuid;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::{assert_error, codes_of, id_of, TestApp, TOKEN};

const ACCOUNT: &str = "8e3a4f1b-2c7d-4a9e-8b5f-3d2c1a0b9e8f";
const OTHER_ACCOUNT: &str = "1f0e9d8c-7b6a-4c5d-9e8f-0a1b2c3d4e5f";
const SECRET_BYTES: &[u8] = b"doorman-seam-account-webhook-key";

/// A Seam workspace with two connected accounts: `dev-201`, `dev-202` and
/// `dev-flat3` on [`ACCOUNT`], `dev-gate` on [`OTHER_ACCOUNT`]. Codes are
/// `setting` until the next listing, then `set`.
#[derive(Clone, Default)]
struct FakeSeam {
    codes: Arc<Mutex<Vec<Value>>>,
}

/// `(device_id, display name, connected account)`.
const SEAM_DEVICES: [(&str, &str, &str); 4] = [
    ("dev-201", "Room 201 door", ACCOUNT),
    ("dev-202", "Room 202 door", ACCOUNT),
    ("dev-flat3", "Flat 3 door", ACCOUNT),
    ("dev-gate", "Garden gate", OTHER_ACCOUNT),
];

/// Seam's device object (its "Lock Device" sample, trimmed).
fn seam_device(id: &str, name: &str, account: &str) -> Value {
    json!({
        "device_id": id, "device_type": "schlage_lock", "display_name": name, "connected_account_id": account,
        "capabilities_supported": ["access_code", "lock"], "created_at": "2026-01-01T00:00:00.000Z",
        "errors": [], "warnings": [], "is_managed": true, "workspace_id": "5d7f2e1a-9c8b-4f3e-8d2c-1a0b9e8f7c6d",
        "properties": { "name": name, "online": true, "locked": true, "battery_level": 0.9,
                        "battery": { "level": 0.9, "status": "full" },
                        "model": { "display_name": "Encode", "manufacturer_display_name": "Schlage" },
                        "supported_code_lengths": [4, 5, 6, 7, 8], "max_active_codes_supported": 30 }
    })
}

impl Respond for FakeSeam {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(json!({}));
        let ok = |mut value: Value| {
            value["ok"] = json!(true);
            ResponseTemplate::new(200).set_body_json(value)
        };
        let devices = SEAM_DEVICES.iter().map(|(id, name, account)| seam_device(id, name, account));
        match request.url.path() {
            "/devices/list" => ok(json!({ "devices": devices.collect::<Vec<_>>(),
                                          "pagination": { "has_next_page": false, "next_page_cursor": null } })),
            "/devices/get" => match devices.into_iter().find(|d| d["device_id"] == body["device_id"]) {
                Some(device) => ok(json!({ "device": device })),
                None => ResponseTemplate::new(404).set_body_json(
                    json!({ "error": { "type": "device_not_found", "message": "Device not found" }, "ok": false }),
                ),
            },
            "/access_codes/create" => {
                let code = json!({
                    "access_code_id": Uuid::new_v4(), "device_id": body["device_id"], "name": body["name"],
                    "code": body["code"], "type": "time_bound", "status": "setting", "starts_at": body["starts_at"],
                    "ends_at": body["ends_at"], "errors": [], "warnings": [], "is_managed": true,
                    "created_at": "2026-11-20T08:00:00.000Z" });
                self.codes.lock().unwrap().push(code.clone());
                ok(json!({ "access_code": code }))
            }
            "/access_codes/list" | "/access_codes/unmanaged/list" => {
                let mut codes = self.codes.lock().unwrap();
                let listed: Vec<Value> =
                    codes.iter().filter(|c| c["device_id"] == body["device_id"]).cloned().collect();
                for code in codes.iter_mut() {
                    if code["status"] == "setting" {
                        code["status"] = json!("set");
                    }
                }
                let unmanaged = request.url.path().contains("unmanaged");
                ok(json!({ "access_codes": if unmanaged { vec![] } else { listed } }))
            }
            other => ResponseTemplate::new(404)
                .set_body_json(json!({ "error": { "type": "not_found", "message": other }, "ok": false })),
        }
    }
}

async fn seam_app(fake: &FakeSeam) -> (TestApp, MockServer) {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(fake.clone()).mount(&server).await;
    let secret = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(SECRET_BYTES));
    let uri = server.uri();
    let app = TestApp::spawn_with(&[
        ("ADMIN_API_TOKEN", TOKEN),
        ("SEAM_API_KEY", "seam_test_key_0123456789"),
        ("SEAM_API_BASE", uri.as_str()),
        ("SEAM_WEBHOOK_SECRET", secret.as_str()),
    ])
    .await;
    (app, server)
}

/// Posts a Seam event to the webhook, signed as Svix signs it.
async fn send_seam_event(app: &TestApp, event: &Value) {
    let body = event.to_string();
    let id = format!("msg_{}", Uuid::new_v4().simple());
    let timestamp = Utc::now().timestamp().to_string();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET_BYTES).unwrap();
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let answer = app
        .client
        .post(app.url("/webhooks/seam"))
        .header("svix-id", id)
        .header("svix-timestamp", timestamp)
        .header("svix-signature", format!("v1,{signature}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
}

/// A `connected_account.*` event as Seam documents it: no device id.
fn account_event(event_type: &str, account: &str, at: DateTime<Utc>) -> Value {
    json!({ "event_id": Uuid::new_v4(), "event_type": event_type, "connected_account_id": account,
            "connected_account_custom_metadata": {}, "workspace_id": "5d7f2e1a-9c8b-4f3e-8d2c-1a0b9e8f7c6d",
            "created_at": at, "occurred_at": at })
}

async fn property(app: &TestApp, name: &str, rooms: &[&str]) -> (Uuid, Vec<Uuid>) {
    let property: Value = app
        .post("/api/v1/properties", &json!({ "name": name, "timezone": "Europe/Vienna" }))
        .await
        .json()
        .await
        .unwrap();
    let property_id = id_of(&property);
    let mut ids = Vec::new();
    for room in rooms {
        let room: Value = app
            .post(&format!("/api/v1/properties/{property_id}/rooms"), &json!({ "name": room }))
            .await
            .json()
            .await
            .unwrap();
        ids.push(id_of(&room));
    }
    (property_id, ids)
}

/// A lock taken from the provider's device list: no name given.
async fn discovered_lock(
    app: &TestApp,
    property_id: Uuid,
    room_id: Option<Uuid>,
    provider: &str,
    device: &str,
) -> Value {
    let body = json!({ "property_id": property_id, "room_id": room_id, "provider": provider,
                       "provider_device_id": device });
    let created = app.post("/api/v1/locks", &body).await;
    assert_eq!(created.status(), 201);
    created.json().await.unwrap()
}

async fn add_staff(app: &TestApp, name: &str, phone: &str, role: &str, properties: &[Uuid]) {
    let body = match role {
        "admin" => json!({ "name": name, "phone": phone, "role": "admin" }),
        _ => json!({ "name": name, "phone": phone, "role": role, "property_ids": properties }),
    };
    assert_eq!(app.post("/api/v1/staff", &body).await.status(), 201);
}

/// The account alerts each staff member got: (recipient, text).
async fn account_alerts(app: &TestApp, about: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT recipient, body FROM notifications WHERE template = 'alert' AND body LIKE '%' || $1 || '%'
         ORDER BY recipient, created_at",
    )
    .bind(about)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

async fn calls_to(server: &MockServer, route: &str) -> usize {
    server.received_requests().await.unwrap().iter().filter(|r| r.url.path().starts_with(route)).count()
}

fn stay(property_id: Uuid, room: &str, check_in: DateTime<Utc>) -> Value {
    json!({
        "property_id": property_id, "room": room,
        "guest": { "name": "Jana Horvath", "phone": "+421900000077" },
        "check_in_at": check_in, "check_out_at": check_in + Duration::days(2), "status": "confirmed",
    })
}

#[tokio::test]
async fn a_disconnected_seam_account_is_one_alert_naming_its_locks_and_its_codes_wait_until_it_is_back() {
    let fake = FakeSeam::default();
    let (app, server) = seam_app(&fake).await;
    let (riverside, rooms) = property(&app, "Riverside", &["201", "202"]).await;
    let (old_town, _) = property(&app, "Old Town", &[]).await;
    let room_201 = discovered_lock(&app, riverside, Some(rooms[0]), "seam", "dev-201").await;
    assert_eq!(room_201["name"], "Room 201 door", "the name Seam gives the device");
    assert_eq!(room_201["model"], "Encode");
    assert_eq!(room_201["provider_account_id"], ACCOUNT, "learned from Seam's device list");
    discovered_lock(&app, riverside, Some(rooms[1]), "seam", "dev-202").await;
    discovered_lock(&app, old_town, None, "seam", "dev-flat3").await;
    // Registered by hand with a name: its account comes from Seam's device read.
    let body = json!({ "property_id": old_town, "name": "Garden gate", "provider": "seam",
                       "provider_device_id": "dev-gate" });
    let gate: Value = app.post("/api/v1/locks", &body).await.json().await.unwrap();
    assert_eq!(gate["provider_account_id"], OTHER_ACCOUNT);
    add_staff(&app, "Petra", "+421900000501", "manager", &[riverside]).await;
    add_staff(&app, "Marek", "+421900000502", "manager", &[old_town]).await;
    add_staff(&app, "Ivana", "+421900000503", "admin", &[]).await;

    let down_at = Utc::now() - Duration::minutes(5);
    send_seam_event(&app, &account_event("connected_account.disconnected", ACCOUNT, down_at)).await;
    app.run_jobs().await;
    let told = account_alerts(&app, "is disconnected").await;
    let recipients: Vec<&str> = told.iter().map(|(to, _)| to.as_str()).collect();
    assert_eq!(recipients, ["+421900000501", "+421900000502", "+421900000503"], "one alert each, the admin too");
    let text = &told[0].1;
    for named in ["Room 201 door (Riverside)", "Room 202 door (Riverside)", "Flat 3 door (Old Town)", ACCOUNT] {
        assert!(text.contains(named), "{named} in {text}");
    }
    assert!(!text.contains("Garden gate"), "another account's lock: {text}");
    assert!(text.contains("reconnect the account in Seam"), "{text}");
    assert!(told.iter().all(|(_, t)| t == text), "the same words for everyone");

    let locks: Value = app.get("/api/v1/locks").await.json().await.unwrap();
    let state_of = |name: &str| {
        let lock = locks.as_array().unwrap().iter().find(|l| l["name"] == name).unwrap();
        lock["account_state"].clone()
    };
    assert_eq!(state_of("Room 201 door"), "disconnected");
    assert_eq!(state_of("Flat 3 door"), "disconnected");
    assert_eq!(state_of("Garden gate"), Value::Null, "nothing heard about its account");

    // Seam repeats itself, and asks for reauthorization: nobody is told again.
    send_seam_event(&app, &account_event("connected_account.disconnected", ACCOUNT, down_at)).await;
    let later = Utc::now() - Duration::minutes(4);
    send_seam_event(&app, &account_event("connected_account.reauthorization_requested", ACCOUNT, later)).await;
    app.run_jobs().await;
    assert_eq!(account_alerts(&app, ACCOUNT).await.len(), 3, "still one alert each");

    // A guest arrives in 20 hours: their code waits, Seam is not called.
    let before = server.received_requests().await.unwrap().len();
    app.put("/api/v1/bookings/BK-9101", &stay(riverside, "201", Utc::now() + Duration::hours(20))).await;
    app.run_jobs_through_retries(4).await;
    assert_eq!(server.received_requests().await.unwrap().len(), before, "no call to the account's locks");
    let code = codes_of(&app, "BK-9101").await.remove(0);
    assert_ne!(code["state"], "set");
    assert_ne!(code["state"], "failed", "waiting is not failing: {code}");
    let (state, waiting_for, attempts): (String, Option<String>, i32) =
        sqlx::query_as("SELECT state, waiting_for, attempts FROM jobs WHERE kind = 'program_code'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((state.as_str(), attempts), ("queued", 0), "its waits are no attempts");
    assert_eq!(waiting_for.as_deref(), Some(format!("provider_account:seam:{ACCOUNT}").as_str()));
    let booking: Value = app.get("/api/v1/bookings/BK-9101").await.json().await.unwrap();
    let problems = booking["readiness"]["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p["problem"] == "account_disconnected" && p["lock"] == "Room 201 door"),
        "{problems:?}"
    );
    let not_ready = account_alerts(&app, "is not ready").await;
    assert!(not_ready.iter().any(|(_, t)| t.contains("Room 201 door") && t.contains("reconnect")), "{not_ready:?}");
    assert!(!not_ready.iter().any(|(_, t)| t.contains("/regen")), "a code waiting for its account needs no /regen");

    // The account is reconnected: one "back" message, and the code goes on.
    let back_at = Utc::now();
    send_seam_event(
        &app,
        &account_event("connected_account.completed_first_sync_after_reconnection", ACCOUNT, back_at),
    )
    .await;
    send_seam_event(
        &app,
        &account_event("connected_account.completed_first_sync_after_reconnection", ACCOUNT, back_at),
    )
    .await;
    app.run_jobs().await;
    let back = account_alerts(&app, "is back").await;
    assert_eq!(back.len(), 3, "one each: {back:?}");
    assert!(back[0].1.contains("Room 201 door (Riverside)"), "{}", back[0].1);
    assert!(calls_to(&server, "/access_codes/create").await >= 1, "the waiting job ran at once");
    app.run_jobs_through_retries(3).await;
    assert_eq!(codes_of(&app, "BK-9101").await[0]["state"], "set");
    let locks: Value = app.get("/api/v1/locks").await.json().await.unwrap();
    assert!(locks
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["provider_account_id"] == ACCOUNT)
        .all(|l| l["account_state"] == "connected"));
}

/// A lock registered before doorman learned accounts (or not read since)
/// is on no known account: the outage, told to nobody when it came, is
/// told to its property's staff once doorman learns where the lock is.
#[tokio::test]
async fn an_outage_heard_before_its_locks_were_known_is_told_when_they_are_learned() {
    let fake = FakeSeam::default();
    let (app, _server) = seam_app(&fake).await;
    let (riverside, rooms) = property(&app, "Riverside", &["201"]).await;
    discovered_lock(&app, riverside, Some(rooms[0]), "seam", "dev-201").await;
    add_staff(&app, "Petra", "+421900000501", "manager", &[riverside]).await;
    sqlx::query("UPDATE locks SET provider_account_id = NULL").execute(&app.db).await.unwrap();

    let down_at = Utc::now() - Duration::minutes(5);
    send_seam_event(&app, &account_event("connected_account.disconnected", ACCOUNT, down_at)).await;
    app.run_jobs().await;
    assert!(account_alerts(&app, "is disconnected").await.is_empty(), "no lock known on the account yet");

    // Discovery (or the next lock check) reads the device and its account.
    assert_eq!(app.get("/api/v1/providers/seam/devices").await.status(), 200);
    app.run_jobs().await;
    let told = account_alerts(&app, "is disconnected").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].1.contains("Room 201 door (Riverside)"), "{}", told[0].1);
    let locks: Value = app.get("/api/v1/locks").await.json().await.unwrap();
    assert_eq!(locks[0]["account_state"], "disconnected");

    // Learned again, or read again: nobody is told twice.
    sqlx::query("UPDATE locks SET provider_account_id = NULL").execute(&app.db).await.unwrap();
    assert_eq!(app.get("/api/v1/providers/seam/devices").await.status(), 200);
    app.run_jobs().await;
    assert_eq!(account_alerts(&app, "is disconnected").await.len(), 1, "still one alert");
}

#[tokio::test]
async fn a_lock_from_the_device_list_gets_the_providers_name_an_unknown_device_is_422_and_a_mapped_one_409() {
    let fake = FakeSeam::default();
    let (app, _server) = seam_app(&fake).await;
    let (property_id, rooms) = property(&app, "Riverside", &["201"]).await;
    let lock = discovered_lock(&app, property_id, Some(rooms[0]), "seam", "dev-201").await;
    assert_eq!(lock["name"], "Room 201 door");

    let unknown = json!({ "property_id": property_id, "provider": "seam", "provider_device_id": "dev-nope" });
    let message = assert_error(app.post("/api/v1/locks", &unknown).await, 422, "invalid_value").await;
    assert!(message.contains("dev-nope") && message.contains("provider_device_id"), "{message}");

    let again = json!({ "property_id": property_id, "provider": "seam", "provider_device_id": "dev-201" });
    let message = assert_error(app.post("/api/v1/locks", &again).await, 409, "conflict").await;
    assert!(message.contains("Room 201 door") && message.contains(lock["id"].as_str().unwrap()), "{message}");
    let named =
        json!({ "property_id": property_id, "name": "Copy", "provider": "seam", "provider_device_id": "dev-201" });
    let message = assert_error(app.post("/api/v1/locks", &named).await, 409, "conflict").await;
    assert!(message.contains("Room 201 door"), "with a name of its own too: {message}");

    let devices: Value = app.get("/api/v1/providers/seam/devices").await.json().await.unwrap();
    let mapped: Vec<&str> = devices
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| !d["lock"].is_null())
        .map(|d| d["device_id"].as_str().unwrap())
        .collect();
    assert_eq!(mapped, ["dev-201"]);
}

// ------------------------------------------------------------------ Nuki

/// A Nuki account with two smart locks with keypads; while `refusing`,
/// every call is answered 401 as Nuki answers an expired token.
#[derive(Clone, Default)]
struct FakeNuki {
    refusing: Arc<AtomicBool>,
    auths: Arc<Mutex<Vec<Value>>>,
}

const NUKI_LOCKS: [(u64, &str); 2] = [(18298712180, "Apartment 2 door"), (18298712181, "Apartment 3 door")];

fn smartlock(id: u64, name: &str) -> Value {
    json!({
        "smartlockId": id, "accountId": 1, "type": 4, "lmType": 0, "authId": 1, "name": name, "favorite": false,
        "serverState": 0, "adminPinState": 0, "virtualDevice": false,
        "state": { "mode": 2, "state": 1, "batteryCritical": false, "batteryCharge": 80,
                   "keypadBatteryCritical": false, "doorState": 2 }
    })
}

impl Respond for FakeNuki {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if self.refusing.load(Ordering::SeqCst) {
            return ResponseTemplate::new(401)
                .set_body_json(json!({ "detailMessage": "Your access token is not authorized" }));
        }
        let path = request.url.path();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (request.method.as_str(), parts.as_slice()) {
            ("GET", ["smartlock"]) => {
                ResponseTemplate::new(200).set_body_json(NUKI_LOCKS.map(|(id, name)| smartlock(id, name)).to_vec())
            }
            ("GET", ["smartlock", id]) => {
                let (id, name) = NUKI_LOCKS.iter().find(|(l, _)| l.to_string() == *id).unwrap();
                ResponseTemplate::new(200).set_body_json(smartlock(*id, name))
            }
            ("PUT", ["smartlock", id, "auth"]) => {
                let body: Value = serde_json::from_slice(&request.body).unwrap();
                self.auths.lock().unwrap().push(json!({
                    "id": format!("{:024x}", Uuid::new_v4().as_u128() & ((1 << 96) - 1)),
                    "smartlockId": id.parse::<u64>().unwrap(), "authId": 3, "type": 13, "name": body["name"],
                    "enabled": true, "remoteAllowed": false, "code": body["code"], "allowedWeekDays": 127,
                    "allowedFromDate": body["allowedFromDate"], "allowedUntilDate": body["allowedUntilDate"],
                    "creationDate": "2026-11-20T08:00:00.000Z" }));
                ResponseTemplate::new(204)
            }
            ("GET", ["smartlock", id, "auth"]) => {
                let auths = self.auths.lock().unwrap();
                let on_lock: Vec<Value> = auths
                    .iter()
                    .filter(|a| a["smartlockId"].as_u64().map(|n| n.to_string()).as_deref() == Some(*id))
                    .cloned()
                    .collect();
                ResponseTemplate::new(200).set_body_json(on_lock)
            }
            ("GET", ["smartlock", _, "log"]) => ResponseTemplate::new(200).set_body_json(json!([])),
            _ => ResponseTemplate::new(404),
        }
    }
}

#[tokio::test]
async fn nuki_refusing_its_token_is_one_alert_naming_every_nuki_lock_and_the_next_answer_brings_it_back() {
    let fake = FakeNuki::default();
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any()).respond_with(fake.clone()).mount(&server).await;
    let app = TestApp::spawn_with(&[
        ("ADMIN_API_TOKEN", TOKEN),
        ("NUKI_API_TOKEN", "nuki-test-token-0123456789"),
        ("NUKI_API_BASE", &server.uri()),
    ])
    .await;
    let (property_id, rooms) = property(&app, "Riverside", &["2", "3"]).await;
    let door = discovered_lock(&app, property_id, Some(rooms[0]), "nuki", "18298712180").await;
    assert_eq!(door["name"], "Apartment 2 door", "the name in the Nuki app");
    assert_eq!(door["provider_account_id"], "api_token");
    discovered_lock(&app, property_id, Some(rooms[1]), "nuki", "18298712181").await;
    add_staff(&app, "Petra", "+421900000501", "manager", &[property_id]).await;

    // The token expires; a guest's code is the first call to hear it.
    fake.refusing.store(true, Ordering::SeqCst);
    app.put("/api/v1/bookings/BK-9201", &stay(property_id, "2", Utc::now() + Duration::days(3))).await;
    app.run_jobs().await;
    let told = account_alerts(&app, "NUKI_API_TOKEN").await;
    assert_eq!(told.len(), 1, "{told:?}");
    let text = &told[0].1;
    assert!(
        text.contains("Apartment 2 door (Riverside)") && text.contains("Apartment 3 door (Riverside)"),
        "every Nuki lock: {text}"
    );
    assert!(text.contains("renew NUKI_API_TOKEN"), "{text}");
    assert!(!text.contains("nuki-test-token-0123456789"), "{text}");
    let locks: Value = app.get("/api/v1/locks").await.json().await.unwrap();
    assert!(locks.as_array().unwrap().iter().all(|l| l["account_state"] == "refused"), "{locks}");

    // Another guest's code waits without a call; nobody is told twice.
    let auth_calls = calls_to(&server, "/smartlock/18298712181/auth").await;
    app.put("/api/v1/bookings/BK-9202", &stay(property_id, "3", Utc::now() + Duration::days(3))).await;
    app.run_jobs_through_retries(4).await;
    assert_eq!(calls_to(&server, "/smartlock/18298712181/auth").await, auth_calls, "not called");
    assert_eq!(account_alerts(&app, "NUKI_API_TOKEN").await.len(), 1);
    let dead: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'dead'").fetch_one(&app.db).await.unwrap();
    assert_eq!(dead, 0, "waiting, not failing");
    for reference in ["BK-9201", "BK-9202"] {
        assert_ne!(codes_of(&app, reference).await[0]["state"], "failed");
    }

    // A new token works: the next answer says so once and the codes go on.
    fake.refusing.store(false, Ordering::SeqCst);
    assert_eq!(app.get("/api/v1/providers/nuki/devices").await.status(), 200);
    app.get("/api/v1/providers/nuki/devices").await;
    app.run_jobs_through_retries(3).await;
    let back = account_alerts(&app, "is back").await;
    assert_eq!(back.len(), 1, "{back:?}");
    assert!(back[0].1.contains("Apartment 3 door (Riverside)"), "{}", back[0].1);
    for reference in ["BK-9201", "BK-9202"] {
        assert_eq!(codes_of(&app, reference).await[0]["state"], "set", "{reference}");
    }
}
