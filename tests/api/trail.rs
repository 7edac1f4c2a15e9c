use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp};

#[tokio::test]
async fn the_audit_trail_filters_by_booking_and_is_append_only() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    for reference in ["BK-1", "BK-2"] {
        let body = json!({
            "property_id": fixture.property_id, "room": "101", "guest": { "name": "G" },
            "check_in": "2030-01-01", "check_out": "2030-01-02", "status": "pending"
        });
        assert_eq!(app.put(&format!("/api/v1/bookings/{reference}"), &body).await.status(), 201);
    }
    let all: Value = app.get("/api/v1/audit").await.json().await.unwrap();
    assert_eq!(all.as_array().unwrap().len(), 2);
    let one: Value = app.get("/api/v1/audit?booking_ref=BK-2").await.json().await.unwrap();
    assert_eq!(one.as_array().unwrap().len(), 1);
    let limited: Value = app.get("/api/v1/audit?limit=1").await.json().await.unwrap();
    assert_eq!(limited[0]["booking_id"], one[0]["booking_id"], "the latest events are kept");
    assert_error(app.get("/api/v1/audit?booking_ref=BK-404").await, 404, "not_found").await;
    assert_error(app.get("/api/v1/audit?lock_id=nope").await, 400, "invalid_query").await;

    let tampered = sqlx::query("UPDATE audit_events SET actor = 'nobody'").execute(&app.db).await;
    assert!(tampered.is_err(), "audit events cannot be rewritten");
    let deleted = sqlx::query("DELETE FROM audit_events").execute(&app.db).await;
    assert!(deleted.is_err(), "audit events cannot be deleted");
}

#[tokio::test]
async fn notifications_filter_by_booking() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let body = json!({
        "property_id": fixture.property_id, "room": "101", "guest": { "name": "G", "phone": "+421900000001" },
        "check_in": "2030-01-01", "check_out": "2030-01-02", "status": "pending"
    });
    let booking: Value = app.put("/api/v1/bookings/BK-1", &body).await.json().await.unwrap();
    sqlx::query("INSERT INTO notifications (booking_id, channel, recipient, template, status) VALUES ($1::uuid, 'whatsapp', '+421900000001', 'pre_arrival', 'sent'), (NULL, 'telegram', '42', 'alert', 'queued')")
        .bind(booking["id"].as_str().unwrap())
        .execute(&app.db)
        .await
        .unwrap();
    let all: Value = app.get("/api/v1/notifications").await.json().await.unwrap();
    assert_eq!(all.as_array().unwrap().len(), 2);
    let filtered: Value = app.get("/api/v1/notifications?booking_ref=BK-1").await.json().await.unwrap();
    assert_eq!(filtered.as_array().unwrap().len(), 1);
    assert_eq!(filtered[0]["template"], "pre_arrival");
    let shown: Value = app.get("/api/v1/bookings/BK-1").await.json().await.unwrap();
    assert_eq!(shown["notifications"][0]["status"], "sent");
}
