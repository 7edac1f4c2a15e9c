//! Ready for every arrival (SPEC §12) through the running service: the
//! checks 24 and 3 hours before check-in read the simulated lock as it is
//! (offline, battery, the guest's code on it) and the guest's channel,
//! alert the property's staff once, say once when it is fixed, and show on
//! the booking.

use chrono::{Duration, Utc};
use doorman::access::jobs::CheckReadiness;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_error, Fixture, TestApp, TOKEN};

async fn setup() -> (TestApp, Fixture) {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let staff =
        json!({ "name": "Marek", "phone": "+421900000002", "role": "manager", "property_ids": [fixture.property_id] });
    assert_eq!(app.post("/api/v1/staff", &staff).await.status(), 201);
    (app, fixture)
}

async fn book(app: &TestApp, fixture: &Fixture, reference: &str, check_in_in: Duration) {
    let check_in = Utc::now() + check_in_in;
    let body = json!({
        "property_id": fixture.property_id, "room": "101",
        "guest": { "name": "Anna Novak", "phone": "+421900000001" },
        "check_in_at": check_in, "check_out_at": check_in + Duration::days(2), "status": "confirmed"
    });
    assert!(app.put(&format!("/api/v1/bookings/{reference}"), &body).await.status().is_success());
    app.run_jobs().await;
}

async fn set_device(app: &TestApp, lock_id: Uuid, assignment: &str) {
    sqlx::query(
        "INSERT INTO simulated_devices (device_id) SELECT provider_device_id FROM locks WHERE id = $1
         ON CONFLICT (device_id) DO NOTHING",
    )
    .bind(lock_id)
    .execute(&app.db)
    .await
    .unwrap();
    let update = format!(
        "UPDATE simulated_devices SET {assignment} WHERE device_id = (SELECT provider_device_id FROM locks WHERE id = $1)"
    );
    sqlx::query(&update).bind(lock_id).execute(&app.db).await.unwrap();
}

/// Runs the booking's check `lead_hours` before check-in now, as its job
/// would, after the last status reads have aged (every lock is read again).
async fn check_now(app: &TestApp, reference: &str, lead_hours: i32) {
    sqlx::query("UPDATE locks SET status_checked_at = now() - interval '1 hour'").execute(&app.db).await.unwrap();
    let booking_id: Uuid = sqlx::query_scalar("SELECT id FROM bookings WHERE external_ref = $1")
        .bind(reference)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    doorman::jobs::queue::enqueue(&mut conn, &CheckReadiness { booking_id, lead_hours }, Utc::now()).await.unwrap();
    drop(conn);
    app.run_jobs().await;
}

async fn alerts(app: &TestApp, containing: &str) -> Vec<String> {
    let bodies: Vec<String> =
        sqlx::query_scalar("SELECT body FROM notifications WHERE template = 'alert' ORDER BY created_at")
            .fetch_all(&app.db)
            .await
            .unwrap();
    bodies.into_iter().filter(|b| b.contains(containing)).collect()
}

async fn readiness(app: &TestApp, reference: &str) -> Value {
    let booking: Value = app.get(&format!("/api/v1/bookings/{reference}")).await.json().await.unwrap();
    booking["readiness"].clone()
}

#[tokio::test]
async fn a_lock_set_offline_20_hours_before_an_arrival_alerts_once_shows_on_the_booking_and_says_when_it_is_back() {
    let (app, fixture) = setup().await;
    book(&app, &fixture, "BK-1", Duration::hours(20)).await;
    assert_eq!(readiness(&app, "BK-1").await, Value::Null, "no check before its time");
    set_device(&app, fixture.locks["101"], "offline = true").await;

    check_now(&app, "BK-1", 24).await;
    let told = alerts(&app, "not ready").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains("BK-1") && told[0].contains("Room 101: offline") && told[0].contains("backup code"),
        "{}",
        told[0]
    );
    assert!(!told[0].contains("Entrance"), "the entrance is fine: {}", told[0]);
    let shown = readiness(&app, "BK-1").await;
    assert_eq!(shown["ready"], false, "{shown}");
    assert_eq!(shown["lead_hours"], 24);
    assert_eq!(shown["problems"][0]["problem"], "lock_offline", "{shown}");
    assert_eq!(shown["problems"][0]["lock"], "Room 101");

    check_now(&app, "BK-1", 24).await;
    assert_eq!(alerts(&app, "not ready").await.len(), 1, "the same problem is told once");

    set_device(&app, fixture.locks["101"], "offline = false").await;
    check_now(&app, "BK-1", 24).await;
    check_now(&app, "BK-1", 24).await;
    let back = alerts(&app, "ready again").await;
    assert_eq!(back.len(), 1, "{back:?}");
    assert!(back[0].contains("BK-1"));
    assert_eq!(readiness(&app, "BK-1").await["ready"], true);
}

#[tokio::test]
async fn a_battery_under_the_propertys_level_three_hours_before_is_an_alert() {
    let (app, fixture) = setup().await;
    // 22 %: above the lock monitor's 20 %, under the property's default 25 %.
    set_device(&app, fixture.locks["101"], "battery_percent = 22").await;
    book(&app, &fixture, "BK-2", Duration::hours(2) + Duration::minutes(30)).await;
    check_now(&app, "BK-2", 3).await;
    let told = alerts(&app, "not ready").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains("battery 22 % (alert under 25 %)") && told[0].contains("change its batteries"),
        "{}",
        told[0]
    );
    assert_eq!(readiness(&app, "BK-2").await["problems"][0]["problem"], "battery_low");

    let path = format!("/api/v1/properties/{}", fixture.property_id);
    let patch = |body: Value| app.client.patch(app.url(&path)).bearer_auth(TOKEN).json(&body).send();
    let refused = patch(json!({ "battery_alert_percent": 101 })).await.unwrap();
    assert!(assert_error(refused, 422, "invalid_value").await.contains("battery_alert_percent"));
    assert_eq!(patch(json!({ "battery_alert_percent": 20 })).await.unwrap().status(), 200);
    check_now(&app, "BK-2", 3).await;
    assert_eq!(readiness(&app, "BK-2").await["ready"], true);
    assert_eq!(alerts(&app, "ready again").await.len(), 1);
}

#[tokio::test]
async fn a_code_not_on_the_lock_a_day_ahead_is_an_alert_with_what_to_do() {
    let (app, fixture) = setup().await;
    // The room's lock takes the code but never confirms it.
    set_device(&app, fixture.locks["101"], "confirm_delay_ms = 86400000").await;
    book(&app, &fixture, "BK-3", Duration::hours(22)).await;
    check_now(&app, "BK-3", 24).await;
    let told = alerts(&app, "not ready").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains("Room 101: code") && told[0].contains("/regen room 101"), "{}", told[0]);
    let shown = readiness(&app, "BK-3").await;
    let problems: Vec<&str> =
        shown["problems"].as_array().unwrap().iter().map(|p| p["problem"].as_str().unwrap()).collect();
    assert_eq!(problems, ["code_not_set"], "{shown}");
}

#[tokio::test]
async fn the_checks_move_with_the_dates_and_a_guest_without_a_channel_is_named() {
    let (app, fixture) = setup().await;
    let check_in = Utc::now() + Duration::days(3);
    let body = json!({
        "property_id": fixture.property_id, "room": "101", "guest": { "name": "Anna Novak" },
        "check_in_at": check_in, "check_out_at": check_in + Duration::days(2), "status": "confirmed"
    });
    assert!(app.put("/api/v1/bookings/BK-4", &body).await.status().is_success());
    let due = |app: &TestApp| {
        let db = app.db.clone();
        async move {
            sqlx::query_as::<_, (i32, chrono::DateTime<Utc>)>(
                "SELECT (payload->>'lead_hours')::int, run_at FROM jobs WHERE kind = 'check_readiness' AND state = 'queued'
                 ORDER BY run_at",
            )
            .fetch_all(&db)
            .await
            .unwrap()
        }
    };
    let first = due(&app).await;
    assert_eq!(first.iter().map(|(lead, _)| *lead).collect::<Vec<_>>(), [24, 3]);
    let close = |a: chrono::DateTime<Utc>, b: chrono::DateTime<Utc>| (a - b).num_seconds().abs() < 5;
    assert!(close(first[0].1, check_in - Duration::hours(24)) && close(first[1].1, check_in - Duration::hours(3)));

    let later = check_in + Duration::days(1);
    let mut moved = body.clone();
    moved["check_in_at"] = json!(later);
    moved["check_out_at"] = json!(later + Duration::days(2));
    assert!(app.put("/api/v1/bookings/BK-4", &moved).await.status().is_success());
    let second = due(&app).await;
    assert_eq!(second.len(), 2, "{second:?}");
    assert!(
        close(second[0].1, later - Duration::hours(24)) && close(second[1].1, later - Duration::hours(3)),
        "{second:?}"
    );

    app.run_jobs().await;
    // A day ahead: nobody can reach the guest.
    let booking_id: Uuid =
        sqlx::query_scalar("SELECT id FROM bookings WHERE external_ref = 'BK-4'").fetch_one(&app.db).await.unwrap();
    sqlx::query("UPDATE bookings SET check_in_at = now() + interval '20 hours' WHERE id = $1")
        .bind(booking_id)
        .execute(&app.db)
        .await
        .unwrap();
    check_now(&app, "BK-4", 24).await;
    let told = alerts(&app, "not ready").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains("the guest: no phone, e-mail or linked chat") && told[0].contains("claim-link"),
        "{}",
        told[0]
    );
}

#[tokio::test]
async fn an_arrival_that_is_not_ready_is_a_red_row_on_today() {
    let chat = crate::conversation::spawn().await;
    chat.book("BK-R", crate::conversation::GUEST, "101", Duration::hours(20), json!({})).await;
    let door: Uuid =
        sqlx::query_scalar("SELECT id FROM locks WHERE name = 'Room 101 door'").fetch_one(&chat.app.db).await.unwrap();
    set_device(&chat.app, door, "offline = true").await;
    check_now(&chat.app, "BK-R", 24).await;
    let mut browser = crate::console::sign_in(&chat, crate::conversation::MANAGER).await;
    let (status, today) = browser.get("/admin").await;
    assert_eq!(status, 200);
    assert!(today.contains(r#"<li class="not-ready">"#), "a red row: {today}");
    assert!(today.contains("not ready: Room 101 door offline"), "{today}");
}
