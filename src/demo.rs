//! `doorman demo`: demo data on top of `serve`. Seeding is idempotent, so
//! the demo can be run again and again; the guest always arrives tomorrow.
//!
//! The demo has a known admin token and seeds staff, so it refuses to run
//! where that could matter: on an address other hosts reach, or on a
//! database that holds anything but its own data.

use std::net::SocketAddr;

use chrono::{Duration, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::config::ConfigError;

use crate::access::audit::Actor;
use crate::access::bookings::{upsert_booking, BookingRef, BookingUpsert, GuestDetails, StayInput};
use crate::access::feeds::{create_feed, delete_feed, list_room_feeds, NewFeed, SyncCounts};
use crate::access::locks::{create_lock, list_property_locks, NewLock};
use crate::access::model::FeedSource;
use crate::access::model::{
    BookingStatus, CodeFormat, CodeLength, Language, LockKind, LockStatus, ProviderKind, Role, RoomName,
};
use crate::access::phone::Phone;
use crate::access::properties::find_room;
use crate::access::properties::{create_property, create_room, find_property_by_name, Knowledge, NewProperty};
use crate::access::staff::{create_staff, find_staff_by_phone, NewStaff, StaffRoles};
use crate::access::timezone::Timezone;
use crate::access::AccessResult;
use crate::feeds::FeedFetcher;

/// The admin token the demo uses when `ADMIN_API_TOKEN` is unset.
pub const DEMO_ADMIN_TOKEN: &str = "doorman-demo-token";
/// The demo property's name.
pub const PROPERTY_NAME: &str = "Old Town Flats";
/// The demo booking's reference.
pub const BOOKING_REF: &str = "BK-10234";
/// The demo guest's WhatsApp number.
pub const GUEST_PHONE: &str = "+421900000001";
/// The demo manager's WhatsApp number.
pub const MANAGER_PHONE: &str = "+421900000002";

/// Refuses a `BIND_ADDR` that is not loopback (`127.0.0.1`, `::1`).
pub fn check_bind_addr(addr: SocketAddr) -> Result<(), ConfigError> {
    if addr.ip().is_loopback() {
        return Ok(());
    }
    Err(ConfigError {
        variable: "BIND_ADDR",
        problem: format!(
            "{addr} is not a loopback address: `doorman demo` has a known admin token, so it listens on \
             127.0.0.1 or ::1 only"
        ),
    })
}

/// Refuses a database that holds anything the demo did not create:
/// another property, booking or staff member, or a lock on a real provider.
pub async fn check_database(db: &PgPool) -> anyhow::Result<()> {
    let manager = Phone::parse(MANAGER_PHONE).expect("a valid number");
    let (properties, bookings, staff, locks) = sqlx::query_as::<_, (i64, i64, i64, i64)>(
        "SELECT (SELECT count(*) FROM properties WHERE name <> $1),
                (SELECT count(*) FROM bookings WHERE external_ref <> $2
                    AND property_id NOT IN (SELECT id FROM properties WHERE name = $1)),
                (SELECT count(*) FROM staff WHERE phone IS DISTINCT FROM $3),
                (SELECT count(*) FROM locks WHERE provider <> 'simulated')",
    )
    .bind(PROPERTY_NAME)
    .bind(BOOKING_REF)
    .bind(manager.as_str())
    .fetch_one(db)
    .await?;
    if properties + bookings + staff + locks == 0 {
        return Ok(());
    }
    Err(ConfigError {
        variable: "DATABASE_URL",
        problem: format!(
            "the database holds data that is not the demo's ({properties} properties, {bookings} bookings, \
             {staff} staff, {locks} real locks): `doorman demo` seeds demo staff under a known admin token, so \
             it runs on an empty database only; unset DATABASE_URL or point it at a new database"
        ),
    }
    .into())
}

/// What the demo created or found.
#[derive(Debug, Clone)]
pub struct DemoData {
    /// The property.
    pub property_id: Uuid,
    /// Its locks: the entrance, then rooms 101 and 102.
    pub lock_ids: Vec<Uuid>,
    /// The sample calendar feeds, once connected.
    pub feeds: Vec<SampleFeed>,
    /// The console sign-in link of the manager, once made.
    pub console_link: Option<String>,
}

/// The Airbnb-like sample stay's confirmation code and phone digits.
pub const AIRBNB_CODE: &str = "HMDEMO4048";
/// A number no booking knows: the demo's guest who claims the Airbnb stay.
pub const CLAIMING_PHONE: &str = "+421900000099";
/// The last four digits of the phone on it.
pub const AIRBNB_LAST4: &str = "4048";

/// A sample feed the demo serves and reads.
#[derive(Debug, Clone)]
pub struct SampleFeed {
    /// The room it books.
    pub room: &'static str,
    /// `airbnb` or `booking`.
    pub source: FeedSource,
    /// Its address on loopback.
    pub url: String,
    /// What the first sync did.
    pub counts: SyncCounts,
}

/// An OTA's calendar as the demo serves it: dates from today on.
fn sample_calendar(source: FeedSource) -> String {
    let today = Utc::now().with_timezone(&chrono_tz::Europe::Bratislava).date_naive();
    let day = |n: i64| (today + Duration::days(n)).format("%Y%m%d").to_string();
    let event = |uid: &str, from: i64, to: i64, summary: &str, description: &str| {
        format!(
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\nUID:{uid}\r\nSUMMARY:{summary}\r\n{description}END:VEVENT\r\n",
            day(from),
            day(to)
        )
    };
    let events = match source {
        FeedSource::Airbnb => [
            event("demo-1@airbnb.com", 2, 5, "Reserved", &format!(
                "DESCRIPTION:Reservation URL: https://www.airbnb.com/hosting/reservations/details/{AIRBNB_CODE}\\nPhone Number (Last 4 Digits): {AIRBNB_LAST4}\r\n"
            )),
            event("demo-2@airbnb.com", 30, 90, "Airbnb (Not available)", ""),
        ]
        .concat(),
        _ => [
            event("demo-3@booking.com", 6, 9, "CLOSED - Jana Kováčová", ""),
            event("demo-4@booking.com", 12, 14, "CLOSED - Not available", ""),
        ]
        .concat(),
    };
    format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//doorman demo//EN\r\n{events}END:VCALENDAR\r\n")
}

/// Serves the two sample calendars on loopback; returns their base URL.
pub async fn serve_sample_feeds() -> std::io::Result<String> {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let calendar = |source| async move { ([("content-type", "text/calendar")], sample_calendar(source)) };
    let router = axum::Router::new()
        .route("/airbnb.ics", get(move || calendar(FeedSource::Airbnb)))
        .route("/booking.ics", get(move || calendar(FeedSource::Booking)));
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(base)
}

/// Connects room 102 to the Airbnb-like feed and room 101 to the
/// Booking.com-like one (replacing those of an earlier run, whose port is
/// gone), and syncs them once.
pub async fn connect_sample_feeds(
    db: &PgPool,
    fetcher: &FeedFetcher,
    property_id: Uuid,
    base: &str,
) -> anyhow::Result<Vec<SampleFeed>> {
    let mut connected = Vec::new();
    for (room, source, file) in [("102", FeedSource::Airbnb, "airbnb.ics"), ("101", FeedSource::Booking, "booking.ics")]
    {
        let mut tx = db.begin().await?;
        let room_id = find_room(&mut *tx, property_id, &room_name(room))
            .await?
            .map(|r| r.id)
            .ok_or_else(|| anyhow::anyhow!("the demo property has no room {room}"))?;
        for old in list_room_feeds(&mut *tx, room_id).await? {
            delete_feed(&mut tx, old.id, Actor::Api).await?;
        }
        let url = format!("{base}/{file}");
        let feed = create_feed(&mut tx, &NewFeed { room_id, url: url.clone(), source }, Actor::Api).await?;
        tx.commit().await?;
        let counts =
            crate::feeds::sync(db, fetcher, feed.id).await.map_err(|e| anyhow::anyhow!("{e:#}"))?.unwrap_or_default();
        connected.push(SampleFeed { room, source, url, counts });
    }
    Ok(connected)
}

/// Creates the demo property, rooms, locks, manager and booking, or brings
/// them up to date when they exist.
pub async fn seed(db: &PgPool) -> AccessResult<DemoData> {
    let mut tx = db.begin().await?;
    let property_id = match find_property_by_name(&mut *tx, PROPERTY_NAME).await? {
        Some(id) => id,
        None => create_demo_property(&mut tx).await?,
    };
    let tz = Timezone::parse("Europe/Bratislava").expect("a valid zone").tz();
    let tomorrow = Utc::now().with_timezone(&tz).date_naive() + Duration::days(1);
    let booking = BookingUpsert {
        external_ref: BookingRef::parse(BOOKING_REF)?,
        property_id,
        room: room_name("101"),
        guest: GuestDetails {
            name: "Anna Novak".into(),
            phone: Some(Phone::parse(GUEST_PHONE).expect("a valid number")),
            email: Some("anna@example.com".into()),
            language: Some(Language::english()),
        },
        stay: StayInput::LocalDates { check_in: tomorrow, check_out: tomorrow + Duration::days(3) },
        status: BookingStatus::Confirmed,
        verified: Some(true),
    };
    upsert_booking(&mut tx, &booking, Actor::System).await?;
    let lock_ids = list_property_locks(&mut *tx, property_id).await?.into_iter().map(|l| l.id).collect();
    tx.commit().await?;
    Ok(DemoData { property_id, lock_ids, feeds: Vec::new(), console_link: None })
}

/// A one-time console sign-in link for the demo's manager.
pub async fn console_link(db: &PgPool, base_url: &str) -> AccessResult<Option<String>> {
    let mut conn = db.acquire().await?;
    let manager = Phone::parse(MANAGER_PHONE).expect("a valid number");
    let Some(staff_id) = find_staff_by_phone(&mut conn, &manager).await? else {
        return Ok(None);
    };
    let token = crate::access::sessions::issue_login_link(&mut conn, staff_id, Actor::System, Utc::now()).await?;
    Ok(Some(format!("{}/admin/login?token={token}", base_url.trim_end_matches('/'))))
}

async fn create_demo_property(tx: &mut sqlx::PgConnection) -> AccessResult<Uuid> {
    let property = create_property(
        &mut *tx,
        &NewProperty {
            name: PROPERTY_NAME.into(),
            timezone: Timezone::parse("Europe/Bratislava").expect("a valid zone"),
            address: "Panská 12, 811 01 Bratislava".into(),
            check_in_time: chrono::NaiveTime::from_hms_opt(15, 0, 0).expect("valid"),
            check_out_time: chrono::NaiveTime::from_hms_opt(11, 0, 0).expect("valid"),
            // Generous, so that the guest arriving tomorrow gets the
            // pre-arrival message while you watch.
            code_release_hours: 48,
            requires_verification: false,
            knowledge: Knowledge {
                entry_instructions: Some("The entrance is the green door left of the café. Enter the code on the keypad and press the key symbol.".into()),
                wifi_name: Some("OldTown-Guest".into()),
                wifi_password: Some("welcome-to-bratislava".into()),
                parking: Some("Paid parking at Hodžovo námestie, 5 minutes on foot.".into()),
                directions: Some("From the main station take tram 1 to Poštová, then walk down Obchodná.".into()),
                checkout_instructions: Some("Leave the keys on the table and pull the door shut.".into()),
                house_rules: Some("No smoking, no parties, quiet after 22:00.".into()),
                translations: Default::default(),
            },
            notify_channels: NewProperty::CHANNELS.map(str::to_owned).to_vec(),
        },
    )
    .await?;
    let entrance = demo_lock(property.id, None, "Building entrance", "sim-entrance");
    create_lock(&mut *tx, &entrance).await?;
    for name in ["101", "102"] {
        let room = create_room(&mut *tx, property.id, &room_name(name), None).await?;
        let lock = demo_lock(property.id, Some(room.id), &format!("Room {name} door"), &format!("sim-room-{name}"));
        create_lock(&mut *tx, &lock).await?;
    }
    let manager = Phone::parse(MANAGER_PHONE).expect("a valid number");
    if find_staff_by_phone(&mut *tx, &manager).await?.is_none() {
        let staff = NewStaff {
            name: "Marek Horváth".into(),
            phone: Some(manager),
            telegram_user_id: None,
            roles: StaffRoles::same(Role::Manager, &[property.id]),
            cleaner: false,
        };
        create_staff(&mut *tx, &staff).await?;
    }
    Ok(property.id)
}

fn demo_lock(property_id: Uuid, room_id: Option<Uuid>, name: &str, device: &str) -> NewLock {
    NewLock {
        property_id,
        room_id,
        name: name.into(),
        name_translations: Default::default(),
        brand: "Simulated".into(),
        model: "Keypad".into(),
        kind: LockKind::PinPad,
        provider: ProviderKind::Simulated,
        provider_device_id: format!("{device}-{}", &property_id.simple().to_string()[..8]),
        code_format: CodeFormat::Numeric,
        code_length: CodeLength::new(6).expect("6 is a valid length"),
        capacity: 100,
        status: LockStatus::Active,
        backup_codes: 0,
    }
}

fn room_name(name: &str) -> RoomName {
    RoomName::parse(name).expect("a valid room name")
}

/// What the demo prints once it is up.
pub fn instructions(base_url: &str, token: &str, data: &DemoData) -> String {
    let property = data.property_id;
    let door = data.lock_ids.get(1).map(Uuid::to_string).unwrap_or_default();
    let auth = format!("-H 'Authorization: Bearer {token}'");
    [
        String::new(),
        format!("doorman demo is running on {base_url}"),
        String::new(),
        format!("  Property  {PROPERTY_NAME} (Europe/Bratislava), rooms 101 and 102,"),
        "            a building entrance and a door per room, on simulated locks".to_owned(),
        format!("  Guest     Anna Novak {GUEST_PHONE}, booking {BOOKING_REF}, room 101, arriving tomorrow 15:00"),
        format!("  Manager   Marek Horváth {MANAGER_PHONE}"),
        String::new(),
        feed_lines(data),
        String::new(),
        "The operator console, signed in as Marek (works once, within 15 minutes; for another, send /login".to_owned(),
        "in the manager's chat):".to_owned(),
        format!("  {}", data.console_link.as_deref().unwrap_or("(no manager)")),
        String::new(),
        "You are chatting as Anna (the console channel): type a message and press Enter.".to_owned(),
        format!("Another terminal: cargo run -- chat --from {MANAGER_PHONE}   (the manager)"),
        String::new(),
        format!("Try the admin API (token: {token}):"),
        String::new(),
        format!("  curl -s {auth} {base_url}/api/v1/properties/{property}"),
        format!("  curl -s {auth} {base_url}/api/v1/bookings/{BOOKING_REF}"),
        format!("  curl -s {auth} '{base_url}/api/v1/audit?booking_ref={BOOKING_REF}'"),
        format!("  curl -s {auth} {base_url}/api/v1/locks/{door}/device-codes    # what is on room 101's lock"),
        format!("  curl -s {base_url}/api/openapi.json"),
        String::new(),
        "Press Ctrl-C to stop.".to_owned(),
    ]
    .join("\n")
}

/// What the sample feeds booked, and how to claim the Airbnb stay.
fn feed_lines(data: &DemoData) -> String {
    let mut lines = vec!["Calendar feeds (samples served on loopback, read every FEED_POLL_MINUTES):".to_owned()];
    for feed in &data.feeds {
        let c = feed.counts;
        lines.push(format!(
            "  room {} <- {} {}: {} new, {} unchanged, {} skipped (blocks)",
            feed.room, feed.source, feed.url, c.created, c.unchanged, c.skipped
        ));
    }
    lines.push(format!(
        "  The Airbnb stay {AIRBNB_CODE} in room 102 has no phone, only its last digits {AIRBNB_LAST4}. Claim it as"
    ));
    lines.push(format!(
        "  its guest: cargo run -- chat --from {CLAIMING_PHONE}   then type: hi, my booking is {AIRBNB_CODE}, phone ends {AIRBNB_LAST4}"
    ));
    lines.join("\n")
}
