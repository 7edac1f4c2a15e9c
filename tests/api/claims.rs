//! A guest with no phone on file claims the stay in chat (SPEC §9), the
//! staff alert 48 hours before check-in, and `doorman claim-link`.

use chrono::{Duration, Utc};
use doorman::conversation::catalog;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::channels::{meta_accepts, spawn_with, telegram_accepts, telegram_message, text_webhook, Channels, GUEST};
use crate::helpers::{Fixture, TestApp};

/// A confirmed booking of room 101 with no phone on file, checking in
/// `from_now` from now for three nights, with Airbnb's last four digits
/// when given (set as a feed import would).
async fn phoneless_booking(
    c: &Channels,
    fixture: &Fixture,
    reference: &str,
    from_now: Duration,
    last4: Option<&str>,
    guest: Value,
) -> Value {
    let check_in = Utc::now() + from_now;
    let body = json!({
        "property_id": fixture.property_id, "room": "101", "guest": guest,
        "check_in_at": check_in, "check_out_at": check_in + Duration::days(3), "status": "confirmed"
    });
    let response = c.app.put(&format!("/api/v1/bookings/{reference}"), &body).await;
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
    sqlx::query("UPDATE bookings SET phone_last4 = $2 WHERE external_ref = $1")
        .bind(reference)
        .bind(last4)
        .execute(&c.app.db)
        .await
        .unwrap();
    response.json().await.unwrap()
}

fn anna() -> Value {
    json!({ "name": "Anna Novak", "language": "en" })
}

async fn channels() -> (Channels, Fixture) {
    let c = spawn_with(&[]).await;
    meta_accepts(&c.meta).await;
    telegram_accepts(&c.telegram).await;
    let fixture = c.app.seed_property().await;
    (c, fixture)
}

/// Sends a WhatsApp text from `from` and runs the jobs.
async fn say(c: &Channels, from: &str, text: &str) {
    let id = format!("wamid.claim{}", Uuid::new_v4().simple());
    assert_eq!(c.whatsapp(&text_webhook(&id, from, text)).await.status(), 200);
    c.app.run_jobs().await;
}

/// The texts WhatsApp carried to `to`, in order.
async fn whatsapp_texts_to(c: &Channels, to: &str) -> Vec<String> {
    c.meta_requests().await.into_iter().filter(|r| r["to"] == to).map(|r| r.to_string()).collect()
}

async fn links_of(app: &TestApp, reference: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT bc.kind, bc.address FROM booking_contacts bc JOIN bookings b ON b.id = bc.booking_id
         WHERE b.external_ref = $1 AND bc.ended_at IS NULL AND bc.linked_by = 'claim'",
    )
    .bind(reference)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

fn is_stranger_reply(text: &str) -> bool {
    ["greeting_stranger", "access_unknown_sender"]
        .iter()
        .any(|key| text.contains(&serde_json::to_string(&catalog::text("en", key, &[])).unwrap()))
}

#[tokio::test]
async fn a_claim_in_a_sentence_links_the_number_and_the_code_follows() {
    let (c, fixture) = channels().await;
    let booking = phoneless_booking(&c, &fixture, "HMABCD1234", Duration::hours(20), Some("4048"), anna()).await;
    c.app.run_jobs().await;
    assert!(c.meta_requests().await.is_empty(), "nobody to send the code to yet");

    say(&c, GUEST, "hi, my booking is hmabcd1234, phone ends 4048").await;
    assert_eq!(links_of(&c.app, "HMABCD1234").await, [("phone".to_owned(), format!("+{GUEST}"))]);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'guest.linked' AND details->>'by' = 'claim'",
    )
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!(audited, 1);
    let code = booking["codes"][0]["code"].as_str().unwrap().to_owned();
    c.app.run_jobs_through_retries(3).await;
    let sent = whatsapp_texts_to(&c, GUEST).await;
    assert!(sent[0].contains("this chat is now linked to your booking"), "{sent:?}");
    assert!(sent.iter().any(|t| t.contains(&code)), "the pre-arrival message brings the code: {sent:?}");

    say(&c, GUEST, "how do I get in?").await;
    let last = whatsapp_texts_to(&c, GUEST).await.pop().unwrap();
    assert!(last.contains(&code), "{last}");
}

#[tokio::test]
async fn a_wrong_claim_gets_the_strangers_reply_and_the_sixth_gets_none() {
    let (c, fixture) = channels().await;
    phoneless_booking(&c, &fixture, "HMABCD1234", Duration::hours(20), Some("4048"), anna()).await;
    say(&c, GUEST, "HMABCD1234 4049").await;
    let sent = whatsapp_texts_to(&c, GUEST).await;
    assert_eq!(sent.len(), 1);
    assert!(is_stranger_reply(&sent[0]), "{sent:?}");
    assert!(links_of(&c.app, "HMABCD1234").await.is_empty());

    for n in 0..5 {
        say(&c, GUEST, &format!("my booking HMABCD1234, phone ends 40{n}9")).await;
    }
    assert_eq!(whatsapp_texts_to(&c, GUEST).await.len(), 5, "five answers, then silence");
    say(&c, GUEST, "HMABCD1234 4048").await;
    assert_eq!(whatsapp_texts_to(&c, GUEST).await.len(), 5, "even a right claim: silence for the day");
    assert!(links_of(&c.app, "HMABCD1234").await.is_empty());

    // Another sender has tries of its own.
    say(&c, "421900000077", "HMABCD1234 4048").await;
    assert_eq!(links_of(&c.app, "HMABCD1234").await.len(), 1);
}

#[tokio::test]
async fn a_claim_from_a_telegram_group_links_nothing() {
    let (c, fixture) = channels().await;
    phoneless_booking(&c, &fixture, "HMABCD1234", Duration::hours(20), Some("4048"), anna()).await;
    let mut update = telegram_message(900, 1111111, json!({ "text": "HMABCD1234 4048" }));
    update["message"]["chat"] = json!({ "id": -1001234567890_i64, "type": "supergroup", "title": "Family trip" });
    c.telegram_update(&update).await;
    c.app.run_jobs().await;
    assert!(links_of(&c.app, "HMABCD1234").await.is_empty());
    let texts: Vec<Value> = c.telegram_requests().await;
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0]["text"].as_str().unwrap().contains("private chat"), "{texts:?}");

    // The same in a private chat links it.
    c.telegram_update(&telegram_message(901, 1111111, json!({ "text": "HMABCD1234 4048" }))).await;
    c.app.run_jobs().await;
    assert_eq!(links_of(&c.app, "HMABCD1234").await, [("telegram".to_owned(), "1111111".to_owned())]);
}

/// A number known from a past stay only is no guest of the new booking
/// yet: it may claim it; the guest of a stay ahead has nothing to claim.
#[tokio::test]
async fn a_returning_guest_claims_the_new_stay_from_the_number_of_the_old_one() {
    let (c, fixture) = channels().await;
    let check_in = Utc::now() - Duration::days(30);
    let past = json!({
        "property_id": fixture.property_id, "room": "102",
        "guest": { "name": "Anna Novak", "phone": format!("+{GUEST}"), "language": "en" },
        "check_in_at": check_in, "check_out_at": check_in + Duration::days(3), "status": "confirmed"
    });
    assert!(c.app.put("/api/v1/bookings/BK-PAST", &past).await.status().is_success());
    phoneless_booking(&c, &fixture, "HMNEW12345", Duration::days(5), Some("4048"), anna()).await;
    say(&c, GUEST, "HMNEW12345 4048").await;
    assert_eq!(links_of(&c.app, "HMNEW12345").await.len(), 1);

    phoneless_booking(&c, &fixture, "HMTHIRD123", Duration::days(20), Some("4048"), anna()).await;
    say(&c, GUEST, "HMTHIRD123 4048").await;
    assert!(links_of(&c.app, "HMTHIRD123").await.is_empty(), "a guest with a stay ahead claims nothing");
}

#[tokio::test]
async fn a_claim_after_check_out_links_nothing() {
    let (c, fixture) = channels().await;
    phoneless_booking(&c, &fixture, "HMOLD12345", -Duration::days(4), Some("4048"), anna()).await;
    say(&c, GUEST, "HMOLD12345 4048").await;
    assert!(links_of(&c.app, "HMOLD12345").await.is_empty());
    let sent = whatsapp_texts_to(&c, GUEST).await;
    assert!(is_stranger_reply(&sent[0]), "{sent:?}");
}

#[tokio::test]
async fn a_booking_without_digits_is_claimed_by_the_surname() {
    let (c, fixture) = channels().await;
    let guest = json!({ "name": "Jana Dvořáková", "language": "cs" });
    phoneless_booking(&c, &fixture, "PMS-77", Duration::days(5), None, guest).await;
    say(&c, GUEST, "booking pms-77, surname Smith").await;
    assert!(links_of(&c.app, "PMS-77").await.is_empty(), "the wrong surname");
    say(&c, GUEST, "booking PMS-77, surname DVORAKOVA").await;
    assert_eq!(links_of(&c.app, "PMS-77").await.len(), 1);
}

#[tokio::test]
async fn the_confirmation_is_in_the_language_of_the_claim() {
    let (c, fixture) = channels().await;
    phoneless_booking(&c, &fixture, "HMABCD1234", Duration::days(5), Some("4048"), anna()).await;
    phoneless_booking(&c, &fixture, "HMSLOV5678", Duration::days(9), Some("1234"), anna()).await;
    say(&c, GUEST, "Hallo, meine Buchungsnummer ist HMABCD1234 und meine Telefonnummer endet auf 4048").await;
    let german = whatsapp_texts_to(&c, GUEST).await.pop().unwrap();
    assert!(german.contains("Danke Anna, dieser Chat ist jetzt mit Ihrer Buchung verbunden"), "{german}");
    say(&c, "421900000077", "Dobrý deň, kód rezervácie HMSLOV5678, telefón končí na 1234, ďakujem").await;
    let slovak = whatsapp_texts_to(&c, "421900000077").await.pop().unwrap();
    assert!(slovak.contains("Ďakujeme, Anna, tento chat je teraz prepojený"), "{slovak}");
}

/// Staff are told 48 hours before check-in about a guest doorman cannot
/// reach, once; a guest who claimed the stay meanwhile is no alert.
#[tokio::test]
async fn staff_are_told_48_hours_before_check_in_when_nobody_can_reach_the_guest() {
    let (c, fixture) = channels().await;
    let staff =
        json!({ "name": "Petra", "phone": "+421900000500", "role": "manager", "property_ids": [fixture.property_id] });
    assert_eq!(c.app.post("/api/v1/staff", &staff).await.status(), 201);
    phoneless_booking(&c, &fixture, "HMSOON1234", Duration::hours(30), Some("4048"), anna()).await;
    phoneless_booking(&c, &fixture, "HMLATE1234", Duration::days(6), Some("5555"), anna()).await;
    c.app.run_jobs().await;
    let alerts = claim_link_alerts(&c).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].contains("HMSOON1234"), "{alerts:?}");
    assert!(alerts[0].contains(&format!("claim-link --property {}", fixture.property_id)), "{alerts:?}");

    // The later guest claims before their 48 hours: nothing to tell.
    say(&c, GUEST, "HMLATE1234 5555").await;
    c.app.fast_forward().await;
    c.app.run_jobs().await;
    assert_eq!(claim_link_alerts(&c).await.len(), 1, "only the first");
}

async fn claim_link_alerts(c: &Channels) -> Vec<String> {
    whatsapp_texts_to(c, "421900000500").await.into_iter().filter(|t| t.contains("claim link")).collect()
}

fn claim_link(app: &TestApp, args: &[&str], number: Option<&str>) -> std::process::Output {
    use sqlx::ConnectOptions;
    let url = app.db.connect_options().to_url_lossy().to_string();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_doorman"));
    command.arg("claim-link").args(args).env("DATABASE_URL", url).env_remove("WHATSAPP_DISPLAY_NUMBER");
    if let Some(number) = number {
        command.env("WHATSAPP_DISPLAY_NUMBER", number);
    }
    command.output().expect("running doorman claim-link")
}

#[tokio::test]
async fn claim_link_prints_the_wa_me_link_and_writes_its_qr_code() {
    let app = TestApp::spawn().await;
    let fixture = app.seed_property().await;
    let out = std::env::temp_dir().join(format!("claim-link-{}.png", Uuid::new_v4().simple()));
    let property = fixture.property_id.to_string();
    let args = ["--property", property.as_str(), "--out", out.to_str().unwrap()];
    let output = claim_link(&app, &args, Some("+421 900 000 123"));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let link = String::from_utf8(output.stdout).unwrap();
    assert!(
        link.trim().starts_with("https://wa.me/421900000123?text=Check-in%3A%20my%20booking%20reference"),
        "{link}"
    );
    let png = std::fs::read(&out).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    std::fs::remove_file(&out).ok();

    let unknown = Uuid::new_v4().to_string();
    let output = claim_link(&app, &["--property", &unknown, "--out", out.to_str().unwrap()], Some("+421900000123"));
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains(&format!("no property {unknown}")));
    assert!(!out.exists());
    let output = claim_link(&app, &args, None);
    assert!(String::from_utf8_lossy(&output.stderr).contains("WHATSAPP_DISPLAY_NUMBER"));
}
