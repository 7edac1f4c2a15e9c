//! Beds24 API v2 (`https://api.beds24.com/v2`): requests carry a `token`
//! header. The operator gives either a long-life token (`{"token"}`) or a
//! refresh token (`{"refresh_token"}`), which `GET /authentication/token`
//! (header `refreshToken`) exchanges for a token each time one is needed.
//! `GET /bookings?id=…` answers `{"success", "data": [booking]}`.
//!
//! The property's Notify URL posts V2 JSON, `{"timeStamp", "booking": {"id",
//! "status", …}}`. Statuses arrive out of order and Beds24 says never to
//! trust `modify`: the body is only a trigger, the booking is read back.
//! A booking's unit is its `roomId`, or `roomId:unitId` for one unit of a
//! room type with several.

use chrono::NaiveDate;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{client, credential, id_text, segment, text, Contact, FetchError, Reservation};
use crate::access::integrations::Credentials;
use crate::access::model::BookingStatus;

/// How doorman authenticates to Beds24.
pub enum Auth {
    /// A long-life token, sent as is.
    Token(SecretString),
    /// A refresh token, exchanged for a token.
    Refresh(SecretString),
}

impl Auth {
    /// `{"token": "…"}` or `{"refresh_token": "…"}`.
    pub fn from_credentials(credentials: &Credentials) -> Result<Self, FetchError> {
        match (credential(credentials, "token"), credential(credentials, "refresh_token")) {
            (Some(token), None) => Ok(Self::Token(SecretString::from(token))),
            (None, Some(refresh)) => Ok(Self::Refresh(SecretString::from(refresh))),
            _ => Err(FetchError::BadCredentials("Beds24 credentials need either token or refresh_token".into())),
        }
    }
}

/// The Beds24 API v2 client.
#[derive(Clone)]
pub struct Beds24Client {
    http: reqwest::Client,
    api_base: String,
}

impl Beds24Client {
    /// A client for `api_base`.
    pub fn new(http: reqwest::Client, api_base: &str) -> Self {
        Self { http, api_base: api_base.trim_end_matches('/').to_owned() }
    }

    /// `GET /bookings?id={id}`.
    pub async fn reservation(&self, credentials: &Credentials, id: &str) -> Result<Reservation, FetchError> {
        let token = self.token(Auth::from_credentials(credentials)?).await?;
        let request = self
            .http
            .get(format!("{}/bookings", self.api_base))
            .query(&[("id", segment(id))])
            .header("token", token.expose_secret());
        let answer: Bookings = client::json(&format!("reading Beds24 booking {id}"), request).await?;
        let booking = answer.data.into_iter().next().ok_or_else(|| {
            FetchError::Rejected(format!("Beds24 has no booking {id} (or the token may not read it)"))
        })?;
        booking.into_reservation()
    }

    async fn token(&self, auth: Auth) -> Result<SecretString, FetchError> {
        let refresh = match auth {
            Auth::Token(token) => return Ok(token),
            Auth::Refresh(refresh) => refresh,
        };
        let request = self
            .http
            .get(format!("{}/authentication/token", self.api_base))
            .header("refreshToken", refresh.expose_secret());
        let answer: TokenAnswer = client::json("getting a Beds24 token", request).await?;
        Ok(SecretString::from(answer.token))
    }
}

/// The id of the booking a V2 webhook body is about.
pub fn reservation_id(body: &serde_json::Value) -> Option<String> {
    id_text(body.get("booking")?.get("id")?)
}

#[derive(Deserialize)]
struct TokenAnswer {
    token: String,
}

#[derive(Debug, Deserialize)]
struct Bookings {
    #[serde(default)]
    data: Vec<Booking>,
}

/// A booking as Beds24's API v2 documents it (fields doorman reads).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Booking {
    id: serde_json::Value,
    room_id: serde_json::Value,
    #[serde(default)]
    unit_id: serde_json::Value,
    status: Option<String>,
    arrival: NaiveDate,
    departure: NaiveDate,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    mobile: Option<String>,
    lang: Option<String>,
}

impl Booking {
    fn into_reservation(self) -> Result<Reservation, FetchError> {
        let missing = |field| FetchError::Rejected(format!("a Beds24 booking without {field}"));
        let id = id_text(&self.id).ok_or_else(|| missing("an id"))?;
        let room = id_text(&self.room_id).ok_or_else(|| missing("a roomId"))?;
        let mut units = vec![room.clone()];
        if let Some(unit) = id_text(&self.unit_id).filter(|u| u != "0") {
            units.insert(0, format!("{room}:{unit}"));
        }
        let name = format!("{} {}", self.first_name.unwrap_or_default(), self.last_name.unwrap_or_default());
        Ok(Reservation {
            id,
            units,
            guest: Contact {
                name: text(Some(name)).unwrap_or_default(),
                // The mobile is the number a chat reaches.
                phone: text(self.mobile).or_else(|| text(self.phone)),
                email: text(self.email),
                language: text(self.lang),
            },
            arrival: self.arrival,
            departure: self.departure,
            status: status(self.status.as_deref()),
        })
    }
}

/// `black` is a block, not a guest; a request or inquiry is not confirmed.
fn status(word: Option<&str>) -> Option<BookingStatus> {
    match word.map(str::to_ascii_lowercase).as_deref() {
        Some("confirmed" | "new") => Some(BookingStatus::Confirmed),
        Some("cancelled") => Some(BookingStatus::Cancelled),
        Some("black") => None,
        _ => Some(BookingStatus::Pending),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_webhook_names_the_booking_and_its_unit_is_room_then_room_and_unit() {
        assert_eq!(
            reservation_id(&json!({"timeStamp": "x", "booking": {"id": 6013, "status": "modify"}})),
            Some("6013".into())
        );
        let booking: Booking = serde_json::from_value(json!({
            "id": 6013, "propertyId": 17, "roomId": 4400, "unitId": 2, "status": "cancelled",
            "arrival": "2026-12-20", "departure": "2026-12-22", "firstName": "Ana", "lastName": "Novak",
            "phone": "", "mobile": "+421 900 000 123", "apiSource": "Airbnb"
        }))
        .unwrap();
        let reservation = booking.into_reservation().unwrap();
        assert_eq!(reservation.units, vec!["4400:2".to_owned(), "4400".to_owned()]);
        assert_eq!(reservation.status, Some(BookingStatus::Cancelled));
        assert_eq!(reservation.guest.phone.as_deref(), Some("+421 900 000 123"));
        assert_eq!(status(Some("black")), None);
        assert_eq!(status(Some("request")), Some(BookingStatus::Pending));
    }
}
