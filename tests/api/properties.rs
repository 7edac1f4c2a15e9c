use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_error, id_of, TestApp, TOKEN};

#[tokio::test]
async fn a_property_is_created_with_defaults_and_read_back_with_rooms_and_locks() {
    let app = TestApp::spawn().await;
    let body = json!({
        "name": "Old Town Flats",
        "timezone": "Europe/Bratislava",
        "address": "Panská 12",
        "knowledge": { "wifi_name": "OldTown", "wifi_password": "secret-wifi", "parking": "Garage B" }
    });
    let created = app.post("/api/v1/properties", &body).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let id = id_of(&created);
    assert_eq!(created["check_in_time"], "15:00");
    assert_eq!(created["check_out_time"], "11:00");
    assert_eq!(created["code_release_hours"], 24);
    assert_eq!(created["requires_verification"], false);

    app.post(&format!("/api/v1/properties/{id}/rooms"), &json!({ "name": "101" })).await;
    let shown: Value = app.get(&format!("/api/v1/properties/{id}")).await.json().await.unwrap();
    assert_eq!(shown["name"], "Old Town Flats");
    assert_eq!(shown["timezone"], "Europe/Bratislava");
    assert_eq!(shown["knowledge"]["wifi_name"], "OldTown");
    assert_eq!(shown["knowledge"]["parking"], "Garage B");
    assert_eq!(shown["rooms"][0]["name"], "101");
    assert_eq!(shown["locks"], json!([]));
}

#[tokio::test]
async fn custom_times_and_release_window_are_kept() {
    let app = TestApp::spawn().await;
    let body = json!({
        "name": "Harbour Hotel", "timezone": "America/New_York",
        "check_in_time": "16:30", "check_out_time": "10:00:00", "code_release_hours": 48,
        "requires_verification": true
    });
    let created: Value = app.post("/api/v1/properties", &body).await.json().await.unwrap();
    assert_eq!(created["check_in_time"], "16:30");
    assert_eq!(created["check_out_time"], "10:00");
    assert_eq!(created["code_release_hours"], 48);
    assert_eq!(created["requires_verification"], true);
}

#[tokio::test]
async fn invalid_property_values_are_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({ "name": "X", "timezone": "Europe/Atlantis" }), "timezone"),
        (json!({ "name": "X", "timezone": "UTC", "check_in_time": "3pm" }), "check_in_time"),
        (json!({ "name": "X", "timezone": "UTC", "code_release_hours": -1 }), "code_release_hours"),
        (json!({ "name": "  ", "timezone": "UTC" }), "name"),
    ];
    for (body, field) in cases {
        let message = assert_error(app.post("/api/v1/properties", &body).await, 422, "invalid_value").await;
        assert!(message.contains(field), "{message} should name {field}");
    }
    let missing = app.post("/api/v1/properties", &json!({ "name": "No zone" })).await;
    let message = assert_error(missing, 422, "invalid_value").await;
    assert!(message.contains("timezone"), "{message}");
    let wrong_type = app.post("/api/v1/properties", &json!({ "name": 5, "timezone": "UTC" })).await;
    assert_error(wrong_type, 422, "invalid_value").await;
}

#[tokio::test]
async fn malformed_json_is_400_and_unknown_fields_are_ignored() {
    let app = TestApp::spawn().await;
    let malformed = app
        .client
        .post(app.url("/api/v1/properties"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{\"name\": \"Old Town\", ")
        .send()
        .await
        .unwrap();
    assert_error(malformed, 400, "malformed_json").await;

    let extra = app.post("/api/v1/properties", &json!({ "name": "A", "timezone": "UTC", "stars": 5 })).await;
    assert_eq!(extra.status(), 201);
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413() {
    let app = TestApp::spawn().await;
    let huge = json!({ "name": "A", "timezone": "UTC", "address": "x".repeat(1024 * 1024 + 1) });
    let response = app.post("/api/v1/properties", &huge).await;
    assert_error(response, 413, "payload_too_large").await;
}

#[tokio::test]
async fn unknown_and_malformed_property_ids() {
    let app = TestApp::spawn().await;
    let unknown = app.get(&format!("/api/v1/properties/{}", Uuid::new_v4())).await;
    assert_error(unknown, 404, "not_found").await;
    assert_error(app.get("/api/v1/properties/not-a-uuid").await, 400, "invalid_path").await;
    let room = app.post(&format!("/api/v1/properties/{}/rooms", Uuid::new_v4()), &json!({ "name": "1" })).await;
    assert_error(room, 404, "not_found").await;
}

#[tokio::test]
async fn room_names_are_unique_per_property_and_validated() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let path = format!("/api/v1/properties/{}/rooms", fixture.property_id);
    assert_error(app.post(&path, &json!({ "name": " 101 " })).await, 409, "conflict").await;
    assert_error(app.post(&path, &json!({ "name": "" })).await, 422, "invalid_value").await;

    // The same name in another property is fine.
    let other: Value =
        app.post("/api/v1/properties", &json!({ "name": "B", "timezone": "UTC" })).await.json().await.unwrap();
    let response = app.post(&format!("/api/v1/properties/{}/rooms", id_of(&other)), &json!({ "name": "101" })).await;
    assert_eq!(response.status(), 201);
}
