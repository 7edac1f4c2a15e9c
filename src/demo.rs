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
use crate::access::locks::{create_lock, list_property_locks, NewLock};
use crate::access::model::{
    BookingStatus, CodeFormat, CodeLength, Language, LockKind, LockStatus, ProviderKind, Role, RoomName,
};
use crate::access::phone::Phone;
use crate::access::properties::{create_property, create_room, find_property_by_name, Knowledge, NewProperty};
use crate::access::staff::{create_staff, find_staff_by_phone, NewStaff, StaffRoles};
use crate::access::timezone::Timezone;
use crate::access::AccessResult;

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
                (SELECT count(*) FROM bookings WHERE external_ref <> $2),
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
    Ok(DemoData { property_id, lock_ids })
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
