//! `PUT /bookings/{external_ref}` (upsert), `GET /bookings/{external_ref}`
//! and `GET /bookings` (a filtered page).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::schema;
use crate::access::audit::{Actor, Subject};
use crate::access::bookings::{self, Booking, BookingFilter, BookingRef, BookingUpsert, GuestDetails, StayInput};
use crate::access::codes::{list_booking_codes, record_api_reveal, AccessCode};
use crate::access::journey::schedule::{self as journey, ScheduledMessage};
use crate::access::model::{BookingStatus, Language, RoomName};
use crate::access::notifications::{self, Notification, NotificationFilter};
use crate::access::phone::Phone;
use crate::access::stay::Stay;
use crate::access::windows;
use crate::access::{AccessError, AccessResult};
use crate::http::error::{ApiError, Json, Path, Query};
use crate::http::AppState;

/// A booking as the PMS pushes it. Give either `check_in_at`/`check_out_at`
/// (RFC 3339) or `check_in`/`check_out` (dates; the property's times apply).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({
    "property_id": "2f0c6d64-8f5e-4b8e-9b3c-6c1f2b7d9a10", "room": "101",
    "guest": {"name": "Anna Novak", "phone": "+421900000001", "language": "sk"},
    "check_in": "2026-12-24", "check_out": "2026-12-27", "status": "confirmed"
}))]
pub struct BookingRequest {
    /// Its property.
    pub property_id: Uuid,
    /// Its room, by name: 1 to 32 characters (trimmed), no control
    /// characters.
    #[schema(
        example = "101",
        min_length = 1,
        max_length = 32,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub room: String,
    /// Its guest.
    pub guest: GuestRequest,
    /// Check-in instant.
    #[schema(schema_with = schema::optional_date_time)]
    pub check_in_at: Option<DateTime<Utc>>,
    /// Check-out instant, after check-in.
    #[schema(schema_with = schema::optional_date_time)]
    pub check_out_at: Option<DateTime<Utc>>,
    /// Arrival date, local to the property.
    #[schema(schema_with = schema::optional_date)]
    pub check_in: Option<NaiveDate>,
    /// Departure date, local to the property, after the arrival.
    #[schema(schema_with = schema::optional_date)]
    pub check_out: Option<NaiveDate>,
    /// `pending`, `confirmed` or `cancelled`.
    pub status: BookingStatus,
    /// Whether ID, agreement or payment are done; unchanged when absent.
    pub verified: Option<bool>,
}

/// The guest of a booking.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GuestRequest {
    /// Full name, 1 to 200 characters (trimmed).
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000]*[^\\s\\u0000\\u0085][^\\u0000]*$")]
    pub name: String,
    /// Phone in international format, a valid number of its country
    /// (libphonenumber's rules); empty is the same as absent.
    #[schema(example = "+421900000001", format = "phone")]
    pub phone: Option<String>,
    /// Email.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub email: Option<String>,
    /// Preferred language, an ISO 639 code such as `de` (a region, as in
    /// `de-AT`, is dropped); empty is the same as absent.
    #[schema(example = "de", pattern = "^([A-Za-z]{2,3}([-_][^\\u0000]*)?)?$")]
    pub language: Option<String>,
}

/// A booking with its codes and its messages.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BookingView {
    /// The booking.
    #[serde(flatten)]
    pub booking: Booking,
    /// Its access codes, in full.
    pub codes: Vec<AccessCode>,
    /// Every message sent about it.
    pub notifications: Vec<Notification>,
    /// Its timeline: the messages its property's rules scheduled (rule, when,
    /// channels, state), by when they go.
    pub messages: Vec<ScheduledMessage>,
    /// The latest readiness check before the arrival (24 h and 3 h before
    /// check-in): `ready`, or the problems found; absent before the first.
    pub readiness: Option<crate::access::readiness::Readiness>,
}

fn parse_upsert(external_ref: &str, request: BookingRequest) -> AccessResult<BookingUpsert> {
    let stay = match (request.check_in_at, request.check_out_at, request.check_in, request.check_out) {
        (Some(check_in_at), Some(check_out_at), None, None) => StayInput::Instants(
            Stay::new(check_in_at, check_out_at).map_err(|e| AccessError::invalid("check_out_at", e))?,
        ),
        (None, None, Some(check_in), Some(check_out)) => StayInput::LocalDates { check_in, check_out },
        _ => {
            return Err(AccessError::Invalid(
                "give either check_in_at and check_out_at, or check_in and check_out".into(),
            ))
        }
    };
    let guest = request.guest;
    let name = guest.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AccessError::invalid("guest.name", "1 to 200 characters"));
    }
    let non_empty = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(BookingUpsert {
        external_ref: BookingRef::parse(external_ref)?,
        property_id: request.property_id,
        room: RoomName::parse(&request.room).map_err(|e| AccessError::invalid("room", e))?,
        guest: GuestDetails {
            name,
            phone: non_empty(guest.phone)
                .map(|p| Phone::parse(&p))
                .transpose()
                .map_err(|e| AccessError::invalid("guest.phone", e))?,
            email: non_empty(guest.email),
            language: non_empty(guest.language)
                .map(|l| Language::parse(&l))
                .transpose()
                .map_err(|e| AccessError::invalid("guest.language", e))?,
        },
        stay,
        status: request.status,
        verified: request.verified,
    })
}

/// Create or update a booking by its PMS reference. Idempotent: the same
/// request twice changes nothing the second time. 201 when created.
#[utoipa::path(put, path = "/api/v1/bookings/{external_ref}", tag = "bookings", operation_id = "upsert_booking",
    params(schema::ExternalRef), request_body = BookingRequest,
    responses((status = 201, description = "Created.", body = BookingView),
        (status = 200, description = "Updated, or unchanged.", body = BookingView), schema::NotFound,
        schema::Conflict, schema::Invalid),
    security(("bearer" = [])))]
pub async fn upsert(
    State(state): State<AppState>,
    Path(external_ref): Path<String>,
    Json(request): Json<BookingRequest>,
) -> Result<(StatusCode, Json<BookingView>), ApiError> {
    let input = parse_upsert(&external_ref, request)?;
    let mut tx = state.db.begin().await.map_err(AccessError::from)?;
    let outcome = bookings::upsert_booking(&mut tx, &input, Actor::Api).await?;
    tx.commit().await.map_err(AccessError::from)?;
    let status = if outcome.created() { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(view(&state, input.external_ref.as_str()).await?)))
}

/// New times for a stay (SPEC §11): either or both. The stay's codes move on
/// every lock it uses, its messages with it, and the guest is told.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "check_out_at": "2026-12-27T13:00:00Z" }))]
pub struct BookingPatch {
    /// New check-in instant (before the stay begins).
    #[schema(schema_with = schema::optional_date_time)]
    pub check_in_at: Option<DateTime<Utc>>,
    /// New check-out instant, after check-in.
    #[schema(schema_with = schema::optional_date_time)]
    pub check_out_at: Option<DateTime<Utc>>,
}

/// Move a stay's check-in or check-out, as `/early` and `/late` do: refused
/// (409, naming the other booking) when the stay would come closer to the
/// room's previous or next stay than the property's `turnover_minutes`;
/// 422 for a stay that has ended, a check-in of a stay that has begun, or
/// times that make no stay.
#[utoipa::path(patch, path = "/api/v1/bookings/{external_ref}", tag = "bookings", operation_id = "move_stay",
    params(schema::ExternalRef), request_body = BookingPatch,
    responses((status = 200, description = "Moved, or unchanged.", body = BookingView), schema::NotFound,
        schema::Conflict, schema::Invalid),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Path(external_ref): Path<String>,
    Json(patch): Json<BookingPatch>,
) -> Result<Json<BookingView>, ApiError> {
    if patch.check_in_at.is_none() && patch.check_out_at.is_none() {
        return Err(AccessError::Invalid("give check_in_at, check_out_at or both".into()).into());
    }
    let mut tx = state.db.begin().await.map_err(AccessError::from)?;
    let booking_id = bookings::find_booking_id(&mut *tx, &external_ref).await?;
    let now = Utc::now();
    windows::move_stay(&mut tx, booking_id, patch.check_in_at, patch.check_out_at, Actor::Api, now)
        .await?
        .map_err(AccessError::from)?;
    tx.commit().await.map_err(AccessError::from)?;
    Ok(Json(view(&state, &external_ref).await?))
}

/// A booking with its codes and its messages.
#[utoipa::path(get, path = "/api/v1/bookings/{external_ref}", tag = "bookings", operation_id = "show_booking",
    params(schema::ExternalRef),
    responses((status = 200, description = "The booking.", body = BookingView), schema::NotFound),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    Path(external_ref): Path<String>,
) -> Result<Json<BookingView>, ApiError> {
    Ok(Json(view(&state, &external_ref).await?))
}

async fn view(state: &AppState, external_ref: &str) -> AccessResult<BookingView> {
    let booking = bookings::get_booking_by_ref(&state.db, external_ref).await?;
    let codes = list_booking_codes(&state.db, booking.id).await?;
    let subject =
        Subject { property_id: Some(booking.property_id), booking_id: Some(booking.id), ..Default::default() };
    record_api_reveal(&state.db, subject, &codes).await?;
    let filter = NotificationFilter { booking_id: Some(booking.id), lock_id: None, limit: super::MAX_LIMIT };
    let notifications = notifications::list(&state.db, &filter).await?;
    let messages = journey::timeline(&state.db, booking.id).await?;
    let readiness = crate::access::readiness::latest(&state.db, booking.id).await?;
    Ok(BookingView { booking, codes, notifications, messages, readiness })
}

/// Filters and page of `GET /bookings`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BookingQuery {
    /// Only this property's bookings (404 when it does not exist).
    pub property_id: Option<Uuid>,
    /// Only stays that end after the start of this day (`YYYY-MM-DD`, in
    /// each property's timezone).
    #[param(
        pattern = "^[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)$"
    )]
    pub from: Option<NaiveDate>,
    /// Only stays that begin before the end of this day (`YYYY-MM-DD`, in
    /// each property's timezone). A `to` before `from` finds nothing.
    #[param(
        pattern = "^[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)$"
    )]
    pub to: Option<NaiveDate>,
    /// Only rooms of this name (any case).
    #[param(max_length = 64, pattern = "^[^\\u0000]*$")]
    pub room: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// How many bookings to skip (offset paging; default 0): pass the
    /// previous page's `next_offset`.
    #[param(minimum = 0, maximum = 1000000)]
    pub offset: Option<i64>,
}

/// The most bookings one page of `GET /bookings` holds.
pub const MAX_BOOKINGS_PAGE: i64 = 200;

/// One page of bookings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BookingPage {
    /// The bookings, by check-in, then reference.
    pub bookings: Vec<Booking>,
    /// The `offset` of the next page; absent on the last page.
    pub next_offset: Option<i64>,
}

/// Bookings by property, stay dates and room, by check-in, a page at a time
/// (`limit` and `offset`; follow `next_offset` until it is absent). Their
/// codes are not in the list: `GET /bookings/{external_ref}` shows them.
#[utoipa::path(get, path = "/api/v1/bookings", tag = "bookings", operation_id = "list_bookings",
    params(BookingQuery),
    responses((status = 200, description = "A page of bookings.", body = BookingPage), schema::NotFound),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<BookingQuery>,
) -> Result<Json<BookingPage>, ApiError> {
    let filter = parse_filter(query)?;
    let mut conn = state.db.acquire().await.map_err(AccessError::from)?;
    let page = bookings::list_bookings(&mut conn, &filter).await?;
    let next_offset = page.more.then_some(filter.offset + filter.limit);
    Ok(Json(BookingPage { bookings: page.bookings, next_offset }))
}

fn parse_filter(query: BookingQuery) -> AccessResult<BookingFilter> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_BOOKINGS_PAGE).contains(&limit) {
        return Err(AccessError::invalid("limit", "between 1 and 200"));
    }
    let offset = query.offset.unwrap_or(0);
    if !(0..=1_000_000).contains(&offset) {
        return Err(AccessError::invalid("offset", "between 0 and 1000000"));
    }
    let room = query.room.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    Ok(BookingFilter { property_id: query.property_id, room, from: query.from, to: query.to, limit, offset })
}
