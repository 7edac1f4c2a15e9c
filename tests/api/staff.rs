use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_error, TestApp};

#[tokio::test]
async fn staff_are_registered_with_their_properties() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let body = json!({ "name": "Marek", "phone": "+421 900 000 002", "role": "manager", "property_ids": [fixture.property_id] });
    let created = app.post("/api/v1/staff", &body).await;
    assert_eq!(created.status(), 201);
    let staff: Value = created.json().await.unwrap();
    assert!(staff["id"].is_string());
    assert_eq!(staff["phone"], "+421900000002");
    assert_eq!(staff["role"], "manager");
    assert_eq!(staff["property_ids"], json!([fixture.property_id]));

    let telegram_only = json!({ "name": "Eva", "telegram_user_id": 123456789, "role": "staff", "property_ids": [] });
    assert_eq!(app.post("/api/v1/staff", &telegram_only).await.status(), 201);
}

#[tokio::test]
async fn staff_input_is_validated() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let unreachable = json!({ "name": "Ghost", "role": "staff" });
    assert_error(app.post("/api/v1/staff", &unreachable).await, 422, "invalid_value").await;
    let bad_phone = json!({ "name": "A", "phone": "0900 123", "role": "staff" });
    let message = assert_error(app.post("/api/v1/staff", &bad_phone).await, 422, "invalid_value").await;
    assert!(message.starts_with("phone:"), "{message}");
    let bad_role = json!({ "name": "A", "phone": "+421900000003", "role": "owner" });
    assert_error(app.post("/api/v1/staff", &bad_role).await, 422, "invalid_value").await;
    let unknown_property =
        json!({ "name": "A", "phone": "+421900000003", "role": "staff", "property_ids": [Uuid::new_v4()] });
    assert_error(app.post("/api/v1/staff", &unknown_property).await, 404, "not_found").await;

    let first =
        json!({ "name": "A", "phone": "+421900000003", "role": "staff", "property_ids": [fixture.property_id] });
    assert_eq!(app.post("/api/v1/staff", &first).await.status(), 201);
    let same_phone = json!({ "name": "B", "phone": "+421 900 000 003", "role": "admin" });
    assert_error(app.post("/api/v1/staff", &same_phone).await, 409, "conflict").await;
}
