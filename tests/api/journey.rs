//! The guest's journey (SPEC §11) through the running service: message
//! rules edited over the API, scheduled with the booking, held by quiet
//! hours, drafts sent by staff in the chat, and every text in the guest's
//! language. Meta is a mock server.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};
use wiremock::MockServer;

use crate::channels::{meta_accepts, APP_SECRET, GUEST};
use crate::conversation::{spawn as chat, MANAGER};
use crate::helpers::{assert_error, TestApp, TOKEN};

const BRATISLAVA: Tz = chrono_tz::Europe::Bratislava;

fn whatsapp_vars(meta_base: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ADMIN_API_TOKEN", TOKEN.to_owned()),
        ("WHATSAPP_TOKEN", "wa-access-token".to_owned()),
        ("WHATSAPP_PHONE_NUMBER_ID", "106540352242922".to_owned()),
        ("WHATSAPP_APP_SECRET", APP_SECRET.to_owned()),
        ("WHATSAPP_API_BASE", meta_base.to_owned()),
    ]
}

async fn spawn_whatsapp(meta: &MockServer) -> TestApp {
    let base = format!("{}/v26.0", meta.uri());
    let vars = whatsapp_vars(&base);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestApp::spawn_with(&vars).await
}

/// A stay of room 101 by dates (the property's 15:00 and 11:00 apply).
fn stay(property_id: uuid::Uuid, check_in: NaiveDate, nights: i64, language: &str) -> Value {
    json!({
        "property_id": property_id, "room": "101",
        "guest": { "name": "Anna Novak", "phone": format!("+{GUEST}"), "language": language },
        "check_in": check_in, "check_out": check_in + Duration::days(nights), "status": "confirmed"
    })
}

fn local_date_in(days: i64) -> NaiveDate {
    (Utc::now().with_timezone(&BRATISLAVA) + Duration::days(days)).date_naive()
}

fn local(tz: Tz, date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    tz.from_local_datetime(&date.and_hms_opt(hour, minute, 0).unwrap()).unwrap().with_timezone(&Utc)
}

async fn timeline(app: &TestApp, reference: &str) -> Vec<Value> {
    let booking: Value = app.get(&format!("/api/v1/bookings/{reference}")).await.json().await.unwrap();
    booking["messages"].as_array().unwrap_or_else(|| panic!("no timeline in {booking}")).clone()
}

fn message<'a>(timeline: &'a [Value], rule: &str) -> &'a Value {
    timeline.iter().find(|m| m["rule"] == rule).unwrap_or_else(|| panic!("no {rule} in {timeline:?}"))
}

fn at(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

/// Makes the rule messages' jobs due now, as if their time had come: the
/// rule's job (written a minute ahead), then the messages it queued.
async fn their_time_comes(app: &TestApp) {
    sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = 'send_rule_message' AND state = 'queued'")
        .execute(&app.db)
        .await
        .unwrap();
    app.run_jobs().await;
    sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = 'send_message' AND state = 'queued'")
        .execute(&app.db)
        .await
        .unwrap();
}

async fn sent_with_template(meta: &MockServer, name: &str) -> Vec<Value> {
    meta.received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .filter(|b| b["template"]["name"] == name)
        .collect()
}

#[tokio::test]
async fn one_check_out_reminder_per_booking_at_08_00_local_even_with_two_instances() {
    let meta = MockServer::start().await;
    meta_accepts(&meta).await;
    let a = spawn_whatsapp(&meta).await;
    let base = format!("{}/v26.0", meta.uri());
    let vars = whatsapp_vars(&base);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let b = TestApp::spawn_on(a.db.clone(), &vars).await;
    let fixture = a.seed_property().await;
    let arrival = local_date_in(2);
    let booking = stay(fixture.property_id, arrival, 3, "en");
    // The PMS sends it to both instances.
    assert!(a.put("/api/v1/bookings/BK-OUT", &booking).await.status().is_success());
    assert!(b.put("/api/v1/bookings/BK-OUT", &booking).await.status().is_success());

    let reminder = message(&timeline(&a, "BK-OUT").await, "check_out_reminder").clone();
    assert_eq!(at(&reminder["send_at"]), local(BRATISLAVA, arrival + Duration::days(3), 8, 0), "{reminder}");
    assert_eq!(reminder["state"], "scheduled");
    assert!(reminder["channels"].as_array().unwrap().contains(&json!("whatsapp")));
    let thank_you = message(&timeline(&a, "BK-OUT").await, "thank_you").clone();
    assert_eq!(at(&thank_you["send_at"]), local(BRATISLAVA, arrival + Duration::days(3), 13, 0));

    // Both instances run the rule's job and the messages it writes.
    for kind in ["send_rule_message", "send_message"] {
        sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = $1 AND state = 'queued'")
            .bind(kind)
            .execute(&a.db)
            .await
            .unwrap();
        tokio::join!(a.run_jobs(), b.run_jobs());
    }
    let sent = sent_with_template(&meta, "doorman_check_out_reminder").await;
    assert_eq!(sent.len(), 1, "one reminder, whichever instance took it: {sent:?}");
    let params = &sent[0]["template"]["components"][0]["parameters"];
    assert_eq!(params[0]["text"], "Old Town Flats");
    assert!(params[1]["text"].as_str().unwrap().starts_with("Good morning Anna!"), "{params}");
    let sent_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications WHERE template = 'check_out_reminder'")
        .fetch_one(&a.db)
        .await
        .unwrap();
    assert_eq!(sent_rows, 1);
    assert_eq!(message(&timeline(&a, "BK-OUT").await, "check_out_reminder")["state"], "sent");

    // Sent once: the PMS sending the booking again changes nothing.
    assert!(b.put("/api/v1/bookings/BK-OUT", &booking).await.status().is_success());
    their_time_comes(&a).await;
    tokio::join!(a.run_jobs(), b.run_jobs());
    assert_eq!(sent_with_template(&meta, "doorman_check_out_reminder").await.len(), 1);
}

#[tokio::test]
async fn the_reminder_moves_with_the_dates_and_none_goes_after_a_cancellation() {
    let meta = MockServer::start().await;
    meta_accepts(&meta).await;
    let app = spawn_whatsapp(&meta).await;
    let fixture = app.seed_property().await;
    let arrival = local_date_in(5);
    assert!(app
        .put("/api/v1/bookings/BK-MOVE", &stay(fixture.property_id, arrival, 2, "en"))
        .await
        .status()
        .is_success());
    let first = at(&message(&timeline(&app, "BK-MOVE").await, "check_out_reminder")["send_at"]);
    assert_eq!(first, local(BRATISLAVA, arrival + Duration::days(2), 8, 0));

    // Two nights more: the reminder follows, and only one job waits for it.
    assert!(app
        .put("/api/v1/bookings/BK-MOVE", &stay(fixture.property_id, arrival, 4, "en"))
        .await
        .status()
        .is_success());
    let moved = at(&message(&timeline(&app, "BK-MOVE").await, "check_out_reminder")["send_at"]);
    assert_eq!(moved, local(BRATISLAVA, arrival + Duration::days(4), 8, 0));
    let jobs: Vec<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT run_at FROM jobs WHERE kind = 'send_rule_message' AND payload->>'rule' = 'check_out_reminder'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(jobs, vec![moved - Duration::seconds(60)], "written a minute ahead");

    // Written a minute ahead, then the booking is cancelled: it never goes.
    sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = 'send_rule_message'").execute(&app.db).await.unwrap();
    app.run_jobs().await;
    let mut cancelled = stay(fixture.property_id, arrival, 4, "en");
    cancelled["status"] = json!("cancelled");
    assert!(app.put("/api/v1/bookings/BK-MOVE", &cancelled).await.status().is_success());
    let after = timeline(&app, "BK-MOVE").await;
    assert!(after.iter().all(|m| m["state"] == "cancelled"), "{after:?}");
    their_time_comes(&app).await;
    app.run_jobs().await;
    assert!(sent_with_template(&meta, "doorman_check_out_reminder").await.is_empty());
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT status, error FROM notifications WHERE template = 'check_out_reminder'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert!(
        rows.iter().all(|(status, error)| status == "failed" && error.as_deref().unwrap().starts_with("withdrawn")),
        "{rows:?}"
    );
    sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = 'send_message'").execute(&app.db).await.unwrap();
    app.run_jobs().await;
    assert!(
        sent_with_template(&meta, "doorman_check_out_reminder").await.is_empty(),
        "nothing for a cancelled booking"
    );
}

fn default_rules_with(extra: Value) -> Value {
    json!([
        { "name": "pre_arrival", "trigger": "before_check_in", "offset_minutes": 1440, "channels": ["whatsapp"],
          "mode": "auto", "templates": {} },
        extra,
    ])
}

#[tokio::test]
async fn a_draft_waits_for_staff_and_goes_when_sent() {
    let chat = chat().await;
    let rules = default_rules_with(json!({
        "name": "welcome", "trigger": "after_check_in", "offset_minutes": 60, "channels": ["whatsapp"],
        "mode": "draft", "templates": { "en": "Welcome to {property}, {guest_first_name}! Breakfast is at 8." },
        "whatsapp_template": "doorman_welcome"
    }));
    let saved = chat.app.put(&format!("/api/v1/properties/{}/message-rules", chat.property_id), &rules).await;
    assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
    chat.book("BK-DRAFT", GUEST, "101", Duration::hours(10), json!({})).await;
    their_time_comes(&chat.app).await;
    chat.app.run_jobs().await;

    let draft = message(&timeline(&chat.app, "BK-DRAFT").await, "welcome").clone();
    assert_eq!(draft["state"], "draft");
    let to_guest = chat.sent_to(GUEST).await;
    assert!(to_guest.iter().all(|m| !m.contains("Breakfast")), "nothing before staff decide: {to_guest:?}");
    let id = draft["id"].as_i64().unwrap();
    let alert = chat.sent_to(MANAGER).await.join("\n");
    assert!(alert.contains(&format!("/send {id}")) && alert.contains("Breakfast is at 8"), "{alert}");
    assert!(alert.contains(&format!("/drop {id}")), "{alert}");

    let reply = chat.say(MANAGER, &format!("/send {id}")).await;
    assert!(reply[0].contains("on its way"), "{reply:?}");
    chat.app.run_jobs().await;
    let to_guest = chat.sent_to(GUEST).await.join("\n");
    assert!(to_guest.contains("Welcome to Old Town Flats, Anna! Breakfast is at 8."), "{to_guest}");
    assert_eq!(message(&timeline(&chat.app, "BK-DRAFT").await, "welcome")["state"], "sent");
    let again = chat.say(MANAGER, &format!("/drop {id}")).await;
    assert!(again[0].contains(&format!("no draft {id}")), "{again:?}");
    let audit: Value = chat.app.get("/api/v1/audit?booking_ref=BK-DRAFT").await.json().await.unwrap();
    assert!(audit.as_array().unwrap().iter().any(|e| e["action"] == "message.draft_sent"), "{audit}");
}

/// A timezone whose local time is now between 22:00 and 23:00.
fn zone_at_22() -> (Tz, String) {
    let hour = i64::from(Utc::now().hour());
    let mut offset = (22 - hour).rem_euclid(24);
    if offset > 14 {
        offset -= 24;
    }
    let name = match offset {
        0 => "Etc/GMT".to_owned(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    };
    (name.parse().unwrap(), name)
}

#[tokio::test]
async fn quiet_hours_hold_a_23_00_message_until_08_00_but_not_the_arrival_message_of_a_guest_checking_in_at_23_30() {
    let meta = MockServer::start().await;
    meta_accepts(&meta).await;
    let app = spawn_whatsapp(&meta).await;
    let fixture = app.seed_property().await;
    let (tz, zone) = zone_at_22();
    let patch = json!({ "quiet_hours": "21:00-08:00", "timezone": zone });
    let patched = app
        .client
        .patch(app.url(&format!("/api/v1/properties/{}", fixture.property_id)))
        .bearer_auth(TOKEN)
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200, "{}", patched.text().await.unwrap());
    let rules = default_rules_with(json!({
        "name": "welcome", "trigger": "after_check_in", "offset_minutes": 0, "channels": ["whatsapp"],
        "mode": "auto", "templates": { "en": "Welcome, {guest_first_name}!" }
    }));
    let saved = app.put(&format!("/api/v1/properties/{}/message-rules", fixture.property_id), &rules).await;
    assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());

    // A welcome due at 23:00 (check-in then) waits until 08:00.
    let day = (Utc::now().with_timezone(&tz) + Duration::days(3)).date_naive();
    let late = json!({
        "property_id": fixture.property_id, "room": "102",
        "guest": { "name": "Jan Late", "phone": "+421900000055", "language": "en" },
        "check_in_at": local(tz, day, 23, 0), "check_out_at": local(tz, day + Duration::days(2), 11, 0),
        "status": "confirmed"
    });
    assert!(app.put("/api/v1/bookings/BK-LATE", &late).await.status().is_success());
    let welcome = message(&timeline(&app, "BK-LATE").await, "welcome").clone();
    assert_eq!(at(&welcome["due_at"]), local(tz, day, 23, 0));
    assert_eq!(at(&welcome["send_at"]), local(tz, day + Duration::days(1), 8, 0), "{welcome}");

    // Now is 22:xx there: the arrival message of a guest checking in at
    // 23:30 tonight goes at once.
    let today = Utc::now().with_timezone(&tz).date_naive();
    let tonight = json!({
        "property_id": fixture.property_id, "room": "101",
        "guest": { "name": "Anna Novak", "phone": format!("+{GUEST}"), "language": "en" },
        "check_in_at": local(tz, today, 23, 30), "check_out_at": local(tz, today + Duration::days(2), 11, 0),
        "status": "confirmed"
    });
    assert!(app.put("/api/v1/bookings/BK-TONIGHT", &tonight).await.status().is_success());
    let pre_arrival = message(&timeline(&app, "BK-TONIGHT").await, "pre_arrival").clone();
    assert!(at(&pre_arrival["send_at"]) <= Utc::now(), "{pre_arrival}");
    app.run_jobs().await;
    let sent = sent_with_template(&meta, "doorman_pre_arrival").await;
    assert_eq!(sent.len(), 1, "the code goes tonight, not at 08:00");
    assert_eq!(message(&timeline(&app, "BK-TONIGHT").await, "pre_arrival")["state"], "sent");
    // Its welcome, due at 23:30 and not about getting in, waits.
    let welcome = message(&timeline(&app, "BK-TONIGHT").await, "welcome").clone();
    assert_eq!(at(&welcome["send_at"]), local(tz, today + Duration::days(1), 8, 0), "{welcome}");
}

#[tokio::test]
async fn a_slovak_a_german_and_a_swahili_guest_each_get_the_pre_arrival_message_in_their_language() {
    let meta = MockServer::start().await;
    meta_accepts(&meta).await;
    let app = spawn_whatsapp(&meta).await;
    let fixture = app.seed_property().await;
    let knowledge = json!({ "knowledge": { "entry_instructions": {
        "en": "Green door, then the keypad.", "de": "Grüne Tür, dann das Tastenfeld.", "sk": "Zelené dvere, potom klávesnica."
    } } });
    let patched = app
        .client
        .patch(app.url(&format!("/api/v1/properties/{}", fixture.property_id)))
        .bearer_auth(TOKEN)
        .json(&knowledge)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200, "{}", patched.text().await.unwrap());
    let room = app.post(&format!("/api/v1/properties/{}/rooms", fixture.property_id), &json!({ "name": "103" })).await;
    assert_eq!(room.status(), 201);
    let guests = [
        ("BK-SK", "101", "+421900000061", "sk"),
        ("BK-DE", "102", "+421900000062", "de-AT"),
        ("BK-SW", "103", "+421900000063", "sw"),
    ];
    for (reference, room, phone, language) in guests {
        let check_in = Utc::now() + Duration::hours(10);
        let body = json!({
            "property_id": fixture.property_id, "room": room,
            "guest": { "name": "Anna Novak", "phone": phone, "language": language },
            "check_in_at": check_in, "check_out_at": check_in + Duration::days(2), "status": "confirmed"
        });
        assert!(app.put(&format!("/api/v1/bookings/{reference}"), &body).await.status().is_success());
    }
    app.run_jobs().await;
    let body_of = |reference: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT n.body FROM notifications n JOIN bookings b ON b.id = n.booking_id
                 WHERE b.external_ref = $1 AND n.template = 'pre_arrival'",
            )
            .bind(reference)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    let slovak = body_of("BK-SK").await;
    assert!(slovak.starts_with("Dobrý deň, Anna!") && slovak.contains("Zelené dvere"), "{slovak}");
    let german = body_of("BK-DE").await;
    assert!(german.starts_with("Hallo Anna!") && german.contains("Grüne Tür"), "{german}");
    let swahili = body_of("BK-SW").await;
    // No Swahili entry instructions: English, the fallback.
    assert!(swahili.starts_with("Habari Anna!") && swahili.contains("Green door"), "{swahili}");
    let property: Value = app.get(&format!("/api/v1/properties/{}", fixture.property_id)).await.json().await.unwrap();
    assert_eq!(
        property["knowledge"]["translations"]["entry_instructions"]["de"], "Grüne Tür, dann das Tastenfeld.",
        "{property}"
    );
}

#[tokio::test]
async fn a_template_with_an_unknown_placeholder_or_codes_too_early_is_refused() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let path = format!("/api/v1/properties/{}/message-rules", fixture.property_id);
    let defaults: Value = app.get(&path).await.json().await.unwrap();
    let names: Vec<&str> = defaults.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["pre_arrival", "check_out_reminder", "thank_you"]);
    assert_eq!(defaults[1]["local_time"], "08:00");
    assert!(defaults[1]["templates"]["sw"].as_str().unwrap().contains("{guest_first_name}"), "{defaults}");

    let rule = |templates: Value, trigger: &str, offset: i64| {
        default_rules_with(json!({ "name": "custom", "trigger": trigger, "offset_minutes": offset,
            "channels": ["whatsapp"], "mode": "auto", "templates": templates }))
    };
    let unknown = app.put(&path, &rule(json!({ "en": "Hi {guest_name}!" }), "before_check_in", 60)).await;
    let refused = assert_error(unknown, 422, "invalid_value").await;
    assert!(refused.contains("{guest_name}"), "{refused}");
    let early = app.put(&path, &rule(json!({ "en": "Your code: {codes}" }), "booking_confirmed", 0)).await;
    let refused = assert_error(early, 422, "invalid_value").await;
    assert!(refused.contains("{codes}") && refused.contains("release"), "{refused}");
    let wifi_early = app.put(&path, &rule(json!({ "en": "Wifi: {wifi_password}" }), "before_check_in", 3 * 1440)).await;
    assert!(assert_error(wifi_early, 422, "invalid_value").await.contains("{wifi_password}"));
    let no_english = app.put(&path, &rule(json!({ "de": "Hallo" }), "after_check_in", 60)).await;
    assert!(assert_error(no_english, 422, "invalid_value").await.contains("English"));
    let without_codes_rule = app.put(&path, &json!([])).await;
    assert!(assert_error(without_codes_rule, 422, "invalid_value").await.contains("pre_arrival"));
    let audit: Value = app.get("/api/v1/audit").await.json().await.unwrap();
    assert!(!audit.as_array().unwrap().iter().any(|e| e["action"] == "message_rules.updated"), "nothing saved");

    // An operator's own check-out reminder in three languages, seen on the
    // booking before it goes.
    let own = json!([
        defaults[0],
        { "name": "check_out_reminder", "trigger": "before_check_out", "offset_minutes": 0, "local_time": "08:00",
          "channels": ["whatsapp", "sms"], "mode": "auto", "whatsapp_template": "doorman_check_out_reminder",
          "templates": { "en": "Bye {guest_first_name}, out by {check_out}. Your code {codes} stops then.",
                         "de": "Tschüss {guest_first_name}, Abreise {check_out}.", "sk": "Dovidenia {guest_first_name}!" } }
    ]);
    let saved = app.put(&path, &own).await;
    assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
    assert_eq!(app.get(&path).await.json::<Value>().await.unwrap().as_array().unwrap().len(), 2);
    let audit: Value = app.get("/api/v1/audit").await.json().await.unwrap();
    assert!(audit.as_array().unwrap().iter().any(|e| e["action"] == "message_rules.updated"), "{audit}");
    let arrival = local_date_in(3);
    assert!(app
        .put("/api/v1/bookings/BK-OWN", &stay(fixture.property_id, arrival, 2, "de"))
        .await
        .status()
        .is_success());
    let timeline = timeline(&app, "BK-OWN").await;
    let rules: Vec<&str> = timeline.iter().map(|m| m["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["pre_arrival", "check_out_reminder"], "the thank-you is gone with the defaults");
    assert_eq!(
        at(&message(&timeline, "check_out_reminder")["send_at"]),
        local(BRATISLAVA, arrival + Duration::days(2), 8, 0)
    );
}

#[tokio::test]
async fn a_manager_writes_a_check_out_reminder_in_three_languages_in_the_console_and_sees_it_on_the_booking() {
    let chat = chat().await;
    let mut browser = crate::console::sign_in(&chat, MANAGER).await;
    let path = format!("/admin/properties/{}/messages", chat.property_id);
    let (status, html) = browser.get(&path).await;
    assert_eq!(status, 200);
    assert!(html.contains("check_out_reminder") && html.contains("Good morning {guest_first_name}!"), "{html}");
    let pre_arrival = [
        ("r0.name", "pre_arrival"),
        ("r0.trigger", "before_check_in"),
        ("r0.offset_minutes", "1440"),
        ("r0.mode", "auto"),
        ("r0.ch.whatsapp", "on"),
    ];
    let reminder = [
        ("r1.name", "check_out_reminder"),
        ("r1.trigger", "before_check_out"),
        ("r1.offset_minutes", "0"),
        ("r1.local_time", "08:00"),
        ("r1.mode", "auto"),
        ("r1.ch.whatsapp", "on"),
        ("r1.whatsapp_template", "doorman_check_out_reminder"),
        ("r1.t.en", "Bye {guest_first_name}, check-out is {check_out}."),
        ("r1.t.de", "Tschüss {guest_first_name}, Abreise ist {check_out}."),
        ("r1.t.sk", "Dovidenia {guest_first_name}, odchod {check_out}."),
    ];
    let welcome = [
        ("r2.name", "welcome"),
        ("r2.trigger", "after_check_in"),
        ("r2.offset_minutes", "60"),
        ("r2.mode", "draft"),
        ("r2.ch.whatsapp", "on"),
        ("r2.t.en", "Welcome, {guest_first_name}!"),
        ("r2.whatsapp_template", "doorman_welcome"),
    ];
    let mut wrong: Vec<(&str, &str)> = [&pre_arrival[..], &reminder[..]].concat();
    wrong.push(("r2.name", "oops"));
    wrong.extend([
        ("r2.trigger", "after_check_in"),
        ("r2.mode", "auto"),
        ("r2.ch.sms", "on"),
        ("r2.t.en", "Hi {guest_name}"),
    ]);
    let refused = browser.post(&path, &wrong).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("{guest_name}") && html.contains("Tschüss"), "the reason and what was typed: {html}");

    let saved = browser.post(&path, &[&pre_arrival[..], &reminder[..], &welcome[..]].concat()).await;
    assert_eq!(saved.status(), 303, "{}", saved.text().await.unwrap());
    let audit: Value = chat.app.get("/api/v1/audit").await.json().await.unwrap();
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "message_rules.updated" && e["actor"].as_str().unwrap().starts_with("staff:")));

    chat.book(
        "BK-CON",
        GUEST,
        "101",
        Duration::hours(10),
        json!({ "guest": { "name": "Anna Novak", "phone": format!("+{GUEST}"), "language": "de" } }),
    )
    .await;
    let (_, page) = browser.get("/admin/bookings/BK-CON").await;
    assert!(
        page.contains("Scheduled messages") && page.contains("check_out_reminder") && page.contains("welcome"),
        "{page}"
    );

    their_time_comes(&chat.app).await;
    chat.app.run_jobs().await;
    let to_guest = chat.sent_to(GUEST).await.join("\n");
    assert!(to_guest.contains("Tschüss Anna, Abreise ist"), "in the guest's language: {to_guest}");
    assert!(!to_guest.contains("Welcome, Anna"), "the draft waits: {to_guest}");
    let (_, alerts) = browser.get("/admin/alerts").await;
    let id = message(&timeline(&chat.app, "BK-CON").await, "welcome")["id"].as_i64().unwrap();
    assert!(alerts.contains(&format!("/admin/drafts/{id}/send")), "{alerts}");
    let sent = browser.post(&format!("/admin/drafts/{id}/send"), &[]).await;
    assert_eq!(sent.status(), 303);
    chat.app.run_jobs().await;
    // No German text: English, the fallback.
    assert!(chat.sent_to(GUEST).await.join("\n").contains("Welcome, Anna!"));
}

#[tokio::test]
async fn an_operators_own_pre_arrival_words_go_in_the_guests_language_with_the_codes_and_lock_names() {
    let meta = MockServer::start().await;
    meta_accepts(&meta).await;
    let app = spawn_whatsapp(&meta).await;
    let fixture = app.seed_property().await;
    let lock = app
        .client
        .patch(app.url(&format!("/api/v1/locks/{}", fixture.locks["101"])))
        .bearer_auth(TOKEN)
        .json(&json!({ "name_translations": { "sk": "Izba 101" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(lock.status(), 200, "{}", lock.text().await.unwrap());
    let path = format!("/api/v1/properties/{}/message-rules", fixture.property_id);
    let mut rules: Value = app.get(&path).await.json().await.unwrap();

    // Without {codes} the guest would arrive with nothing: refused.
    rules[0]["templates"] = json!({ "en": "Welcome {guest_first_name}!" });
    let refused = assert_error(app.put(&path, &rules).await, 422, "invalid_value").await;
    assert!(refused.contains("pre_arrival.templates.en") && refused.contains("{codes}"), "{refused}");

    rules[0]["templates"] = json!({
        "en": "Hello {guest_first_name}, your codes for {room}: {codes}",
        "sk": "Ahoj {guest_first_name}, vaše kódy pre izbu {room}: {codes}"
    });
    let saved = app.put(&path, &rules).await;
    assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
    for (reference, room, phone, language) in
        [("BK-SK", "101", "+421900000071", "sk"), ("BK-FR", "102", "+421900000072", "fr")]
    {
        let check_in = Utc::now() + Duration::hours(10);
        let body = json!({
            "property_id": fixture.property_id, "room": room,
            "guest": { "name": "Anna Novak", "phone": phone, "language": language },
            "check_in_at": check_in, "check_out_at": check_in + Duration::days(2), "status": "confirmed"
        });
        assert!(app.put(&format!("/api/v1/bookings/{reference}"), &body).await.status().is_success());
    }
    app.run_jobs().await;
    let body_of = |reference: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT n.body FROM notifications n JOIN bookings b ON b.id = n.booking_id
                 WHERE b.external_ref = $1 AND n.template = 'pre_arrival'",
            )
            .bind(reference)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    let slovak = body_of("BK-SK").await;
    assert!(slovak.starts_with("Ahoj Anna, vaše kódy pre izbu 101:"), "{slovak}");
    assert!(slovak.contains("Izba 101") && !slovak.contains("Room 101"), "the lock's Slovak name: {slovak}");
    for code in crate::helpers::codes_of(&app, "BK-SK").await {
        assert!(slovak.contains(code["code"].as_str().unwrap()), "every code in {slovak}");
    }
    // No French text: the operator's English, with the lock's own name.
    let french = body_of("BK-FR").await;
    assert!(french.starts_with("Hello Anna, your codes for 102:") && french.contains("Room 102"), "{french}");
}
