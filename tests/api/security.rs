//! The security review's findings (`docs/security.md`), each through the
//! whole service: WhatsApp and Telegram in, mock Meta and Telegram out.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::channels::{self, linked_chat, meta_accepts, status_webhook, telegram_accepts, telegram_message, Channels};
use crate::conversation::{code_of, Chat, GUEST, MANAGER};
use crate::helpers::{id_of, TOKEN};

const PHONE: &str = "+421900000001";

/// The deep-link token offered in the last WhatsApp pre-arrival template.
async fn offered_token(c: &Channels) -> String {
    let requests = c.meta_requests().await;
    let template = requests.iter().rev().find(|r| r["type"] == "template").expect("a pre-arrival template");
    let params = template["template"]["components"][0]["parameters"].as_array().unwrap();
    let offer = params.last().unwrap()["text"].as_str().unwrap().to_owned();
    let link = offer.split_whitespace().find(|w| w.contains("?start=")).expect("a Telegram link").to_owned();
    link.rsplit('=').next().unwrap().to_owned()
}

/// WhatsApp and Telegram on, a stay in progress, and the deep-link token its
/// pre-arrival message offered.
async fn stay_with_a_telegram_offer() -> (Channels, Value, String) {
    let c = channels::spawn_with(&[]).await;
    meta_accepts(&c.meta).await;
    telegram_accepts(&c.telegram).await;
    let fixture = c.app.seed_property().await;
    let booking = c.booking(&fixture, "BK-1", -Duration::hours(2), json!({})).await;
    c.app.run_jobs().await;
    let token = offered_token(&c).await;
    (c, booking, token)
}

async fn telegram_texts_to(c: &Channels, chat: i64) -> Vec<String> {
    c.telegram_requests()
        .await
        .into_iter()
        .filter(|r| r["chat_id"] == chat)
        .map(|r| r["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// H1: a chat or an e-mail address belongs to the booking it came with. A
/// later booking of the same phone (a company booker, a recycled number)
/// is not reachable from the earlier guest's Telegram chat or e-mail.
#[tokio::test]
async fn a_chat_and_an_email_of_one_booking_never_reach_the_next_booking_of_the_same_phone() {
    let (smtp, mails) = crate::sms_email::smtp_sink().await;
    let c = channels::spawn_with(&[("SMTP_URL", &smtp), ("SMTP_FROM", "stay@example.com")]).await;
    meta_accepts(&c.meta).await;
    telegram_accepts(&c.telegram).await;
    let fixture = c.app.seed_property().await;
    let first_guest = json!({ "guest": { "name": "Eva One", "phone": PHONE, "email": "eva.one@example.com" } });
    c.booking(&fixture, "BK-E1", -Duration::hours(2), first_guest.clone()).await;
    c.app.run_jobs().await;
    let token = offered_token(&c).await;
    c.telegram_update(&telegram_message(700, 4444444, json!({ "text": format!("/start {token}") }))).await;
    c.app.run_jobs().await;
    assert_eq!(linked_chat(&c.app.db).await, Some(4444444));

    // The first guest checks out; the booker books a colleague on the same phone.
    c.booking(&fixture, "BK-E1", -Duration::days(5), first_guest).await;
    c.app.run_jobs().await;
    let (telegram_before, mails_before) = (telegram_texts_to(&c, 4444444).await.len(), mails.lock().unwrap().len());
    let second = c
        .booking(&fixture, "BK-E2", Duration::hours(10), json!({ "guest": { "name": "Emil Two", "phone": PHONE } }))
        .await;
    c.app.run_jobs().await;
    let code = code_of(&second);
    assert_eq!(second["guest"]["email"], Value::Null, "no e-mail carried over");
    assert_eq!(telegram_texts_to(&c, 4444444).await.len(), telegram_before, "nothing reaches the old chat");
    let new_mails: Vec<String> = mails.lock().unwrap()[mails_before..].to_vec();
    assert!(new_mails.iter().all(|m| !m.contains(&code) && !m.contains("eva.one")), "{new_mails:?}");
    assert!(c.meta_requests().await.iter().any(|r| r.to_string().contains(&code)), "the phone itself is told");

    // The old chat asking gets a stranger's answer.
    c.telegram_update(&telegram_message(701, 4444444, json!({ "text": "what is the door code?" }))).await;
    c.app.run_jobs().await;
    let answer = telegram_texts_to(&c, 4444444).await.pop().unwrap();
    assert!(!answer.contains(&code) && answer.contains("find a booking"), "{answer}");
}

/// M2: a group chat is never linked to a guest, gets nothing about a stay,
/// and a deep-link token used there is not spent.
#[tokio::test]
async fn a_group_chat_is_never_linked_and_does_not_spend_the_token() {
    let (c, booking, token) = stay_with_a_telegram_offer().await;
    let group = |id: u64, extra: Value| {
        let mut update = telegram_message(id, 1111111, extra);
        update["message"]["chat"] = json!({ "id": -1001234567890_i64, "type": "supergroup", "title": "Family trip" });
        update
    };
    c.telegram_update(&group(800, json!({ "text": format!("/start {token}") }))).await;
    c.telegram_update(&group(
        801,
        json!({ "contact": { "phone_number": PHONE, "first_name": "Anna", "user_id": 1111111 } }),
    ))
    .await;
    c.telegram_update(&group(802, json!({ "text": "what is the door code?" }))).await;
    c.app.run_jobs().await;
    assert_eq!(linked_chat(&c.app.db).await, None, "a group is never linked");
    let to_group = telegram_texts_to(&c, -1001234567890).await;
    assert_eq!(to_group.len(), 3, "{to_group:?}");
    assert!(to_group.iter().all(|t| t.contains("private chat") && !t.contains(&code_of(&booking))), "{to_group:?}");

    c.telegram_update(&telegram_message(803, 1111111, json!({ "text": format!("/start {token}") }))).await;
    c.app.run_jobs().await;
    assert_eq!(linked_chat(&c.app.db).await, Some(1111111), "the token still works in the private chat");
}

/// M8: a message that carried a code or a link keeps its record but not its
/// text once delivered (WhatsApp) or sent (Telegram, no delivery reports);
/// the deep-link token is never stored in clear.
#[tokio::test]
async fn message_texts_with_codes_are_forgotten_once_delivered_and_link_tokens_never_stored() {
    let (c, booking, token) = stay_with_a_telegram_offer().await;
    let stored: Vec<String> = sqlx::query_scalar(
        "SELECT coalesce(body, '') || coalesce(template_params::text, '') || coalesce(html, '') FROM notifications",
    )
    .fetch_all(&c.app.db)
    .await
    .unwrap();
    assert!(stored.iter().all(|s| !s.contains(&token)), "the token is minted at send time, never stored");

    let wamid: String = sqlx::query_scalar(
        "SELECT provider_message_id FROM notifications WHERE channel = 'whatsapp' AND template = 'pre_arrival'",
    )
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    c.whatsapp(&status_webhook(&wamid, "delivered", None)).await;
    c.telegram_update(&telegram_message(900, 1111111, json!({ "text": format!("/start {token}") }))).await;
    c.app.run_jobs().await;
    let rows: Vec<(String, String, Option<String>, Option<Value>)> = sqlx::query_as(
        "SELECT channel, status, body, template_params FROM notifications WHERE template = 'pre_arrival' ORDER BY channel",
    )
    .fetch_all(&c.app.db)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    for (channel, status, body, params) in &rows {
        assert!(body.is_none() && params.is_none(), "{channel} ({status}) keeps no text");
    }
    assert_eq!(rows.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(), ["sent", "delivered"], "the record stays");
    let code = code_of(&booking);
    let all: Vec<String> =
        sqlx::query_scalar("SELECT coalesce(body, '') FROM notifications").fetch_all(&c.app.db).await.unwrap();
    assert!(all.iter().all(|b| !b.contains(&code)), "no stored text holds the code: {all:?}");
    let hashes: Vec<String> =
        sqlx::query_scalar("SELECT token_hash FROM telegram_link_tokens").fetch_all(&c.app.db).await.unwrap();
    assert!(!hashes.is_empty() && hashes.iter().all(|h| h != &token && h.len() == 64));
}

/// The live guest codes of a booking: `(lock name, value, state)`.
async fn codes_by_lock(chat: &Chat, reference: &str) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT l.name, c.code, c.state FROM access_codes c JOIN locks l ON l.id = c.lock_id
         JOIN bookings b ON b.id = c.booking_id WHERE b.external_ref = $1 ORDER BY l.name",
    )
    .bind(reference)
    .fetch_all(&chat.app.db)
    .await
    .unwrap()
}

/// H2: a stay moved to another room during the stay loses the old room's
/// code at once (end to end), gets the new room's, with the same value, and
/// the guest and staff are told.
#[tokio::test]
async fn a_room_move_during_the_stay_takes_the_old_rooms_code_off_at_once() {
    let chat = crate::conversation::spawn().await;
    let booking = chat.book("BK-1", GUEST, "101", -Duration::hours(3), json!({})).await;
    let value = code_of(&booking);
    let check_in = booking["check_in_at"].clone();
    let check_out = booking["check_out_at"].clone();
    let before = chat.sent_to(GUEST).await.len();
    let body = json!({ "property_id": chat.property_id, "room": "102", "guest": { "name": "Anna Novak", "phone": format!("+{GUEST}") },
                       "check_in_at": check_in, "check_out_at": check_out, "status": "confirmed" });
    assert!(chat.app.put("/api/v1/bookings/BK-1", &body).await.status().is_success());
    chat.app.run_jobs().await;
    let codes = codes_by_lock(&chat, "BK-1").await;
    let expected = [
        ("Room 101 door".to_owned(), value.clone(), "removed".to_owned()),
        ("Room 102 door".to_owned(), value.clone(), "set".to_owned()),
    ];
    assert_eq!(codes, expected, "the old door's code is off the lock, the new door has the same value");
    let on_lock: Vec<String> = sqlx::query_scalar(
        "SELECT s.code FROM simulated_codes s JOIN locks l ON l.provider_device_id = s.device_id WHERE l.name = 'Room 101 door'",
    )
    .fetch_all(&chat.app.db)
    .await
    .unwrap();
    assert!(on_lock.is_empty(), "nothing left on room 101's keypad: {on_lock:?}");
    let told = chat.sent_to(GUEST).await[before..].join("\n");
    assert!(told.contains("102") && told.contains(&value), "the guest is told: {told}");
    let alerts = chat.sent_to(MANAGER).await.join("\n");
    assert!(alerts.contains("BK-1") && alerts.contains("102") && alerts.contains("Room 101 door"), "{alerts}");
}

/// M7: a cancellation, or a confirmed booking set back to pending, during
/// the stay holds the code (the safety rule) and is never silent: staff get
/// one alert naming the booking and the command that revokes it.
#[tokio::test]
async fn a_cancellation_or_a_downgrade_during_the_stay_is_held_and_told_to_staff() {
    for status in ["cancelled", "pending"] {
        let chat = crate::conversation::spawn().await;
        chat.book("BK-1", GUEST, "101", -Duration::hours(3), json!({})).await;
        chat.book("BK-1", GUEST, "101", -Duration::hours(3), json!({ "status": status })).await;
        chat.book("BK-1", GUEST, "101", -Duration::hours(3), json!({ "status": status })).await;
        let codes = codes_by_lock(&chat, "BK-1").await;
        assert_eq!(codes.len(), 1);
        assert_eq!(codes[0].2, "set", "{status}: held during the stay");
        let alerts = chat.sent_to(MANAGER).await;
        let held: Vec<&String> = alerts.iter().filter(|a| a.contains("BK-1") && a.contains(status)).collect();
        assert_eq!(held.len(), 1, "{status}: one alert, sent again as the PMS resends: {alerts:?}");
        assert!(held[0].contains("/revoke room 101"), "{}", held[0]);
        let revoke = chat.say(MANAGER, "/revoke room 101").await;
        assert!(revoke[0].contains("/confirm"), "the stay is in progress: {}", revoke[0]);
    }
}

async fn add_staff(chat: &Chat, body: Value) -> Value {
    let response = chat.app.post("/api/v1/staff", &body).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn patch_staff(chat: &Chat, id: uuid::Uuid, body: Value) -> (u16, Value) {
    let response = chat
        .app
        .client
        .patch(chat.app.url(&format!("/api/v1/staff/{id}")))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

const CLEANER: &str = "421900000003";

/// M1: listings show the last two characters only, and the `staff` role is
/// never shown backup, master or a colleague's persistent codes.
#[tokio::test]
async fn listings_show_two_characters_and_hide_other_peoples_persistent_codes_from_staff() {
    let chat = crate::conversation::spawn().await;
    add_staff(
        &chat,
        json!({ "name": "Eva", "phone": format!("+{CLEANER}"), "role": "staff", "property_ids": [chat.property_id] }),
    )
    .await;
    let booking = chat.book("BK-1", GUEST, "101", Duration::hours(10), json!({})).await;
    let guest_code = code_of(&booking);
    let managers = chat.say(MANAGER, "/mycode Old Town Flats").await[0].clone();
    let manager_code = managers.split('`').nth(1).unwrap().to_owned();
    let master = chat.say(MANAGER, "/master room 101").await[0].clone();
    let master_code = master.split('`').nth(1).unwrap().to_owned();
    chat.app.run_jobs().await;

    let as_cleaner = chat.say(CLEANER, "/codes 101").await[0].clone();
    assert!(as_cleaner.contains(&format!("••••{}", &guest_code[4..])), "{as_cleaner}");
    for hidden in [&manager_code, &master_code] {
        assert!(!as_cleaner.contains(&format!("••••{}", &hidden[hidden.len() - 2..])), "{as_cleaner}");
    }
    assert!(!as_cleaner.contains("master") && as_cleaner.contains("only managers see"), "{as_cleaner}");
    let as_manager = chat.say(MANAGER, "/codes 101").await[0].clone();
    assert!(as_manager.contains(&format!("••••{}", &master_code[master_code.len() - 2..])), "{as_manager}");
    for text in [&as_cleaner, &as_manager] {
        for full in [&guest_code, &manager_code, &master_code] {
            assert!(!text.contains(full.as_str()), "{text}");
        }
    }
    let booking_view = chat.say(MANAGER, "/booking BK-1").await[0].clone();
    assert!(booking_view.contains(&format!("••••{}", &guest_code[4..])) && !booking_view.contains(&guest_code));
}

/// M3: deactivating a staff member removes their codes, the master and
/// standalone codes they issued that are still live (end to end), and ends
/// the links they made; the remaining staff are told what was removed.
#[tokio::test]
async fn deactivation_removes_issued_codes_and_ends_links() {
    let chat = crate::conversation::spawn().await;
    let leaving = add_staff(
        &chat,
        json!({ "name": "Leo", "phone": "+421900000004", "role": "manager", "property_ids": [chat.property_id] }),
    )
    .await;
    let booking = chat.book("BK-1", GUEST, "101", Duration::hours(10), json!({})).await;
    let date = (Utc::now() + Duration::days(20)).format("%Y-%m-%d");
    let issued = chat.say("421900000004", &format!("/issue room 101 {date} 09:00 08:59 friend")).await;
    assert!(issued[0].contains('`'), "{}", issued[0]);
    let far = (Utc::now() + Duration::days(45)).format("%Y-%m-%d");
    let refused = chat.say("421900000004", &format!("/issue room 101 {far} 09:00 17:00 friend")).await;
    assert!(refused[0].contains("up to 30 days ahead"), "{}", refused[0]);
    let friend = "421955555555";
    chat.say("421900000004", &format!("/link BK-1 +{friend}")).await;
    assert!(chat.say(friend, "door code?").await[0].contains(&code_of(&booking)), "linked");
    chat.app.run_jobs().await;

    let (status, body) = patch_staff(&chat, id_of(&leaving), json!({ "active": false })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["codes_removing"].as_u64(), body["links_ended"].as_u64()), (Some(1), Some(1)), "{body}");
    chat.app.run_jobs().await;
    let standalone: Vec<String> = sqlx::query_scalar("SELECT state FROM access_codes WHERE kind = 'standalone'")
        .fetch_all(&chat.app.db)
        .await
        .unwrap();
    assert_eq!(standalone, ["removed"], "taken off the lock end to end");
    let reply = chat.say(friend, "door code?").await;
    assert!(!reply[0].contains(&code_of(&booking)), "the link ended: {}", reply[0]);
    let told = chat.sent_to(MANAGER).await.join("\n");
    assert!(told.contains("Leo was deactivated") && told.contains("standalone") && told.contains("BK-1"), "{told}");
}

/// M4: one person is manager at one property and housekeeping at another;
/// every command checks the role at the property it acts on.
#[tokio::test]
async fn roles_are_per_property() {
    let chat = crate::conversation::spawn().await;
    let other: Value = chat
        .app
        .post("/api/v1/properties", &json!({ "name": "River House", "timezone": "Europe/Bratislava" }))
        .await
        .json()
        .await
        .unwrap();
    let other_id = id_of(&other).to_string();
    let room: Value = chat
        .app
        .post(&format!("/api/v1/properties/{other_id}/rooms"), &json!({ "name": "201" }))
        .await
        .json()
        .await
        .unwrap();
    chat.app
        .post("/api/v1/locks", &json!({ "property_id": other_id, "room_id": id_of(&room), "name": "Room 201 door", "provider": "simulated" }))
        .await;
    let roles = json!({ chat.property_id.clone(): "staff", other_id.clone(): "manager" });
    let person = add_staff(&chat, json!({ "name": "Mia", "phone": format!("+{CLEANER}"), "roles": roles })).await;
    assert_eq!(person["roles"][&other_id], "manager");
    let theirs = json!({ "property_id": other_id, "room": "201", "guest": { "name": "Jan", "phone": "+421900000008" },
        "check_in_at": Utc::now() + Duration::hours(10), "check_out_at": Utc::now() + Duration::days(2), "status": "confirmed" });
    chat.app.put("/api/v1/bookings/BK-RIVER", &theirs).await;
    let booking = chat.book("BK-1", GUEST, "101", Duration::hours(10), json!({})).await;

    let here = chat.say(CLEANER, "/code 101 show").await;
    assert!(!here[0].contains(&code_of(&booking)), "staff at Old Town: {}", here[0]);
    assert!(chat.say(CLEANER, "/revoke 101").await[0].contains("No room 101"), "no manager rights there");
    let there = chat.say(CLEANER, "/revoke 201").await;
    assert!(there[0].contains("/confirm"), "manager at River House: {}", there[0]);

    // PATCH with the old form: the same role everywhere.
    let (status, body) =
        patch_staff(&chat, id_of(&person), json!({ "role": "manager", "property_ids": [chat.property_id, other_id] }))
            .await;
    assert_eq!(status, 200, "{body}");
    assert!(chat.say(CLEANER, "/code 101 show").await[0].contains(&code_of(&booking)));
    let (status, _) = patch_staff(&chat, id_of(&person), json!({ "roles": { other_id.clone(): "admin" } })).await;
    assert_eq!(status, 422, "admin is global, not per property");
}

/// L9: the admin API answering with full codes leaves a trace in the audit.
#[tokio::test]
async fn reading_full_codes_through_the_api_is_audited() {
    let chat = crate::conversation::spawn().await;
    let booking = chat.book("BK-1", GUEST, "101", Duration::hours(10), json!({})).await;
    let lock_id = booking["codes"][0]["lock_id"].as_str().unwrap().to_owned();
    let before = revealed_to_api(&chat).await;
    chat.app.get("/api/v1/bookings/BK-1").await;
    chat.app.get(&format!("/api/v1/locks/{lock_id}/codes")).await;
    assert_eq!(revealed_to_api(&chat).await, before + 2);
}

async fn revealed_to_api(chat: &Chat) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'code.revealed' AND actor = 'api'")
        .fetch_one(&chat.app.db)
        .await
        .unwrap()
}

/// L11: a code message still queued (Meta asked to retry) when the booking's
/// guest is corrected is withdrawn, not sent to the old number.
#[tokio::test]
async fn a_queued_code_message_is_withdrawn_when_the_recipient_is_no_longer_the_guest() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let c = channels::spawn_with(&[]).await;
    Mock::given(method("POST"))
        .and(path("/v26.0/106540352242922/messages"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({ "error": { "message": "Service temporarily unavailable", "type": "OAuthException", "code": 2, "fbtrace_id": "A1" } })))
        .mount(&c.meta)
        .await;
    let fixture = c.app.seed_property().await;
    c.booking(&fixture, "BK-1", Duration::hours(10), json!({})).await;
    c.app.run_jobs().await;
    let tries = c.meta.received_requests().await.unwrap().len();
    assert!(tries >= 1, "the pre-arrival message was tried");
    c.booking(
        &fixture,
        "BK-1",
        Duration::hours(10),
        json!({ "guest": { "name": "Bea Right", "phone": "+421900000077" } }),
    )
    .await;
    sqlx::query("UPDATE jobs SET run_at = now() WHERE state = 'queued'").execute(&c.app.db).await.unwrap();
    c.app.run_jobs().await;
    let old: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT status, error FROM notifications WHERE recipient = $1 AND template = 'pre_arrival'")
            .bind(PHONE)
            .fetch_all(&c.app.db)
            .await
            .unwrap();
    assert_eq!(old.len(), 1);
    assert_eq!(old[0].0, "failed");
    assert!(old[0].1.as_deref().unwrap_or_default().contains("withdrawn"), "{old:?}");
    let to_old = c.meta_requests().await.iter().filter(|r| r["to"] == PHONE.trim_start_matches('+')).count();
    assert_eq!(to_old, tries, "no further try to the old number");
}

/// L12: `/resolve` never ends someone else's hand-off by accident: with
/// several open, it asks which room.
#[tokio::test]
async fn resolve_names_the_room_when_several_hand_offs_are_open() {
    let chat = crate::conversation::spawn().await;
    let other = "421900000007";
    chat.book("BK-1", GUEST, "101", Duration::hours(10), json!({})).await;
    chat.book("BK-2", other, "102", Duration::hours(10), json!({})).await;
    chat.say(GUEST, "I want to talk to a real person").await;
    chat.say(other, "I want to talk to a real person").await;
    let asked = chat.say(MANAGER, "/resolve").await;
    assert!(
        asked[0].contains("Several hand-offs") && asked[0].contains("101") && asked[0].contains("102"),
        "{}",
        asked[0]
    );
    assert!(chat.say(MANAGER, "/resolve 102").await[0].contains("Resolved"));
    assert_eq!(chat.say(other, "hello?").await.len(), 1, "102's guest gets answers again");
    assert!(chat.say(GUEST, "hello?").await.is_empty(), "101's hand-off is still open");
}
