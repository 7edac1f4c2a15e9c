//! Staff commands through the real pipeline (WhatsApp in, mock Meta out;
//! one on Telegram), with each role.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::conversation::{code_of, spawn, Chat, GUEST, MANAGER};
use doorman::devices::CheckLocks;

const CLEANER: &str = "421900000003";
const STRANGER: &str = "447700900123";

async fn with_cleaner(chat: &Chat) {
    let body =
        json!({ "name": "Eva", "phone": format!("+{CLEANER}"), "role": "staff", "property_ids": [chat.property_id] });
    assert_eq!(chat.app.post("/api/v1/staff", &body).await.status(), 201);
}

async fn states(chat: &Chat, reference: &str) -> Vec<String> {
    let booking: Value = chat.app.get(&format!("/api/v1/bookings/{reference}")).await.json().await.unwrap();
    booking["codes"].as_array().unwrap().iter().map(|c| c["state"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_strangers_command_does_nothing_and_reveals_nothing() {
    let chat = spawn().await;
    let booking = chat.book("BK-1", GUEST, "101", Duration::hours(10), json!({})).await;
    let reply = chat.say(STRANGER, "/revoke room 101").await;
    let as_guest = chat.say(STRANGER, "/frobnicate").await;
    assert_eq!(reply, as_guest, "the same answer a guest gets to an unknown command");
    assert!(!reply[0].contains(&code_of(&booking)) && !reply[0].contains("101"));
    assert!(states(&chat, "BK-1").await.iter().all(|s| s == "set"));
    let shown = chat.say(STRANGER, "/code 101 show").await;
    assert!(!shown[0].contains(&code_of(&booking)));
}

#[tokio::test]
async fn help_and_listings_follow_the_role_and_mask_codes() {
    let chat = spawn().await;
    with_cleaner(&chat).await;
    let booking = chat.book("BK-1", GUEST, "101", Duration::hours(10), json!({})).await;
    let code = code_of(&booking);
    let help = chat.say(CLEANER, "/help").await;
    assert!(help[0].contains("/codes") && !help[0].contains("/revoke"), "{}", help[0]);
    assert!(chat.say(MANAGER, "/help").await[0].contains("/revoke"));

    let listed = chat.say(CLEANER, "/codes 101").await;
    assert!(
        listed[0].contains(&format!("••••{}", &code[code.len() - 2..])) && !listed[0].contains(&code),
        "{}",
        listed[0]
    );
    let denied = chat.say(CLEANER, "/code 101 show").await;
    assert!(denied[0].contains("needs the manager role") && !denied[0].contains(&code));
    let shown = chat.say(MANAGER, "/CODE room 101 show").await;
    assert!(shown[0].contains(&code), "{}", shown[0]);
    let events: Value = chat.app.get("/api/v1/audit?booking_ref=BK-1").await.json().await.unwrap();
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "code.revealed" && e["actor"].as_str().unwrap().starts_with("staff:")));

    let booking_view = chat.say(CLEANER, "/booking BK-1").await;
    assert!(booking_view[0].contains("Anna Novak") && !booking_view[0].contains(&code), "{}", booking_view[0]);
    let arrivals =
        chat.say(MANAGER, "/arrivals today").await.join("") + &chat.say(MANAGER, "/arrivals tomorrow").await.join("");
    assert!(arrivals.contains("BK-1") && arrivals.contains("pre-arrival"), "{arrivals}");
    assert!(chat.say(MANAGER, "/status 101").await[0].contains("online"));
    assert!(chat.say(MANAGER, "/codes 999").await[0].contains("No room 999"));
    assert!(chat.say(MANAGER, "/issue room 101 2026-13-01 09:00 17:00 plumber").await[0].starts_with("Usage: /issue"));
    // The last day chrono knows, ending "after midnight": a refusal, not a panic.
    let edge = chat.say(MANAGER, "/issue room 101 +262142-12-31 13:00 12:00 plumber").await;
    assert_eq!(edge.len(), 1, "{edge:?}");
    assert!(!edge[0].starts_with("Issued"), "{}", edge[0]);
}

#[tokio::test]
async fn revoking_a_future_stay_needs_no_confirmation() {
    let chat = spawn().await;
    chat.book("BK-1", GUEST, "101", Duration::days(3), json!({})).await;
    let reply = chat.say(MANAGER, "/revoke 101").await;
    assert!(reply[0].starts_with("Revoked 1 code(s)"), "{}", reply[0]);
    chat.app.run_jobs().await;
    assert!(states(&chat, "BK-1").await.iter().all(|s| s == "removed"));
}

/// Security review L4: inside the release window the guest may have the
/// code already, so a revocation (a typo of a room, say) is confirmed first;
/// and a booking due its details whose codes were revoked is an alert.
#[tokio::test]
async fn revoking_a_stay_whose_code_is_released_needs_a_confirmation_and_is_not_silent() {
    let chat = spawn().await;
    chat.book("BK-1", GUEST, "101", Duration::days(3), json!({ "check_in_at": Utc::now() + Duration::hours(30) }))
        .await;
    chat.book("BK-2", "421900000009", "102", Duration::hours(10), json!({})).await;
    let asked = chat.say(MANAGER, "/revoke 102").await;
    assert!(asked[0].contains("/confirm") && asked[0].contains("may have the code"), "{}", asked[0]);
    assert!(states(&chat, "BK-2").await.iter().all(|s| s == "set"), "nothing revoked before the confirmation");
    let token = asked[0].split("/confirm ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    chat.say(MANAGER, &format!("/confirm {token}")).await;
    chat.app.run_jobs().await;
    assert!(states(&chat, "BK-2").await.iter().all(|s| s == "removed"));

    // BK-1's details are due in six hours; its codes are revoked meanwhile.
    chat.say(MANAGER, "/revoke 101").await;
    sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = 'pre_arrival'").execute(&chat.app.db).await.unwrap();
    sqlx::query("UPDATE bookings SET check_in_at = now() + interval '10 hours', check_out_at = now() + interval '3 days' WHERE external_ref = 'BK-1'")
        .execute(&chat.app.db)
        .await
        .unwrap();
    chat.app.run_jobs().await;
    let alerts = chat.sent_to(MANAGER).await.join("\n");
    assert!(
        alerts.contains("BK-1") && alerts.contains("codes were revoked") && alerts.contains("/regen room 101"),
        "{alerts}"
    );
}

#[tokio::test]
async fn a_stay_in_progress_needs_a_confirmation_that_works_once_for_its_staff_member() {
    let chat = spawn().await;
    chat.app
        .post("/api/v1/staff", &json!({ "name": "Petra", "phone": "+421900000004", "role": "manager", "property_ids": [chat.property_id] }))
        .await;
    chat.book("BK-1", GUEST, "101", -Duration::hours(3), json!({})).await;
    let prompt = chat.say(MANAGER, "/revoke room 101").await;
    assert!(
        prompt[0].contains("Anna") && prompt[0].contains("room 101") && prompt[0].contains("/confirm"),
        "{}",
        prompt[0]
    );
    let token = prompt[0].split("/confirm ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    assert!(states(&chat, "BK-1").await.iter().all(|s| s == "set"), "nothing happens before the confirmation");

    let other = chat.say("421900000004", &format!("/confirm {token}")).await;
    assert!(other[0].contains("unknown, used or expired"), "another staff member's confirmation does nothing");
    let done = chat.say(MANAGER, &format!("/confirm {token}")).await;
    assert!(done[0].starts_with("Revoked"), "{}", done[0]);
    let again = chat.say(MANAGER, &format!("/confirm {token}")).await;
    assert!(again[0].contains("unknown, used or expired"));

    // Expired and cancelled prompts do nothing either.
    let chat = spawn().await;
    chat.book("BK-2", GUEST, "101", -Duration::hours(3), json!({})).await;
    let prompt = chat.say(MANAGER, "/revoke 101").await;
    let token = prompt[0].split("/confirm ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    sqlx::query("UPDATE confirmations SET expires_at = now() - interval '1 second'")
        .execute(&chat.app.db)
        .await
        .unwrap();
    assert!(chat.say(MANAGER, &format!("/confirm {token}")).await[0].contains("expired"));
    let prompt = chat.say(MANAGER, "/revoke 101").await;
    let token = prompt[0].split("/confirm ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    assert_eq!(chat.say(MANAGER, "/cancel").await[0], "Cancelled.");
    assert!(chat.say(MANAGER, &format!("/confirm {token}")).await[0].contains("expired"));
    assert!(states(&chat, "BK-2").await.iter().all(|s| s == "set"));
}

#[tokio::test]
async fn regen_replaces_the_code_and_sends_the_new_one_to_the_guest() {
    let chat = spawn().await;
    let booking = chat.book("BK-1", GUEST, "101", -Duration::hours(3), json!({})).await;
    let old = code_of(&booking);
    let prompt = chat.say(MANAGER, "/regen room 101").await;
    let token = prompt[0].split("/confirm ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    let before = chat.sent_to(GUEST).await.len();
    chat.say(MANAGER, &format!("/confirm {token}")).await;
    chat.app.run_jobs().await;
    let view: Value = chat.app.get("/api/v1/bookings/BK-1").await.json().await.unwrap();
    let live: Vec<&str> = view["codes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] == "set")
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(live.len(), 1, "room 101 has one door here");
    assert!(live.iter().all(|c| *c != old), "a new value");
    let sent = chat.sent_to(GUEST).await.split_off(before);
    assert!(sent.iter().any(|m| m.contains(live[0])), "the guest got the new code: {sent:?}");
}

#[tokio::test]
async fn issue_master_link_mycode_and_resolve() {
    let chat = spawn().await;
    with_cleaner(&chat).await;
    chat.book("BK-1", GUEST, "101", Duration::hours(10), json!({})).await;
    let date = (Utc::now() + Duration::days(2)).format("%Y-%m-%d");
    let issued = chat.say(MANAGER, &format!("/issue room 101 {date} 09:00 17:00 plumber")).await;
    assert!(issued[0].contains("plumber") && issued[0].contains('`'), "{}", issued[0]);
    let master = chat.say(MANAGER, "/master room 101").await;
    assert!(master[0].contains("master"));
    let master_code = master[0].split('`').nth(1).unwrap();
    assert_eq!(master_code.len(), 8, "master codes are longer");
    assert!(chat.say(CLEANER, "/master room 101").await[0].contains("needs the manager role"));
    // A door that takes six digits at most cannot hold a longer master code.
    sqlx::query(
        r#"UPDATE locks SET device_constraints = '{"supported_lengths": [6], "min_length": null, "max_length": null,
               "no_zeros": false, "forbidden_prefixes": [], "max_active_codes": null, "backup_pool": false}'"#,
    )
    .execute(&chat.app.db)
    .await
    .unwrap();
    let refused = chat.say(MANAGER, "/master room 101").await;
    assert!(refused[0].contains("must be longer") && !refused[0].contains('`'), "{}", refused[0]);

    let mine = chat.say(CLEANER, "/mycode old town flats").await;
    assert!(mine[0].contains("Your codes at Old Town Flats"), "{}", mine[0]);
    assert_eq!(chat.say(CLEANER, "/mycode Old Town Flats").await, mine, "the same persistent code each time");

    let second_phone = "421911111111";
    assert!(chat.say(MANAGER, &format!("/link BK-1 +{second_phone}")).await[0].contains("linked"));
    let reply = chat.say(second_phone, "What's the door code?").await;
    let view: Value = chat.app.get("/api/v1/bookings/BK-1").await.json().await.unwrap();
    assert!(reply[0].contains(&code_of(&view)), "the linked number is the guest's: {}", reply[0]);

    chat.say(GUEST, "I want to talk to a real person").await;
    assert!(chat.say(GUEST, "hello?").await.is_empty());
    assert!(chat.say(MANAGER, "/resolve").await[0].contains("Anna"));
    assert_eq!(chat.say(GUEST, "hello?").await.len(), 1, "automatic replies are back");
}

#[tokio::test]
async fn a_code_not_on_the_lock_before_check_in_is_one_alert() {
    let chat = spawn().await;
    sqlx::query("INSERT INTO simulated_devices (device_id, offline) SELECT provider_device_id, true FROM locks")
        .execute(&chat.app.db)
        .await
        .unwrap();
    chat.book("BK-1", GUEST, "101", Duration::hours(1), json!({})).await;
    for _ in 0..3 {
        sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = 'check_codes_set'")
            .execute(&chat.app.db)
            .await
            .unwrap();
        chat.app.run_jobs().await;
        chat.book("BK-1", GUEST, "101", Duration::hours(1), json!({})).await;
    }
    let alerts: Vec<String> =
        chat.sent_to(MANAGER).await.into_iter().filter(|a| a.contains("not on the lock")).collect();
    assert_eq!(alerts.len(), 1, "one problem, one alert: {alerts:?}");
    assert!(alerts[0].contains("BK-1") && alerts[0].contains("Room 101 door"));
}

#[tokio::test]
async fn commands_work_on_telegram_too() {
    use wiremock::matchers::{method, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let telegram = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("(?i)/sendmessage$"))
        .respond_with(|r: &wiremock::Request| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            ResponseTemplate::new(200)
                .set_body_json(json!({ "ok": true, "result": { "message_id": rand_id(), "date": 1767225600,
                "chat": { "id": body["chat_id"], "type": "private" }, "text": body["text"] } }))
        })
        .mount(&telegram)
        .await;
    let base = telegram.uri();
    let chat = crate::conversation::spawn_with(&[
        ("TELEGRAM_BOT_TOKEN", "1:tok"),
        ("TELEGRAM_WEBHOOK_SECRET", "telegram-secret-0123456789"),
        ("TELEGRAM_API_BASE", Box::leak(base.into_boxed_str())),
    ])
    .await;
    chat.app
        .post("/api/v1/staff", &json!({ "name": "Tomas", "telegram_user_id": 777001, "role": "manager", "property_ids": [chat.property_id] }))
        .await;
    let booking = chat.book("BK-1", GUEST, "101", Duration::hours(10), json!({})).await;
    let update = json!({ "update_id": 9001, "message": { "message_id": 1, "date": Utc::now().timestamp(),
        "chat": { "id": 777001, "type": "private", "first_name": "Tomas" },
        "from": { "id": 777001, "is_bot": false, "first_name": "Tomas" }, "text": "/code 101 show" } });
    let response = chat
        .app
        .client
        .post(chat.app.url("/webhooks/telegram"))
        .header("x-telegram-bot-api-secret-token", "telegram-secret-0123456789")
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    chat.app.run_jobs().await;
    let sent: Vec<Value> =
        telegram.received_requests().await.unwrap().iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    let reply = sent.iter().find(|m| m["chat_id"] == 777001).expect("a reply to the staff member");
    assert!(reply["text"].as_str().unwrap().contains(&code_of(&booking)));
}

#[tokio::test]
async fn a_command_addressed_to_another_bot_is_left_to_it() {
    use wiremock::matchers::{method, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let telegram = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("(?i)/sendmessage$"))
        .respond_with(|r: &wiremock::Request| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            ResponseTemplate::new(200)
                .set_body_json(json!({ "ok": true, "result": { "message_id": rand_id(), "date": 1767225600,
                "chat": { "id": body["chat_id"], "type": "private" }, "text": body["text"] } }))
        })
        .mount(&telegram)
        .await;
    let base = telegram.uri();
    let chat = crate::conversation::spawn_with(&[
        ("TELEGRAM_BOT_TOKEN", "1:tok"),
        ("TELEGRAM_WEBHOOK_SECRET", "telegram-secret-0123456789"),
        ("TELEGRAM_API_BASE", Box::leak(base.into_boxed_str())),
        ("TELEGRAM_BOT_USERNAME", "doorman_test_bot"),
    ])
    .await;
    chat.app
        .post("/api/v1/staff", &json!({ "name": "Tomas", "telegram_user_id": 777001, "role": "manager", "property_ids": [chat.property_id] }))
        .await;
    chat.book("BK-1", GUEST, "101", Duration::hours(10), json!({})).await;
    let replies = |n: usize| {
        let telegram = &telegram;
        async move {
            let sent = telegram.received_requests().await.unwrap();
            let texts: Vec<String> = sent
                .iter()
                .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
                .filter(|m| m["chat_id"] == 777001)
                .map(|m| m["text"].as_str().unwrap().to_owned())
                .collect();
            texts[n..].to_vec()
        }
    };
    for (n, text) in
        ["/codes@otherbot 101", "/codes@doorman_test_bot 101", "/codes@Doorman_Test_Bot 101"].iter().enumerate()
    {
        let update = json!({ "update_id": 9100 + n, "message": { "message_id": 10 + n, "date": Utc::now().timestamp(),
            "chat": { "id": 777001, "type": "private", "first_name": "Tomas" },
            "from": { "id": 777001, "is_bot": false, "first_name": "Tomas" }, "text": text } });
        let response = chat
            .app
            .client
            .post(chat.app.url("/webhooks/telegram"))
            .header("x-telegram-bot-api-secret-token", "telegram-secret-0123456789")
            .json(&update)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        chat.app.run_jobs().await;
        if n == 0 {
            assert!(replies(0).await.is_empty(), "another bot's command gets no answer from doorman");
        }
    }
    let answered = replies(0).await;
    assert_eq!(answered.len(), 2, "{answered:?}");
    assert!(answered.iter().all(|a| a.contains("Room 101 door")), "{answered:?}");
}

fn rand_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[tokio::test]
async fn audit_lists_orphans_and_removes_them_only_when_confirmed() {
    let chat = spawn().await;
    chat.book("BK-1", GUEST, "101", Duration::hours(10), json!({})).await;
    sqlx::query(
        "INSERT INTO simulated_codes (provider_ref, device_id, name, code)
         SELECT 'foreign-1', provider_device_id, 'Old cleaner', '583920' FROM locks WHERE name = 'Room 101 door'",
    )
    .execute(&chat.app.db)
    .await
    .unwrap();
    let listed = chat.say(MANAGER, "/audit room 101").await;
    assert!(listed[0].contains("••••20") && listed[0].contains("Old cleaner"), "{}", listed[0]);
    assert!(!listed[0].contains("583920"), "masked");
    chat.app.run_jobs().await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM simulated_codes WHERE provider_ref = 'foreign-1'")
        .fetch_one(&chat.app.db)
        .await
        .unwrap();
    assert_eq!(left, 1, "never removed without a confirmation");
    let token = listed[0]
        .split("/confirm ")
        .nth(1)
        .unwrap_or_else(|| panic!("{}", listed[0]))
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert!(chat.say(MANAGER, &format!("/confirm {token}")).await[0].contains("Removing 1"));
    chat.app.run_jobs().await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM simulated_codes WHERE provider_ref = 'foreign-1'")
        .fetch_one(&chat.app.db)
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(states(&chat, "BK-1").await, ["set"], "the guest's code is untouched");
}

#[tokio::test]
async fn a_deactivated_staff_member_loses_commands_and_codes() {
    let chat = spawn().await;
    let staff: Value = chat
        .app
        .post("/api/v1/staff", &json!({ "name": "Eva", "phone": format!("+{CLEANER}"), "role": "staff", "property_ids": [chat.property_id] }))
        .await
        .json()
        .await
        .unwrap();
    let mine = chat.say(CLEANER, "/mycode Old Town Flats").await;
    assert!(mine[0].contains('`'));
    chat.app.run_jobs().await;
    let response = chat
        .app
        .client
        .patch(chat.app.url(&format!("/api/v1/staff/{}", staff["id"].as_str().unwrap())))
        .bearer_auth(crate::helpers::TOKEN)
        .json(&json!({ "active": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["codes_removing"], 2);
    chat.app.run_jobs().await;
    let states: Vec<String> = sqlx::query_scalar("SELECT state FROM access_codes WHERE kind = 'staff'")
        .fetch_all(&chat.app.db)
        .await
        .unwrap();
    assert_eq!(states, ["removed", "removed"], "removed from the locks end to end");
    let reply = chat.say(CLEANER, "/codes 101").await;
    assert!(!reply[0].contains("Room 101"), "no longer staff: {}", reply[0]);
}

#[tokio::test]
async fn an_offline_lock_or_a_low_battery_is_told_once_a_day_and_hand_offs_are_reminded() {
    let chat = spawn().await;
    sqlx::query("INSERT INTO simulated_devices (device_id, offline, battery_percent) SELECT provider_device_id, name = 'Room 101 door', 12 FROM locks")
        .execute(&chat.app.db)
        .await
        .unwrap();
    for _ in 0..2 {
        let mut conn = chat.app.db.acquire().await.unwrap();
        doorman::jobs::queue::enqueue(&mut conn, &CheckLocks {}, Utc::now()).await.unwrap();
        drop(conn);
        chat.app.run_jobs().await;
    }
    let alerts = chat.sent_to(MANAGER).await;
    assert_eq!(alerts.iter().filter(|a| a.contains("Room 101 door is offline")).count(), 1, "{alerts:?}");
    assert_eq!(alerts.iter().filter(|a| a.contains("Room 102 door has a low battery (12 %)")).count(), 1, "{alerts:?}");
    let next: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'check_locks' AND run_at > now()")
        .fetch_one(&chat.app.db)
        .await
        .unwrap();
    assert_eq!(next, 1, "the check runs again later, once");

    chat.book("BK-1", GUEST, "101", Duration::hours(10), json!({})).await;
    chat.say(GUEST, "I want to talk to a real person").await;
    sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = 'handoff_reminder'").execute(&chat.app.db).await.unwrap();
    chat.app.run_jobs().await;
    assert!(chat.sent_to(MANAGER).await.iter().any(|a| a.contains("Reminder: Anna Novak is still waiting")));
}

#[tokio::test]
async fn a_staff_revocation_survives_the_pms_sending_the_booking_again() {
    let chat = spawn().await;
    chat.book("BK-1", GUEST, "101", Duration::days(3), json!({})).await;
    chat.say(MANAGER, "/revoke 101").await;
    chat.app.run_jobs().await;
    let resent = chat.book("BK-1", GUEST, "101", Duration::days(3), json!({})).await;
    let codes = resent["codes"].as_array().unwrap();
    assert!(codes.iter().all(|c| c["state"] == "removed"), "no new code behind staff's back: {codes:?}");
    let reply = chat.say(MANAGER, "/regen 101").await;
    let token = reply[0].split("/confirm ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    chat.say(MANAGER, &format!("/confirm {token}")).await;
    assert!(states(&chat, "BK-1").await.iter().any(|s| s == "set"), "staff can re-issue");
}

#[tokio::test]
async fn a_linked_number_sees_only_its_booking_and_only_until_check_out() {
    let chat = spawn().await;
    chat.book("BK-OLD", GUEST, "101", -Duration::days(5), json!({})).await;
    let friend = "421922222222";
    chat.say(MANAGER, &format!("/link BK-OLD +{friend}")).await;
    let current = chat.book("BK-NEW", GUEST, "102", Duration::hours(10), json!({})).await;
    let reply = chat.say(friend, "What's the door code?").await;
    assert!(!reply[0].contains(&code_of(&current)), "a link to one stay opens no other: {}", reply[0]);
}

#[tokio::test]
async fn a_corrected_guest_gets_a_new_code_and_the_old_recipient_loses_theirs() {
    let chat = spawn().await;
    let wrong = chat.book("BK-1", "421905555555", "101", Duration::hours(10), json!({})).await;
    let corrected = chat.book("BK-1", GUEST, "101", Duration::hours(10), json!({})).await;
    let old = code_of(&wrong);
    let live: Vec<&str> = corrected["codes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] != "removed" && c["state"] != "removing")
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(live.len(), 1);
    assert_ne!(live[0], old, "a new value");
    assert!(
        chat.sent_to(GUEST).await.iter().any(|m| m.contains(live[0])),
        "the real guest got the pre-arrival message"
    );
    let reply = chat.say("421905555555", "door code?").await;
    assert!(!reply[0].contains(&old) && !reply[0].contains(live[0]));
}

#[tokio::test]
async fn regen_before_the_release_time_sends_nothing_yet() {
    let chat = spawn().await;
    sqlx::query("UPDATE properties SET requires_verification = true").execute(&chat.app.db).await.unwrap();
    chat.book("BK-1", GUEST, "101", Duration::days(5), json!({ "verified": false })).await;
    let before = chat.sent_to(GUEST).await.len();
    let reply = chat.say(MANAGER, "/regen 101").await;
    let token = reply[0].split("/confirm ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    chat.say(MANAGER, &format!("/confirm {token}")).await;
    assert_eq!(chat.sent_to(GUEST).await.len(), before, "verification pending: the code is not sent");
}

#[tokio::test]
async fn re_sending_a_booking_does_not_postpone_the_code_deadline_check() {
    let chat = spawn().await;
    chat.book("BK-1", GUEST, "101", Duration::minutes(90), json!({})).await;
    let first: chrono::DateTime<Utc> = sqlx::query_scalar("SELECT run_at FROM jobs WHERE kind = 'check_codes_set'")
        .fetch_one(&chat.app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE jobs SET run_at = run_at - interval '1 minute' WHERE kind = 'check_codes_set'")
        .execute(&chat.app.db)
        .await
        .unwrap();
    chat.book("BK-1", GUEST, "101", Duration::minutes(90), json!({})).await;
    let after: chrono::DateTime<Utc> = sqlx::query_scalar("SELECT run_at FROM jobs WHERE kind = 'check_codes_set'")
        .fetch_one(&chat.app.db)
        .await
        .unwrap();
    assert!(after < first, "the earlier time is kept");
}

#[tokio::test]
async fn a_replayed_signed_revoke_older_than_seven_days_is_acknowledged_and_does_nothing() {
    let chat = spawn().await;
    chat.book("BK-1", GUEST, "101", Duration::days(3), json!({})).await;
    // A body captured 8 days ago, correctly signed: Meta no longer retries it.
    let replayed = chat.say_at(MANAGER, "/revoke 101", Utc::now() - Duration::days(8)).await;
    assert!(replayed.is_empty(), "no answer: {replayed:?}");
    assert!(states(&chat, "BK-1").await.iter().all(|s| s == "set"), "no command effect");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM inbound_updates").fetch_one(&chat.app.db).await.unwrap();
    assert_eq!(stored, 0, "not even stored");

    // Within Meta's 7 days of retries a late delivery still counts (its
    // answer waits for the 24-hour window, which it is outside of).
    chat.say_at(MANAGER, "/revoke 101", Utc::now() - Duration::days(6)).await;
    assert!(states(&chat, "BK-1").await.iter().all(|s| s == "removed"), "{:?}", states(&chat, "BK-1").await);
}
