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

async fn timeline(chat: &Chat, reference: &str) -> Vec<Value> {
    let booking: Value = chat.app.get(&format!("/api/v1/bookings/{reference}")).await.json().await.unwrap();
    booking["messages"].as_array().unwrap_or_else(|| panic!("no timeline in {booking}")).clone()
}

fn send_at(timeline: &[Value], rule: &str) -> DateTime<Utc> {
    at(&timeline.iter().find(|m| m["rule"] == rule).unwrap_or_else(|| panic!("no {rule} in {timeline:?}"))["send_at"])
}

async fn patch_booking(chat: &Chat, reference: &str, body: &Value) -> reqwest::Response {
    chat.app
        .client
        .patch(chat.app.url(&format!("/api/v1/bookings/{reference}")))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Makes the rule messages due now and sends them.
async fn rule_messages_go(chat: &Chat) {
    for kind in ["send_rule_message", "send_message"] {
        sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = $1 AND state = 'queued'")
            .bind(kind)
            .execute(&chat.app.db)
            .await
            .unwrap();
        chat.app.run_jobs().await;
    }
}

#[tokio::test]
async fn late_moves_only_the_end_and_the_check_out_reminder() {
    let chat = spawn().await;
    let arrival = local_date_in(2);
    let departure = arrival + Duration::days(3);
    book_dates(&chat, "BK-LATE", GUEST, "101", arrival, 3).await;
    let before = timeline(&chat, "BK-LATE").await;

    let reply = chat.say(MANAGER, "/late room 101 14:00").await;
    assert_eq!(reply.len(), 1);
    assert!(
        reply[0].contains("Check-out moved to") && reply[0].contains("14:00") && reply[0].contains("was 11:00"),
        "{}",
        reply[0]
    );
    assert_eq!(door_window(&chat, "101").await, (local(arrival, 15, 0), local(departure, 14, 0)), "only the end moved");
    let booking: Value = chat.app.get("/api/v1/bookings/BK-LATE").await.json().await.unwrap();
    assert_eq!(at(&booking["check_in_at"]), local(arrival, 15, 0));
    assert_eq!(at(&booking["check_out_at"]), local(departure, 14, 0));
    let told = chat.sent_to(GUEST).await;
    let moved = told.iter().find(|m| m.contains("doorman_stay_moved")).expect("the guest is told");
    assert!(moved.contains("14:00") && moved.contains("has been changed"), "{moved}");

    let after = timeline(&chat, "BK-LATE").await;
    assert_eq!(send_at(&after, "pre_arrival"), send_at(&before, "pre_arrival"), "the start's message stays");
    assert_eq!(send_at(&after, "check_out_reminder"), local(departure, 8, 0));
    rule_messages_go(&chat).await;
    let reminder = chat.sent_to(GUEST).await.into_iter().find(|m| m.contains("doorman_check_out_reminder")).unwrap();
    assert!(reminder.contains("14:00") && !reminder.contains("11:00"), "the reminder tells the new time: {reminder}");
}

#[tokio::test]
async fn early_moves_the_start_and_the_pre_arrival_message_and_tells_a_german_guest_in_german() {
    let chat = spawn().await;
    let arrival = local_date_in(3);
    let body = json!({
        "property_id": chat.property_id, "room": "101",
        "guest": { "name": "Jonas Weber", "phone": format!("+{GUEST}"), "language": "de" },
        "check_in": arrival, "check_out": arrival + Duration::days(2), "status": "confirmed"
    });
    assert!(chat.app.put("/api/v1/bookings/BK-EARLY", &body).await.status().is_success());
    chat.app.run_jobs().await;
    let before = send_at(&timeline(&chat, "BK-EARLY").await, "pre_arrival");

    let reply = chat.say(MANAGER, "/early room 101 12:00").await;
    assert!(reply[0].contains("Check-in moved to") && reply[0].contains("12:00"), "{}", reply[0]);
    let (from, until) = door_window(&chat, "101").await;
    assert_eq!((from, until), (local(arrival, 12, 0), local(arrival + Duration::days(2), 11, 0)));
    assert_eq!(send_at(&timeline(&chat, "BK-EARLY").await, "pre_arrival"), before - Duration::hours(3));
    let told = chat.sent_to(GUEST).await;
    let moved = told.iter().find(|m| m.contains("doorman_stay_moved")).expect("the guest is told");
    assert!(moved.contains("Ihr Aufenthalt") && moved.contains("12:00"), "{moved}");
}

#[tokio::test]
async fn an_overlap_is_refused_with_the_next_bookings_reference_and_changes_nothing() {
    let chat = spawn().await;
    let arrival = local_date_in(2);
    book_dates(&chat, "BK-A", GUEST, "101", arrival, 2).await;
    book_dates(&chat, "BK-B", "421900000009", "101", arrival + Duration::days(2), 2).await;
    let windows_before = on_door(&chat, "101").await;
    let told_before = chat.sent_to(GUEST).await.len();

    // 14:00 and the 120 minutes of turnover reach BK-B's 15:00.
    let reply = chat.say(MANAGER, "/late room 101 14:00").await;
    assert_eq!(reply.len(), 1);
    assert!(reply[0].starts_with("Refused") && reply[0].contains("BK-B") && reply[0].contains("120"), "{}", reply[0]);
    assert_eq!(on_door(&chat, "101").await, windows_before, "nothing moved on the lock");
    let booking: Value = chat.app.get("/api/v1/bookings/BK-A").await.json().await.unwrap();
    assert_eq!(at(&booking["check_out_at"]), local(arrival + Duration::days(2), 11, 0));
    assert_eq!(chat.sent_to(GUEST).await.len(), told_before, "the guest is told nothing");

    // The previous stay, through the booking API: 409 naming BK-A.
    let earlier = json!({ "check_in_at": local(arrival + Duration::days(2), 12, 0) });
    let message = assert_error(patch_booking(&chat, "BK-B", &earlier).await, 409, "conflict").await;
    assert!(message.contains("BK-A") && message.contains("120 minutes"), "{message}");

    // 12:30 leaves the turnover free: moved.
    let reply = chat.say(MANAGER, "/late room 101 12:30").await;
    assert!(reply[0].contains("Check-out moved to"), "{}", reply[0]);
    let patched =
        patch_booking(&chat, "BK-B", &json!({ "check_in_at": local(arrival + Duration::days(2), 14, 30) })).await;
    assert_eq!(patched.status(), 200);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(at(&patched["check_in_at"]), local(arrival + Duration::days(2), 14, 30));
    assert_eq!(at(&patched["codes"][0]["valid_from"]), local(arrival + Duration::days(2), 14, 30));
}

#[tokio::test]
async fn early_and_late_answer_bad_input_with_one_line_and_change_nothing() {
    let chat = spawn().await;
    let arrival = local_date_in(2);
    book_dates(&chat, "BK-1", GUEST, "101", arrival, 2).await;
    // An ended stay in room 102.
    let ended = json!({ "property_id": chat.property_id, "room": "102",
        "guest": { "name": "Old Guest", "phone": "+421900000019" },
        "check_in_at": Utc::now() - Duration::days(3), "check_out_at": Utc::now() - Duration::hours(2), "status": "confirmed" });
    assert!(chat.app.put("/api/v1/bookings/BK-OLD", &ended).await.status().is_success());
    let windows_before = on_door(&chat, "101").await;
    for (text, expected) in [
        ("/late room 101 2pm", "Usage: /late room 101 14:00"),
        ("/late room 101 25:00", "Usage: /late room 101 14:00"),
        ("/early room 101", "Usage: /early room 101 12:00"),
        ("/late room 999 14:00", "No room 999"),
        ("/late room 102 14:00", "Usage: /late room 101 14:00"),
        ("/early room 102 12:00", "Usage: /early room 101 12:00"),
    ] {
        let reply = chat.say(MANAGER, text).await;
        assert_eq!(reply.len(), 1, "{text}");
        assert!(reply[0].contains(expected) && !reply[0].contains('\n'), "{text}: {}", reply[0]);
    }
    let staff = json!({ "name": "Eva", "phone": "+421900000003", "role": "staff", "property_ids": [chat.property_id] });
    assert_eq!(chat.app.post("/api/v1/staff", &staff).await.status(), 201);
    let reply = chat.say("421900000003", "/late room 101 14:00").await;
    assert!(reply[0].contains("needs the manager role"), "{}", reply[0]);
    assert_eq!(on_door(&chat, "101").await, windows_before);

    let after_check_in = json!({ "check_out_at": local(arrival, 14, 0) });
    for (reference, body, status, code) in [
        ("BK-1", json!({}), 422, "invalid_value"),
        ("BK-1", after_check_in, 422, "invalid_value"),
        ("BK-1", json!({ "check_out_at": "tomorrow" }), 422, "invalid_value"),
        ("BK-1", json!({ "room": "102" }), 422, "invalid_value"),
        ("BK-OLD", json!({ "check_out_at": Utc::now() + Duration::hours(3) }), 422, "invalid_value"),
        ("BK-NONE", json!({ "check_out_at": Utc::now() + Duration::hours(3) }), 404, "not_found"),
    ] {
        let message = assert_error(patch_booking(&chat, reference, &body).await, status, code).await;
        assert!(!message.is_empty() && !message.contains('\n'), "{body}: {message}");
    }
    assert_eq!(on_door(&chat, "101").await, windows_before);
}

#[tokio::test]
async fn a_guests_request_reaches_the_managers_with_the_command_and_changes_nothing() {
    let chat = spawn().await;
    let cleaner =
        json!({ "name": "Eva", "phone": "+421900000003", "role": "staff", "property_ids": [chat.property_id] });
    assert_eq!(chat.app.post("/api/v1/staff", &cleaner).await.status(), 201);
    let arrival = local_date_in(2);
    book_dates(&chat, "BK-ASK", GUEST, "101", arrival, 3).await;
    let windows_before = on_door(&chat, "101").await;
    let before: Value = chat.app.get("/api/v1/bookings/BK-ASK").await.json().await.unwrap();

    let reply = chat.say(GUEST, "Could we have a late check-out? We would like to leave at 14:00").await;
    assert_eq!(reply, ["I have asked the team whether that is possible. They will let you know; until then your check-in and check-out times stay as booked."]);
    let alert = chat.sent_to(MANAGER).await.join("\n");
    assert!(alert.contains("BK-ASK") && alert.contains("check out later"), "{alert}");
    assert!(alert.contains("/late room 101 14:00"), "the exact command that approves it: {alert}");
    assert!(chat.sent_to("421900000003").await.iter().all(|m| !m.contains("BK-ASK")), "managers only");

    let reply = chat.say(GUEST, "Können wir früher einchecken?").await;
    assert!(reply[0].starts_with("Ich habe das Team gefragt"), "{}", reply[0]);
    let alert = chat.sent_to(MANAGER).await.join("\n");
    assert!(alert.contains("check in earlier") && alert.contains("/early room 101 12:00"), "{alert}");

    assert_eq!(on_door(&chat, "101").await, windows_before, "nothing changes before a manager approves");
    let after: Value = chat.app.get("/api/v1/bookings/BK-ASK").await.json().await.unwrap();
    assert_eq!((&after["check_in_at"], &after["check_out_at"]), (&before["check_in_at"], &before["check_out_at"]));

    // The manager approves with the command they were given.
    let reply = chat.say(MANAGER, "/late room 101 14:00").await;
    assert!(reply[0].contains("Check-out moved to"), "{}", reply[0]);
    let departure = arrival + Duration::days(3);
    assert_eq!(door_window(&chat, "101").await.1, local(departure, 14, 0));
}

#[tokio::test]
async fn an_early_departure_ends_access_15_minutes_later_once_confirmed() {
    let chat = spawn().await;
    let booking = chat.book("BK-DEP", GUEST, "101", Duration::hours(-20), json!({})).await;
    let booked_until = at(&booking["check_out_at"]);
    chat.book("BK-NEXT", "421900000009", "102", Duration::days(2), json!({})).await;

    let asked = chat.say(MANAGER, "/checkout room 101").await;
    assert!(asked[0].contains("15 minutes") && asked[0].contains("/confirm"), "{}", asked[0]);
    assert_eq!(door_window(&chat, "101").await.1, booked_until, "nothing before the confirmation");
    let token = asked[0].split("/confirm ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    let confirmed_at = Utc::now();
    let done = chat.say(MANAGER, &format!("/confirm {token}")).await;
    assert!(done[0].contains("stops working at"), "{}", done[0]);
    chat.app.run_jobs().await;
    let (_, until) = door_window(&chat, "101").await;
    let expected = confirmed_at + Duration::minutes(15);
    assert!((until - expected).num_seconds().abs() < 60, "the lock's window ends 15 minutes later: {until}");
    let alerts = chat.sent_to(MANAGER).await.join("\n");
    assert!(alerts.contains("has left") && alerts.contains("turnover of room 101"), "{alerts}");

    for (text, expected) in [
        ("/checkout", "Usage: /checkout room 101"),
        ("/checkout room 999", "No room 999"),
        ("/checkout room 102", "has not begun. Usage: /checkout room 101"),
        ("/checkout room 101 now", "Usage: /checkout room 101"),
    ] {
        let reply = chat.say(MANAGER, text).await;
        assert_eq!(reply.len(), 1, "{text}");
        assert!(reply[0].contains(expected) && !reply[0].contains('\n'), "{text}: {}", reply[0]);
    }
    let booking: Value = chat.app.get("/api/v1/bookings/BK-NEXT").await.json().await.unwrap();
    assert_eq!(booking["codes"][0]["state"], "set", "the next stay is untouched");
}

/// A calendar or PMS sends the stay again with the times it had before
/// staff moved it: the late check-out stays; a new time from upstream wins.
#[tokio::test]
async fn a_resend_with_the_old_times_keeps_a_late_check_out_and_a_new_time_from_upstream_wins() {
    let chat = spawn().await;
    let arrival = local_date_in(2);
    let departure = arrival + Duration::days(3);
    book_dates(&chat, "BK-KEEP", GUEST, "101", arrival, 3).await;
    assert!(chat.say(MANAGER, "/late room 101 14:00").await[0].contains("Check-out moved to"));
    chat.app.run_jobs().await;

    book_dates(&chat, "BK-KEEP", GUEST, "101", arrival, 3).await;
    let booking: Value = chat.app.get("/api/v1/bookings/BK-KEEP").await.json().await.unwrap();
    assert_eq!(at(&booking["check_out_at"]), local(departure, 14, 0), "the resend did not undo /late");
    assert_eq!(door_window(&chat, "101").await, (local(arrival, 15, 0), local(departure, 14, 0)));

    // The guest books another night upstream: that is the new check-out.
    book_dates(&chat, "BK-KEEP", GUEST, "101", arrival, 4).await;
    let booking: Value = chat.app.get("/api/v1/bookings/BK-KEEP").await.json().await.unwrap();
    let later = departure + Duration::days(1);
    assert_eq!(at(&booking["check_out_at"]), local(later, 11, 0), "upstream's new time wins");
    assert_eq!(door_window(&chat, "101").await.1, local(later, 11, 0));
}

/// A guest who has left does not get their access back from a resend.
#[tokio::test]
async fn a_resend_after_an_early_departure_does_not_give_the_guest_their_access_back() {
    let chat = spawn().await;
    let arrival = local_date_in(-1);
    book_dates(&chat, "BK-GONE", GUEST, "101", arrival, 3).await;
    let asked = chat.say(MANAGER, "/checkout room 101").await;
    let token = asked[0].split("/confirm ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    assert!(chat.say(MANAGER, &format!("/confirm {token}")).await[0].contains("stops working at"));
    chat.app.run_jobs().await;
    let (_, until) = door_window(&chat, "101").await;
    assert!(until < Utc::now() + Duration::minutes(16), "access ends 15 minutes after the departure: {until}");

    for nights in [3, 4] {
        book_dates(&chat, "BK-GONE", GUEST, "101", arrival, nights).await;
        let (_, still) = door_window(&chat, "101").await;
        assert_eq!(still, until, "a resend of {nights} nights keeps the departure");
    }
}
