//! Turnovers and departures (SPEC §11, issue 19) through the running
//! service: the cleaner's code between two stays on the simulated locks
//! (the window on the device is what counts), moved and cancelled with the
//! stays around it, `/turnovers today`, a guest's "we have left", and the
//! console's stay forms.

use chrono::{DateTime, Duration, NaiveDate, SubsecRound, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};

use crate::console::sign_in;
use crate::conversation::{spawn, Chat, GUEST, MANAGER};
use crate::helpers::{assert_error, TOKEN};

const BRATISLAVA: Tz = chrono_tz::Europe::Bratislava;
const CLEANER: &str = "421900000003";
const NEXT_GUEST: &str = "421900000009";

fn local_date_in(days: i64) -> NaiveDate {
    (Utc::now().with_timezone(&BRATISLAVA) + Duration::days(days)).date_naive()
}

fn local(date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    BRATISLAVA.from_local_datetime(&date.and_hms_opt(hour, minute, 0).unwrap()).unwrap().with_timezone(&Utc)
}

fn at(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap_or_else(|| panic!("no instant in {value}")).parse().unwrap()
}

/// Eva, staff at the property, flagged `cleaner` (or not).
async fn add_cleaner(chat: &Chat, cleaner: bool) -> Value {
    let body = json!({ "name": "Eva", "phone": format!("+{CLEANER}"), "role": "staff",
        "property_ids": [chat.property_id], "cleaner": cleaner });
    let response = chat.app.post("/api/v1/staff", &body).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// The property's entrance lock (shared by every room).
async fn add_entrance(chat: &Chat) {
    let body = json!({ "property_id": chat.property_id, "name": "Entrance", "provider": "simulated" });
    assert!(chat.app.post("/api/v1/locks", &body).await.status().is_success());
}

/// A stay of room 101 between two instants.
async fn stay(chat: &Chat, reference: &str, phone: &str, from: DateTime<Utc>, until: DateTime<Utc>) {
    let body = json!({ "property_id": chat.property_id, "room": "101",
        "guest": { "name": "Anna Novak", "phone": format!("+{phone}") },
        "check_in_at": from, "check_out_at": until, "status": "confirmed" });
    let response = chat.app.put(&format!("/api/v1/bookings/{reference}"), &body).await;
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
    chat.app.run_jobs().await;
}

/// The codes on the simulated lock named `name`.
async fn on_lock(chat: &Chat, name: &str) -> Vec<Value> {
    let property: Value = chat.app.get(&format!("/api/v1/properties/{}", chat.property_id)).await.json().await.unwrap();
    let lock = property["locks"].as_array().unwrap().iter().find(|l| l["name"] == name).unwrap();
    let path = format!("/api/v1/locks/{}/device-codes", lock["id"].as_str().unwrap());
    chat.app.get(&path).await.json::<Value>().await.unwrap().as_array().unwrap().clone()
}

/// The windows of the codes on a lock, by start.
async fn windows_on(chat: &Chat, name: &str) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut windows: Vec<_> =
        on_lock(chat, name).await.iter().map(|c| (at(&c["valid_from"]), at(&c["valid_until"]))).collect();
    windows.sort();
    windows
}

/// The value of the cleaner's code on a lock: the one whose window is `window`.
async fn code_with_window(chat: &Chat, name: &str, window: (DateTime<Utc>, DateTime<Utc>)) -> Option<String> {
    on_lock(chat, name)
        .await
        .iter()
        .find(|c| (at(&c["valid_from"]), at(&c["valid_until"])) == window)
        .map(|c| c["code"].as_str().unwrap().to_owned())
}

/// Makes the waiting jobs due (the turnover's lead has passed) and runs them.
async fn lead_passes(chat: &Chat) {
    chat.app.fast_forward().await;
    chat.app.run_jobs().await;
}

#[tokio::test]
async fn a_turnover_code_is_on_the_locks_only_between_the_stays_and_removed_at_the_next_check_in() {
    let chat = spawn().await;
    add_entrance(&chat).await;
    add_cleaner(&chat, true).await;
    let first_out = Utc::now().trunc_subsecs(0) - Duration::hours(1);
    stay(&chat, "BK-FIRST", GUEST, first_out - Duration::days(2), first_out).await;
    let next_in = Utc::now().trunc_subsecs(0) + Duration::seconds(25);
    stay(&chat, "BK-NEXT", NEXT_GUEST, next_in, next_in + Duration::days(2)).await;
    chat.app.run_jobs().await;

    let between = (first_out, next_in);
    for lock in ["Room 101 door", "Entrance"] {
        assert!(windows_on(&chat, lock).await.contains(&between), "{lock}: the cleaner's window is between the stays");
    }
    let code = code_with_window(&chat, "Room 101 door", between).await.expect("the turnover code is on the door");
    let entrance = code_with_window(&chat, "Entrance", between).await.expect("and on the entrance");
    assert!(code == entrance, "one value for the room and the entrance");
    let told = chat.sent_to(CLEANER).await.join("\n");
    assert!(told.contains("Turnover of room 101") && told.contains("BK-NEXT"), "the cleaner is told: {told}");
    assert!(told.contains(&code), "the cleaner gets the code in their own chat");
    assert!(chat.sent_to(MANAGER).await.iter().all(|m| !m.contains(&code)), "nobody else gets it");

    let listed = chat.say(MANAGER, "/turnovers today").await;
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].contains("room 101") && listed[0].contains("Eva") && listed[0].contains("code set"),
        "{}",
        listed[0]
    );
    assert!(listed[0].contains("BK-FIRST") && listed[0].contains("next BK-NEXT"), "{}", listed[0]);
    assert!(!listed[0].contains(&code), "a list never shows the code");

    // The next guests' check-in: the cleaner's code leaves every lock.
    tokio::time::sleep((next_in - Utc::now()).to_std().unwrap_or_default() + std::time::Duration::from_secs(1)).await;
    chat.app.run_jobs().await;
    for lock in ["Room 101 door", "Entrance"] {
        assert!(code_with_window(&chat, lock, between).await.is_none(), "{lock}: removed at the next check-in");
        assert_eq!(on_lock(&chat, lock).await.len(), 1, "{lock}: only the next guests' code is left");
    }
}

#[tokio::test]
async fn a_turnover_moves_with_late_and_a_cancelled_next_stay_leaves_the_cleaning_window() {
    let chat = spawn().await;
    add_cleaner(&chat, true).await;
    let departure = local_date_in(1);
    stay(&chat, "BK-A", GUEST, local(departure - Duration::days(2), 15, 0), local(departure, 11, 0)).await;
    stay(&chat, "BK-B", NEXT_GUEST, local(departure, 15, 0), local(departure + Duration::days(2), 11, 0)).await;
    lead_passes(&chat).await;
    let turnover = (local(departure, 11, 0), local(departure, 15, 0));
    assert!(windows_on(&chat, "Room 101 door").await.contains(&turnover), "11:00 to 15:00");

    let reply = chat.say(MANAGER, "/late room 101 12:30").await;
    assert!(reply[0].contains("Check-out moved to"), "{}", reply[0]);
    chat.app.run_jobs().await;
    let moved = (local(departure, 12, 30), local(departure, 15, 0));
    let windows = windows_on(&chat, "Room 101 door").await;
    assert!(windows.contains(&moved) && !windows.contains(&turnover), "the turnover starts at 12:30: {windows:?}");
    let told = chat.sent_to(CLEANER).await;
    assert!(told.last().is_some_and(|m| m.contains("12:30")), "the cleaner is told the new window: {told:?}");

    // The next stay is cancelled: the property's cleaning window (240 min).
    let cancelled = json!({ "property_id": chat.property_id, "room": "101",
        "guest": { "name": "Anna Novak", "phone": format!("+{NEXT_GUEST}") },
        "check_in_at": local(departure, 15, 0), "check_out_at": local(departure + Duration::days(2), 11, 0),
        "status": "cancelled" });
    assert!(chat.app.put("/api/v1/bookings/BK-B", &cancelled).await.status().is_success());
    chat.app.run_jobs().await;
    let cleaning = (local(departure, 12, 30), local(departure, 16, 30));
    assert_eq!(
        windows_on(&chat, "Room 101 door").await,
        [(local(departure - Duration::days(2), 15, 0), local(departure, 12, 30)), cleaning]
    );
    let listed = chat.say(MANAGER, "/turnovers tomorrow").await;
    assert!(listed[0].contains("12:30–16:30") && listed[0].contains("no stay follows"), "{}", listed[0]);
    // And on the console's Today, under tomorrow.
    let mut browser = sign_in(&chat, MANAGER).await;
    let (_, html) = browser.get("/admin").await;
    assert!(html.contains("Turnovers") && html.contains("cleaner Eva"), "Today lists the turnover");
    assert!(html.contains("12:30–"), "with its window");
    let badge = ["cleaner's code on the locks", "cleaner&#x27;s code on the locks", "cleaner&#39;s code on the locks"];
    assert!(badge.iter().any(|b| html.contains(b)), "and the code's state");

    // A shorter cleaning window through the property API moves it again.
    let patched = chat
        .app
        .client
        .patch(chat.app.url(&format!("/api/v1/properties/{}", chat.property_id)))
        .bearer_auth(TOKEN)
        .json(&json!({ "cleaning_window_minutes": 120 }))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    assert_eq!(patched.json::<Value>().await.unwrap()["cleaning_window_minutes"], 120);
    chat.app.run_jobs().await;
    assert!(windows_on(&chat, "Room 101 door").await.contains(&(local(departure, 12, 30), local(departure, 14, 30))));
}

#[tokio::test]
async fn a_stay_moved_to_another_room_takes_its_turnover_with_it() {
    let chat = spawn().await;
    add_cleaner(&chat, true).await;
    let out = Utc::now().trunc_subsecs(0) + Duration::hours(2);
    let body = |room: &str| {
        json!({ "property_id": chat.property_id, "room": room,
        "guest": { "name": "Anna Novak", "phone": format!("+{GUEST}") },
        "check_in_at": out - Duration::days(2), "check_out_at": out, "status": "confirmed" })
    };
    assert!(chat.app.put("/api/v1/bookings/BK-MOVE", &body("101")).await.status().is_success());
    chat.app.run_jobs().await;
    let window = (out, out + Duration::minutes(240));
    assert!(code_with_window(&chat, "Room 101 door", window).await.is_some(), "the turnover of room 101");

    assert!(chat.app.put("/api/v1/bookings/BK-MOVE", &body("102")).await.status().is_success());
    chat.app.run_jobs().await;
    assert!(code_with_window(&chat, "Room 101 door", window).await.is_none(), "room 101's turnover is gone");
    assert!(code_with_window(&chat, "Room 102 door", window).await.is_some(), "room 102 has it now");
    let told = chat.sent_to(CLEANER).await.join("\n");
    assert!(told.contains("room 101") && told.contains("is off") && told.contains("Turnover of room 102"), "{told}");
}

#[tokio::test]
async fn without_a_cleaner_no_code_is_made_until_one_is_flagged_and_bad_input_is_refused() {
    let chat = spawn().await;
    let eva = add_cleaner(&chat, false).await;
    assert_eq!(eva["cleaner_property_ids"], json!([]));
    let first_out = Utc::now().trunc_subsecs(0) - Duration::minutes(30);
    stay(&chat, "BK-1", GUEST, first_out - Duration::days(2), first_out).await;
    lead_passes(&chat).await;
    assert!(
        on_lock(&chat, "Room 101 door").await.iter().all(|c| at(&c["valid_from"]) != first_out),
        "no cleaner: no code"
    );
    assert!(chat.sent_to(CLEANER).await.iter().all(|m| !m.contains("Turnover")), "staff who do not clean get nothing");
    let listed = chat.say(MANAGER, "/turnovers today").await;
    assert!(listed[0].contains("no cleaner yet") && listed[0].contains("code not drawn yet"), "{}", listed[0]);

    for (text, expected) in [
        ("/turnovers yesterday", "Usage: /turnovers today"),
        ("/turnovers today room 101", "Usage: /turnovers today"),
        ("/turnovers 2026-13-40", "Usage: /turnovers today"),
    ] {
        let reply = chat.say(MANAGER, text).await;
        assert_eq!(reply.len(), 1, "{text}");
        assert!(reply[0].starts_with(expected) && !reply[0].contains('\n'), "{text}: {}", reply[0]);
    }
    assert_eq!(chat.say(MANAGER, "/turnovers 2030-01-01").await, ["No turnovers."]);

    let patch = |body: Value| {
        let url = chat.app.url(&format!("/api/v1/staff/{}", eva["id"].as_str().unwrap()));
        chat.app.client.patch(url).bearer_auth(TOKEN).json(&body).send()
    };
    assert_error(patch(json!({ "cleaner": "yes" })).await.unwrap(), 422, "invalid_value").await;
    let flagged = patch(json!({ "cleaner": true })).await.unwrap();
    assert_eq!(flagged.status(), 200);
    assert_eq!(flagged.json::<Value>().await.unwrap()["cleaner_property_ids"], json!([chat.property_id]));
    chat.app.run_jobs().await;
    assert!(windows_on(&chat, "Room 101 door").await.iter().any(|w| w.0 == first_out), "flagged: the code is made");
    assert!(chat.sent_to(CLEANER).await.iter().any(|m| m.contains("Turnover of room 101")), "and sent to her");

    // Eva leaves: the turnover goes to the other cleaner, with a new code.
    let eva_code = code_with_window(&chat, "Room 101 door", (first_out, first_out + Duration::minutes(240))).await;
    let ana = json!({ "name": "Ana", "phone": "+421900000004", "role": "staff",
        "property_ids": [chat.property_id], "cleaner": true });
    assert_eq!(chat.app.post("/api/v1/staff", &ana).await.status(), 201);
    assert_eq!(patch(json!({ "active": false })).await.unwrap().status(), 200);
    chat.app.run_jobs().await;
    let ana_code = code_with_window(&chat, "Room 101 door", (first_out, first_out + Duration::minutes(240))).await;
    assert!(ana_code.is_some() && ana_code != eva_code, "a new code for the new cleaner");
    assert!(chat.sent_to("421900000004").await.iter().any(|m| m.contains("Turnover of room 101")), "Ana is told");
    let listed = chat.say(MANAGER, "/turnovers").await;
    assert!(listed[0].contains("Ana, code set"), "{}", listed[0]);

    let admin = json!({ "name": "Ada", "phone": "+421900000077", "role": "admin", "cleaner": true });
    let message = assert_error(chat.app.post("/api/v1/staff", &admin).await, 422, "invalid_value").await;
    assert!(message.contains("cleaner"), "{message}");
    let property = format!("/api/v1/properties/{}", chat.property_id);
    for bad in [json!({ "cleaning_window_minutes": 5 }), json!({ "cleaning_window_minutes": "long" })] {
        let response =
            chat.app.client.patch(chat.app.url(&property)).bearer_auth(TOKEN).json(&bad).send().await.unwrap();
        let message = assert_error(response, 422, "invalid_value").await;
        assert!(message.contains("cleaning_window_minutes"), "{message}");
    }
}

#[tokio::test]
async fn assign_gives_the_rooms_next_turnover_to_another_staff_member_and_refuses_bad_input() {
    let chat = spawn().await;
    add_cleaner(&chat, true).await;
    let ana =
        json!({ "name": "Ana Kováč", "phone": "+421900000004", "role": "staff", "property_ids": [chat.property_id] });
    assert_eq!(chat.app.post("/api/v1/staff", &ana).await.status(), 201);
    let first_out = Utc::now().trunc_subsecs(0) - Duration::minutes(30);
    stay(&chat, "BK-1", GUEST, first_out - Duration::days(2), first_out).await;
    let window = (first_out, first_out + Duration::minutes(240));
    let eva_code = code_with_window(&chat, "Room 101 door", window).await.expect("Eva's code");

    let reply = chat.say(MANAGER, "/assign room 101 ana").await;
    assert!(reply[0].contains("assigned to Ana Kováč"), "{}", reply[0]);
    chat.app.run_jobs().await;
    let ana_code = code_with_window(&chat, "Room 101 door", window).await.expect("Ana's code");
    assert!(ana_code != eva_code, "a new code: Eva's left the lock");
    assert!(chat.sent_to("421900000004").await.iter().any(|m| m.contains(&ana_code)), "Ana gets it");
    assert!(chat.sent_to(CLEANER).await.iter().all(|m| !m.contains(&ana_code)), "Eva does not");
    assert!(chat.say(MANAGER, "/turnovers").await[0].contains("Ana Kováč, code set"));

    for (from, text, expected) in [
        (
            MANAGER,
            "/assign room 101 Zed",
            "Room 101: no staff member of that name works here. Usage: /assign room 101 Eva",
        ),
        (MANAGER, "/assign room 102 Ana", "Room 102: no turnover ahead. Usage: /assign room 101 Eva"),
        (MANAGER, "/assign room 999 Ana", "No room 999"),
        (MANAGER, "/assign room 101", "Usage: /assign room 101 Eva"),
        (CLEANER, "/assign room 101 Eva", "needs the manager role"),
    ] {
        let reply = chat.say(from, text).await;
        assert_eq!(reply.len(), 1, "{text}");
        assert!(reply[0].contains(expected) && !reply[0].contains('\n'), "{text}: {}", reply[0]);
    }
    assert_eq!(code_with_window(&chat, "Room 101 door", window).await, Some(ana_code), "nothing changed");
}

#[tokio::test]
async fn a_guest_who_says_they_have_left_is_asked_and_only_a_yes_ends_access_15_minutes_later() {
    let chat = spawn().await;
    add_cleaner(&chat, true).await;
    // Check-in 60 hours ago, check-out in 12 hours.
    let booking = chat.book("BK-GONE", GUEST, "101", Duration::hours(-60), json!({})).await;
    let booked_until = at(&booking["check_out_at"]);
    let guest_window = |windows: Vec<(DateTime<Utc>, DateTime<Utc>)>| windows.into_iter().next().unwrap();
    let before = guest_window(windows_on(&chat, "Room 101 door").await);
    assert_eq!(before.1, booked_until);

    let asked = chat.say(GUEST, "We have left, thanks for everything!").await;
    assert_eq!(asked.len(), 1);
    assert!(asked[0].starts_with("Have you left for good?"), "{}", asked[0]);
    assert_eq!(guest_window(windows_on(&chat, "Room 101 door").await), before, "nothing before the yes");
    let kept = chat.say(GUEST, "No, we come back at 6").await;
    assert!(kept[0].contains("nothing changes"), "{}", kept[0]);
    let yes_alone = chat.say(GUEST, "yes").await;
    assert!(yes_alone.iter().all(|m| !m.contains("stops working")), "a yes with no question open ends nothing");
    assert_eq!(guest_window(windows_on(&chat, "Room 101 door").await), before, "a no changes nothing");
    // Something else after the question drops it: answered as usual.
    chat.say(GUEST, "we checked out, bye").await;
    let wifi = chat.say(GUEST, "what is the wifi password?").await;
    assert!(wifi.iter().any(|m| m.contains("OldTown-Guest")), "{wifi:?}");
    chat.say(GUEST, "yes").await;
    assert_eq!(guest_window(windows_on(&chat, "Room 101 door").await), before, "a dropped question ends nothing");

    chat.say(GUEST, "we checked out, bye").await;
    let confirmed_at = Utc::now();
    let done = chat.say(GUEST, "Yes").await;
    assert!(done[0].contains("stops working at"), "{}", done[0]);
    chat.app.run_jobs().await;
    let windows = windows_on(&chat, "Room 101 door").await;
    let until = windows[0].1;
    assert!((until - (confirmed_at + Duration::minutes(15))).num_seconds().abs() < 60, "15 minutes later: {until}");
    let alerts = chat.sent_to(MANAGER).await.join("\n");
    assert!(alerts.contains("has left") && alerts.contains("BK-GONE"), "staff are told: {alerts}");
    // The turnover starts when the guest's access ends.
    assert!(windows.iter().any(|w| w.0 == until), "the cleaner's code starts then: {windows:?}");
}

#[tokio::test]
async fn a_german_guest_is_asked_and_thanked_in_german_and_a_long_stays_first_day_is_not_a_departure() {
    let chat = spawn().await;
    let check_in = Utc::now() - Duration::hours(30);
    let body = json!({ "property_id": chat.property_id, "room": "101",
        "guest": { "name": "Jonas Weber", "phone": format!("+{GUEST}"), "language": "de" },
        "check_in_at": check_in, "check_out_at": check_in + Duration::hours(40), "status": "confirmed" });
    assert!(chat.app.put("/api/v1/bookings/BK-DE", &body).await.status().is_success());
    let long = json!({ "property_id": chat.property_id, "room": "102",
        "guest": { "name": "Lena Long", "phone": format!("+{NEXT_GUEST}") },
        "check_in_at": Utc::now() - Duration::hours(5), "check_out_at": Utc::now() + Duration::days(6), "status": "confirmed" });
    assert!(chat.app.put("/api/v1/bookings/BK-LONG", &long).await.status().is_success());
    chat.app.run_jobs().await;

    let asked = chat.say(GUEST, "Wir sind abgereist, danke für alles!").await;
    assert!(asked[0].starts_with("Sind Sie endgültig abgereist?"), "{}", asked[0]);
    let done = chat.say(GUEST, "Ja").await;
    assert!(done[0].starts_with("Vielen Dank und gute Reise!"), "{}", done[0]);

    // Six days to go: "we have left" (for the day) is no departure.
    let reply = chat.say(NEXT_GUEST, "We have left for the museum").await;
    assert!(reply.iter().all(|m| !m.contains("Have you left for good")), "{reply:?}");
    assert!(chat.say(NEXT_GUEST, "yes").await.iter().all(|m| !m.contains("stops working")));
    let long: Value = chat.app.get("/api/v1/bookings/BK-LONG").await.json().await.unwrap();
    assert_eq!(long["codes"][0]["state"], "set");
    assert!(at(&long["check_out_at"]) > Utc::now() + Duration::days(5), "the stay keeps its end");
}

#[tokio::test]
async fn the_consoles_stay_forms_move_the_lock_and_show_the_refusal() {
    let chat = spawn().await;
    add_cleaner(&chat, false).await;
    let departure = local_date_in(3);
    stay(&chat, "BK-C", GUEST, local(departure - Duration::days(2), 15, 0), local(departure, 11, 0)).await;
    stay(&chat, "BK-D", NEXT_GUEST, local(departure, 15, 0), local(departure + Duration::days(1), 11, 0)).await;
    let mut browser = sign_in(&chat, MANAGER).await;
    let (status, html) = browser.get("/admin/bookings/BK-C").await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"late\"") && html.contains("id=\"early\""), "the forms are there");

    let refused = browser.post("/admin/bookings/BK-C/late", &[("time", "14:00")]).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("BK-D") && html.contains("120 minutes"), "the reason names the next booking");
    let bad = browser.post("/admin/bookings/BK-C/late", &[("time", "2pm")]).await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("write it as 14:00"));
    let ended = browser.post("/admin/bookings/BK-NONE/late", &[("time", "12:00")]).await;
    assert_eq!(ended.status(), 404);
    let unsigned = browser.post_raw("/admin/bookings/BK-C/late", &[("csrf", "0000"), ("time", "12:30")]).await;
    assert_eq!(unsigned.status(), 403);

    let moved = browser.post("/admin/bookings/BK-C/late", &[("time", "12:30")]).await;
    assert_eq!(moved.status(), 303);
    chat.app.run_jobs().await;
    assert_eq!(windows_on(&chat, "Room 101 door").await[0].1, local(departure, 12, 30), "the lock's window moved");
    let (_, html) = browser.get("/admin/bookings/BK-C?done=moved").await;
    assert!(html.contains("The stay moved on every lock"));

    // A stay that has not begun cannot be departed; a cleaner cannot move a stay.
    let not_begun = browser.post("/admin/bookings/BK-C/depart", &[]).await;
    assert_eq!(not_begun.status(), 422);
    let mut cleaner = sign_in(&chat, CLEANER).await;
    assert_eq!(cleaner.post("/admin/bookings/BK-C/early", &[("time", "12:00")]).await.status(), 403);
}

#[tokio::test]
async fn the_consoles_departure_asks_first_then_ends_access_15_minutes_later() {
    let chat = spawn().await;
    let booking = chat.book("BK-E", GUEST, "101", Duration::hours(-20), json!({})).await;
    let booked_until = at(&booking["check_out_at"]);
    let mut browser = sign_in(&chat, MANAGER).await;
    browser.get("/admin/bookings/BK-E").await;
    let asked = browser.post("/admin/bookings/BK-E/depart", &[]).await;
    assert_eq!(asked.status(), 200);
    let html = asked.text().await.unwrap();
    assert!(html.contains("Are you sure?") && html.contains("15 minutes"), "a confirmation first");
    assert_eq!(windows_on(&chat, "Room 101 door").await[0].1, booked_until, "nothing before it");
    let token = html.split("name=\"token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let confirmed_at = Utc::now();
    let done = browser.post("/admin/confirm", &[("token", &token), ("back", "/admin/bookings/BK-E")]).await;
    assert_eq!(done.status(), 303);
    chat.app.run_jobs().await;
    let until = windows_on(&chat, "Room 101 door").await[0].1;
    assert!((until - (confirmed_at + Duration::minutes(15))).num_seconds().abs() < 60, "{until}");
}
