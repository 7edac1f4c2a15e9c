//! Smoobu (`https://login.smoobu.com`): the API key goes in the `Api-Key`
//! header; `GET /api/reservations/{id}` answers the reservation.
//!
//! Webhooks (Settings → API & Webhooks) post
//! `{"action": "newReservation" | "updateReservation" | "cancelReservation" | …,
//! "data": {"id", …}}`; only reservation actions are triggers (a
//! `newMessage`'s `data.id` is a message's). A cancelled reservation has
//! `"type": "cancellation"`; a blocked period has `"is-blocked-booking": true`.

use chrono::NaiveDate;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{client, credential, id_text, segment, text, Contact, FetchError, Reservation};
use crate::access::integrations::Credentials;
use crate::access::model::BookingStatus;

/// A Smoobu API key.
pub struct ApiKey(SecretString);

impl ApiKey {
    /// `{"api_key": "…"}`.
    pub fn from_credentials(credentials: &Credentials) -> Result<Self, FetchError> {
        credential(credentials, "api_key")
            .map(|key| Self(SecretString::from(key)))
            .ok_or_else(|| FetchError::BadCredentials("Smoobu credentials need api_key".into()))
    }
}

/// The Smoobu API client.
#[derive(Clone)]
pub struct SmoobuClient {
    http: reqwest::Client,
    api_base: String,
}

impl SmoobuClient {
    /// A client for `api_base`.
    pub fn new(http: reqwest::Client, api_base: &str) -> Self {
        Self { http, api_base: api_base.trim_end_matches('/').to_owned() }
    }

    /// `GET /api/reservations/{id}`.
    pub async fn reservation(&self, credentials: &Credentials, id: &str) -> Result<Reservation, FetchError> {
        let key = ApiKey::from_credentials(credentials)?;
        let url = format!("{}/api/reservations/{}", self.api_base, segment(id));
        let request = self.http.get(url).header("Api-Key", key.0.expose_secret());
        let booking: Booking = client::json(&format!("reading Smoobu reservation {id}"), request).await?;
        booking.into_reservation()
    }
}

/// The id of the reservation a webhook body is about, if it is about one.
pub fn reservation_id(body: &serde_json::Value) -> Option<String> {
    let action = body.get("action")?.as_str()?;
    if !action.ends_with("Reservation") {
        return None;
    }
    id_text(body.get("data")?.get("id")?)
}

/// A reservation as Smoobu's API documents it (fields doorman reads).
#[derive(Debug, Deserialize)]
struct Booking {
    id: serde_json::Value,
    #[serde(rename = "type")]
    kind: Option<String>,
    arrival: NaiveDate,
    departure: NaiveDate,
    apartment: Apartment,
    #[serde(rename = "guest-name")]
    guest_name: Option<String>,
    firstname: Option<String>,
    lastname: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    language: Option<String>,
    #[serde(rename = "is-blocked-booking", default)]
    blocked: bool,
}

#[derive(Debug, Deserialize)]
struct Apartment {
    id: serde_json::Value,
}

impl Booking {
    fn into_reservation(self) -> Result<Reservation, FetchError> {
        let missing = |field| FetchError::Rejected(format!("a Smoobu reservation without {field}"));
        let id = id_text(&self.id).ok_or_else(|| missing("an id"))?;
        let unit = id_text(&self.apartment.id).ok_or_else(|| missing("an apartment id"))?;
        let status = match (self.blocked, self.kind.as_deref()) {
            (true, _) => None,
            (false, Some("cancellation")) => Some(BookingStatus::Cancelled),
            (false, _) => Some(BookingStatus::Confirmed),
        };
        let joined = format!("{} {}", self.firstname.unwrap_or_default(), self.lastname.unwrap_or_default());
        Ok(Reservation {
            id,
            units: vec![unit],
            guest: Contact {
                name: text(self.guest_name).or_else(|| text(Some(joined))).unwrap_or_default(),
                phone: text(self.phone),
                email: text(self.email),
                language: text(self.language),
            },
            arrival: self.arrival,
            departure: self.departure,
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_reservation_actions_are_triggers() {
        assert_eq!(reservation_id(&json!({"action": "updateReservation", "data": {"id": 291}})), Some("291".into()));
        assert_eq!(reservation_id(&json!({"action": "newMessage", "data": {"id": 7}})), None);
        assert_eq!(reservation_id(&json!({"action": "newReservation"})), None);
    }

    #[test]
    fn a_cancellation_and_a_block_read_as_such() {
        let booking = |kind: &str, blocked: bool| -> Booking {
            serde_json::from_value(json!({
                "id": 291, "type": kind, "arrival": "2026-12-20", "departure": "2026-12-23",
                "apartment": {"id": 505200, "name": "Apt 5"}, "guest-name": "Ana Novak",
                "is-blocked-booking": blocked, "unknown": true
            }))
            .unwrap()
        };
        let cancelled = booking("cancellation", false).into_reservation().unwrap();
        assert_eq!(cancelled.status, Some(BookingStatus::Cancelled));
        assert_eq!(cancelled.units, vec!["505200".to_owned()]);
        assert_eq!(booking("reservation", true).into_reservation().unwrap().status, None);
    }
}
