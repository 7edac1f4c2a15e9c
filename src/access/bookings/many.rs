//! Many bookings at once: a calendar's first sync brings fifty stays of a
//! room, and writing them one by one cost a dozen statements each.
//!
//! New confirmed bookings of one room whose guest has no phone (what a
//! calendar brings) are written as sets: their guests and bookings in one
//! statement, their audit events in another, their codes and jobs through
//! [`lifecycle::issue_for_new_bookings`]. Everything else goes through
//! [`upsert_booking`], so there is one set of booking rules.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{placement, upsert_booking, BookingState, BookingUpsert, UpsertOutcome};
use crate::access::audit::{self, Actor, Subject};
use crate::access::error::AccessResult;
use crate::access::lifecycle::{self, NewBooking};
use crate::access::model::{BookingStatus, Language};

/// Creates or updates each booking, with the outcome [`upsert_booking`]
/// would have for it, in the order given.
pub async fn upsert_bookings(
    conn: &mut PgConnection,
    inputs: &[BookingUpsert],
    actor: Actor,
) -> AccessResult<Vec<UpsertOutcome>> {
    let mut outcomes: Vec<Option<UpsertOutcome>> = vec![None; inputs.len()];
    let set = candidates(inputs);
    if set.len() > 1 {
        for (i, outcome) in create_set(conn, inputs, &set, actor).await? {
            outcomes[i] = Some(outcome);
        }
    }
    let mut all = Vec::with_capacity(inputs.len());
    for (outcome, input) in outcomes.into_iter().zip(inputs) {
        all.push(match outcome {
            Some(outcome) => outcome,
            None => upsert_booking(conn, input, actor).await?,
        });
    }
    Ok(all)
}

/// The inputs the set path may take: confirmed, no phone (a phone finds
/// its guest), a reference given once, all of the first one's room.
fn candidates(inputs: &[BookingUpsert]) -> Vec<usize> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for input in inputs {
        *seen.entry(input.external_ref.as_str()).or_default() += 1;
    }
    let eligible = |input: &BookingUpsert| {
        input.status == BookingStatus::Confirmed
            && input.guest.phone.is_none()
            && seen.get(input.external_ref.as_str()) == Some(&1)
    };
    let Some(first) = inputs.iter().find(|i| eligible(i)) else {
        return Vec::new();
    };
    (0..inputs.len())
        .filter(|&i| {
            let input = &inputs[i];
            eligible(input) && input.property_id == first.property_id && input.room == first.room
        })
        .collect()
}

/// One booking of the set, before it is written.
struct Row {
    index: usize,
    id: Uuid,
    state: BookingState,
}

/// Writes the set's new bookings; returns their outcomes by input index.
/// References that exist already, and stays that do not resolve, are left
/// to [`upsert_booking`] (which updates them, or says what is wrong).
async fn create_set(
    conn: &mut PgConnection,
    inputs: &[BookingUpsert],
    set: &[usize],
    actor: Actor,
) -> AccessResult<Vec<(usize, UpsertOutcome)>> {
    let first = &inputs[set[0]];
    let references: Vec<&str> = set.iter().map(|&i| inputs[i].external_ref.as_str()).collect();
    let property = placement(&mut *conn, first.property_id, &first.room, &references).await?;
    let Some(room_id) = property.room_id else {
        return Ok(Vec::new());
    };
    let existing: HashSet<String> =
        sqlx::query_scalar!("SELECT external_ref FROM bookings WHERE external_ref = ANY($1)", &references as &[&str])
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
    let mut rows = Vec::with_capacity(set.len());
    for &index in set {
        let input = &inputs[index];
        let Ok(stay) = property.stay(input.stay) else { continue };
        if existing.contains(input.external_ref.as_str()) {
            continue;
        }
        let state = BookingState {
            property_id: property.id,
            room_id,
            guest_id: Uuid::new_v4(),
            check_in_at: stay.check_in_at,
            check_out_at: stay.check_out_at,
            status: BookingStatus::Confirmed,
            verified: input.verified.unwrap_or(false),
            guest_email: input.guest.email.clone(),
        };
        rows.push(Row { index, id: Uuid::new_v4(), state });
    }
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    insert_rows(conn, inputs, &rows).await?;
    let mut events = audit::Batch::default();
    for row in &rows {
        let details = json!({ "external_ref": inputs[row.index].external_ref.as_str(), "status": row.state.status });
        let subject = Subject { property_id: Some(property.id), booking_id: Some(row.id), ..Subject::default() };
        events.add(actor, "booking.created", subject, details);
    }
    events.write(conn).await?;
    let new: Vec<NewBooking> = rows
        .iter()
        .map(|row| NewBooking {
            id: row.id,
            external_ref: inputs[row.index].external_ref.as_str().to_owned(),
            property_id: property.id,
            room_id,
            check_in_at: row.state.check_in_at,
            check_out_at: row.state.check_out_at,
            release_hours: property.release_hours,
        })
        .collect();
    lifecycle::issue_for_new_bookings(conn, &new, actor, Utc::now()).await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.index, UpsertOutcome { booking_id: row.id, previous: None, current: row.state }))
        .collect())
}

/// The guests and their bookings, in one statement.
async fn insert_rows(conn: &mut PgConnection, inputs: &[BookingUpsert], rows: &[Row]) -> AccessResult<()> {
    let n = rows.len();
    let (mut ids, mut guest_ids, mut names, mut emails, mut languages) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::new());
    let (mut references, mut check_ins, mut check_outs, mut verified) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for row in rows {
        let input = &inputs[row.index];
        ids.push(row.id);
        guest_ids.push(row.state.guest_id);
        names.push(input.guest.name.clone());
        emails.push(row.state.guest_email.clone());
        languages.push(input.guest.language.as_ref().map(Language::as_str));
        references.push(input.external_ref.as_str());
        check_ins.push(row.state.check_in_at);
        check_outs.push(row.state.check_out_at);
        verified.push(row.state.verified);
    }
    let (property_id, room_id) = (rows[0].state.property_id, rows[0].state.room_id);
    sqlx::query!(
        "WITH guest AS (
             INSERT INTO guests (id, name, email, language)
             SELECT id, name, email, COALESCE(language, 'en')
             FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[]) AS g (id, name, email, language)
         )
         INSERT INTO bookings (id, external_ref, property_id, room_id, guest_id, check_in_at, check_out_at, status,
             verified, guest_email)
         SELECT id, external_ref, $5, $6, guest_id, check_in_at, check_out_at, 'confirmed', verified, guest_email
         FROM UNNEST($7::uuid[], $8::text[], $1::uuid[], $9::timestamptz[], $10::timestamptz[], $11::bool[],
                     $3::text[])
             AS b (id, external_ref, guest_id, check_in_at, check_out_at, verified, guest_email)",
        &guest_ids,
        &names,
        &emails as &[Option<String>],
        &languages as &[Option<&str>],
        property_id,
        room_id,
        &ids,
        &references as &[&str],
        &check_ins,
        &check_outs,
        &verified,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
