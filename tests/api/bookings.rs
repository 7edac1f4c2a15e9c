use serde_json::{json, Value};

use crate::helpers::{assert_error, Fixture, TestApp};

fn booking(fixture: &Fixture) -> Value {
    json!({
        "property_id": fixture.property_id,
        "room": "101",
        "guest": { "name": "Anna Novak", "phone": "+421900000001", "email": "anna@example.com", "language": "de-AT" },
        "check_in_at": "2030-05-01T13:00:00Z",
        "check_out_at": "2030-05-04T09:00:00Z",
        "status": "confirmed",
        "verified": true
    })
}

/// The booking's own audit events (its codes have theirs too).
async fn booking_events(app: &TestApp, reference: &str) -> Vec<Value> {
    let events: Value = app.get(&format!("/api/v1/audit?booking_ref={reference}")).await.json().await.unwrap();
    events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("booking."))
        .cloned()
        .collect()
}

async fn audit_actions(app: &TestApp, reference: &str) -> Vec<String> {
    booking_events(app, reference).await.iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_booking_is_created_then_upserted_idempotently() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let created = app.put("/api/v1/bookings/BK-10234", &booking(&fixture)).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["external_ref"], "BK-10234");
    assert_eq!(created["room"], "101");
    assert_eq!(created["guest"]["phone"], "+421900000001");
    assert_eq!(created["guest"]["language"], "de");
    assert_eq!(created["check_in_at"], "2030-05-01T13:00:00Z");
    assert_eq!(created["status"], "confirmed");
    assert_eq!(created["verified"], true);
    assert!(created["codes"].is_array());
    assert!(created["notifications"].is_array());

    let again = app.put("/api/v1/bookings/BK-10234", &booking(&fixture)).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], created["id"]);
    assert_eq!(again["updated_at"], created["updated_at"], "an identical upsert changes nothing");
    assert_eq!(audit_actions(&app, "BK-10234").await, ["booking.created"]);

    let shown: Value = app.get("/api/v1/bookings/BK-10234").await.json().await.unwrap();
    assert_eq!(shown["id"], created["id"]);
}

#[tokio::test]
async fn changed_dates_and_status_are_stored_and_audited() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    app.put("/api/v1/bookings/BK-1", &booking(&fixture)).await;
    let mut moved = booking(&fixture);
    moved["check_out_at"] = json!("2030-05-06T09:00:00Z");
    moved["status"] = json!("cancelled");
    let response = app.put("/api/v1/bookings/BK-1", &moved).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["check_out_at"], "2030-05-06T09:00:00Z");
    assert_eq!(body["status"], "cancelled");

    let events = booking_events(&app, "BK-1").await;
    let update = &events[1];
    assert_eq!(update["action"], "booking.updated");
    assert_eq!(update["actor"], "api");
    assert_eq!(update["details"]["status"], json!({ "from": "confirmed", "to": "cancelled" }));
    assert!(update["details"]["stay"].is_object());
}

#[tokio::test]
async fn dates_get_the_property_times_in_its_timezone_across_a_dst_change() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let mut body = booking(&fixture);
    body.as_object_mut().unwrap().remove("check_in_at");
    body.as_object_mut().unwrap().remove("check_out_at");
    // Bratislava leaves summer time on 25 October 2026.
    body["check_in"] = json!("2026-10-24");
    body["check_out"] = json!("2026-10-27");
    let stored: Value = app.put("/api/v1/bookings/BK-DST", &body).await.json().await.unwrap();
    assert_eq!(stored["check_in_at"], "2026-10-24T13:00:00Z", "15:00 CEST");
    assert_eq!(stored["check_out_at"], "2026-10-27T10:00:00Z", "11:00 CET");

    // And into summer time in March.
    body["check_in"] = json!("2027-03-27");
    body["check_out"] = json!("2027-03-29");
    let stored: Value = app.put("/api/v1/bookings/BK-DST", &body).await.json().await.unwrap();
    assert_eq!(stored["check_in_at"], "2027-03-27T14:00:00Z", "15:00 CET");
    assert_eq!(stored["check_out_at"], "2027-03-29T09:00:00Z", "11:00 CEST");
}

#[tokio::test]
async fn offsets_in_instants_are_converted_to_utc() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let mut body = booking(&fixture);
    body["check_in_at"] = json!("2030-05-01T15:00:00+02:00");
    let stored: Value = app.put("/api/v1/bookings/BK-OFF", &body).await.json().await.unwrap();
    assert_eq!(stored["check_in_at"], "2030-05-01T13:00:00Z");
}

#[tokio::test]
async fn invalid_bookings_are_422_and_store_nothing() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut body = booking(&fixture);
        f(&mut body);
        body
    };
    let cases: Vec<(Value, &str)> = vec![
        (edit(&|b| b["room"] = json!("103")), "room"),
        (edit(&|b| b["check_out_at"] = json!("2030-04-30T09:00:00Z")), "check-out"),
        (edit(&|b| b["check_out_at"] = json!("2031-06-30T09:00:00Z")), "366"),
        (edit(&|b| b["check_in"] = json!("2030-05-01")), "either"),
        (
            edit(&|b| {
                b.as_object_mut().unwrap().remove("check_out_at");
            }),
            "either",
        ),
        (edit(&|b| b["guest"]["phone"] = json!("12345")), "guest.phone"),
        (edit(&|b| b["guest"]["language"] = json!("klingon")), "guest.language"),
        (edit(&|b| b["guest"]["name"] = json!(" ")), "guest.name"),
        (edit(&|b| b["property_id"] = json!("00000000-0000-0000-0000-000000000000")), "property_id"),
        (edit(&|b| b["status"] = json!("maybe")), "status"),
        (edit(&|b| b["check_in_at"] = json!("tomorrow")), "check_in_at"),
    ];
    for (body, hint) in cases {
        let message = assert_error(app.put("/api/v1/bookings/BK-BAD", &body).await, 422, "invalid_value").await;
        assert!(message.contains(hint), "{message:?} should mention {hint:?}");
    }
    let bad_ref = app.put("/api/v1/bookings/BK%20BAD", &booking(&fixture)).await;
    assert_error(bad_ref, 422, "invalid_value").await;
    assert_error(app.get("/api/v1/bookings/BK-BAD").await, 404, "not_found").await;
}

#[tokio::test]
async fn a_guest_is_one_per_phone_number_and_keeps_data_the_pms_omits() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let first: Value = app.put("/api/v1/bookings/BK-A", &booking(&fixture)).await.json().await.unwrap();
    let mut again = booking(&fixture);
    again["guest"].as_object_mut().unwrap().remove("email");
    let again: Value = app.put("/api/v1/bookings/BK-A", &again).await.json().await.unwrap();
    assert_eq!(again["guest"]["email"], "anna@example.com", "an email the same booking's update omits is kept");
    let mut second = booking(&fixture);
    second["room"] = json!("102");
    second["guest"] = json!({ "name": "Anna Nováková", "phone": "+421 900 000 001" });
    let second: Value = app.put("/api/v1/bookings/BK-B", &second).await.json().await.unwrap();
    assert_eq!(second["guest"]["id"], first["guest"]["id"]);
    assert_eq!(second["guest"]["name"], "Anna Nováková");
    assert_eq!(second["guest"]["email"], Value::Null, "an email is never carried over from another booking");
    assert_eq!(second["guest"]["language"], "de", "an omitted language is kept");
}

#[tokio::test]
async fn concurrent_first_upserts_of_one_reference_make_one_booking() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let body = booking(&fixture);
    let requests = (0..8).map(|_| app.put("/api/v1/bookings/BK-RACE", &body));
    let statuses: Vec<u16> =
        futures_util::future::join_all(requests).await.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 7, "{statuses:?}");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM bookings").fetch_one(&app.db).await.unwrap();
    assert_eq!(count, 1);
    assert_eq!(audit_actions(&app, "BK-RACE").await, ["booking.created"]);
}
