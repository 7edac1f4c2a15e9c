//! Channel managers (SPEC §9): a property's account at Smoobu, Beds24 or
//! Hostaway, the random token its webhook URL carries (only its hash is
//! stored), the map of their unit ids to doorman's rooms, and the webhook
//! deliveries, each stored once. The API clients live in `integrations/`;
//! nothing here speaks HTTP.

use std::collections::BTreeMap;
use std::fmt;

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::error::{AccessError, AccessResult};
use super::model::{IntegrationKind, RoomName};
use super::properties::{find_room, get_property};

/// What a channel manager's API needs (an API key, a token, an account
/// id), as the operator gave it. Its `Debug` output hides it.
#[derive(Clone, PartialEq)]
pub struct Credentials(serde_json::Value);

impl Credentials {
    /// Wraps the credentials as given.
    pub fn new(value: serde_json::Value) -> Self {
        Self(value)
    }

    /// The credentials, for the client that sends them.
    pub fn expose(&self) -> &serde_json::Value {
        &self.0
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(hidden)")
    }
}

/// `POST /api/v1/integrations`, parsed.
#[derive(Debug, Clone)]
pub struct NewIntegration {
    /// Which channel manager.
    pub kind: IntegrationKind,
    /// The property its reservations belong to.
    pub property_id: Uuid,
    /// What its API needs.
    pub credentials: Credentials,
    /// Their unit id → the room's name.
    pub rooms: BTreeMap<String, RoomName>,
}

/// An integration as stored.
#[derive(Debug, Clone)]
pub struct Integration {
    /// Identifier.
    pub id: Uuid,
    /// Which channel manager.
    pub kind: IntegrationKind,
    /// The property its reservations belong to.
    pub property_id: Uuid,
    /// What its API needs.
    pub credentials: Credentials,
    /// Their unit id → the room's name.
    pub rooms: BTreeMap<String, String>,
}

impl Integration {
    /// The room their unit `unit` is, by the integration's map.
    pub fn room_for_unit(&self, unit: &str) -> Option<RoomName> {
        self.rooms.get(unit.trim()).and_then(|name| RoomName::parse(name).ok())
    }
}

/// A new integration and the token of its webhook URL, which is shown once.
#[derive(Debug)]
pub struct Created {
    /// The integration.
    pub integration: Integration,
    /// The token to put in the webhook URL.
    pub token: String,
}

/// Creates an integration of a property whose rooms are those of `rooms`,
/// with a fresh random webhook token.
#[tracing::instrument(skip_all, fields(kind = %new.kind, property = %new.property_id))]
pub async fn create_integration(conn: &mut PgConnection, new: &NewIntegration) -> AccessResult<Created> {
    match get_property(&mut *conn, new.property_id).await {
        Err(AccessError::NotFound { .. }) => return Err(AccessError::invalid("property_id", "no such property")),
        other => other?,
    };
    if new.rooms.is_empty() {
        return Err(AccessError::invalid("rooms", "map at least one of their unit ids to a room"));
    }
    for (unit, room) in &new.rooms {
        if find_room(&mut *conn, new.property_id, room).await?.is_none() {
            return Err(AccessError::invalid("rooms", format!("{unit}: the property has no room {:?}", room.as_str())));
        }
    }
    let token = new_token();
    let rooms: BTreeMap<String, String> =
        new.rooms.iter().map(|(unit, room)| (unit.trim().to_owned(), room.as_str().to_owned())).collect();
    let id = sqlx::query_scalar!(
        "INSERT INTO integrations (kind, property_id, credentials, token_hash, rooms) VALUES ($1, $2, $3, $4, $5)
         RETURNING id",
        new.kind.as_str(),
        new.property_id,
        new.credentials.expose(),
        token_hash(&token),
        Json(&rooms) as _,
    )
    .fetch_one(&mut *conn)
    .await?;
    let integration =
        Integration { id, kind: new.kind, property_id: new.property_id, credentials: new.credentials.clone(), rooms };
    Ok(Created { integration, token })
}

/// The integration whose webhook URL carries `token`, if any.
pub async fn find_by_token(db: impl PgExecutor<'_>, token: &str) -> AccessResult<Option<Integration>> {
    let hash = token_hash(token);
    let row = sqlx::query!(
        r#"SELECT id, kind AS "kind: IntegrationKind", property_id, credentials, token_hash,
               rooms AS "rooms: Json<BTreeMap<String, String>>"
           FROM integrations WHERE token_hash = $1"#,
        hash
    )
    .fetch_optional(db)
    .await?;
    // The lookup is by hash, which reveals nothing of the token; the final
    // comparison is constant-time all the same.
    Ok(row.filter(|r| bool::from(r.token_hash.as_bytes().ct_eq(hash.as_bytes()))).map(|r| Integration {
        id: r.id,
        kind: r.kind,
        property_id: r.property_id,
        credentials: Credentials(r.credentials),
        rooms: r.rooms.0,
    }))
}

/// An integration by id.
pub async fn get_integration(db: impl PgExecutor<'_>, id: Uuid) -> AccessResult<Integration> {
    let row = sqlx::query!(
        r#"SELECT id, kind AS "kind: IntegrationKind", property_id, credentials,
               rooms AS "rooms: Json<BTreeMap<String, String>>"
           FROM integrations WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await?
    .ok_or(AccessError::NotFound { entity: "integration" })?;
    Ok(Integration {
        id: row.id,
        kind: row.kind,
        property_id: row.property_id,
        credentials: Credentials(row.credentials),
        rooms: row.rooms.0,
    })
}

/// Stores a webhook delivery once, keyed by the SHA-256 of its bytes:
/// `true` when it is new, `false` for a redelivery.
pub async fn record_delivery(
    conn: &mut PgConnection,
    integration_id: Uuid,
    raw: &[u8],
    body: &serde_json::Value,
    reservation_id: Option<&str>,
) -> AccessResult<bool> {
    let key = hex::encode(Sha256::digest(raw));
    let stored = sqlx::query_scalar!(
        "INSERT INTO integration_webhooks (integration_id, delivery_key, reservation_id, body) VALUES ($1, $2, $3, $4)
         ON CONFLICT (integration_id, delivery_key) DO NOTHING
         RETURNING id",
        integration_id,
        key,
        reservation_id,
        body,
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(stored.is_some())
}

/// Records that a booking came from this channel manager (`bookings.source`).
pub async fn record_source(conn: &mut PgConnection, booking_id: Uuid, kind: IntegrationKind) -> AccessResult<()> {
    sqlx::query!("UPDATE bookings SET source = $2 WHERE id = $1 AND source <> $2", booking_id, kind.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn new_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn integration(rooms: &[(&str, &str)]) -> Integration {
        Integration {
            id: Uuid::nil(),
            kind: IntegrationKind::Smoobu,
            property_id: Uuid::nil(),
            credentials: Credentials::new(serde_json::json!({ "api_key": "secret-key" })),
            rooms: rooms.iter().map(|(u, r)| ((*u).to_owned(), (*r).to_owned())).collect(),
        }
    }

    #[test]
    fn a_unit_maps_to_its_room_and_an_unknown_unit_to_none() {
        let integration = integration(&[("505200", "101")]);
        assert_eq!(integration.room_for_unit(" 505200 ").map(|r| r.as_str().to_owned()), Some("101".to_owned()));
        assert!(integration.room_for_unit("999").is_none());
    }

    #[test]
    fn credentials_never_show_in_debug_output() {
        let shown = format!("{:?}", integration(&[]));
        assert!(!shown.contains("secret-key"), "{shown}");
    }

    #[test]
    fn tokens_are_long_random_and_stored_as_their_hash() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 48);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
