//! iCal feeds per room (SPEC §9), against calendars served by a local HTTP
//! server in the shapes the OTAs send: what a good fetch books, and the
//! safety rules that keep a bad one from changing anything.

use chrono::{Days, Duration, NaiveDate, Utc};
use serde_json::{json, Value};
use uuid::Uuid;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{assert_error, codes_of, Fixture, TestApp, TOKEN};

/// A date `days` from today, as iCalendar writes it.
fn day(days: i64) -> String {
    let today: NaiveDate = Utc::now().date_naive();
    let date = if days >= 0 { today + Days::new(days as u64) } else { today - Days::new(days.unsigned_abs()) };
    date.format("%Y%m%d").to_string()
}

fn calendar(events: &[String]) -> String {
    format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Airbnb Inc//Hosting Calendar 1.0//EN\r\nCALSCALE:GREGORIAN\r\n{}END:VCALENDAR\r\n", events.concat())
}

/// An Airbnb reservation, as Airbnb's export writes it.
fn airbnb(uid: &str, code: &str, last4: &str, from: i64, to: i64) -> String {
    format!(
        "BEGIN:VEVENT\r\nDTSTAMP:20261201T101010Z\r\nDTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\nSUMMARY:Reserved\r\n\
UID:{uid}@airbnb.com\r\nDESCRIPTION:Reservation URL: https://www.airbnb.com/hosting/reservations/details/{code}\\n\r\n Phone Number (Last 4 Digits): {last4}\r\nEND:VEVENT\r\n",
        day(from),
        day(to)
    )
}

/// An Airbnb block.
fn blocked(uid: &str, from: i64, to: i64) -> String {
    format!(
        "BEGIN:VEVENT\r\nDTSTAMP:20261201T101010Z\r\nDTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\nSUMMARY:Airbnb (Not available)\r\nUID:{uid}@airbnb.com\r\nEND:VEVENT\r\n",
        day(from),
        day(to)
    )
}

/// A Booking.com stay.
fn booking_com(uid: &str, summary: &str, from: i64, to: i64) -> String {
    format!(
        "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\nUID:{uid}\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n",
        day(from),
        day(to)
    )
}

struct Setup {
    app: TestApp,
    fixture: Fixture,
    ota: MockServer,
    feed_id: Uuid,
}

/// The service, a property, and an OTA serving `body` as room 101's feed.
async fn setup(source: &str, body: String) -> Setup {
    setup_with(source, body, &[]).await
}

async fn setup_with(source: &str, body: String, vars: &[(&str, &str)]) -> Setup {
    let mut env = vec![("ADMIN_API_TOKEN", TOKEN)];
    env.extend_from_slice(vars);
    let app = TestApp::spawn_with(&env).await;
    let fixture = app.seed_property().await;
    let ota = MockServer::start().await;
    serve(&ota, body, None).await;
    let room = fixture.rooms["101"];
    let created = app
        .post(
            &format!("/api/v1/rooms/{room}/feeds"),
            &json!({ "url": format!("{}/ical/101.ics?s=secret", ota.uri()), "source": source }),
        )
        .await;
    assert_eq!(created.status(), 201);
    let feed_id = crate::helpers::id_of(&created.json().await.unwrap());
    Setup { app, fixture, ota, feed_id }
}

/// Serves `body` from now on, with an `ETag` when given.
async fn serve(ota: &MockServer, body: String, etag: Option<&str>) {
    ota.reset().await;
    let mut response = ResponseTemplate::new(200).set_body_string(body).insert_header("content-type", "text/calendar");
    if let Some(etag) = etag {
        response = response.insert_header("etag", etag);
        Mock::given(method("GET"))
            .and(path("/ical/101.ics"))
            .and(header("if-none-match", etag))
            .respond_with(ResponseTemplate::new(304))
            .with_priority(1)
            .mount(ota)
            .await;
    }
    Mock::given(method("GET")).and(path("/ical/101.ics")).respond_with(response).mount(ota).await;
}

impl Setup {
    async fn sync(&self) -> Value {
        let synced = self.app.post(&format!("/api/v1/feeds/{}/sync", self.feed_id), &json!({})).await;
        assert_eq!(synced.status(), 200);
        synced.json().await.unwrap()
    }

    async fn feed(&self) -> Value {
        let room = self.fixture.rooms["101"];
        let feeds: Value = self.app.get(&format!("/api/v1/rooms/{room}/feeds")).await.json().await.unwrap();
        feeds.as_array().unwrap().iter().find(|f| f["id"] == self.feed_id.to_string()).cloned().unwrap()
    }

    async fn booking(&self, reference: &str) -> Value {
        let found = self.app.get(&format!("/api/v1/bookings/{reference}")).await;
        assert_eq!(found.status(), 200, "{reference}");
        found.json().await.unwrap()
    }

    async fn bookings(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM bookings").fetch_one(&self.app.db).await.unwrap()
    }

    async fn alerts(&self, kind: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'alert_staff' AND payload->'alert'->>'alert' = $1")
            .bind(kind)
            .fetch_one(&self.app.db)
            .await
            .unwrap()
    }
}

fn counts(created: u64, changed: u64, unchanged: u64, disappeared: u64, skipped: u64) -> Value {
    json!({ "created": created, "changed": changed, "unchanged": unchanged, "disappeared": disappeared, "skipped": skipped })
}

fn live(codes: &[Value]) -> Vec<&Value> {
    codes.iter().filter(|c| !["removing", "removed"].contains(&c["state"].as_str().unwrap())).collect()
}

/// Airbnb's reservation becomes a confirmed booking of the room at the
/// property's check-in and check-out times, with its confirmation code and
/// the phone's last four digits; its codes are issued; the block is no
/// booking. Fetched again with nothing changed, it costs one conditional
/// request and writes nothing.
#[tokio::test]
async fn an_airbnb_feed_books_the_room_and_an_unchanged_feed_costs_one_request() {
    let body = calendar(&[airbnb("a1", "HMABCD1234", "4048", 5, 8), blocked("b1", 20, 60)]);
    let s = setup("airbnb", String::new()).await;
    serve(&s.ota, body, Some("\"v1\"")).await;
    assert_eq!(s.sync().await, counts(1, 0, 0, 0, 1));
    let booking = s.booking("HMABCD1234").await;
    assert_eq!(booking["room"], "101");
    assert_eq!(booking["status"], "confirmed");
    let check_in: chrono::DateTime<Utc> = booking["check_in_at"].as_str().unwrap().parse().unwrap();
    let local = check_in.with_timezone(&chrono_tz::Europe::Bratislava);
    assert_eq!(local.format("%Y%m%d %H:%M").to_string(), format!("{} 15:00", day(5)), "the property's check-in time");
    assert_eq!(live(&codes_of(&s.app, "HMABCD1234").await).len(), 2, "entrance and room 101");
    let last4: Option<String> =
        sqlx::query_scalar("SELECT phone_last4 FROM bookings WHERE external_ref = 'HMABCD1234'")
            .fetch_one(&s.app.db)
            .await
            .unwrap();
    assert_eq!(last4.as_deref(), Some("4048"));

    let writes_before: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events").fetch_one(&s.app.db).await.unwrap();
    assert_eq!(s.sync().await, counts(0, 0, 1, 0, 0));
    let writes_after: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events").fetch_one(&s.app.db).await.unwrap();
    assert_eq!(writes_before, writes_after, "an unchanged feed changes nothing");
    let requests = s.ota.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].headers.get("if-none-match").unwrap(), "\"v1\"");
    let feed = s.feed().await;
    assert_eq!(feed["last_status"], "unchanged");
    assert_eq!(feed["events"], 1);
}

/// Booking.com's `CLOSED - <name>` gives the guest's name; a stay a
/// channel manager emits three times is one booking.
#[tokio::test]
async fn a_stay_shown_three_times_is_one_booking_with_the_guests_name() {
    let body = calendar(&[
        booking_com("x2@booking.com", "CLOSED - Jana Novakova", 3, 6),
        booking_com("x1@booking.com", "CLOSED - Jana Novakova", 3, 6),
        booking_com("x3@booking.com", "CLOSED - Jana Novakova", 3, 6),
        booking_com("x4@booking.com", "CLOSED - Not available", 10, 12),
    ]);
    let s = setup("booking", body).await;
    assert_eq!(s.sync().await, counts(1, 0, 0, 0, 1));
    assert_eq!(s.bookings().await, 1);
    let booking = s.booking("ical-x1@booking.com").await;
    assert_eq!(booking["guest"]["name"], "Jana Novakova");
    assert_eq!(s.sync().await["unchanged"], 1, "the same three copies again: one stay, unchanged");
}

/// What a booking left behind: its audit actions (but showing its codes to
/// the API's caller) and its jobs (its own and its codes'), sorted.
async fn trail(app: &TestApp, reference: &str) -> (Vec<String>, Vec<String>) {
    let id: Uuid = sqlx::query_scalar("SELECT id FROM bookings WHERE external_ref = $1")
        .bind(reference)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let actions = sqlx::query_scalar(
        "SELECT action FROM audit_events
         WHERE (booking_id = $1 OR code_id IN (SELECT id FROM access_codes WHERE booking_id = $1))
           AND action <> 'code.revealed'
         ORDER BY action",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    let jobs = sqlx::query_scalar(
        "SELECT kind FROM jobs WHERE payload->>'booking_id' = $1::text
             OR payload->>'code_id' IN (SELECT id::text FROM access_codes WHERE booking_id = $1)
         ORDER BY kind",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    (actions, jobs)
}

/// A calendar's new stays are written together, and each ends as a booking
/// pushed alone through the API does: one value on the entrance and on the
/// room's lock, a value of its own, the same audit events and jobs.
#[tokio::test]
async fn a_calendars_new_stays_end_as_a_booking_made_through_the_api_does() {
    let stays: Vec<String> =
        (0..5).map(|n| airbnb(&format!("s{n}"), &format!("HMSET0000{n}"), "1234", 2 + 4 * n, 5 + 4 * n)).collect();
    let s = setup("airbnb", calendar(&stays)).await;
    assert_eq!(s.sync().await, counts(5, 0, 0, 0, 0));
    let alone = json!({
        "property_id": s.fixture.property_id,
        "room": "101",
        "guest": { "name": "Guest" },
        "check_in_at": (Utc::now() + Duration::days(30)).to_rfc3339(),
        "check_out_at": (Utc::now() + Duration::days(33)).to_rfc3339(),
        "status": "confirmed"
    });
    assert_eq!(s.app.put("/api/v1/bookings/BK-ALONE", &alone).await.status(), 201);
    let expected = trail(&s.app, "BK-ALONE").await;
    assert!(expected.1.contains(&"pre_arrival".to_owned()), "{expected:?}");
    let mut values = std::collections::HashSet::new();
    for n in 0..5 {
        let reference = format!("HMSET0000{n}");
        let (mut actions, jobs) = trail(&s.app, &reference).await;
        // The last stay's turnover ran to the end of its cleaning window
        // until BK-ALONE came after it: it now runs to BK-ALONE's check-in.
        actions.retain(|a| !(n == 4 && a == "turnover.moved"));
        assert_eq!((actions, jobs), expected, "{reference}");
        let codes = codes_of(&s.app, &reference).await;
        let live = live(&codes);
        assert_eq!(live.len(), 2, "entrance and room 101");
        assert_eq!(live[0]["code"], live[1]["code"], "one value on both doors");
        assert!(values.insert(live[0]["code"].as_str().unwrap().to_owned()), "a value of its own");
    }
}

/// A lock that fills up on the way: the stays are booked one by one, so
/// staff get the warning and the stay past the capacity gets no code on it.
#[tokio::test]
async fn a_lock_that_fills_with_a_calendars_stays_warns_and_stops_at_its_capacity() {
    let stays: Vec<String> =
        (0..4).map(|n| airbnb(&format!("c{n}"), &format!("HMCAP0000{n}"), "1234", 2 + 4 * n, 5 + 4 * n)).collect();
    let s = setup("airbnb", calendar(&stays)).await;
    sqlx::query("UPDATE locks SET capacity = 3 WHERE id = $1")
        .bind(s.fixture.locks["101"])
        .execute(&s.app.db)
        .await
        .unwrap();
    assert_eq!(s.sync().await, counts(4, 0, 0, 0, 0));
    let on_room: i64 = sqlx::query_scalar("SELECT count(*) FROM access_codes WHERE lock_id = $1")
        .bind(s.fixture.locks["101"])
        .fetch_one(&s.app.db)
        .await
        .unwrap();
    assert_eq!(on_room, 3, "the lock's capacity");
    let audited = |action: &'static str| {
        let db = s.app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM audit_events WHERE action = $1")
                .bind(action)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    assert_eq!(audited("lock.nearly_full").await, 1);
    assert_eq!(audited("lock.full").await, 1);
}

/// A stay the PMS pushed already, shown by the room's calendar: the same
/// booking, with the guest's name doorman has; the calendar's other stays
/// are new.
#[tokio::test]
async fn a_stay_the_pms_pushed_already_keeps_its_booking_and_guest() {
    let pushed = airbnb("p0", "HMPUSHED01", "9999", 3, 6);
    let s = setup("airbnb", calendar(&[pushed.clone(), airbnb("p1", "HMNEW00001", "1111", 10, 12)])).await;
    let check_in = chrono::NaiveDate::parse_from_str(&day(3), "%Y%m%d").unwrap();
    let check_out = chrono::NaiveDate::parse_from_str(&day(6), "%Y%m%d").unwrap();
    let body = json!({
        "property_id": s.fixture.property_id,
        "room": "101",
        "guest": { "name": "Anna Nováková" },
        "check_in": check_in,
        "check_out": check_out,
        "status": "confirmed"
    });
    assert_eq!(s.app.put("/api/v1/bookings/HMPUSHED01", &body).await.status(), 201);
    let codes_before = codes_of(&s.app, "HMPUSHED01").await;
    assert_eq!(s.sync().await, counts(1, 1, 0, 0, 0));
    assert_eq!(s.bookings().await, 2);
    let booking = s.booking("HMPUSHED01").await;
    assert_eq!(booking["guest"]["name"], "Anna Nováková", "the calendar has no name: ours stays");
    assert_eq!(codes_of(&s.app, "HMPUSHED01").await, codes_before, "its codes as they were");
}

/// The feed job itself: queued when the feed is added, books the stay, and
/// queues its next round.
#[tokio::test]
async fn the_feed_job_books_the_stay_and_comes_back() {
    let s = setup("airbnb", calendar(&[airbnb("a1", "HMJOB00001", "1111", 2, 4)])).await;
    s.app.run_jobs().await;
    s.booking("HMJOB00001").await;
    let next: chrono::DateTime<Utc> =
        sqlx::query_scalar("SELECT run_at FROM jobs WHERE kind = 'sync_feed' AND state = 'queued'")
            .fetch_one(&s.app.db)
            .await
            .unwrap();
    assert!(next > Utc::now() + Duration::minutes(8), "the next fetch in FEED_POLL_MINUTES: {next}");
}

/// A feed that fails, answers an HTML page with 200, is malformed, too
/// large or empty where it had stays changes nothing; staff hear of it when
/// it has failed for an hour.
#[tokio::test]
async fn a_failing_feed_changes_nothing_and_staff_hear_after_an_hour() {
    let s = setup("airbnb", calendar(&[airbnb("a1", "HMKEEP0001", "2222", 3, 5)])).await;
    s.sync().await;
    let codes = live(&codes_of(&s.app, "HMKEEP0001").await).len();
    let bad = [
        ResponseTemplate::new(200).set_body_string("<!DOCTYPE html><html><body>Service unavailable</body></html>"),
        ResponseTemplate::new(500),
        ResponseTemplate::new(200).set_body_string("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:2026"),
        ResponseTemplate::new(200).set_body_string(calendar(&[])),
        ResponseTemplate::new(200).set_body_string("X".repeat(6 * 1024 * 1024)),
    ];
    for response in bad {
        s.ota.reset().await;
        Mock::given(method("GET")).respond_with(response).mount(&s.ota).await;
        for _ in 0..4 {
            assert_eq!(s.sync().await["disappeared"], 0);
        }
        assert_eq!(s.booking("HMKEEP0001").await["status"], "confirmed");
        assert_eq!(live(&codes_of(&s.app, "HMKEEP0001").await).len(), codes, "every code kept");
        let feed = s.feed().await;
        assert!(["failed", "empty"].contains(&feed["last_status"].as_str().unwrap()), "{feed}");
        assert!(!feed["last_error"].as_str().unwrap().contains("secret"), "the link's secret is never shown");
    }
    assert_eq!(s.alerts("feed_failing").await, 0, "not within the first hour");
    sqlx::query("UPDATE feeds SET failing_since = now() - interval '61 minutes'").execute(&s.app.db).await.unwrap();
    s.sync().await;
    s.sync().await;
    assert_eq!(s.alerts("feed_failing").await, 1, "one alert for the run of failures");
    serve(&s.ota, calendar(&[airbnb("a1", "HMKEEP0001", "2222", 3, 5)]), None).await;
    s.sync().await;
    assert_eq!(s.feed().await["last_status"], "ok");
}

/// A feed that does not answer in time changes nothing.
#[tokio::test]
async fn a_feed_that_times_out_changes_nothing() {
    let s = setup_with(
        "airbnb",
        calendar(&[airbnb("a1", "HMSLOW0001", "3333", 3, 5)]),
        &[("FEED_FETCH_TIMEOUT_SECS", "1")],
    )
    .await;
    s.sync().await;
    s.ota.reset().await;
    let slow = ResponseTemplate::new(200).set_body_string(calendar(&[])).set_delay(std::time::Duration::from_secs(3));
    Mock::given(method("GET")).respond_with(slow).mount(&s.ota).await;
    s.sync().await;
    let feed = s.feed().await;
    assert_eq!(feed["last_status"], "failed");
    assert!(feed["last_error"].as_str().unwrap().contains("in time"), "{feed}");
    assert_eq!(s.booking("HMSLOW0001").await["status"], "confirmed");
}

/// A stay missing from the feed is cancelled after three good fetches
/// without it, not before.
#[tokio::test]
async fn a_vanished_stay_is_cancelled_after_three_clean_fetches() {
    let both = calendar(&[airbnb("a1", "HMGONE0001", "4444", 3, 5), airbnb("a2", "HMSTAY0001", "5555", 9, 12)]);
    let s = setup("airbnb", both).await;
    s.sync().await;
    serve(&s.ota, calendar(&[airbnb("a2", "HMSTAY0001", "5555", 9, 12)]), None).await;
    for _ in 0..2 {
        assert_eq!(s.sync().await["disappeared"], 0);
        assert_eq!(s.booking("HMGONE0001").await["status"], "confirmed");
    }
    assert_eq!(s.sync().await, counts(0, 0, 1, 1, 0));
    assert_eq!(s.booking("HMGONE0001").await["status"], "cancelled");
    assert!(live(&codes_of(&s.app, "HMGONE0001").await).is_empty(), "its codes leave the locks");
    assert_eq!(s.booking("HMSTAY0001").await["status"], "confirmed");
}

/// A stay that reappears before the third fetch is not cancelled.
#[tokio::test]
async fn a_stay_that_comes_back_starts_counting_again() {
    let full = calendar(&[airbnb("a1", "HMBACK0001", "4444", 3, 5), airbnb("a2", "HMOTHER001", "5555", 9, 12)]);
    let s = setup("airbnb", full.clone()).await;
    s.sync().await;
    let without = calendar(&[airbnb("a2", "HMOTHER001", "5555", 9, 12)]);
    serve(&s.ota, without.clone(), None).await;
    s.sync().await;
    s.sync().await;
    serve(&s.ota, full, None).await;
    s.sync().await;
    serve(&s.ota, without, None).await;
    s.sync().await;
    s.sync().await;
    assert_eq!(s.booking("HMBACK0001").await["status"], "confirmed", "two misses, then seen, then two misses");
}

/// A stay in progress that vanishes is held for staff, never cancelled.
#[tokio::test]
async fn a_stay_in_progress_that_vanishes_is_held_and_told_to_staff() {
    let s = setup(
        "airbnb",
        calendar(&[airbnb("a1", "HMHERE0001", "6666", -1, 3), airbnb("a2", "HMNEXT0001", "7777", 9, 12)]),
    )
    .await;
    s.sync().await;
    serve(&s.ota, calendar(&[airbnb("a2", "HMNEXT0001", "7777", 9, 12)]), None).await;
    for _ in 0..4 {
        assert_eq!(s.sync().await["disappeared"], 0);
    }
    assert_eq!(s.booking("HMHERE0001").await["status"], "confirmed");
    assert_eq!(live(&codes_of(&s.app, "HMHERE0001").await).len(), 2, "the guest in the room keeps their code");
    assert_eq!(s.alerts("vanished_during_stay").await, 1);
    let events: Value = s.app.get("/api/v1/audit?booking_ref=HMHERE0001").await.json().await.unwrap();
    let held = events.as_array().unwrap().iter().find(|e| e["action"] == "booking.disappeared").expect("audited");
    assert_eq!(held["details"]["held"], true);
}

/// A moved stay moves the booking: new window, same code value.
#[tokio::test]
async fn a_moved_stay_keeps_its_code_value() {
    let s = setup("airbnb", calendar(&[airbnb("a1", "HMMOVE0001", "8888", 4, 6)])).await;
    s.sync().await;
    s.app.run_jobs().await;
    let before: Vec<String> =
        live(&codes_of(&s.app, "HMMOVE0001").await).iter().map(|c| c["code"].as_str().unwrap().to_owned()).collect();
    serve(&s.ota, calendar(&[airbnb("a1", "HMMOVE0001", "8888", 6, 9)]), None).await;
    assert_eq!(s.sync().await, counts(0, 1, 0, 0, 0));
    s.app.run_jobs().await;
    let booking = s.booking("HMMOVE0001").await;
    let check_out: chrono::DateTime<Utc> = booking["check_out_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(check_out.with_timezone(&chrono_tz::Europe::Bratislava).format("%Y%m%d").to_string(), day(9));
    let codes = codes_of(&s.app, "HMMOVE0001").await;
    let after: Vec<String> = live(&codes).iter().map(|c| c["code"].as_str().unwrap().to_owned()).collect();
    assert_eq!(before, after, "the same code values");
    assert!(live(&codes).iter().all(|c| c["valid_until"] == booking["check_out_at"]), "with the new window: {codes:?}");
}

/// Feeds are listed, removed, and refused when their address is not http.
#[tokio::test]
async fn feeds_are_listed_removed_and_checked() {
    let s = setup("vrbo", calendar(&[])).await;
    let room = s.fixture.rooms["101"];
    let bad = s
        .app
        .post(&format!("/api/v1/rooms/{room}/feeds"), &json!({ "url": "file:///etc/passwd", "source": "vrbo" }))
        .await;
    assert_error(bad, 422, "invalid_value").await;
    let unknown = s
        .app
        .post(
            &format!("/api/v1/rooms/{}/feeds", Uuid::new_v4()),
            &json!({ "url": "https://x.example/a.ics", "source": "vrbo" }),
        )
        .await;
    assert_error(unknown, 404, "not_found").await;
    let wrong_source = s
        .app
        .post(&format!("/api/v1/rooms/{room}/feeds"), &json!({ "url": "https://x.example/a.ics", "source": "expedia" }))
        .await;
    assert!(wrong_source.status().is_client_error());
    assert_eq!(s.feed().await["source"], "vrbo");
    let deleted = s
        .app
        .client
        .delete(s.app.url(&format!("/api/v1/feeds/{}", s.feed_id)))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let again = s.app.post(&format!("/api/v1/feeds/{}/sync", s.feed_id), &json!({})).await;
    assert_error(again, 404, "not_found").await;
}
