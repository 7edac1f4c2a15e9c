//! Hostaway (`https://api.hostaway.com/v1`): OAuth 2.0 client credentials.
//! `POST /accessTokens` (`grant_type=client_credentials`, `client_id` = the
//! account id, `client_secret` = the API key, `scope=general`) answers
//! `{"access_token", "expires_in"}`, a token that lives for months, so it is
//! kept in memory per integration; `GET /reservations/{id}` with
//! `Authorization: Bearer` answers `{"status": "success", "result": {…}}`.
//!
//! The unified webhook (Settings → Integrations → Webhooks) posts
//! `{"object": "reservation", "event": "reservation.created" | …, "payload":
//! {"data": {"id", …}}}` (some accounts get `data` at the top); its body can
//! lag behind, so the reservation is read back. Other objects (messages)
//! are not triggers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use uuid::Uuid;

use super::{client, credential, id_text, segment, text, Contact, FetchError, Reservation};
use crate::access::integrations::Credentials;
use crate::access::model::BookingStatus;

/// A Hostaway account and its API key.
pub struct Account {
    id: String,
    api_key: SecretString,
}

impl Account {
    /// `{"account_id": 12345, "api_key": "…"}`.
    pub fn from_credentials(credentials: &Credentials) -> Result<Self, FetchError> {
        match (credential(credentials, "account_id"), credential(credentials, "api_key")) {
            (Some(id), Some(key)) => Ok(Self { id, api_key: SecretString::from(key) }),
            _ => Err(FetchError::BadCredentials("Hostaway credentials need account_id and api_key".into())),
        }
    }
}

/// The Hostaway API client, with the access token of each integration.
#[derive(Clone)]
pub struct HostawayClient {
    http: reqwest::Client,
    api_base: String,
    tokens: Arc<Mutex<HashMap<Uuid, SecretString>>>,
}

impl HostawayClient {
    /// A client for `api_base`.
    pub fn new(http: reqwest::Client, api_base: &str) -> Self {
        Self { http, api_base: api_base.trim_end_matches('/').to_owned(), tokens: Arc::default() }
    }

    /// `GET /reservations/{id}`, with the integration's token (fetched when
    /// there is none yet).
    pub async fn reservation(
        &self,
        integration: Uuid,
        credentials: &Credentials,
        id: &str,
    ) -> Result<Reservation, FetchError> {
        let account = Account::from_credentials(credentials)?;
        let (token, fresh) = match self.cached(integration) {
            Some(token) => (token, false),
            None => (self.issue_token(integration, &account).await?, true),
        };
        let request =
            self.http.get(format!("{}/reservations/{}", self.api_base, segment(id))).bearer_auth(token.expose_secret());
        match client::json::<Answer>(&format!("reading Hostaway reservation {id}"), request).await {
            Ok(answer) => answer.result.into_reservation(),
            Err(FetchError::Refused(why)) => {
                self.forget(integration);
                // A kept token may have been revoked, and a new one is valid
                // only a second after it is issued: next time, a new one.
                match fresh {
                    true => Err(FetchError::Unavailable(anyhow::anyhow!("{why}"))),
                    false => Err(FetchError::Unavailable(anyhow::anyhow!("a kept Hostaway token was refused"))),
                }
            }
            Err(other) => Err(other),
        }
    }

    async fn issue_token(&self, integration: Uuid, account: &Account) -> Result<SecretString, FetchError> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", account.id.as_str()),
            ("client_secret", account.api_key.expose_secret()),
            ("scope", "general"),
        ];
        let request = self.http.post(format!("{}/accessTokens", self.api_base)).form(&form);
        let answer: TokenAnswer = client::json("getting a Hostaway access token", request).await?;
        let token = SecretString::from(answer.access_token);
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.insert(integration, token.clone());
        }
        Ok(token)
    }

    fn cached(&self, integration: Uuid) -> Option<SecretString> {
        self.tokens.lock().ok().and_then(|tokens| tokens.get(&integration).cloned())
    }

    fn forget(&self, integration: Uuid) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.remove(&integration);
        }
    }
}

/// The id of the reservation a unified webhook body is about.
pub fn reservation_id(body: &serde_json::Value) -> Option<String> {
    if body.get("object").and_then(serde_json::Value::as_str).is_some_and(|o| o != "reservation") {
        return None;
    }
    let data = body.get("payload").and_then(|p| p.get("data")).or_else(|| body.get("data"))?;
    id_text(data.get("id")?)
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
}

#[derive(Debug, Deserialize)]
struct Answer {
    result: HostawayReservation,
}

/// A reservation as Hostaway documents it (fields doorman reads).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HostawayReservation {
    id: serde_json::Value,
    listing_map_id: serde_json::Value,
    status: Option<String>,
    arrival_date: NaiveDate,
    departure_date: NaiveDate,
    guest_name: Option<String>,
    guest_first_name: Option<String>,
    guest_last_name: Option<String>,
    guest_email: Option<String>,
    phone: Option<String>,
    guest_locale: Option<String>,
}

impl HostawayReservation {
    fn into_reservation(self) -> Result<Reservation, FetchError> {
        let missing = |field| FetchError::Rejected(format!("a Hostaway reservation without {field}"));
        let id = id_text(&self.id).ok_or_else(|| missing("an id"))?;
        let listing = id_text(&self.listing_map_id).ok_or_else(|| missing("a listingMapId"))?;
        let joined =
            format!("{} {}", self.guest_first_name.unwrap_or_default(), self.guest_last_name.unwrap_or_default());
        Ok(Reservation {
            id,
            units: vec![listing],
            guest: Contact {
                name: text(self.guest_name).or_else(|| text(Some(joined))).unwrap_or_default(),
                phone: text(self.phone),
                email: text(self.guest_email),
                language: text(self.guest_locale),
            },
            arrival: self.arrival_date,
            departure: self.departure_date,
            status: status(self.status.as_deref()),
        })
    }
}

/// Hostaway's reservation statuses: an owner's stay is no guest's; the
/// request and inquiry states are not confirmed yet.
fn status(word: Option<&str>) -> Option<BookingStatus> {
    match word {
        Some("new" | "modified") => Some(BookingStatus::Confirmed),
        Some("cancelled" | "declined" | "expired" | "inquiryDenied" | "inquiryTimedout" | "inquiryNotPossible") => {
            Some(BookingStatus::Cancelled)
        }
        Some("ownerStay") => None,
        _ => Some(BookingStatus::Pending),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_unified_webhook_names_its_reservation_in_either_shape() {
        let nested = json!({"object": "reservation", "event": "reservation.updated", "accountId": 10450,
            "payload": {"data": {"id": 13, "listingMapId": 40160}}});
        assert_eq!(reservation_id(&nested), Some("13".into()));
        assert_eq!(reservation_id(&json!({"event": "reservation.created", "data": {"id": 14}})), Some("14".into()));
        let message = json!({"object": "conversationMessage", "event": "message.received", "data": {"id": 99}});
        assert_eq!(reservation_id(&message), None);
    }

    #[test]
    fn statuses_read_as_doorman_states() {
        assert_eq!(status(Some("modified")), Some(BookingStatus::Confirmed));
        assert_eq!(status(Some("cancelled")), Some(BookingStatus::Cancelled));
        assert_eq!(status(Some("ownerStay")), None);
        assert_eq!(status(Some("pending")), Some(BookingStatus::Pending));
    }
}
