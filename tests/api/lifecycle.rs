//! SPEC §3 through the API: codes issued on confirmation, programmed on the
//! simulated lock, moved, revoked, removed at check-out, retried and
//! reported.

use std::collections::HashSet;

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_error, codes_of, id_of, Fixture, TestApp};

/// A booking of room 101 starting `from_now` from now, for `nights` days.
fn stay(fixture: &Fixture, status: &str, from_now: Duration, nights: i64) -> Value {
    let check_in = Utc::now() + from_now;
    json!({
        "property_id": fixture.property_id,
        "room": "101",
        "guest": { "name": "Anna Novak", "phone": "+421900000001" },
        "check_in_at": check_in,
        "check_out_at": check_in + Duration::days(nights),
        "status": status,
    })
}

async fn on_device(app: &TestApp, lock_id: Uuid) -> Vec<Value> {
    let response = app.get(&format!("/api/v1/locks/{lock_id}/device-codes")).await;
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap().as_array().unwrap().clone()
}

async fn set_device(app: &TestApp, lock_id: Uuid, assignment: &str) {
    let insert = "INSERT INTO simulated_devices (device_id) SELECT provider_device_id FROM locks WHERE id = $1
         ON CONFLICT (device_id) DO NOTHING";
    sqlx::query(insert).bind(lock_id).execute(&app.db).await.unwrap();
    let update = format!(
        "UPDATE simulated_devices SET {assignment} WHERE device_id = (SELECT provider_device_id FROM locks WHERE id = $1)"
    );
    sqlx::query(&update).bind(lock_id).execute(&app.db).await.unwrap();
}

async fn audit_actions(app: &TestApp, reference: &str) -> Vec<String> {
    let events: Value = app.get(&format!("/api/v1/audit?booking_ref={reference}")).await.json().await.unwrap();
    events.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

fn states(codes: &[Value]) -> Vec<&str> {
    codes.iter().map(|c| c["state"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_confirmed_booking_gets_one_code_on_every_lock_and_it_reaches_the_locks() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let created: Value = app
        .put("/api/v1/bookings/BK-1", &stay(&fixture, "confirmed", Duration::days(2), 3))
        .await
        .json()
        .await
        .unwrap();
    let codes = created["codes"].as_array().unwrap();
    let locks: HashSet<&str> = codes.iter().map(|c| c["lock_id"].as_str().unwrap()).collect();
    let expected: HashSet<String> =
        [fixture.locks["entrance"], fixture.locks["101"]].iter().map(Uuid::to_string).collect();
    assert_eq!(locks, expected.iter().map(String::as_str).collect(), "room 101's door and the entrance, not 102");
    assert_eq!(codes[0]["code"], codes[1]["code"], "one code for both locks");
    assert_eq!(states(codes), ["pending", "pending"]);
    assert_eq!(codes[0]["valid_from"], created["check_in_at"]);
    assert_eq!(codes[0]["valid_until"], created["check_out_at"]);

    app.run_jobs().await;
    let codes = codes_of(&app, "BK-1").await;
    assert_eq!(states(&codes), ["set", "set"]);
    let value = codes[0]["code"].as_str().unwrap();
    for lock in ["entrance", "101"] {
        let device = on_device(&app, fixture.locks[lock]).await;
        assert_eq!(device.len(), 1);
        assert_eq!(device[0]["code"], value);
        assert_eq!(device[0]["status"], "managed");
    }
    assert!(on_device(&app, fixture.locks["102"]).await.is_empty());
    let actions = audit_actions(&app, "BK-1").await;
    assert_eq!(actions.iter().filter(|a| *a == "code.created").count(), 2);
    assert_eq!(actions.iter().filter(|a| *a == "code.set").count(), 2);
    let events: Value = app.get("/api/v1/audit?booking_ref=BK-1").await.json().await.unwrap();
    assert!(!events.to_string().contains(value), "the audit trail never holds a full code");
}

#[tokio::test]
async fn locks_of_different_lengths_get_their_own_codes() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let body = json!({ "property_id": fixture.property_id, "room_id": fixture.rooms["101"], "name": "Safe",
        "provider": "simulated", "code_length": 8 });
    assert_eq!(app.post("/api/v1/locks", &body).await.status(), 201);
    let created: Value = app
        .put("/api/v1/bookings/BK-1", &stay(&fixture, "confirmed", Duration::days(2), 3))
        .await
        .json()
        .await
        .unwrap();
    let lengths: Vec<usize> =
        created["codes"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap().len()).collect();
    assert_eq!(lengths.len(), 3);
    assert_eq!(lengths.iter().filter(|l| **l == 8).count(), 1);
    assert_eq!(lengths.iter().filter(|l| **l == 6).count(), 2);
}

#[tokio::test]
async fn codes_come_with_confirmation_and_confirming_again_changes_nothing() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let pending: Value =
        app.put("/api/v1/bookings/BK-1", &stay(&fixture, "pending", Duration::days(2), 3)).await.json().await.unwrap();
    assert_eq!(pending["codes"], json!([]), "no code before confirmation");

    let body = stay(&fixture, "confirmed", Duration::days(2), 3);
    let mut body = body;
    body["check_in_at"] = pending["check_in_at"].clone();
    body["check_out_at"] = pending["check_out_at"].clone();
    let confirmed: Value = app.put("/api/v1/bookings/BK-1", &body).await.json().await.unwrap();
    assert_eq!(confirmed["codes"].as_array().unwrap().len(), 2);
    let again: Value = app.put("/api/v1/bookings/BK-1", &body).await.json().await.unwrap();
    assert_eq!(again["codes"], confirmed["codes"]);
}

#[tokio::test]
async fn racing_confirmations_on_two_instances_yield_one_code_per_lock() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let second = TestApp::spawn_on(app.db.clone(), &[("ADMIN_API_TOKEN", crate::helpers::TOKEN)]).await;
    let body = stay(&fixture, "confirmed", Duration::days(2), 3);
    let requests = (0..10).map(|i| {
        if i % 2 == 0 {
            app.put("/api/v1/bookings/BK-RACE", &body)
        } else {
            second.put("/api/v1/bookings/BK-RACE", &body)
        }
    });
    let responses = futures_util::future::join_all(requests).await;
    assert!(
        responses.iter().all(|r| r.status().is_success()),
        "{:?}",
        responses.iter().map(|r| r.status()).collect::<Vec<_>>()
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM access_codes").fetch_one(&app.db).await.unwrap();
    assert_eq!(count, 2);
    let jobs: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'program_code'").fetch_one(&app.db).await.unwrap();
    assert_eq!(jobs, 2);
}

#[tokio::test]
async fn changed_dates_move_the_window_on_the_lock_and_keep_the_value() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let body = stay(&fixture, "confirmed", Duration::days(2), 3);
    let before: Value = app.put("/api/v1/bookings/BK-1", &body).await.json().await.unwrap();
    app.run_jobs().await;
    let mut moved = body.clone();
    moved["check_out_at"] = json!(Utc::now() + Duration::days(9));
    let after: Value = app.put("/api/v1/bookings/BK-1", &moved).await.json().await.unwrap();
    let value = before["codes"][0]["code"].clone();
    for code in after["codes"].as_array().unwrap() {
        assert_eq!(code["code"], value, "the guest keeps the code they were told");
        assert_eq!(code["valid_until"], after["check_out_at"]);
    }
    app.run_jobs().await;
    let device = on_device(&app, fixture.locks["101"]).await;
    assert_eq!(device[0]["valid_until"], after["check_out_at"], "the window moved on the lock");
    assert!(audit_actions(&app, "BK-1").await.contains(&"code.window_updated_on_lock".to_owned()));
}

#[tokio::test]
async fn cancellation_revokes_and_the_code_leaves_the_lock() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let mut body = stay(&fixture, "confirmed", Duration::days(2), 3);
    app.put("/api/v1/bookings/BK-1", &body).await;
    app.run_jobs().await;
    body["status"] = json!("cancelled");
    let cancelled: Value = app.put("/api/v1/bookings/BK-1", &body).await.json().await.unwrap();
    assert_eq!(
        states(cancelled["codes"].as_array().unwrap()),
        ["removing", "removing"],
        "not removed before the lock confirms"
    );
    app.run_jobs().await;
    assert_eq!(states(&codes_of(&app, "BK-1").await), ["removed", "removed"]);
    assert!(on_device(&app, fixture.locks["101"]).await.is_empty());
    assert!(on_device(&app, fixture.locks["entrance"]).await.is_empty());
    let actions = audit_actions(&app, "BK-1").await;
    assert_eq!(actions.iter().filter(|a| *a == "code.revoked").count(), 2);
    assert_eq!(actions.iter().filter(|a| *a == "code.removed").count(), 2);
}

#[tokio::test]
async fn at_check_out_the_codes_are_removed() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let mut body = stay(&fixture, "confirmed", Duration::days(2), 3);
    app.put("/api/v1/bookings/BK-1", &body).await;
    app.run_jobs().await;
    // The guest left early; the PMS moves check-out into the past.
    body["check_in_at"] = json!(Utc::now() - Duration::days(2));
    body["check_out_at"] = json!(Utc::now() - Duration::minutes(1));
    app.put("/api/v1/bookings/BK-1", &body).await;
    app.run_jobs().await;
    assert_eq!(states(&codes_of(&app, "BK-1").await), ["removed", "removed"]);
    assert!(on_device(&app, fixture.locks["101"]).await.is_empty());
    let events: Value = app.get("/api/v1/audit?booking_ref=BK-1").await.json().await.unwrap();
    let revoked = events.as_array().unwrap().iter().find(|e| e["action"] == "code.revoked").unwrap();
    assert_eq!(revoked["actor"], "system");
    assert_eq!(revoked["details"]["reason"], "validity ended (check-out)");
}

#[tokio::test]
async fn a_flaky_lock_is_retried_until_the_code_is_set() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    set_device(&app, fixture.locks["101"], "fail_next = 2").await;
    app.put("/api/v1/bookings/BK-1", &stay(&fixture, "confirmed", Duration::days(2), 3)).await;
    app.run_jobs().await;
    let codes = codes_of(&app, "BK-1").await;
    let door = codes.iter().find(|c| c["lock_id"] == fixture.locks["101"].to_string()).unwrap();
    let entrance = codes.iter().find(|c| c["lock_id"] == fixture.locks["entrance"].to_string()).unwrap();
    assert_eq!(entrance["state"], "set", "one failing lock does not hold up the other");
    assert_eq!(door["state"], "programming");
    let attempts: i32 =
        sqlx::query_scalar("SELECT attempts FROM jobs WHERE kind = 'program_code'").fetch_one(&app.db).await.unwrap();
    assert_eq!(attempts, 1);
    let stored: Value = app.get(&format!("/api/v1/locks/{}/codes", fixture.locks["101"])).await.json().await.unwrap();
    assert_eq!(stored[0]["last_error"], "simulated failure (fail_next)");

    app.run_jobs_through_retries(2).await;
    let codes = codes_of(&app, "BK-1").await;
    assert_eq!(states(&codes), ["set", "set"]);
    let remaining: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'program_code'").fetch_one(&app.db).await.unwrap();
    assert_eq!(remaining, 0);
}

#[tokio::test]
async fn a_slow_lock_is_set_only_once_the_code_shows_on_it() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    set_device(&app, fixture.locks["101"], "confirm_delay_ms = 3600000").await;
    app.put("/api/v1/bookings/BK-1", &stay(&fixture, "confirmed", Duration::days(2), 3)).await;
    app.run_jobs().await;
    app.run_jobs_through_retries(2).await;
    let codes = codes_of(&app, "BK-1").await;
    let door = codes.iter().find(|c| c["lock_id"] == fixture.locks["101"].to_string()).unwrap();
    assert_eq!(door["state"], "programming", "accepted is not on the lock");
    assert!(door["provider_ref"].is_string());

    sqlx::query("UPDATE simulated_codes SET visible_at = now()").execute(&app.db).await.unwrap();
    app.run_jobs_through_retries(1).await;
    assert_eq!(states(&codes_of(&app, "BK-1").await), ["set", "set"]);
}

#[tokio::test]
async fn a_lock_that_never_answers_ends_with_a_failed_code_and_a_dead_job() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    set_device(&app, fixture.locks["101"], "offline = true").await;
    app.put("/api/v1/bookings/BK-1", &stay(&fixture, "confirmed", Duration::days(2), 3)).await;
    app.run_jobs_through_retries(13).await;
    let codes = codes_of(&app, "BK-1").await;
    let door = codes.iter().find(|c| c["lock_id"] == fixture.locks["101"].to_string()).unwrap();
    assert_eq!(door["state"], "failed");
    assert!(door["last_error"].as_str().unwrap().contains("offline"));
    let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'dead' AND kind = 'program_code'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(dead, 1);
    assert!(audit_actions(&app, "BK-1").await.contains(&"code.failed".to_owned()));
}

#[tokio::test]
async fn a_removal_that_keeps_failing_is_reported_and_never_marked_removed() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let mut body = stay(&fixture, "confirmed", Duration::days(2), 3);
    app.put("/api/v1/bookings/BK-1", &body).await;
    app.run_jobs().await;
    set_device(&app, fixture.locks["101"], "offline = true").await;
    body["status"] = json!("cancelled");
    app.put("/api/v1/bookings/BK-1", &body).await;
    app.run_jobs_through_retries(13).await;

    let codes = codes_of(&app, "BK-1").await;
    let door = codes.iter().find(|c| c["lock_id"] == fixture.locks["101"].to_string()).unwrap();
    let entrance = codes.iter().find(|c| c["lock_id"] == fixture.locks["entrance"].to_string()).unwrap();
    assert_eq!(door["state"], "removing", "still possibly on the lock");
    assert_eq!(entrance["state"], "removed", "the offline door does not block the entrance");
    let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'dead' AND kind = 'remove_code'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(dead, 1);
    assert!(audit_actions(&app, "BK-1").await.contains(&"code.removal_failed".to_owned()));
    let stored: Vec<(String,)> = sqlx::query_as("SELECT code FROM simulated_codes").fetch_all(&app.db).await.unwrap();
    assert_eq!(stored.len(), 1, "the door still holds the code, and doorman says so");
}

#[tokio::test]
async fn an_admin_without_property_rows_is_alerted_about_every_property() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let admin = app
        .post(
            "/api/v1/staff",
            &json!({ "name": "Olga", "phone": "+421900000077", "role": "admin", "property_ids": [] }),
        )
        .await;
    assert_eq!(admin.status(), 201);
    let mut body = stay(&fixture, "confirmed", Duration::days(2), 3);
    app.put("/api/v1/bookings/BK-1", &body).await;
    app.run_jobs().await;
    set_device(&app, fixture.locks["101"], "offline = true").await;
    body["status"] = json!("cancelled");
    app.put("/api/v1/bookings/BK-1", &body).await;
    app.run_jobs_through_retries(13).await;
    let alerts: Vec<String> =
        sqlx::query_scalar("SELECT body FROM notifications WHERE template = 'alert' AND recipient = '+421900000077'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert!(alerts.iter().any(|a| a.contains("could not be removed")), "the only admin is told: {alerts:?}");
}

#[tokio::test]
async fn a_code_revoked_while_it_was_being_accepted_is_still_taken_off_the_lock() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    set_device(&app, fixture.locks["101"], "confirm_delay_ms = 3600000").await;
    let mut body = stay(&fixture, "confirmed", Duration::days(2), 3);
    app.put("/api/v1/bookings/BK-1", &body).await;
    app.run_jobs().await;
    body["status"] = json!("cancelled");
    app.put("/api/v1/bookings/BK-1", &body).await;
    app.run_jobs_through_retries(2).await;
    assert_eq!(states(&codes_of(&app, "BK-1").await), ["removed", "removed"]);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM simulated_codes").fetch_one(&app.db).await.unwrap();
    assert_eq!(left, 0, "the accepted code did not land after its removal");
}

#[tokio::test]
async fn a_stay_in_progress_is_only_revoked_with_force() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let mut body = stay(&fixture, "confirmed", -Duration::hours(5), 3);
    let booking: Value = app.put("/api/v1/bookings/BK-1", &body).await.json().await.unwrap();
    let code_id = booking["codes"][0]["id"].as_str().unwrap().to_owned();
    let refused = app.post(&format!("/api/v1/codes/{code_id}/revoke"), &json!({ "reason": "complaint" })).await;
    assert_error(refused, 409, "stay_in_progress").await;

    // A cancellation from the PMS does not take the door away from a guest
    // who is inside either: it is held for staff.
    body["status"] = json!("cancelled");
    let held: Value = app.put("/api/v1/bookings/BK-1", &body).await.json().await.unwrap();
    assert_eq!(states(held["codes"].as_array().unwrap()), ["pending", "pending"]);
    assert!(audit_actions(&app, "BK-1").await.contains(&"code.revocation_held".to_owned()));

    let forced =
        app.post(&format!("/api/v1/codes/{code_id}/revoke"), &json!({ "reason": "eviction", "force": true })).await;
    assert_eq!(forced.status(), 200);
    let forced: Value = forced.json().await.unwrap();
    assert_eq!(forced["state"], "removing");
    assert_eq!(forced["revoke_reason"], "eviction");
    assert_eq!(forced["revoked_by"], "api");
    let again = app.post(&format!("/api/v1/codes/{code_id}/revoke"), &json!({})).await;
    assert_eq!(again.status(), 200, "revoking twice is harmless");
}

#[tokio::test]
async fn revoking_a_future_stay_needs_no_force_and_unknown_codes_are_404() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let booking: Value = app
        .put("/api/v1/bookings/BK-1", &stay(&fixture, "confirmed", Duration::days(5), 2))
        .await
        .json()
        .await
        .unwrap();
    let code_id = booking["codes"][0]["id"].as_str().unwrap();
    let response = app
        .client
        .post(app.url(&format!("/api/v1/codes/{code_id}/revoke")))
        .bearer_auth(crate::helpers::TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "an empty body revokes with the default reason");
    assert_error(app.post(&format!("/api/v1/codes/{}/revoke", Uuid::new_v4()), &json!({})).await, 404, "not_found")
        .await;
}

#[tokio::test]
async fn a_master_code_that_cannot_be_longer_is_refused() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    // The device says it takes six characters at most, as Seam reports.
    sqlx::query(
        r#"UPDATE locks SET device_constraints = '{"supported_lengths": [], "min_length": 4, "max_length": 6,
               "no_zeros": false, "forbidden_prefixes": [], "max_active_codes": null, "backup_pool": false}'
           WHERE id = $1"#,
    )
    .bind(fixture.locks["101"])
    .execute(&app.db)
    .await
    .unwrap();
    let path = format!("/api/v1/locks/{}/codes", fixture.locks["101"]);
    let message = assert_error(app.post(&path, &json!({ "kind": "master" })).await, 422, "invalid_value").await;
    assert!(message.contains("master code must be longer"), "{message}");
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM access_codes WHERE kind = 'master'").fetch_one(&app.db).await.unwrap();
    assert_eq!(stored, 0, "no master code as short as a guest's");
    let plumber = json!({ "kind": "standalone", "valid_until": Utc::now() + Duration::hours(8) });
    assert_eq!(app.post(&path, &plumber).await.status(), 201, "other codes are unaffected");
}

#[tokio::test]
async fn manual_codes_follow_their_kind() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let path = format!("/api/v1/locks/{}/codes", fixture.locks["101"]);
    let until = Utc::now() + Duration::hours(8);
    let plumber = app.post(&path, &json!({ "kind": "standalone", "valid_until": until, "label": "plumber" })).await;
    assert_eq!(plumber.status(), 201);
    let plumber: Value = plumber.json().await.unwrap();
    assert_eq!(plumber["label"], "plumber");
    assert_eq!(plumber["code"].as_str().unwrap().len(), 6);
    assert_eq!(plumber["state"], "pending");

    let master: Value = app.post(&path, &json!({ "kind": "master" })).await.json().await.unwrap();
    assert_eq!(master["code"].as_str().unwrap().len(), 8, "master codes are longer");
    assert_eq!(master["valid_until"], Value::Null);

    assert_error(app.post(&path, &json!({ "kind": "standalone" })).await, 422, "invalid_value").await;
    assert_error(app.post(&path, &json!({ "kind": "guest" })).await, 422, "invalid_value").await;
    assert_error(app.post(&path, &json!({ "kind": "staff" })).await, 422, "invalid_value").await;
    let past = json!({ "kind": "standalone", "valid_until": Utc::now() - Duration::hours(1) });
    assert_error(app.post(&path, &past).await, 422, "invalid_value").await;
    assert_error(
        app.post(&format!("/api/v1/locks/{}/codes", Uuid::new_v4()), &json!({ "kind": "master" })).await,
        404,
        "not_found",
    )
    .await;

    let staff: Value = app
        .post(
            "/api/v1/staff",
            &json!({ "name": "Eva", "phone": "+421900000009", "role": "staff", "property_ids": [fixture.property_id] }),
        )
        .await
        .json()
        .await
        .unwrap();
    let own = app.post(&path, &json!({ "kind": "staff", "staff_id": id_of(&staff) })).await;
    assert_eq!(own.status(), 201);

    app.run_jobs().await;
    let listed: Value = app.get(&path).await.json().await.unwrap();
    assert!(listed.as_array().unwrap().iter().all(|c| c["state"] == "set"), "{listed}");
    assert_eq!(on_device(&app, fixture.locks["101"]).await.len(), 3);
}

#[tokio::test]
async fn a_full_lock_refuses_manual_codes_and_reports_skipped_guests() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let lock: Value = app
        .post("/api/v1/locks", &json!({ "property_id": fixture.property_id, "room_id": fixture.rooms["102"], "name": "Tiny", "provider": "simulated", "capacity": 2 }))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/locks/{}/codes", id_of(&lock));
    for _ in 0..2 {
        assert_eq!(app.post(&path, &json!({ "kind": "master" })).await.status(), 201);
    }
    let message = assert_error(app.post(&path, &json!({ "kind": "master" })).await, 409, "lock_full").await;
    assert!(message.contains("2 of 2"), "{message}");

    let mut body = stay(&fixture, "confirmed", Duration::days(2), 3);
    body["room"] = json!("102");
    let booking: Value = app.put("/api/v1/bookings/BK-102", &body).await.json().await.unwrap();
    let locks: Vec<&str> =
        booking["codes"].as_array().unwrap().iter().map(|c| c["lock_id"].as_str().unwrap()).collect();
    assert!(!locks.contains(&lock["id"].as_str().unwrap()), "no code on the full lock");
    assert_eq!(locks.len(), 2, "the other locks still get theirs");
    assert!(audit_actions(&app, "BK-102").await.contains(&"lock.full".to_owned()));
}

#[tokio::test]
async fn codes_found_on_the_lock_are_orphans_and_their_values_are_never_reused() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    app.put("/api/v1/bookings/BK-1", &stay(&fixture, "confirmed", Duration::days(2), 3)).await;
    app.run_jobs().await;
    sqlx::query(
        "INSERT INTO simulated_codes (provider_ref, device_id, name, code)
         SELECT 'foreign-1', provider_device_id, 'Cleaner (set by hand)', '583920' FROM locks WHERE id = $1",
    )
    .bind(fixture.locks["101"])
    .execute(&app.db)
    .await
    .unwrap();

    let device = on_device(&app, fixture.locks["101"]).await;
    let orphan = device.iter().find(|c| c["provider_ref"] == "foreign-1").unwrap();
    assert_eq!(orphan["status"], "orphan");
    assert_eq!(orphan["managed"], false);
    let managed = device.iter().find(|c| c["provider_ref"] != "foreign-1").unwrap();
    assert_eq!(managed["status"], "managed");
    assert!(managed["code_id"].is_string());

    // Never removed automatically, and its value cannot be handed out.
    app.run_jobs_through_retries(2).await;
    assert_eq!(on_device(&app, fixture.locks["101"]).await.len(), 2);
    let taken = sqlx::query(
        "INSERT INTO access_codes (lock_id, code, kind, valid_from, created_by) VALUES ($1, '583920', 'master', now(), 'test')",
    )
    .bind(fixture.locks["101"])
    .execute(&app.db)
    .await;
    let error = taken.unwrap_err();
    assert_eq!(error.as_database_error().unwrap().constraint(), Some("access_codes_live_value_key"));
    let events: Value = app.get(&format!("/api/v1/audit?lock_id={}", fixture.locks["101"])).await.json().await.unwrap();
    assert!(events.as_array().unwrap().iter().any(|e| e["action"] == "lock.orphan_found"));
}

#[tokio::test]
async fn live_values_are_unique_per_lock_even_under_concurrent_issuing() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let lock: Value = app
        .post("/api/v1/locks", &json!({ "property_id": fixture.property_id, "room_id": fixture.rooms["102"], "name": "Safe", "provider": "simulated", "code_length": 4, "capacity": 500 }))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/locks/{}/codes", id_of(&lock));
    let body = json!({ "kind": "standalone", "valid_until": Utc::now() + Duration::days(1) });
    let requests = (0..60).map(|_| app.post(&path, &body));
    let responses = futures_util::future::join_all(requests).await;
    assert!(responses.iter().all(|r| r.status() == 201));
    let values: Vec<String> = sqlx::query_scalar("SELECT code FROM access_codes WHERE lock_id = $1")
        .bind(id_of(&lock))
        .fetch_all(&app.db)
        .await
        .unwrap();
    let distinct: HashSet<&String> = values.iter().collect();
    assert_eq!(distinct.len(), 60);
    assert!(values.iter().all(|v| !doorman::access::generate::is_weak(v)));

    // A removed code's value is free again; a live one is not.
    let duplicate = sqlx::query("INSERT INTO access_codes (lock_id, code, kind, valid_from, created_by) VALUES ($1, $2, 'master', now(), 'test')")
        .bind(id_of(&lock))
        .bind(&values[0])
        .execute(&app.db)
        .await;
    assert!(duplicate.is_err());
}
