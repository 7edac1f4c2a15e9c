//! The Seam client against a mock Seam answering in the shapes of Seam's
//! OpenAPI spec and docs, and the Svix webhook verifier. No database.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use doorman::lock_providers::seam::{verify_webhook, SeamClient, WebhookError};
use doorman::lock_providers::{
    CodeRequest, Created, Device, DeviceCodeStatus, DeviceConstraints, LockProvider, ProviderError,
};
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use serde_json::{json, Value};
use sha2::Sha256;
use uuid::Uuid;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "seam_test1234_abcdefghijklmnopqrstuvwx";
const DEVICE_ID: &str = "a69569e1-133b-4a9d-b883-018641bfe543";
const CODE_ID: &str = "e9cf6dd6-89aa-477f-a701-c08f3de13c1f";
const CODE: &str = "482913";

fn client(server: &MockServer) -> SeamClient {
    SeamClient::new(&server.uri(), SecretString::from(KEY))
}

fn device(device_id: &str) -> Device {
    Device { lock_id: Uuid::new_v4(), device_id: device_id.to_owned() }
}

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap().with_timezone(&Utc)
}

fn request(valid_until: Option<DateTime<Utc>>) -> CodeRequest {
    CodeRequest {
        code_id: Uuid::new_v4(),
        name: "BK-10234-1a2b3c4d".to_owned(),
        code: CODE.to_owned(),
        valid_from: at("2025-07-02T14:00:00Z"),
        valid_until,
    }
}

/// An access code as Seam's docs show it (access_codes/list.md).
fn access_code(status: &str, errors: Value) -> Value {
    json!({
        "access_code_id": CODE_ID, "code": CODE, "common_code_key": null,
        "created_at": "2025-06-14T16:54:17.946242Z", "device_id": DEVICE_ID,
        "ends_at": "2025-07-04T10:00:00.000Z", "errors": errors, "is_backup": false,
        "is_backup_access_code_available": false, "is_external_modification_allowed": false,
        "is_managed": true, "is_offline_access_code": false, "is_one_time_use": false,
        "is_scheduled_on_device": true, "is_waiting_for_code_assignment": false,
        "name": "BK-10234-1a2b3c4d", "pulled_backup_access_code_id": null,
        "starts_at": "2025-07-02T14:00:00.000Z", "status": status, "type": "time_bound",
        "warnings": [], "workspace_id": "750fc0bc-4450-4356-8d9f-18c6a3a6b2c7"
    })
}

fn action_attempt(action_type: &str) -> Value {
    json!({ "action_attempt_id": "4c2f5f04-8e0a-4c5b-9f6e-2d0c1b7a9e31", "action_type": action_type,
            "status": "pending", "result": null, "error": null })
}

/// The "Lock Device" sample of Seam's docs, with `properties` merged in.
fn lock_device(properties: Value) -> Value {
    let mut device = json!({
        "can_program_online_access_codes": true, "can_remotely_lock": true, "can_remotely_unlock": true,
        "capabilities_supported": ["access_code", "lock"],
        "connected_account_id": "8e3a4f1b-2c7d-4a9e-8b5f-3d2c1a0b9e8f",
        "created_at": "2025-03-27T02:08:16.418Z", "space_ids": [], "custom_metadata": {"id": "internalId1"},
        "device_id": DEVICE_ID, "device_type": "schlage_lock",
        "display_name": "FRONT DOOR", "errors": [], "is_managed": true,
        "location": {"location_name": "Front Door", "timezone": "America/New_York"}, "nickname": "Front Door",
        "properties": {
            "appearance": {"name": "FRONT DOOR"},
            "battery": {"level": 0.48, "status": "good"}, "battery_level": 0.48,
            "code_constraints": [{"constraint_type": "name_length", "max_length": 9}],
            "has_native_entry_events": true, "locked": false, "manufacturer": "schlage",
            "model": {"accessory_keypad_supported": false, "can_connect_accessory_keypad": false,
                      "display_name": "Encode", "has_built_in_keypad": true, "manufacturer_display_name": "Schlage",
                      "offline_access_codes_supported": false, "online_access_codes_supported": true},
            "name": "FRONT DOOR", "offline_access_codes_enabled": false, "online": true,
            "online_access_codes_enabled": true, "serial_number": "34000000000531e0",
            "supported_code_lengths": [4, 5, 6, 7, 8],
            "supports_backup_access_code_pool": true, "supports_offline_access_codes": false },
        "warnings": [], "workspace_id": "5d7f2e1a-9c8b-4f3e-8d2c-1a0b9e8f7c6d"
    });
    if let (Some(target), Some(extra)) = (device["properties"].as_object_mut(), properties.as_object()) {
        target.extend(extra.clone());
    }
    json!({ "device": device, "ok": true })
}

async fn mount(server: &MockServer, route: &str, status: u16, body: Value) {
    Mock::given(method("POST"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

async fn requests_to(server: &MockServer, route: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == route)
        .map(|r| r.body_json().unwrap())
        .collect()
}

#[tokio::test]
async fn create_is_accepted_while_setting_then_list_shows_set() {
    let seam = MockServer::start().await;
    mount(&seam, "/devices/get", 200, lock_device(json!({ "supports_backup_access_code_pool": false }))).await;
    Mock::given(method("POST"))
        .and(path("/access_codes/create"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "device_id": DEVICE_ID, "name": "BK-10234-1a2b3c4d", "code": CODE,
            "starts_at": "2025-07-02T14:00:00Z", "ends_at": "2025-07-04T10:00:00Z"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_code": access_code("setting", json!([])),
            "action_attempt": action_attempt("CREATE_ACCESS_CODE"), "ok": true
        })))
        .expect(1)
        .mount(&seam)
        .await;
    Mock::given(method("POST"))
        .and(path("/access_codes/list"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(body_json(json!({ "device_id": DEVICE_ID })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_codes": [access_code("set", json!([]))],
            "pagination": { "has_next_page": false, "next_page_cursor": null, "next_page_url": null }, "ok": true
        })))
        .mount(&seam)
        .await;
    let seam_client = client(&seam);

    let created =
        seam_client.create_code(&device(DEVICE_ID), &request(Some(at("2025-07-04T10:00:00Z")))).await.unwrap();
    assert_eq!(created, Created::Accepted { provider_ref: Some(CODE_ID.to_owned()) });

    let codes = seam_client.list_codes(&device(DEVICE_ID)).await.unwrap();
    assert_eq!(codes.len(), 1);
    assert_eq!(codes[0].provider_ref, CODE_ID);
    assert_eq!(codes[0].name, "BK-10234-1a2b3c4d");
    assert_eq!(codes[0].code.as_deref(), Some(CODE));
    assert_eq!(codes[0].valid_from, Some(at("2025-07-02T14:00:00Z")));
    assert_eq!(codes[0].valid_until, Some(at("2025-07-04T10:00:00Z")));
    assert_eq!(codes[0].status, DeviceCodeStatus::Set);
}

#[tokio::test]
async fn create_answered_set_is_set() {
    let seam = MockServer::start().await;
    mount(&seam, "/devices/get", 200, lock_device(json!({ "supports_backup_access_code_pool": false }))).await;
    // The docs' example answer: no action_attempt.
    mount(&seam, "/access_codes/create", 200, json!({ "access_code": access_code("set", json!([])) })).await;

    let created =
        client(&seam).create_code(&device(DEVICE_ID), &request(Some(at("2025-07-04T10:00:00Z")))).await.unwrap();

    assert_eq!(created, Created::Set { provider_ref: CODE_ID.to_owned() });
}

#[tokio::test]
async fn a_persistent_code_is_created_ongoing_without_times_or_pool() {
    let seam = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/devices/get"))
        .respond_with(ResponseTemplate::new(200).set_body_json(lock_device(json!({}))))
        .expect(0)
        .mount(&seam)
        .await;
    let mut ongoing = access_code("setting", json!([]));
    ongoing["type"] = json!("ongoing");
    mount(&seam, "/access_codes/create", 200, json!({ "access_code": ongoing, "ok": true })).await;

    let created = client(&seam).create_code(&device(DEVICE_ID), &request(None)).await.unwrap();

    assert_eq!(created, Created::Accepted { provider_ref: Some(CODE_ID.to_owned()) });
    let bodies = requests_to(&seam, "/access_codes/create").await;
    assert_eq!(bodies, vec![json!({ "device_id": DEVICE_ID, "name": "BK-10234-1a2b3c4d", "code": CODE })]);
}

#[tokio::test]
async fn device_status_reads_battery_constraints_and_pool_then_create_asks_for_the_pool() {
    let seam = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/devices/get"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(body_json(json!({ "device_id": DEVICE_ID })))
        .respond_with(ResponseTemplate::new(200).set_body_json(lock_device(json!({
            "code_constraints": [
                { "constraint_type": "no_zeros" }, { "constraint_type": "cannot_start_with_12" },
                { "constraint_type": "no_triple_consecutive_ints" }, { "constraint_type": "a_future_constraint" },
                { "constraint_type": "name_length", "max_length": 9 }
            ],
            "max_active_codes_supported": 250,
            "keypad_battery": { "level": 0.1 }
        }))))
        .expect(1)
        .mount(&seam)
        .await;
    mount(&seam, "/access_codes/create", 200, json!({ "access_code": access_code("unset", json!([])), "ok": true }))
        .await;
    let seam_client = client(&seam);

    let status = seam_client.device_status(&device(DEVICE_ID)).await.unwrap();
    assert!(status.online);
    assert_eq!(status.battery_percent, Some(48));
    assert!(!status.battery_low);
    assert_eq!(status.keypad_battery_low, Some(true));
    assert_eq!(
        status.constraints,
        Some(DeviceConstraints {
            supported_lengths: vec![4, 5, 6, 7, 8],
            min_length: Some(4),
            max_length: Some(8),
            no_zeros: true,
            forbidden_prefixes: vec!["12".to_owned()],
            max_active_codes: Some(250),
            backup_pool: true,
        })
    );

    // The pool is known from device_status: no second /devices/get.
    let created =
        seam_client.create_code(&device(DEVICE_ID), &request(Some(at("2025-07-04T10:00:00Z")))).await.unwrap();
    assert_eq!(created, Created::Accepted { provider_ref: Some(CODE_ID.to_owned()) });
    let bodies = requests_to(&seam, "/access_codes/create").await;
    assert_eq!(bodies[0]["use_backup_access_code_pool"], json!(true));
}

#[tokio::test]
async fn create_learns_the_pool_from_the_device_when_unknown() {
    let seam = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/devices/get"))
        .and(body_json(json!({ "device_id": DEVICE_ID })))
        .respond_with(ResponseTemplate::new(200).set_body_json(lock_device(json!({}))))
        .expect(1)
        .mount(&seam)
        .await;
    mount(&seam, "/access_codes/create", 200, json!({ "access_code": access_code("setting", json!([])), "ok": true }))
        .await;
    let seam_client = client(&seam);

    for _ in 0..2 {
        seam_client.create_code(&device(DEVICE_ID), &request(Some(at("2025-07-04T10:00:00Z")))).await.unwrap();
    }

    let bodies = requests_to(&seam, "/access_codes/create").await;
    assert_eq!(bodies.len(), 2);
    assert!(bodies.iter().all(|b| b["use_backup_access_code_pool"] == json!(true)));
}

#[tokio::test]
async fn create_goes_ahead_without_the_pool_when_the_device_cannot_be_read() {
    let seam = MockServer::start().await;
    mount(&seam, "/devices/get", 503, json!({ "error": { "type": "internal_server_error", "message": "down" } })).await;
    mount(&seam, "/access_codes/create", 200, json!({ "access_code": access_code("setting", json!([])), "ok": true }))
        .await;

    client(&seam).create_code(&device(DEVICE_ID), &request(Some(at("2025-07-04T10:00:00Z")))).await.unwrap();

    let bodies = requests_to(&seam, "/access_codes/create").await;
    assert_eq!(bodies[0].get("use_backup_access_code_pool"), None);
}

#[tokio::test]
async fn an_offline_device_with_a_low_battery_is_reported() {
    let seam = MockServer::start().await;
    let mut answer = lock_device(json!({
        "online": false, "battery_level": 0.126, "battery": { "level": 0.126, "status": "critical" },
        "supports_backup_access_code_pool": false
    }));
    answer["device"]["warnings"] = json!([
        { "warning_code": "accessory_keypad_low_battery", "message": "Keypad battery low",
          "created_at": "2025-03-27T02:08:16.418Z" },
        { "warning_code": "a_warning_from_the_future", "message": "?", "created_at": "2025-03-27T02:08:16.418Z" }
    ]);
    mount(&seam, "/devices/get", 200, answer).await;

    let status = client(&seam).device_status(&device(DEVICE_ID)).await.unwrap();

    assert!(!status.online);
    assert_eq!(status.battery_percent, Some(13));
    assert!(status.battery_low);
    assert_eq!(status.keypad_battery_low, Some(true));
    let constraints = status.constraints.unwrap();
    assert!(!constraints.backup_pool);
    assert!(!constraints.no_zeros);
    assert_eq!(constraints.max_active_codes, None);
}

#[tokio::test]
async fn an_unknown_device_is_permanent() {
    let seam = MockServer::start().await;
    mount(
        &seam,
        "/devices/get",
        404,
        json!({ "error": { "type": "device_not_found", "message": "Device not found" }, "ok": false }),
    )
    .await;

    let error = client(&seam).device_status(&device(DEVICE_ID)).await.unwrap_err();

    assert!(matches!(&error, ProviderError::Permanent(m) if m.contains("device_not_found")), "{error}");
}

#[tokio::test]
async fn codes_that_will_not_get_on_the_lock_are_failed() {
    let seam = MockServer::start().await;
    let with_id = |id: &str, mut code: Value| {
        code["access_code_id"] = json!(id);
        code
    };
    mount(
        &seam,
        "/access_codes/list",
        200,
        json!({ "access_codes": [
            with_id("c1", access_code("setting", json!([{ "error_code": "failed_to_set_on_device",
                "message": "Failed to set code 482913 on device.", "is_access_code_error": true,
                "created_at": "2025-06-14T16:55:00.000Z" }]))),
            with_id("c2", access_code("setting", json!([{ "error_code": "duplicate_code_on_device",
                "message": "Duplicate access code detected on device", "is_access_code_error": true,
                "managed_access_code_id": "5d8a1c7e-0f3b-4e2a-9c6d-7b1e0a3f2d4c" }]))),
            with_id("c3", access_code("setting", json!([{ "error_code": "device_offline",
                "message": "Device is offline", "is_device_error": true, "created_at": "2025-06-14T16:55:00.000Z" }]))),
            with_id("c4", access_code("removing", json!([]))),
            with_id("c5", access_code("unknown", json!([]))),
            with_id("c6", access_code("a_status_from_the_future", json!([{ "error_code": "an_error_from_the_future", "message": "?" }]))),
        ], "ok": true }),
    )
    .await;

    let codes = client(&seam).list_codes(&device(DEVICE_ID)).await.unwrap();

    let statuses: Vec<_> = codes.iter().map(|c| (c.provider_ref.as_str(), c.status.clone())).collect();
    assert_eq!(
        statuses,
        vec![
            ("c1", DeviceCodeStatus::Failed("failed_to_set_on_device: Failed to set code •••• on device.".into())),
            (
                "c2",
                DeviceCodeStatus::Failed("duplicate_code_on_device: Duplicate access code detected on device".into())
            ),
            ("c3", DeviceCodeStatus::Setting),
            ("c4", DeviceCodeStatus::Removing),
            ("c5", DeviceCodeStatus::Setting),
            ("c6", DeviceCodeStatus::Setting),
        ]
    );
}

#[tokio::test]
async fn list_follows_the_page_cursor() {
    let seam = MockServer::start().await;
    let mut second = access_code("set", json!([]));
    second["access_code_id"] = json!("second-page-code");
    Mock::given(method("POST"))
        .and(path("/access_codes/list"))
        .and(body_json(json!({ "device_id": DEVICE_ID })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_codes": [access_code("set", json!([]))],
            "pagination": { "has_next_page": true, "next_page_cursor": "cursor-2",
                            "next_page_url": "https://connect.getseam.com/access_codes/list?page_cursor=cursor-2" },
            "ok": true
        })))
        .expect(1)
        .mount(&seam)
        .await;
    Mock::given(method("POST"))
        .and(path("/access_codes/list"))
        .and(body_json(json!({ "device_id": DEVICE_ID, "page_cursor": "cursor-2" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_codes": [second],
            "pagination": { "has_next_page": false, "next_page_cursor": null, "next_page_url": null }, "ok": true
        })))
        .expect(1)
        .mount(&seam)
        .await;

    let codes = client(&seam).list_codes(&device(DEVICE_ID)).await.unwrap();

    let ids: Vec<_> = codes.iter().map(|c| c.provider_ref.as_str()).collect();
    assert_eq!(ids, vec![CODE_ID, "second-page-code"]);
}

#[tokio::test]
async fn update_and_delete_send_the_documented_bodies() {
    let seam = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/access_codes/update"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(body_json(json!({
            "access_code_id": CODE_ID, "name": "BK-10234-1a2b3c4d",
            "starts_at": "2025-07-02T14:00:00Z", "ends_at": "2025-07-05T10:00:00Z"
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "action_attempt": action_attempt("UPDATE_ACCESS_CODE"), "ok": true })),
        )
        .expect(1)
        .mount(&seam)
        .await;
    Mock::given(method("POST"))
        .and(path("/access_codes/delete"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(body_json(json!({ "access_code_id": CODE_ID })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "action_attempt": action_attempt("DELETE_ACCESS_CODE"), "ok": true })),
        )
        .expect(1)
        .mount(&seam)
        .await;
    let seam_client = client(&seam);

    seam_client.update_code(&device(DEVICE_ID), CODE_ID, &request(Some(at("2025-07-05T10:00:00Z")))).await.unwrap();
    seam_client.remove_code(&device(DEVICE_ID), CODE_ID).await.unwrap();
}

#[tokio::test]
async fn deleting_a_code_seam_no_longer_has_is_done_but_a_bare_404_is_not() {
    let seam = MockServer::start().await;
    mount(
        &seam,
        "/access_codes/delete",
        404,
        json!({ "error": { "type": "access_code_not_found",
            "message": "Could not find an access_code with device_id or access_code_id",
            "data": { "device_id": null, "access_code_id": CODE_ID } }, "ok": false }),
    )
    .await;
    client(&seam).remove_code(&device(DEVICE_ID), CODE_ID).await.unwrap();

    // Nothing mounted: wiremock's 404 without Seam's error type.
    let nowhere = MockServer::start().await;
    let error = client(&nowhere).remove_code(&device(DEVICE_ID), CODE_ID).await.unwrap_err();
    assert!(matches!(error, ProviderError::Permanent(_)), "{error}");
}

#[tokio::test]
async fn seam_429_is_rate_limited_with_its_retry_after() {
    let seam = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/access_codes/update"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "17")
                .set_body_json(json!({ "error": { "type": "rate_limited", "message": "Too many requests" } })),
        )
        .mount(&seam)
        .await;
    mount(&seam, "/access_codes/delete", 429, json!({})).await;
    let seam_client = client(&seam);

    let error = seam_client.update_code(&device(DEVICE_ID), CODE_ID, &request(None)).await.unwrap_err();
    assert!(matches!(error, ProviderError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(17)));

    let error = seam_client.remove_code(&device(DEVICE_ID), CODE_ID).await.unwrap_err();
    assert!(matches!(error, ProviderError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(60)));
}

#[tokio::test]
async fn the_eleventh_create_on_a_device_within_a_minute_is_limited_without_calling_seam() {
    let seam = MockServer::start().await;
    mount(&seam, "/devices/get", 200, lock_device(json!({ "supports_backup_access_code_pool": false }))).await;
    mount(&seam, "/access_codes/create", 200, json!({ "access_code": access_code("setting", json!([])), "ok": true }))
        .await;
    let seam_client = client(&seam);
    let code = request(Some(at("2025-07-04T10:00:00Z")));

    for _ in 0..10 {
        seam_client.create_code(&device(DEVICE_ID), &code).await.unwrap();
    }
    let error = seam_client.create_code(&device(DEVICE_ID), &code).await.unwrap_err();

    let ProviderError::RateLimited { retry_after, message } = error else { panic!("not rate limited: {error}") };
    assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(60), "{retry_after:?}");
    assert!(!message.contains(CODE));
    assert_eq!(requests_to(&seam, "/access_codes/create").await.len(), 10);

    seam_client.create_code(&device("another-device"), &code).await.unwrap();
    assert_eq!(requests_to(&seam, "/access_codes/create").await.len(), 11);
}

#[tokio::test]
async fn server_errors_are_retryable() {
    let seam = MockServer::start().await;
    mount(&seam, "/access_codes/list", 500, json!({ "error": { "type": "internal_server_error", "message": "Oops" } }))
        .await;
    Mock::given(method("POST")).and(path("/devices/get")).respond_with(ResponseTemplate::new(503)).mount(&seam).await;
    let seam_client = client(&seam);

    assert!(matches!(seam_client.list_codes(&device(DEVICE_ID)).await, Err(ProviderError::Retryable(_))));
    assert!(matches!(seam_client.device_status(&device(DEVICE_ID)).await, Err(ProviderError::Retryable(_))));
}

#[tokio::test]
async fn an_unauthorized_key_is_permanent_and_never_named() {
    let seam = MockServer::start().await;
    mount(
        &seam,
        "/access_codes/create",
        401,
        json!({ "error": { "type": "unauthorized", "message": "API Key not found" } }),
    )
    .await;
    mount(&seam, "/devices/get", 401, json!({ "error": { "type": "unauthorized", "message": "API Key not found" } }))
        .await;

    let error =
        client(&seam).create_code(&device(DEVICE_ID), &request(Some(at("2025-07-04T10:00:00Z")))).await.unwrap_err();

    let ProviderError::Permanent(message) = &error else { panic!("not permanent: {error}") };
    assert!(message.contains("SEAM_API_KEY"), "{message}");
    assert!(!message.contains(KEY) && !message.contains(CODE), "{message}");
}

#[tokio::test]
async fn a_refused_code_is_permanent_with_seams_reason_but_not_the_code() {
    let seam = MockServer::start().await;
    mount(&seam, "/devices/get", 200, lock_device(json!({ "supports_backup_access_code_pool": false }))).await;
    mount(
        &seam,
        "/access_codes/create",
        400,
        json!({ "error": { "type": "invalid_input", "message": "Code 482913 is not a supported length",
            "validation_errors": { "code": { "_errors": ["Invalid code 482913"] }, "_errors": [] } }, "ok": false }),
    )
    .await;

    let error =
        client(&seam).create_code(&device(DEVICE_ID), &request(Some(at("2025-07-04T10:00:00Z")))).await.unwrap_err();

    let ProviderError::Permanent(message) = &error else { panic!("not permanent: {error}") };
    assert!(message.contains("invalid_input: Code •••• is not a supported length"), "{message}");
    assert!(!message.contains(CODE), "{message}");
}

#[tokio::test]
async fn a_slow_seam_is_retryable() {
    let seam = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/access_codes/list"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "access_codes": [] })).set_delay(Duration::from_secs(5)),
        )
        .mount(&seam)
        .await;
    let seam_client = SeamClient::with_timeouts(
        &seam.uri(),
        SecretString::from(KEY),
        Duration::from_millis(200),
        Duration::from_millis(200),
    );

    let error = seam_client.list_codes(&device(DEVICE_ID)).await.unwrap_err();

    assert!(matches!(&error, ProviderError::Retryable(m) if m.contains("in time")), "{error}");
}

#[tokio::test]
async fn usage_keeps_unlocks_with_a_code_oldest_first() {
    let seam = MockServer::start().await;
    let unlock = |event_id: &str, access_code_id: Option<&str>, occurred_at: &str| {
        let mut event = json!({
            "access_code_id": access_code_id, "access_code_is_managed": true,
            "connected_account_custom_metadata": {}, "connected_account_id": "8e3a4f1b-2c7d-4a9e-8b5f-3d2c1a0b9e8f",
            "created_at": occurred_at, "customer_key": "", "device_custom_metadata": {},
            "device_id": DEVICE_ID, "event_id": event_id, "event_type": "lock.unlocked",
            "is_via_bluetooth": false, "is_via_nfc": false, "method": "keycode",
            "occurred_at": occurred_at, "workspace_id": "5d7f2e1a-9c8b-4f3e-8d2c-1a0b9e8f7c6d"
        });
        if access_code_id.is_none() {
            event.as_object_mut().unwrap().remove("access_code_id");
            event["method"] = json!("manual");
        }
        event
    };
    Mock::given(method("POST"))
        .and(path("/events/list"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(body_json(json!({
            "device_id": DEVICE_ID, "event_type": "lock.unlocked", "since": "2025-07-02T00:00:00.000Z"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "events": [
            unlock("ev-3", Some(CODE_ID), "2025-07-03T09:00:00.000Z"),
            unlock("ev-2", None, "2025-07-02T20:00:00.000Z"),
            unlock("ev-1", Some(CODE_ID), "2025-07-02T16:30:00.000Z"),
            { "event_id": "ev-odd", "event_type": "lock.unlocked" },
        ], "ok": true })))
        .expect(1)
        .mount(&seam)
        .await;

    let events = client(&seam).usage_since(&device(DEVICE_ID), at("2025-07-02T00:00:00Z")).await.unwrap();

    let seen: Vec<_> = events.iter().map(|e| (e.event_id.as_str(), e.provider_ref.as_deref(), e.occurred_at)).collect();
    assert_eq!(
        seen,
        vec![("ev-1", Some(CODE_ID), at("2025-07-02T16:30:00Z")), ("ev-3", Some(CODE_ID), at("2025-07-03T09:00:00Z")),]
    );
}

#[tokio::test]
async fn a_backup_code_is_pulled() {
    let seam = MockServer::start().await;
    let mut backup = access_code("set", json!([]));
    backup["access_code_id"] = json!("9a1d0c3e-2b4f-4e6a-8c7d-5f3b1e0a2d4c");
    backup["code"] = json!("730148");
    backup["is_backup"] = json!(true);
    Mock::given(method("POST"))
        .and(path("/access_codes/pull_backup_access_code"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(body_json(json!({ "access_code_id": CODE_ID })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "backup_access_code": backup, "ok": true })))
        .expect(1)
        .mount(&seam)
        .await;

    let pulled = client(&seam).pull_backup_code(&device(DEVICE_ID), CODE_ID).await.unwrap().unwrap();

    assert_eq!(pulled.provider_ref, "9a1d0c3e-2b4f-4e6a-8c7d-5f3b1e0a2d4c");
    assert_eq!(pulled.code, "730148");
}

#[tokio::test]
async fn no_backup_to_pull_is_none() {
    let seam = MockServer::start().await;
    mount(
        &seam,
        "/access_codes/pull_backup_access_code",
        404,
        json!({ "error": { "type": "backup_access_code_not_found", "message": "Backup access code not found" } }),
    )
    .await;
    assert!(client(&seam).pull_backup_code(&device(DEVICE_ID), CODE_ID).await.unwrap().is_none());

    // A device known to have no pool is not asked at all.
    let no_pool = MockServer::start().await;
    mount(&no_pool, "/devices/get", 200, lock_device(json!({ "supports_backup_access_code_pool": false }))).await;
    let seam_client = client(&no_pool);
    seam_client.device_status(&device(DEVICE_ID)).await.unwrap();
    assert!(seam_client.pull_backup_code(&device(DEVICE_ID), CODE_ID).await.unwrap().is_none());
    assert!(requests_to(&no_pool, "/access_codes/pull_backup_access_code").await.is_empty());
}

// Webhooks, signed here as Svix signs them.

const WEBHOOK_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const SENT_AT: i64 = 1_751_464_800;

fn sign(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = BASE64.decode(secret.trim_start_matches("whsec_")).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

fn set_on_device_event() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "access_code_id": CODE_ID, "code": CODE, "connected_account_id": "8e3a4f1b-2c7d-4a9e-8b5f-3d2c1a0b9e8f",
        "created_at": "2025-07-02T14:00:01.000Z", "device_id": DEVICE_ID,
        "event_id": "f2b7c0de-3a1e-4d5b-9c8f-6e2a1b0d3c4e", "event_type": "access_code.set_on_device",
        "occurred_at": "2025-07-02T14:00:00.000Z", "workspace_id": "5d7f2e1a-9c8b-4f3e-8d2c-1a0b9e8f7c6d"
    }))
    .unwrap()
}

fn headers(prefix: &str, signature: &str, timestamp: i64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        axum::http::HeaderName::try_from(format!("{prefix}-id")).unwrap(),
        HeaderValue::from_static("msg_2xYzAbCdEfGh"),
    );
    headers.insert(
        axum::http::HeaderName::try_from(format!("{prefix}-timestamp")).unwrap(),
        HeaderValue::from_str(&timestamp.to_string()).unwrap(),
    );
    headers.insert(
        axum::http::HeaderName::try_from(format!("{prefix}-signature")).unwrap(),
        HeaderValue::from_str(signature).unwrap(),
    );
    headers
}

fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(SENT_AT + 30, 0).unwrap()
}

#[test]
fn a_signed_webhook_is_accepted_with_either_header_prefix() {
    let body = set_on_device_event();
    let good = sign(WEBHOOK_SECRET, "msg_2xYzAbCdEfGh", &SENT_AT.to_string(), &body);
    // Svix lists one signature per active secret, during rotation several.
    let signatures = format!("v1,c29tZXRoaW5nIGVsc2U= v1a,ignored {good}");

    for prefix in ["svix", "webhook"] {
        let event = verify_webhook(WEBHOOK_SECRET, &headers(prefix, &signatures, SENT_AT), &body, now()).unwrap();
        assert_eq!(event.event_id, "f2b7c0de-3a1e-4d5b-9c8f-6e2a1b0d3c4e");
        assert_eq!(event.event_type, "access_code.set_on_device");
        assert_eq!(event.device_id.as_deref(), Some(DEVICE_ID));
        assert_eq!(event.access_code_id.as_deref(), Some(CODE_ID));
        assert_eq!(event.occurred_at, at("2025-07-02T14:00:00Z"));
    }
}

#[test]
fn a_tampered_body_is_rejected() {
    let body = set_on_device_event();
    let signature = sign(WEBHOOK_SECRET, "msg_2xYzAbCdEfGh", &SENT_AT.to_string(), &body);
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");

    let result = verify_webhook(WEBHOOK_SECRET, &headers("svix", &signature, SENT_AT), &tampered, now());

    assert_eq!(result.unwrap_err(), WebhookError::BadSignature);
}

#[test]
fn a_webhook_signed_with_another_secret_is_rejected() {
    let body = set_on_device_event();
    let signature = sign("whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==", "msg_2xYzAbCdEfGh", &SENT_AT.to_string(), &body);

    let result = verify_webhook(WEBHOOK_SECRET, &headers("svix", &signature, SENT_AT), &body, now());

    assert_eq!(result.unwrap_err(), WebhookError::BadSignature);
}

#[test]
fn a_stale_or_future_webhook_is_rejected() {
    let body = set_on_device_event();
    for sent_at in [SENT_AT - 301, SENT_AT + 331] {
        let signature = sign(WEBHOOK_SECRET, "msg_2xYzAbCdEfGh", &sent_at.to_string(), &body);
        let result = verify_webhook(WEBHOOK_SECRET, &headers("svix", &signature, sent_at), &body, now());
        assert_eq!(result.unwrap_err(), WebhookError::StaleTimestamp);
    }
}

#[test]
fn a_webhook_without_its_headers_is_rejected() {
    let body = set_on_device_event();
    let signature = sign(WEBHOOK_SECRET, "msg_2xYzAbCdEfGh", &SENT_AT.to_string(), &body);
    for missing in ["svix-id", "svix-timestamp", "svix-signature"] {
        let mut partial = headers("svix", &signature, SENT_AT);
        partial.remove(missing);
        let result = verify_webhook(WEBHOOK_SECRET, &partial, &body, now());
        assert_eq!(result.unwrap_err(), WebhookError::MissingHeader(missing));
    }
    let result = verify_webhook(WEBHOOK_SECRET, &HeaderMap::new(), &body, now());
    assert!(matches!(result, Err(WebhookError::MissingHeader(_))));
}

#[test]
fn a_malformed_secret_or_timestamp_is_rejected_without_panicking() {
    let body = set_on_device_event();
    let signature = sign(WEBHOOK_SECRET, "msg_2xYzAbCdEfGh", &SENT_AT.to_string(), &body);
    let result = verify_webhook("whsec_not base64!", &headers("svix", &signature, SENT_AT), &body, now());
    assert_eq!(result.unwrap_err(), WebhookError::BadSecret);

    let mut odd = headers("svix", &signature, SENT_AT);
    odd.insert("svix-timestamp", HeaderValue::from_static("-9223372036854775808"));
    assert_eq!(verify_webhook(WEBHOOK_SECRET, &odd, &body, now()).unwrap_err(), WebhookError::StaleTimestamp);
    odd.insert("svix-timestamp", HeaderValue::from_static("yesterday"));
    assert_eq!(verify_webhook(WEBHOOK_SECRET, &odd, &body, now()).unwrap_err(), WebhookError::BadTimestamp);
}
