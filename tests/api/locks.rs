use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_error, id_of, TestApp};

#[tokio::test]
async fn locks_are_registered_on_rooms_or_as_entrances() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let body = json!({
        "property_id": fixture.property_id, "room_id": fixture.rooms["102"], "name": "102 balcony",
        "brand": "Nuki", "model": "Keypad 2.0", "kind": "smart_lock", "provider": "nuki",
        "provider_device_id": "18A3F2C1", "code_format": "numeric", "code_length": 6, "capacity": 100
    });
    let created = app.post("/api/v1/locks", &body).await;
    assert_eq!(created.status(), 201);
    let lock: Value = created.json().await.unwrap();
    assert_eq!(lock["room_id"], fixture.rooms["102"].to_string());
    assert_eq!(lock["provider"], "nuki");
    assert_eq!(lock["status"], "active");

    let shown: Value = app.get(&format!("/api/v1/locks/{}", id_of(&lock))).await.json().await.unwrap();
    assert_eq!(shown["name"], "102 balcony");
    assert_eq!(shown["code_length"], 6);

    let entrance: Value = app.get(&format!("/api/v1/locks/{}", fixture.locks["entrance"])).await.json().await.unwrap();
    assert_eq!(entrance["room_id"], Value::Null);
    assert_eq!(entrance["kind"], "pin_pad");
    assert!(entrance["provider_device_id"].as_str().unwrap().starts_with("sim-"));

    let property: Value = app.get(&format!("/api/v1/properties/{}", fixture.property_id)).await.json().await.unwrap();
    let names: Vec<&str> = property["locks"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Entrance", "102 balcony", "Room 101", "Room 102"]);
}

#[tokio::test]
async fn a_lock_cannot_sit_in_another_propertys_room() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let other: Value =
        app.post("/api/v1/properties", &json!({ "name": "B", "timezone": "UTC" })).await.json().await.unwrap();
    let body =
        json!({ "property_id": id_of(&other), "room_id": fixture.rooms["101"], "name": "x", "provider": "simulated" });
    let message = assert_error(app.post("/api/v1/locks", &body).await, 422, "invalid_value").await;
    assert!(message.contains("another property"), "{message}");
}

#[tokio::test]
async fn invalid_lock_values_are_refused() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let base = json!({ "property_id": fixture.property_id, "name": "Side door", "provider": "simulated" });
    let with = |key: &str, value: Value| {
        let mut body = base.clone();
        body[key] = value;
        body
    };
    for (body, code) in [
        (with("code_length", json!(3)), "invalid_value"),
        (with("code_length", json!(11)), "invalid_value"),
        (with("capacity", json!(0)), "invalid_value"),
        (with("kind", json!("padlock")), "invalid_value"),
        (with("provider", json!("august")), "invalid_value"),
        (with("code_format", json!("emoji")), "invalid_value"),
        (with("provider", json!("seam")), "invalid_value"),
    ] {
        assert_error(app.post("/api/v1/locks", &body).await, 422, code).await;
    }
    let unknown_property = json!({ "property_id": Uuid::new_v4(), "name": "x", "provider": "simulated" });
    assert_error(app.post("/api/v1/locks", &unknown_property).await, 404, "not_found").await;
    let unknown_room = with("room_id", json!(Uuid::new_v4()));
    assert_error(app.post("/api/v1/locks", &unknown_room).await, 404, "not_found").await;
}

#[tokio::test]
async fn a_shared_entrance_needs_codes_of_six_characters_or_more() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    for length in [4, 5] {
        let entrance = json!({ "property_id": fixture.property_id, "name": format!("Gate {length}"),
            "provider": "simulated", "code_length": length });
        let message = assert_error(app.post("/api/v1/locks", &entrance).await, 422, "invalid_value").await;
        assert!(message.contains("code_length") && message.contains("at least 6"), "{message}");
    }
    let entrance = json!({ "property_id": fixture.property_id, "name": "Gate", "provider": "simulated",
        "code_length": 6, "code_format": "alphanumeric" });
    assert_eq!(app.post("/api/v1/locks", &entrance).await.status(), 201);
    let room_lock = json!({ "property_id": fixture.property_id, "room_id": fixture.rooms["101"], "name": "Safe",
        "provider": "simulated", "code_length": 4 });
    assert_eq!(app.post("/api/v1/locks", &room_lock).await.status(), 201, "a room's own lock may use 4");
}

#[tokio::test]
async fn one_device_is_registered_once() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let body =
        json!({ "property_id": fixture.property_id, "name": "A", "provider": "seam", "provider_device_id": "dev-1" });
    assert_eq!(app.post("/api/v1/locks", &body).await.status(), 201);
    assert_error(app.post("/api/v1/locks", &body).await, 409, "conflict").await;
}

#[tokio::test]
async fn a_new_lock_has_no_codes_and_unknown_locks_are_404() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let codes = app.get(&format!("/api/v1/locks/{}/codes", fixture.locks["101"])).await;
    assert_eq!(codes.status(), 200);
    assert_eq!(codes.json::<Value>().await.unwrap(), json!([]));
    assert_error(app.get(&format!("/api/v1/locks/{}", Uuid::new_v4())).await, 404, "not_found").await;
    assert_error(app.get(&format!("/api/v1/locks/{}/codes", Uuid::new_v4())).await, 404, "not_found").await;
}
