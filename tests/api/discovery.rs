//! Discovery (SPEC §12): a provider account's devices, each with the
//! doorman lock it is mapped to, against mock servers answering in the
//! providers' documented shapes (Nuki `GET /smartlock`, Seam
//! `/devices/list` with its page cursor).

use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{assert_error, id_of, TestApp, TOKEN};

/// One entry of Nuki's `GET /smartlock`, as its swagger's `Smartlock`.
fn smartlock(id: u64, name: &str, server_state: i32, charge: i32, critical: bool) -> Value {
    json!({
        "smartlockId": id, "accountId": 1, "type": 4, "lmType": 0, "authId": 1, "name": name,
        "favorite": false, "serverState": server_state, "adminPinState": 0, "virtualDevice": false,
        "dateCreated": "2026-01-05T09:00:00.000Z", "dateUpdated": "2026-11-30T09:00:00.000Z",
        "state": { "mode": 2, "state": 1, "trigger": 0, "lastAction": 1, "batteryCritical": critical,
                   "batteryCharging": false, "batteryCharge": charge, "keypadBatteryCritical": false,
                   "doorState": 2, "ringToOpenTimer": 0, "nightMode": false }
    })
}

#[tokio::test]
async fn nuki_lists_its_smart_locks_with_the_doorman_lock_each_is() {
    let nuki = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/smartlock"))
        .and(header("Authorization", "Bearer nuki-test-token-0123456789"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            smartlock(18298712180, "Apartment 2 door", 0, 72, false),
            smartlock(18298712999, "Garden gate", 4, 9, true),
        ])))
        .mount(&nuki)
        .await;
    Mock::given(method("GET"))
        .and(path("/smartlock/18298712180"))
        .respond_with(ResponseTemplate::new(200).set_body_json(smartlock(
            18298712180,
            "Apartment 2 door",
            0,
            72,
            false,
        )))
        .mount(&nuki)
        .await;
    let app = TestApp::spawn_with(&[
        ("ADMIN_API_TOKEN", TOKEN),
        ("NUKI_API_TOKEN", "nuki-test-token-0123456789"),
        ("NUKI_API_BASE", &nuki.uri()),
    ])
    .await;
    let fixture = app.seed_property().await;
    let lock = app
        .post(
            "/api/v1/locks",
            &json!({ "property_id": fixture.property_id, "room_id": fixture.rooms["102"], "name": "Door 2",
                     "provider": "nuki", "provider_device_id": "18298712180" }),
        )
        .await;
    assert_eq!(lock.status(), 201);
    let lock_id = id_of(&lock.json().await.unwrap());

    let listed = app.get("/api/v1/providers/nuki/devices").await;
    assert_eq!(listed.status(), 200);
    let devices: Value = listed.json().await.unwrap();
    let devices = devices.as_array().unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0]["name"], "Apartment 2 door", "by name");
    assert_eq!(devices[0]["device_id"], "18298712180");
    assert_eq!(devices[0]["online"], true);
    assert_eq!(devices[0]["battery_percent"], 72);
    assert_eq!(devices[0]["lock"]["id"], lock_id.to_string());
    assert_eq!(devices[0]["lock"]["name"], "Door 2");
    assert_eq!(devices[1]["name"], "Garden gate");
    assert_eq!(devices[1]["online"], false, "serverState 4 is offline");
    assert_eq!(devices[1]["battery_low"], true);
    assert_eq!(devices[1]["lock"], Value::Null, "not set up in doorman yet");
}

/// Seam's "Lock Device" sample, trimmed, with its id and name.
fn seam_device(id: &str, name: &str, online: bool, battery: f64) -> Value {
    json!({
        "device_id": id, "device_type": "schlage_lock", "display_name": name,
        "connected_account_id": "8e3a4f1b-2c7d-4a9e-8b5f-3d2c1a0b9e8f", "capabilities_supported": ["access_code", "lock"],
        "created_at": "2025-03-27T02:08:16.418Z", "errors": [], "warnings": [], "is_managed": true,
        "properties": { "name": name, "online": online, "battery_level": battery,
                        "battery": { "level": battery, "status": "good" },
                        "model": { "display_name": "Encode", "manufacturer_display_name": "Schlage" },
                        "supported_code_lengths": [4, 5, 6, 7, 8] },
        "workspace_id": "5d7f2e1a-9c8b-4f3e-8d2c-1a0b9e8f7c6d"
    })
}

#[tokio::test]
async fn seam_lists_every_page_of_devices() {
    let seam = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/devices/list"))
        .and(body_partial_json(json!({ "page_cursor": "cGFnZTI=" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "devices": [seam_device("b0b0c0c0-0000-4000-8000-000000000002", "Back door", false, 0.2)],
            "pagination": { "has_next_page": false, "next_page_cursor": null, "next_page_url": null },
            "ok": true
        })))
        .with_priority(1)
        .mount(&seam)
        .await;
    Mock::given(method("POST"))
        .and(path("/devices/list"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "devices": [seam_device("a0a0c0c0-0000-4000-8000-000000000001", "Front door", true, 0.48),
                        { "device_type": "odd", "properties": "not an object" }],
            "pagination": { "has_next_page": true, "next_page_cursor": "cGFnZTI=",
                            "next_page_url": "https://connect.getseam.com/devices/list?next_page_cursor=cGFnZTI=" },
            "ok": true
        })))
        .mount(&seam)
        .await;
    let app = TestApp::spawn_with(&[
        ("ADMIN_API_TOKEN", TOKEN),
        ("SEAM_API_KEY", "seam_test_key_0123456789"),
        ("SEAM_API_BASE", &seam.uri()),
    ])
    .await;
    let devices: Value = app.get("/api/v1/providers/seam/devices").await.json().await.unwrap();
    let names: Vec<&str> = devices.as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Back door", "Front door"], "both pages; an unreadable device does not hide the others");
    assert_eq!(devices[1]["battery_percent"], 48);
    assert_eq!(devices[1]["model"], "Encode");
    assert_eq!(devices[1]["code_constraints"]["supported_lengths"], json!([4, 5, 6, 7, 8]));
    assert_eq!(seam.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn discovery_says_what_is_wrong_with_the_provider() {
    let nuki = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/smartlock"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({ "detailMessage": "Your access token is not authorized" })),
        )
        .mount(&nuki)
        .await;
    let app = TestApp::spawn_with(&[
        ("ADMIN_API_TOKEN", TOKEN),
        ("NUKI_API_TOKEN", "nuki-test-token-0123456789"),
        ("NUKI_API_BASE", &nuki.uri()),
    ])
    .await;
    let refused = app.get("/api/v1/providers/nuki/devices").await;
    assert_eq!(refused.status(), 502);
    let body = refused.text().await.unwrap();
    assert!(!body.contains("nuki-test-token-0123456789"), "the token stays out of the answer: {body}");
    assert_error(app.get("/api/v1/providers/seam/devices").await, 409, "provider_not_configured").await;
    assert_error(app.get("/api/v1/providers/august/devices").await, 404, "not_found").await;
}

/// The demo's simulated account lists the devices it simulates.
#[tokio::test]
async fn the_simulated_account_lists_its_devices() {
    let app = TestApp::spawn_with(&[("ADMIN_API_TOKEN", TOKEN)]).await;
    sqlx::query("INSERT INTO simulated_devices (device_id, offline, battery_percent) VALUES ('sim-a', false, 64)")
        .execute(&app.db)
        .await
        .unwrap();
    let devices: Value = app.get("/api/v1/providers/simulated/devices").await.json().await.unwrap();
    assert_eq!(devices[0]["device_id"], "sim-a");
    assert_eq!(devices[0]["battery_percent"], 64);
    assert_eq!(devices[0]["lock"], Value::Null);
}
