//! Access windows that follow real stays (SPEC §11, issue 19) through the
//! running service: buffers on the lock while the guest is told the stay's
//! times, `/early` and `/late`, guests' requests, early departures.
//! The window on the simulated lock is what counts.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};

use crate::conversation::{spawn, Chat, GUEST, MANAGER};
use crate::helpers::{assert_error, TOKEN};

const BRATISLAVA: Tz = chrono_tz::Europe::Bratislava;

fn local_date_in(days: i64) -> NaiveDate {
    (Utc::now().with_timezone(&BRATISLAVA) + Duration::days(days)).date_naive()
}

fn local(date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    BRATISLAVA.from_local_datetime(&date.and_hms_opt(hour, minute, 0).unwrap()).unwrap().with_timezone(&Utc)
}

fn at(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap_or_else(|| panic!("no instant in {value}")).parse().unwrap()
}

async fn patch_property(chat: &Chat, body: &Value) -> reqwest::Response {
    chat.app
        .client
        .patch(chat.app.url(&format!("/api/v1/properties/{}", chat.property_id)))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// A stay of `room` by local dates (the property's 15:00 and 11:00 apply).
async fn book_dates(chat: &Chat, reference: &str, phone: &str, room: &str, check_in: NaiveDate, nights: i64) -> Value {
    let body = json!({
        "property_id": chat.property_id, "room": room,
        "guest": { "name": "Anna Novak", "phone": format!("+{phone}") },
        "check_in": check_in, "check_out": check_in + Duration::days(nights), "status": "confirmed"
    });
    let response = chat.app.put(&format!("/api/v1/bookings/{reference}"), &body).await;
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
    let booking = response.json().await.unwrap();
    chat.app.run_jobs().await;
    booking
}

/// The codes on the simulated lock of `room`'s door.
async fn on_door(chat: &Chat, room: &str) -> Vec<Value> {
    let property: Value = chat.app.get(&format!("/api/v1/properties/{}", chat.property_id)).await.json().await.unwrap();
    let name = format!("Room {room} door");
    let lock = property["locks"].as_array().unwrap().iter().find(|l| l["name"] == name.as_str()).unwrap();
    let path = format!("/api/v1/locks/{}/device-codes", lock["id"].as_str().unwrap());
    chat.app.get(&path).await.json::<Value>().await.unwrap().as_array().unwrap().clone()
}

/// The window of the one code on `room`'s door.
async fn door_window(chat: &Chat, room: &str) -> (DateTime<Utc>, DateTime<Utc>) {
    let codes = on_door(chat, room).await;
    assert_eq!(codes.len(), 1, "one code on room {room}'s door: {codes:?}");
    (at(&codes[0]["valid_from"]), at(&codes[0]["valid_until"]))
}

#[tokio::test]
async fn a_buffered_window_is_on_the_lock_while_the_guest_is_told_15_00() {
    let chat = spawn().await;
    let settings = json!({ "code_valid_before_minutes": 60, "code_valid_after_minutes": 30,
        "code_release_hours": 720, "quiet_hours": "" });
    let patched = patch_property(&chat, &settings).await;
    assert_eq!(patched.status(), 200);
    let property: Value = patched.json().await.unwrap();
    assert_eq!(property["code_valid_before_minutes"], 60);
    assert_eq!(property["code_valid_after_minutes"], 30);
    assert_eq!(property["turnover_minutes"], 120, "the default");

    let arrival = local_date_in(2);
    let booking = book_dates(&chat, "BK-BUF", GUEST, "101", arrival, 3).await;
    assert_eq!(at(&booking["check_in_at"]), local(arrival, 15, 0), "the stay keeps its times");
    let departure = arrival + Duration::days(3);
    assert_eq!(door_window(&chat, "101").await, (local(arrival, 14, 0), local(departure, 11, 30)));
    // The message holds the code: the assertion never prints it.
    let told = chat.sent_to(GUEST).await.join("\n");
    assert!(told.contains("doorman_pre_arrival"), "the pre-arrival message went");
    assert!(told.contains("15:00") && !told.contains("14:00"), "the guest is told the stay's check-in, not the lock's");
}

#[tokio::test]
async fn changing_a_buffer_moves_the_windows_of_live_codes_and_keeps_their_values() {
    let chat = spawn().await;
    let current = chat.book("BK-NOW", GUEST, "101", Duration::hours(-5), json!({})).await;
    let future = chat.book("BK-LATER", "421900000009", "102", Duration::days(4), json!({})).await;
    let values = [on_door(&chat, "101").await[0]["code"].clone(), on_door(&chat, "102").await[0]["code"].clone()];

    let patched =
        patch_property(&chat, &json!({ "code_valid_before_minutes": 45, "code_valid_after_minutes": 90 })).await;
    assert_eq!(patched.status(), 200);
    chat.app.run_jobs().await;
    for (room, booking, value) in [("101", &current, &values[0]), ("102", &future, &values[1])] {
        let (from, until) = door_window(&chat, room).await;
        assert_eq!(from, at(&booking["check_in_at"]) - Duration::minutes(45), "room {room}");
        assert_eq!(until, at(&booking["check_out_at"]) + Duration::minutes(90), "room {room}");
        assert_eq!(&on_door(&chat, room).await[0]["code"], value, "the guest keeps the code they were told");
    }
    // The booking itself keeps the stay's times.
    let shown: Value = chat.app.get("/api/v1/bookings/BK-LATER").await.json().await.unwrap();
    assert_eq!(shown["check_in_at"], future["check_in_at"]);
}

#[tokio::test]
async fn a_buffer_out_of_range_or_not_a_number_is_refused_and_changes_nothing() {
    let chat = spawn().await;
    for (body, field) in [
        (json!({ "code_valid_before_minutes": -5 }), "code_valid_before_minutes"),
        (json!({ "code_valid_after_minutes": 1441 }), "code_valid_after_minutes"),
        (json!({ "turnover_minutes": 100000 }), "turnover_minutes"),
        (json!({ "code_valid_before_minutes": "sixty" }), "code_valid_before_minutes"),
        (json!({ "code_valid_after_minutes": 1.5 }), "code_valid_after_minutes"),
    ] {
        let message = assert_error(patch_property(&chat, &body).await, 422, "invalid_value").await;
        assert!(message.contains(field), "{message}");
    }
    let property: Value = chat.app.get(&format!("/api/v1/properties/{}", chat.property_id)).await.json().await.unwrap();
    assert_eq!(property["code_valid_before_minutes"], 0);
    assert_eq!(property["code_valid_after_minutes"], 0);
}
