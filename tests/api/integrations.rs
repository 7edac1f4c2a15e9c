//! Channel managers (SPEC §9): a webhook in Smoobu's, Beds24's or Hostaway's
//! documented shape arrives at the URL doorman handed out, the reservation
//! is read back from a mock of their API answering in its documented shape,
//! and the booking appears in the mapped room with its guest and codes.

use std::time::Duration;

use chrono::{Duration as Days, NaiveDate, Utc};
use serde_json::{json, Value};
use uuid::Uuid;
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{assert_error, codes_of, Fixture, TestApp, TOKEN};

const SMOOBU_KEY: &str = "smoobu-test-key-0123456789";
const BEDS24_REFRESH: &str = "beds24-refresh-token-0123456789";
const BEDS24_TOKEN: &str = "beds24-issued-token-0123456789";
const HOSTAWAY_SECRET: &str = "hostaway-secret-0123456789";
const HOSTAWAY_TOKEN: &str = "hostaway-access-token-0123456789";

struct Setup {
    app: TestApp,
    server: MockServer,
    fixture: Fixture,
}

/// The service with the three APIs on one mock server, a property with
/// rooms 101 and 102, and a manager who gets the alerts.
async fn setup() -> Setup {
    let server = MockServer::start().await;
    let uri = server.uri();
    let (beds24, hostaway) = (format!("{uri}/v2"), format!("{uri}/v1"));
    let app = TestApp::spawn_with(&[
        ("ADMIN_API_TOKEN", TOKEN),
        ("SMOOBU_API_BASE", &uri),
        ("BEDS24_API_BASE", &beds24),
        ("HOSTAWAY_API_BASE", &hostaway),
        ("CHANNEL_MANAGER_TIMEOUT_MS", "300"),
    ])
    .await;
    let fixture = app.seed_property().await;
    let staff = json!({ "name": "Petra", "phone": "+421900000500", "role": "manager",
        "property_ids": [fixture.property_id] });
    assert_eq!(app.post("/api/v1/staff", &staff).await.status(), 201);
    Setup { app, server, fixture }
}

/// `POST /api/v1/integrations`; the webhook URL it answers.
async fn connect(s: &Setup, kind: &str, credentials: Value, rooms: Value) -> String {
    let request =
        json!({ "kind": kind, "property_id": s.fixture.property_id, "credentials": credentials, "rooms": rooms });
    let response = s.app.post("/api/v1/integrations", &request).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let url = body["webhook_url"].as_str().expect("a webhook_url").to_owned();
    assert!(url.starts_with(&format!("{}/webhooks/integrations/", s.app.address)), "{url}");
    url
}

/// What the channel manager does: POST the body, no other proof than the URL.
async fn deliver(s: &Setup, url: &str, body: &Value) -> u16 {
    s.app.client.post(url).json(body).send().await.expect("POST").status().as_u16()
}

async fn booking(s: &Setup, reference: &str) -> Option<Value> {
    let response = s.app.get(&format!("/api/v1/bookings/{reference}")).await;
    if response.status() != 200 {
        return None;
    }
    Some(response.json().await.unwrap())
}

async fn alerts(s: &Setup) -> Vec<String> {
    sqlx::query_scalar("SELECT body FROM notifications WHERE template = 'alert' ORDER BY created_at")
        .fetch_all(&s.app.db)
        .await
        .unwrap()
}

async fn source_of(s: &Setup, reference: &str) -> String {
    sqlx::query_scalar("SELECT source FROM bookings WHERE external_ref = $1")
        .bind(reference)
        .fetch_one(&s.app.db)
        .await
        .unwrap()
}

fn day(offset: i64) -> NaiveDate {
    (Utc::now() + Days::days(offset)).date_naive()
}

/// A reservation as `GET /api/reservations/{id}` documents it.
fn smoobu_reservation(id: u64, apartment: u64, kind: &str) -> Value {
    json!({
        "id": id, "reference-id": "HMABCD1234", "type": kind,
        "arrival": day(3), "departure": day(5), "created-at": "2026-12-01 10:00",
        "modifiedAt": "2026-12-01 10:00", "apartment": {"id": apartment, "name": "Apartment 5"},
        "channel": {"id": 465614, "name": "Airbnb"}, "guest-name": "Ana Novak", "firstname": "Ana",
        "lastname": "Novak", "email": "ana@example.com", "phone": "+421 900 000 123", "adults": 2,
        "children": 0, "check-in": "15:00", "check-out": "10:00", "notice": "", "price": 240,
        "language": "de", "is-blocked-booking": false, "guestId": 2201
    })
}

fn smoobu_webhook(action: &str, reservation: &Value) -> Value {
    json!({ "action": action, "user": 7712, "data": reservation })
}

async fn mock_smoobu(s: &Setup, reservation: &Value) {
    let id = reservation["id"].as_u64().unwrap();
    Mock::given(method("GET"))
        .and(path(format!("/api/reservations/{id}")))
        .and(header("Api-Key", SMOOBU_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(reservation))
        .mount(&s.server)
        .await;
}

async fn smoobu(s: &Setup) -> String {
    connect(s, "smoobu", json!({ "api_key": SMOOBU_KEY }), json!({ "505200": "101" })).await
}

/// A booking as `GET /v2/bookings?id=` documents it.
fn beds24_booking(status: &str) -> Value {
    json!({
        "id": 6013, "propertyId": 1701, "roomId": 4400, "unitId": 1, "status": status, "subStatus": "",
        "arrival": day(4), "departure": day(6), "numAdult": 2, "numChild": 0, "title": "",
        "firstName": "Jan", "lastName": "Kowalski", "email": "jan@example.pl", "phone": "",
        "mobile": "+48 503 165 434", "lang": "pl", "apiSource": "Booking.com", "apiReference": "4459201931",
        "bookingTime": "2026-12-01T09:00:00Z", "modifiedTime": "2026-12-02T09:00:00Z"
    })
}

async fn mock_beds24(s: &Setup, booking: &Value) {
    Mock::given(method("GET"))
        .and(path("/v2/authentication/token"))
        .and(header("refreshToken", BEDS24_REFRESH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "token": BEDS24_TOKEN, "expiresIn": 86400 })))
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/bookings"))
        .and(query_param("id", "6013"))
        .and(header("token", BEDS24_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "success": true, "type": "booking", "count": 1,
            "pages": {"nextPageExists": false, "nextPageLink": null}, "data": [booking]
        })))
        .mount(&s.server)
        .await;
}

/// A reservation object as Hostaway documents it.
fn hostaway_reservation(phone: &str) -> Value {
    json!({
        "id": 13, "listingMapId": 40160, "channelId": 2001, "source": "airbnbOfficial", "channelName": "airbnb",
        "reservationId": "10450-40160-thread313906227-9586017324", "hostawayReservationId": 13,
        "reservationDate": "2026-12-01 10:41:10", "guestName": "Andrew Peterson", "guestFirstName": "Andrew",
        "guestLastName": "Peterson", "guestEmail": "andrew@example.com", "guestLocale": "en",
        "numberOfGuests": 1, "adults": 1, "arrivalDate": day(2), "departureDate": day(4),
        "checkInTime": null, "checkOutTime": null, "nights": 2, "phone": phone, "totalPrice": 267,
        "status": "new", "doorCode": null
    })
}

async fn mock_hostaway(s: &Setup, reservation: &Value) {
    Mock::given(method("POST"))
        .and(path("/v1/accessTokens"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_id=10450"))
        .and(body_string_contains(format!("client_secret={HOSTAWAY_SECRET}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 15897600, "access_token": HOSTAWAY_TOKEN
        })))
        .mount(&s.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/reservations/13"))
        .and(header("Authorization", format!("Bearer {HOSTAWAY_TOKEN}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "status": "success", "result": reservation })))
        .mount(&s.server)
        .await;
}

async fn hostaway(s: &Setup) -> String {
    connect(s, "hostaway", json!({ "account_id": 10450, "api_key": HOSTAWAY_SECRET }), json!({ "40160": "101" })).await
}

fn hostaway_webhook(event: &str) -> Value {
    json!({ "object": "reservation", "event": event, "accountId": 10450,
        "payload": { "data": { "id": 13, "listingMapId": 40160, "status": "new" } } })
}

#[tokio::test]
async fn a_smoobu_reservation_becomes_a_booking_in_its_room_with_codes() {
    let s = setup().await;
    let url = smoobu(&s).await;
    let reservation = smoobu_reservation(291, 505200, "reservation");
    mock_smoobu(&s, &reservation).await;

    assert_eq!(deliver(&s, &url, &smoobu_webhook("newReservation", &reservation)).await, 200);
    s.app.run_jobs().await;

    let stored = booking(&s, "smoobu-291").await.expect("the booking");
    assert_eq!(stored["room"], "101");
    assert_eq!(stored["status"], "confirmed");
    assert_eq!(stored["guest"]["name"], "Ana Novak");
    assert_eq!(stored["guest"]["phone"], "+421900000123");
    assert_eq!(stored["guest"]["language"], "de");
    let codes = codes_of(&s.app, "smoobu-291").await;
    assert_eq!(codes.len(), 2, "entrance and room 101: {codes:?}");
    assert_eq!(source_of(&s, "smoobu-291").await, "smoobu");
}

#[tokio::test]
async fn a_duplicate_delivery_is_one_booking_read_once() {
    let s = setup().await;
    let url = smoobu(&s).await;
    let reservation = smoobu_reservation(292, 505200, "reservation");
    Mock::given(method("GET"))
        .and(path("/api/reservations/292"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&reservation))
        .expect(1)
        .mount(&s.server)
        .await;
    let body = smoobu_webhook("newReservation", &reservation);

    assert_eq!(deliver(&s, &url, &body).await, 200);
    assert_eq!(deliver(&s, &url, &body).await, 200);
    s.app.run_jobs().await;
    assert_eq!(deliver(&s, &url, &body).await, 200);
    s.app.run_jobs().await;

    let bookings: i64 = sqlx::query_scalar("SELECT count(*) FROM bookings WHERE external_ref = 'smoobu-292'")
        .fetch_one(&s.app.db)
        .await
        .unwrap();
    assert_eq!(bookings, 1);
    assert_eq!(codes_of(&s.app, "smoobu-292").await.len(), 2);
}

#[tokio::test]
async fn a_beds24_modify_whose_booking_is_now_cancelled_cancels_it() {
    let s = setup().await;
    let rooms = json!({ "4400": "102" });
    let url = connect(&s, "beds24", json!({ "refresh_token": BEDS24_REFRESH }), rooms).await;
    mock_beds24(&s, &beds24_booking("confirmed")).await;
    let webhook = |status: &str| json!({ "timeStamp": Utc::now(), "booking": beds24_booking(status) });

    assert_eq!(deliver(&s, &url, &webhook("new")).await, 200);
    s.app.run_jobs().await;
    let stored = booking(&s, "beds24-6013").await.expect("the booking");
    assert_eq!((stored["room"].as_str(), stored["status"].as_str()), (Some("102"), Some("confirmed")));
    assert_eq!(stored["guest"]["name"], "Jan Kowalski");
    assert_eq!(stored["guest"]["phone"], "+48503165434", "the mobile is the chat number");
    assert_eq!(codes_of(&s.app, "beds24-6013").await.len(), 2);
    assert_eq!(source_of(&s, "beds24-6013").await, "beds24");

    // Beds24 says "modify"; the booking itself says cancelled.
    s.server.reset().await;
    mock_beds24(&s, &beds24_booking("cancelled")).await;
    assert_eq!(deliver(&s, &url, &webhook("modify")).await, 200);
    s.app.run_jobs().await;
    let stored = booking(&s, "beds24-6013").await.unwrap();
    assert_eq!(stored["status"], "cancelled");
    let live = codes_of(&s.app, "beds24-6013").await;
    assert!(live.iter().all(|c| c["state"] != "set" && c["state"] != "pending"), "{live:?}");
}

#[tokio::test]
async fn a_hostaway_reservation_is_read_back_with_an_access_token() {
    let s = setup().await;
    let url = hostaway(&s).await;
    mock_hostaway(&s, &hostaway_reservation("+421 900 000 456")).await;

    assert_eq!(deliver(&s, &url, &hostaway_webhook("reservation.created")).await, 200);
    s.app.run_jobs().await;

    let stored = booking(&s, "hostaway-13").await.expect("the booking");
    assert_eq!(stored["room"], "101");
    assert_eq!(stored["guest"]["name"], "Andrew Peterson");
    assert_eq!(stored["guest"]["email"], "andrew@example.com");
    assert_eq!(stored["guest"]["phone"], "+421900000456");
    assert_eq!(codes_of(&s.app, "hostaway-13").await.len(), 2);
    assert_eq!(source_of(&s, "hostaway-13").await, "hostaway");
}

#[tokio::test]
async fn a_phone_that_does_not_parse_never_blocks_the_booking_and_staff_are_told() {
    let s = setup().await;
    let url = hostaway(&s).await;
    mock_hostaway(&s, &hostaway_reservation("0900 123 456")).await;

    assert_eq!(deliver(&s, &url, &hostaway_webhook("reservation.created")).await, 200);
    s.app.run_jobs().await;

    let stored = booking(&s, "hostaway-13").await.expect("the booking is stored");
    assert_eq!(stored["guest"]["phone"], Value::Null);
    assert_eq!(stored["guest"]["email"], "andrew@example.com");
    assert_eq!(codes_of(&s.app, "hostaway-13").await.len(), 2, "its codes too");
    let told = alerts(&s).await;
    assert!(told.iter().any(|a| a.contains("hostaway-13") && a.contains("phone")), "{told:?}");
}

#[tokio::test]
async fn a_reservation_for_an_unmapped_unit_makes_no_booking_and_tells_staff_once() {
    let s = setup().await;
    let url = smoobu(&s).await;
    let reservation = smoobu_reservation(293, 999001, "reservation");
    mock_smoobu(&s, &reservation).await;

    assert_eq!(deliver(&s, &url, &smoobu_webhook("newReservation", &reservation)).await, 200);
    s.app.run_jobs().await;
    assert_eq!(deliver(&s, &url, &smoobu_webhook("updateReservation", &reservation)).await, 200);
    s.app.run_jobs().await;

    assert!(booking(&s, "smoobu-293").await.is_none());
    let told: Vec<String> = alerts(&s).await.into_iter().filter(|a| a.contains("999001")).collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains("no booking was made"), "{told:?}");
}

#[tokio::test]
async fn a_wrong_token_is_refused_and_nothing_is_stored() {
    let s = setup().await;
    let url = smoobu(&s).await;
    let reservation = smoobu_reservation(294, 505200, "reservation");
    let body = smoobu_webhook("newReservation", &reservation);

    let wrong = format!("{}x", url);
    let response = s.app.client.post(&wrong).json(&body).send().await.unwrap();
    assert_error(response, 401, "bad_secret").await;
    let unknown = s.app.url("/webhooks/integrations/0123456789abcdef");
    assert_error(s.app.client.post(&unknown).json(&body).send().await.unwrap(), 401, "bad_secret").await;
    let broken = s.app.client.post(&url).body("not json").send().await.unwrap();
    assert_error(broken, 400, "malformed_json").await;

    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM integration_webhooks").fetch_one(&s.app.db).await.unwrap();
    assert_eq!(stored, 0);
    assert_eq!(s.app.run_jobs().await, 0);
}

#[tokio::test]
async fn an_api_that_times_out_is_asked_again_later_and_nothing_is_lost() {
    let s = setup().await;
    let url = smoobu(&s).await;
    let reservation = smoobu_reservation(295, 505200, "reservation");
    Mock::given(method("GET"))
        .and(path("/api/reservations/295"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&reservation).set_delay(Duration::from_secs(2)))
        .mount(&s.server)
        .await;

    assert_eq!(deliver(&s, &url, &smoobu_webhook("newReservation", &reservation)).await, 200);
    s.app.run_jobs().await;
    assert!(booking(&s, "smoobu-295").await.is_none());
    let (state, attempts): (String, i32) =
        sqlx::query_as("SELECT state, attempts FROM jobs WHERE kind = 'sync_reservation'")
            .fetch_one(&s.app.db)
            .await
            .unwrap();
    assert_eq!((state.as_str(), attempts), ("queued", 1), "waiting for its retry");

    s.server.reset().await;
    mock_smoobu(&s, &reservation).await;
    s.app.run_jobs_through_retries(2).await;
    assert_eq!(booking(&s, "smoobu-295").await.expect("the booking, at last")["room"], "101");
}

#[tokio::test]
async fn refused_credentials_stop_the_sync_with_a_message_that_says_so() {
    let s = setup().await;
    let url = smoobu(&s).await;
    let reservation = smoobu_reservation(296, 505200, "reservation");
    Mock::given(method("GET"))
        .and(path("/api/reservations/296"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({ "title": "Unauthorized", "status": 401 })))
        .mount(&s.server)
        .await;

    assert_eq!(deliver(&s, &url, &smoobu_webhook("newReservation", &reservation)).await, 200);
    s.app.run_jobs().await;

    let (state, error): (String, String) =
        sqlx::query_as("SELECT state, last_error FROM jobs WHERE kind = 'sync_reservation'")
            .fetch_one(&s.app.db)
            .await
            .unwrap();
    assert_eq!(state, "dead");
    assert!(error.contains("refused the integration's credentials"), "{error}");
    assert!(!error.contains(SMOOBU_KEY));
}

#[tokio::test]
async fn an_integration_needs_its_credentials_and_rooms_of_the_property() {
    let s = setup().await;
    let request = |credentials: Value, rooms: Value| json!({ "kind": "hostaway", "property_id": s.fixture.property_id, "credentials": credentials, "rooms": rooms });
    let missing = s.app.post("/api/v1/integrations", &request(json!({ "api_key": "k" }), json!({ "1": "101" }))).await;
    assert!(assert_error(missing, 422, "invalid_value").await.contains("account_id"));
    let credentials = json!({ "account_id": 1, "api_key": "k" });
    let no_room = s.app.post("/api/v1/integrations", &request(credentials.clone(), json!({ "1": "909" }))).await;
    assert!(assert_error(no_room, 422, "invalid_value").await.contains("909"));
    let other =
        json!({ "kind": "hostaway", "property_id": Uuid::new_v4(), "credentials": credentials, "rooms": {"1": "101"} });
    assert_error(s.app.post("/api/v1/integrations", &other).await, 422, "invalid_value").await;
}
