//! `PUT /bookings/{external_ref}` (upsert) and `GET /bookings/{external_ref}`.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::audit::{Actor, Subject};
use crate::access::bookings::{self, Booking, BookingRef, BookingUpsert, GuestDetails, StayInput};
use crate::access::codes::{list_booking_codes, record_api_reveal, AccessCode};
use crate::access::model::{BookingStatus, Language, RoomName};
use crate::access::notifications::{self, Notification, NotificationFilter};
use crate::access::phone::Phone;
use crate::access::stay::Stay;
use crate::access::{AccessError, AccessResult};
use crate::http::error::{ApiError, Json, Path};
use crate::http::AppState;

/// A booking as the PMS pushes it. Give either `check_in_at`/`check_out_at`
/// (RFC 3339) or `check_in`/`check_out` (dates; the property's times apply).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct BookingRequest {
    /// Its property.
    pub property_id: Uuid,
    /// Its room, by name.
    #[schema(example = "101")]
    pub room: String,
    /// Its guest.
    pub guest: GuestRequest,
    /// Check-in instant.
    pub check_in_at: Option<DateTime<Utc>>,
    /// Check-out instant.
    pub check_out_at: Option<DateTime<Utc>>,
    /// Arrival date, local to the property.
    pub check_in: Option<NaiveDate>,
    /// Departure date, local to the property.
    pub check_out: Option<NaiveDate>,
    /// `pending`, `confirmed` or `cancelled`.
    pub status: BookingStatus,
    /// Whether ID, agreement or payment are done; unchanged when absent.
    pub verified: Option<bool>,
}

/// The guest of a booking.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GuestRequest {
    /// Full name.
    pub name: String,
    /// Phone in international format.
    #[schema(example = "+421900000001")]
    pub phone: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Preferred language, e.g. `de`.
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
#[utoipa::path(put, path = "/api/v1/bookings/{external_ref}", tag = "bookings", request_body = BookingRequest,
    responses((status = 201, body = BookingView), (status = 200, body = BookingView),
        (status = 422, body = crate::http::error::ErrorBody)),
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

/// A booking with its codes and its messages.
#[utoipa::path(get, path = "/api/v1/bookings/{external_ref}", tag = "bookings",
    responses((status = 200, body = BookingView), (status = 404, body = crate::http::error::ErrorBody)),
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
    Ok(BookingView { booking, codes, notifications })
}
