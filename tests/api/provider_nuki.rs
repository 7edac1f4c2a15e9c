//! The Nuki Web API client against a mock server answering in the shapes of
//! Nuki's swagger and the forum's examples: the requests it sends (paths,
//! Bearer token, JSON bodies) and what it makes of each answer. No database.

use std::time::Duration;

use chrono::{DateTime, Utc};
use doorman::lock_providers::nuki::NukiClient;
use doorman::lock_providers::{
    CodeRequest, Created, Device, DeviceCodeStatus, DeviceConstraints, LockProvider, ProviderError,
};
use secrecy::SecretString;
use serde_json::{json, Value};
use uuid::Uuid;
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const NUKI_TOKEN: &str = "nuki-test-token-5f1c0e9a7b2d4c68";
const BEARER: &str = "Bearer nuki-test-token-5f1c0e9a7b2d4c68";
const SMARTLOCK: &str = "18298712180";
const AUTHS: &str = "/smartlock/18298712180/auth";
const AUTH_ID: &str = "65219648fe57075d71a6cb01";
const ONE_AUTH: &str = "/smartlock/18298712180/auth/65219648fe57075d71a6cb01";

async fn nuki() -> (MockServer, NukiClient) {
    let server = MockServer::start().await;
    let client = NukiClient::new(&server.uri(), SecretString::from(NUKI_TOKEN));
    (server, client)
}

fn device() -> Device {
    Device { lock_id: Uuid::new_v4(), device_id: SMARTLOCK.into() }
}

fn at(date: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(date).unwrap().with_timezone(&Utc)
}

fn request(name: &str, code: &str) -> CodeRequest {
    CodeRequest {
        code_id: Uuid::new_v4(),
        name: name.into(),
        code: code.into(),
        valid_from: at("2023-08-01T11:00:00+02:00"),
        valid_until: Some(at("2023-08-03T20:00:00Z")),
    }
}

/// The research file's `SmartlockAuth` example, with another name.
fn keypad_auth(name: &str) -> Value {
    json!({
        "id": AUTH_ID,
        "smartlockId": 18298712180_i64,
        "authId": 1,
        "code": 982345,
        "type": 13,
        "name": name,
        "enabled": true,
        "remoteAllowed": false,
        "lockCount": 0,
        "allowedFromDate": "2023-08-01T09:00:00.000Z",
        "allowedUntilDate": "2023-08-03T20:00:00.000Z",
        "allowedWeekDays": 127,
        "allowedFromTime": 0,
        "allowedUntilTime": 0,
        "lastActiveDate": "2023-08-02T10:11:12.000Z",
        "creationDate": "2023-07-30T08:00:00.000Z",
        "updateDate": "2023-07-30T08:00:05.000Z"
    })
}

async fn lists(server: &MockServer, auths: Value) {
    Mock::given(method("GET"))
        .and(path(AUTHS))
        .and(header("Authorization", BEARER))
        .respond_with(ResponseTemplate::new(200).set_body_json(auths))
        .mount(server)
        .await;
}

async fn answers(server: &MockServer, verb: &str, at_path: &str, response: ResponseTemplate) {
    Mock::given(method(verb)).and(path(at_path)).respond_with(response).mount(server).await;
}

#[tokio::test]
async fn nuki_create_answers_204_then_the_code_shows_up_in_the_list() {
    let (server, nuki) = nuki().await;
    let expected = json!({
        "name": "BK-1-0a1b2c3d",
        "type": 13,
        "code": 982345,
        "allowedFromDate": "2023-08-01T09:00:00.000Z",
        "allowedUntilDate": "2023-08-03T20:00:00.000Z",
        "allowedWeekDays": 127,
        "remoteAllowed": false
    });
    Mock::given(method("PUT"))
        .and(path(AUTHS))
        .and(header("Authorization", BEARER))
        .and(header("Content-Type", "application/json"))
        .and(body_json(expected))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    // The lock syncs later: the first listing does not have it yet.
    Mock::given(method("GET"))
        .and(path(AUTHS))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    lists(&server, json!([keypad_auth("BK-1-0a1b2c3d")])).await;

    let created = nuki.create_code(&device(), &request("BK-1-0a1b2c3d", "982345")).await.unwrap();
    assert_eq!(created, Created::Accepted { provider_ref: None });
    assert!(nuki.list_codes(&device()).await.unwrap().is_empty(), "not on the lock yet");

    let codes = nuki.list_codes(&device()).await.unwrap();
    assert_eq!(codes.len(), 1);
    assert_eq!(codes[0].provider_ref, AUTH_ID);
    assert_eq!(codes[0].name, "BK-1-0a1b2c3d");
    assert_eq!(codes[0].code.as_deref(), Some("982345"));
    assert_eq!(codes[0].valid_from, Some(at("2023-08-01T09:00:00Z")));
    assert_eq!(codes[0].valid_until, Some(at("2023-08-03T20:00:00Z")));
    assert_eq!(codes[0].status, DeviceCodeStatus::Set);
}

#[tokio::test]
async fn nuki_create_without_an_end_sends_no_until_date() {
    let (server, nuki) = nuki().await;
    let expected = json!({
        "name": "doorman-0a1b2c3d",
        "type": 13,
        "code": 567891,
        "allowedFromDate": "2023-08-01T09:00:00.000Z",
        "allowedWeekDays": 127,
        "remoteAllowed": false
    });
    Mock::given(method("PUT"))
        .and(path(AUTHS))
        .and(body_json(expected))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let persistent = CodeRequest { valid_until: None, ..request("doorman-0a1b2c3d", "567891") };
    assert_eq!(nuki.create_code(&device(), &persistent).await.unwrap(), Created::Accepted { provider_ref: None });
}

#[tokio::test]
async fn nuki_a_409_for_our_own_earlier_create_is_accepted_with_its_id() {
    let (server, nuki) = nuki().await;
    answers(&server, "PUT", AUTHS, ResponseTemplate::new(409)).await;
    let mut other = keypad_auth("Cleaner");
    other["id"] = json!("64983a56466c244aac626f40");
    other["code"] = json!(556677);
    lists(&server, json!([other, keypad_auth("BK-1-0a1b2c3d")])).await;
    let created = nuki.create_code(&device(), &request("BK-1-0a1b2c3d", "982345")).await.unwrap();
    assert_eq!(created, Created::Accepted { provider_ref: Some(AUTH_ID.into()) });
}

#[tokio::test]
async fn nuki_a_409_for_a_code_held_by_another_auth_is_permanent() {
    let (server, nuki) = nuki().await;
    answers(&server, "PUT", AUTHS, ResponseTemplate::new(409)).await;
    lists(&server, json!([keypad_auth("Cleaner")])).await;
    let err = nuki.create_code(&device(), &request("BK-1-0a1b2c3d", "982345")).await.unwrap_err();
    assert!(matches!(err, ProviderError::Permanent(_)), "{err:?}");
    assert!(err.to_string().contains("already on the lock"), "{err}");
    assert!(!err.to_string().contains("982345"), "never the code: {err}");
}

#[tokio::test]
async fn nuki_other_client_errors_are_permanent_with_a_short_excerpt() {
    let (server, nuki) = nuki().await;
    let body = json!({"code": 422, "description": "The name for a Keypad code must not exceed 20 chars",
        "homeRef": "/", "reasonPhrase": "Unprocessable Entity", "uri": "http://www.webdav.org/specs/rfc2518.html#STATUS_422"});
    answers(&server, "PUT", AUTHS, ResponseTemplate::new(422).set_body_json(body)).await;
    let err = nuki.create_code(&device(), &request("BK-1-0a1b2c3d", "982345")).await.unwrap_err();
    assert!(matches!(err, ProviderError::Permanent(_)), "{err:?}");
    assert!(err.to_string().contains("422") && err.to_string().contains("must not exceed 20 chars"), "{err}");
}

#[tokio::test]
async fn nuki_update_posts_the_new_window_and_accepts_204() {
    let (server, nuki) = nuki().await;
    let expected = json!({
        "name": "BK-1-0a1b2c3d",
        "code": 982345,
        "allowedFromDate": "2023-08-01T09:00:00.000Z",
        "allowedUntilDate": "2023-08-03T20:00:00.000Z",
        "allowedWeekDays": 127,
        "enabled": true
    });
    Mock::given(method("POST"))
        .and(path(ONE_AUTH))
        .and(header("Authorization", BEARER))
        .and(header("Content-Type", "application/json"))
        .and(body_json(expected))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    nuki.update_code(&device(), AUTH_ID, &request("BK-1-0a1b2c3d", "982345")).await.unwrap();
}

#[tokio::test]
async fn nuki_delete_204_and_404_both_mean_gone() {
    let (server, nuki) = nuki().await;
    Mock::given(method("DELETE"))
        .and(path(ONE_AUTH))
        .and(header("Authorization", BEARER))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    nuki.remove_code(&device(), AUTH_ID).await.unwrap();

    let other = "6775e3a1c52a77633bf92c99";
    answers(&server, "DELETE", &format!("{AUTHS}/{other}"), ResponseTemplate::new(404)).await;
    nuki.remove_code(&device(), other).await.unwrap();
}

#[tokio::test]
async fn nuki_a_pending_change_423_waits_without_counting_against_the_lock() {
    let (server, nuki) = nuki().await;
    let locked = ResponseTemplate::new(423).set_body_json(json!({"stackTrace": [], "suppressedExceptions": []}));
    answers(&server, "POST", ONE_AUTH, locked.clone()).await;
    answers(&server, "DELETE", ONE_AUTH, locked).await;
    let update = nuki.update_code(&device(), AUTH_ID, &request("BK-1-0a1b2c3d", "982345")).await.unwrap_err();
    assert!(matches!(update, ProviderError::RateLimited { .. }), "{update:?}");
    let remove = nuki.remove_code(&device(), AUTH_ID).await.unwrap_err();
    assert!(
        matches!(remove, ProviderError::RateLimited { retry_after, .. } if retry_after.as_secs() == 30),
        "{remove:?}"
    );
}

#[tokio::test]
async fn nuki_a_429_waits_for_retry_after() {
    let (server, nuki) = nuki().await;
    Mock::given(method("GET"))
        .and(path(AUTHS))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "7"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    answers(&server, "GET", AUTHS, ResponseTemplate::new(429)).await;
    let limited = nuki.list_codes(&device()).await.unwrap_err();
    assert!(
        matches!(limited, ProviderError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(7)),
        "{limited:?}"
    );
    let default = nuki.list_codes(&device()).await.unwrap_err();
    assert!(
        matches!(default, ProviderError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(60)),
        "{default:?}"
    );
}

#[tokio::test]
async fn nuki_a_500_is_retryable() {
    let (server, nuki) = nuki().await;
    answers(&server, "PUT", AUTHS, ResponseTemplate::new(500).set_body_string("Internal Server Error")).await;
    let err = nuki.create_code(&device(), &request("BK-1-0a1b2c3d", "982345")).await.unwrap_err();
    assert!(matches!(err, ProviderError::Retryable(_)), "{err:?}");
}

#[tokio::test]
async fn nuki_a_401_is_a_refused_token_and_never_shows_it() {
    let (server, nuki) = nuki().await;
    let body =
        json!({"detailMessage": "Your access token is not authorized", "stackTrace": [], "suppressedExceptions": []});
    answers(&server, "GET", AUTHS, ResponseTemplate::new(401).set_body_json(body)).await;
    let err = nuki.list_codes(&device()).await.unwrap_err();
    assert!(matches!(err, ProviderError::Unauthorized(_)), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("token") && message.contains("NUKI_API_TOKEN"), "{message}");
    assert!(!message.contains(NUKI_TOKEN) && !format!("{err:?}").contains(NUKI_TOKEN), "{message}");
}

#[tokio::test]
async fn nuki_a_slow_answer_is_a_retryable_timeout() {
    let server = MockServer::start().await;
    let nuki = NukiClient::with_timeout(&server.uri(), SecretString::from(NUKI_TOKEN), Duration::from_millis(200));
    answers(&server, "PUT", AUTHS, ResponseTemplate::new(204).set_delay(Duration::from_secs(3))).await;
    let err = nuki.create_code(&device(), &request("BK-1-0a1b2c3d", "982345")).await.unwrap_err();
    assert!(matches!(err, ProviderError::Retryable(_)), "{err:?}");
    assert!(err.to_string().contains("in time"), "{err}");
}

#[tokio::test]
async fn nuki_an_unexpected_answer_is_a_retryable_error_without_values() {
    let (server, nuki) = nuki().await;
    lists(&server, json!([{"id": AUTH_ID, "type": 13, "name": "x", "code": "982345"}])).await;
    let err = nuki.list_codes(&device()).await.unwrap_err();
    assert!(matches!(err, ProviderError::Retryable(_)), "{err:?}");
    assert!(!err.to_string().contains("982345"), "{err}");

    answers(&server, "GET", "/smartlock/18298712180", ResponseTemplate::new(200).set_body_string("<html>")).await;
    assert!(nuki.device_status(&device()).await.unwrap_err().is_retryable());
}

#[tokio::test]
async fn nuki_a_device_id_that_is_not_a_smartlock_id_is_refused_before_any_request() {
    let (server, nuki) = nuki().await;
    Mock::given(wiremock::matchers::any()).respond_with(ResponseTemplate::new(204)).expect(0).mount(&server).await;
    let bad = Device { lock_id: Uuid::new_v4(), device_id: "front-door".into() };
    let err = nuki.list_codes(&bad).await.unwrap_err();
    assert!(matches!(err, ProviderError::Permanent(_)), "{err:?}");
    assert!(nuki.remove_code(&device(), "../../smartlock").await.is_err(), "an auth id cannot leave its path");
}

#[tokio::test]
async fn nuki_list_keeps_only_keypad_codes_and_tolerates_missing_fields() {
    let (server, nuki) = nuki().await;
    let app_user = json!({"id": "64983a56466c244aac626f40", "smartlockId": 18298712180_i64, "type": 0,
        "name": "Owner", "enabled": true, "remoteAllowed": true, "lockCount": 3, "accountUserId": 42});
    let bare = json!({"id": "6775e3a1c52a77633bf92c99", "type": 13, "name": "Cleaner"});
    lists(&server, json!([app_user, keypad_auth("BK-1-0a1b2c3d"), bare])).await;
    let codes = nuki.list_codes(&device()).await.unwrap();
    let names: Vec<&str> = codes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["BK-1-0a1b2c3d", "Cleaner"]);
    assert_eq!(codes[1].code, None);
    assert_eq!((codes[1].valid_from, codes[1].valid_until), (None, None));
}

#[tokio::test]
async fn nuki_device_status_reads_server_state_and_batteries() {
    let (server, nuki) = nuki().await;
    let online = json!({"smartlockId": 18298712180_i64, "accountId": 1, "type": 4, "authId": 1, "name": "Front door",
        "favorite": false, "config": {"name": "Front door", "keypadPaired": true},
        "state": {"mode": 2, "state": 1, "trigger": 0, "lastAction": 2, "batteryCritical": true,
                  "batteryCharge": 12, "keypadBatteryCritical": true, "doorState": 2, "ringToOpenTimer": 0,
                  "nightMode": false},
        "serverState": 0, "adminPinState": 0, "virtualDevice": false});
    Mock::given(method("GET"))
        .and(path("/smartlock/18298712180"))
        .and(header("Authorization", BEARER))
        .respond_with(ResponseTemplate::new(200).set_body_json(online))
        .mount(&server)
        .await;
    let status = nuki.device_status(&device()).await.unwrap();
    assert!(status.online);
    assert_eq!(status.battery_percent, Some(12));
    assert!(status.battery_low);
    assert_eq!(status.keypad_battery_low, Some(true));
    let constraints = status.constraints.unwrap();
    assert_eq!(
        constraints,
        DeviceConstraints {
            supported_lengths: vec![6],
            min_length: Some(6),
            max_length: Some(6),
            no_zeros: true,
            forbidden_prefixes: vec!["12".into()],
            max_active_codes: Some(100),
            backup_pool: false,
        }
    );

    // The real 2019 answer from the research file: offline, no charge, no keypad.
    let offline = json!({"smartlockId": 123456789, "accountId": 1, "type": 0, "authId": 1, "name": "Wohungstür",
        "favorite": false, "config": {"name": "Wohungstür", "keypadPaired": false, "timezoneId": 37},
        "state": {"mode": 2, "state": 3, "trigger": 0, "lastAction": 3, "batteryCritical": false, "doorState": 1,
                  "ringToOpenTimer": 0},
        "firmwareVersion": 132608, "hardwareVersion": 2817, "serverState": 4, "adminPinState": 0,
        "virtualDevice": false, "creationDate": "2018-12-07T22:38:12.476Z", "updateDate": "2019-08-31T23:20:09.475Z"});
    answers(&server, "GET", "/smartlock/123456789", ResponseTemplate::new(200).set_body_json(offline)).await;
    let other = Device { lock_id: Uuid::new_v4(), device_id: "123456789".into() };
    let status = nuki.device_status(&other).await.unwrap();
    assert!(!status.online);
    assert_eq!((status.battery_percent, status.battery_low, status.keypad_battery_low), (None, false, None));
}

fn log_entry(id: &str, action: i32, trigger: i32, state: i32, date: &str) -> Value {
    json!({"id": id, "smartlockId": 18298712180_i64, "deviceType": 4, "authId": AUTH_ID, "name": "Cleaner",
        "action": action, "trigger": trigger, "state": state, "autoUnlock": false, "date": date, "source": 1})
}

#[tokio::test]
async fn nuki_usage_is_keypad_unlocks_oldest_first_and_refused_codes_apart() {
    let (server, nuki) = nuki().await;
    // Newest first, as the API answers.
    let log = json!([
        log_entry("6775e3a1c52a77633bf92ca5", 3, 255, 0, "2025-01-02T18:00:00.000Z"),
        log_entry("6775e3a1c52a77633bf92ca4", 2, 255, 0, "2025-01-02T12:00:00.000Z"),
        log_entry("6775e3a1c52a77633bf92ca3", 1, 5, 0, "2025-01-02T11:00:00.000Z"),
        log_entry("6775e3a1c52a77633bf92ca2", 1, 253, 224, "2025-01-02T10:00:00.000Z"),
        log_entry("6775e3a1c52a77633bf92ca1", 1, 255, 1, "2025-01-02T09:00:00.000Z"),
        {"id": "6775e3a1c52a77633bf92ca0", "smartlockId": 18298712180_i64, "deviceType": 4, "name": "",
         "action": 240, "trigger": 0, "state": 0, "autoUnlock": false, "date": "2025-01-02T08:20:00.000Z"},
        log_entry("6775e3a1c52a77633bf92c99", 1, 255, 0, "2025-01-02T08:15:30.000Z"),
    ]);
    Mock::given(method("GET"))
        .and(path("/smartlock/18298712180/log"))
        .and(header("Authorization", BEARER))
        .and(query_param("fromDate", "2025-01-02T08:00:00.000Z"))
        .and(query_param("limit", "50"))
        .respond_with(ResponseTemplate::new(200).set_body_json(log))
        .expect(1)
        .mount(&server)
        .await;
    let events = nuki.usage_since(&device(), at("2025-01-02T08:00:00Z")).await.unwrap();
    let seen: Vec<(&str, Option<&str>, DateTime<Utc>)> = events
        .iter()
        .filter(|e| !e.denied)
        .map(|e| (e.event_id.as_str(), e.provider_ref.as_deref(), e.occurred_at))
        .collect();
    assert_eq!(
        seen,
        [
            ("6775e3a1c52a77633bf92c99", Some(AUTH_ID), at("2025-01-02T08:15:30Z")),
            ("6775e3a1c52a77633bf92ca5", Some(AUTH_ID), at("2025-01-02T18:00:00Z")),
        ]
    );
    // The keypad's refused code (state 224) comes as a denied entry, for
    // the wrong-code count (SPEC §12), never as a use of a code.
    let refused: Vec<(&str, Option<&str>)> =
        events.iter().filter(|e| e.denied).map(|e| (e.event_id.as_str(), e.provider_ref.as_deref())).collect();
    assert_eq!(refused, [("6775e3a1c52a77633bf92ca2", None)]);
}

#[tokio::test]
async fn nuki_usage_follows_full_log_pages_and_drops_older_entries() {
    let (server, nuki) = nuki().await;
    // A full page of locks, newest first, with one keypad unlock.
    let mut newest: Vec<Value> = (0..50)
        .map(|i| log_entry(&format!("b{i:02}"), 2, 255, 0, &format!("2025-01-02T12:{:02}:00.000Z", 59 - i)))
        .collect();
    newest[10] = log_entry("b10", 1, 255, 0, "2025-01-02T12:49:00.000Z");
    Mock::given(method("GET"))
        .and(path("/smartlock/18298712180/log"))
        .and(query_param_is_missing("id"))
        .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(newest)))
        .expect(1)
        .mount(&server)
        .await;
    let older = json!([
        log_entry("a01", 1, 255, 0, "2025-01-02T09:00:00.000Z"),
        log_entry("a00", 1, 255, 0, "2025-01-01T23:00:00.000Z"),
    ]);
    Mock::given(method("GET"))
        .and(path("/smartlock/18298712180/log"))
        .and(query_param("id", "b49"))
        .respond_with(ResponseTemplate::new(200).set_body_json(older))
        .expect(1)
        .mount(&server)
        .await;
    let events = nuki.usage_since(&device(), at("2025-01-02T00:00:00Z")).await.unwrap();
    let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, ["a01", "b10"], "the entry before `since` is dropped");
}
