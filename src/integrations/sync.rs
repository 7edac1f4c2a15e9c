//! [`SyncReservation`]: read a reservation back from its channel manager and
//! upsert it like `PUT /bookings`, in the room its unit maps to. Contact
//! data that does not parse is left out (staff are told), never a reason
//! to drop the booking; a unit no room is mapped to makes no booking and
//! tells staff once.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Contact, Reservation};
use crate::access::alerts::{alert_staff, StaffAlert};
use crate::access::audit::Actor;
use crate::access::bookings::{upsert_booking, BookingRef, BookingUpsert, GuestDetails, StayInput};
use crate::access::integrations::{get_integration, record_source, Integration};
use crate::access::model::{Language, RoomName};
use crate::access::phone::Phone;
use crate::access::AccessError;
use crate::context::JobContext;
use crate::jobs::{Job, JobError, Run};

/// The longest guest name kept, as `PUT /bookings` allows.
const MAX_NAME_CHARS: usize = 200;

/// Read one reservation back from the integration's channel manager and
/// upsert it. Waiting copies for the same reservation merge: each reads
/// the latest state anyway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReservation {
    /// The integration.
    pub integration_id: Uuid,
    /// Their reservation id.
    pub reservation_id: String,
}

impl Job for SyncReservation {
    const KIND: &'static str = "sync_reservation";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}:{}", Self::KIND, self.integration_id, self.reservation_id))
    }
}

impl Run<JobContext> for SyncReservation {
    #[tracing::instrument(skip_all, fields(integration = %self.integration_id, reservation = %self.reservation_id))]
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let integration = match get_integration(&ctx.db, self.integration_id).await {
            Err(AccessError::NotFound { .. }) => return Err(JobError::permanent("the integration no longer exists")),
            other => other?,
        };
        let reservation = ctx.channel_managers.reservation(&integration, &self.reservation_id).await?;
        let mut tx = ctx.db.begin().await?;
        import(&mut tx, &integration, &reservation).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Upserts `reservation` as a booking of the integration's property.
async fn import(conn: &mut PgConnection, integration: &Integration, reservation: &Reservation) -> Result<(), JobError> {
    let kind = integration.kind;
    let reference = format!("{kind}-{}", reservation.id);
    let external_ref = BookingRef::parse(&reference).map_err(|_| JobError::permanent("an unusable reservation id"))?;
    let Some(status) = reservation.status else {
        tracing::info!("a blocked period or an owner's stay, not a guest's booking: skipped");
        return Ok(());
    };
    let Some(room) = reservation.units.iter().find_map(|unit| integration.room_for_unit(unit)) else {
        let unit = reservation.units.last().cloned().unwrap_or_default();
        tracing::warn!(unit = %unit, "a reservation for a unit mapped to no room: no booking");
        let alert = StaffAlert::UnknownUnit {
            integration_id: integration.id,
            channel_manager: kind.to_string(),
            unit,
            reference,
        };
        alert_staff(conn, integration.property_id, alert).await?;
        return Ok(());
    };
    let (guest, rejected) = guest_details(&reservation.guest, &reference);
    let input = BookingUpsert {
        external_ref,
        property_id: integration.property_id,
        room: room.clone(),
        guest,
        stay: StayInput::LocalDates { check_in: reservation.arrival, check_out: reservation.departure },
        status,
        verified: None,
    };
    let outcome = upsert_booking(conn, &input, Actor::System).await?;
    record_source(conn, outcome.booking_id, kind).await?;
    if !rejected.is_empty() {
        tracing::info!(fields = ?rejected, "imported without contact data that did not parse");
        let alert = contact_rejected(outcome.booking_id, reference, &room, rejected);
        alert_staff(conn, integration.property_id, alert).await?;
    }
    Ok(())
}

fn contact_rejected(booking_id: Uuid, reference: String, room: &RoomName, fields: Vec<String>) -> StaffAlert {
    StaffAlert::ContactRejected { booking_id, reference, room: room.as_str().to_owned(), fields }
}

/// The guest as doorman keeps them, and which contact fields were left out
/// because they did not parse.
fn guest_details(contact: &Contact, reference: &str) -> (GuestDetails, Vec<String>) {
    let mut rejected = Vec::new();
    let phone = contact.phone.as_deref().and_then(|raw| match Phone::parse(raw) {
        Ok(phone) => Some(phone),
        Err(_) => {
            rejected.push("phone".to_owned());
            None
        }
    });
    let email = contact.email.as_deref().and_then(|raw| match plausible_email(raw) {
        true => Some(raw.trim().to_owned()),
        false => {
            rejected.push("email".to_owned());
            None
        }
    });
    let name: String = contact.name.trim().chars().take(MAX_NAME_CHARS).collect();
    let name = if name.is_empty() { format!("Guest {reference}") } else { name };
    let language = contact.language.as_deref().and_then(|l| Language::parse(l).ok());
    (GuestDetails { name, phone, email, language }, rejected)
}

/// One `@` between a local part and a dotted domain, no spaces: what a
/// message can be sent to.
fn plausible_email(raw: &str) -> bool {
    let raw = raw.trim();
    let Some((local, domain)) = raw.split_once('@') else {
        return false;
    };
    let dotted = domain.contains('.') && domain.split('.').all(|label| !label.is_empty());
    raw.len() <= 254 && !local.is_empty() && !domain.contains('@') && dotted && !raw.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(phone: Option<&str>, email: Option<&str>) -> Contact {
        Contact {
            name: "Ana Novak".into(),
            phone: phone.map(str::to_owned),
            email: email.map(str::to_owned),
            language: Some("de-AT".into()),
        }
    }

    #[test]
    fn contact_data_that_does_not_parse_is_left_out_and_named() {
        let (guest, rejected) = guest_details(&contact(Some("0900 123 456"), Some("ana@example")), "smoobu-1");
        assert!(guest.phone.is_none() && guest.email.is_none());
        assert_eq!(rejected, vec!["phone".to_owned(), "email".to_owned()]);
        assert_eq!(guest.language.map(|l| l.as_str().to_owned()), Some("de".to_owned()));
        let (guest, rejected) = guest_details(&contact(Some("+421 900 000 123"), Some("ana@example.com")), "x");
        assert_eq!(guest.phone.map(|p| p.as_str().to_owned()), Some("+421900000123".to_owned()));
        assert_eq!(guest.email.as_deref(), Some("ana@example.com"));
        assert!(rejected.is_empty());
    }

    #[test]
    fn a_guest_without_a_name_is_named_after_the_reservation() {
        let (guest, _) = guest_details(&Contact::default(), "beds24-6013");
        assert_eq!(guest.name, "Guest beds24-6013");
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(plausible_email(" ana.novak@example.co.uk "));
        for bad in ["ana", "@example.com", "ana@", "ana@example", "ana@@example.com", "ana novak@example.com", "a@b..c"]
        {
            assert!(!plausible_email(bad), "{bad}");
        }
    }
}
