//! A room's iCal feeds (SPEC §9): add, list, remove, sync now.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde::Deserialize;
use uuid::Uuid;

use crate::access::audit::Actor;
use crate::access::feeds::{self, Feed, NewFeed, SyncCounts};
use crate::access::model::FeedSource;
use crate::access::AccessError;
use crate::http::error::{ApiError, Json, Path};
use crate::http::AppState;

/// A calendar link to read.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct FeedRequest {
    /// The calendar's export address (`https://…`), printable ASCII, at
    /// most 2048 characters.
    #[schema(
        example = "https://www.airbnb.com/calendar/ical/12345.ics?s=0123456789abcdef",
        max_length = 2048,
        pattern = "^https?://[!-~]*$"
    )]
    pub url: String,
    /// `airbnb`, `booking`, `vrbo` or `other`.
    pub source: FeedSource,
}

/// Add a calendar feed to a room; it is fetched at once, then every
/// `FEED_POLL_MINUTES`.
#[utoipa::path(post, path = "/api/v1/rooms/{id}/feeds", tag = "feeds", operation_id = "create_feed",
    params(super::schema::RoomId), request_body = FeedRequest,
    responses((status = 201, description = "Added; fetched at once.", body = Feed), super::schema::NotFound,
        super::schema::Conflict, super::schema::Invalid),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Path(room_id): Path<Uuid>,
    Json(request): Json<FeedRequest>,
) -> Result<(StatusCode, Json<Feed>), ApiError> {
    let mut tx = state.db.begin().await.map_err(AccessError::from)?;
    let new = NewFeed { room_id, url: request.url, source: request.source };
    let feed = feeds::create_feed(&mut tx, &new, Actor::Api).await?;
    crate::jobs::queue::enqueue(&mut tx, &crate::feeds::SyncFeed { feed_id: feed.id }, Utc::now())
        .await
        .map_err(AccessError::from)?;
    tx.commit().await.map_err(AccessError::from)?;
    Ok((StatusCode::CREATED, Json(feed)))
}

/// A room's feeds, each with its last fetch and how many stays it shows.
#[utoipa::path(get, path = "/api/v1/rooms/{id}/feeds", tag = "feeds", operation_id = "list_feeds",
    params(super::schema::RoomId),
    responses((status = 200, description = "The feeds; none for an unknown room.", body = Vec<Feed>)),
    security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, Path(room_id): Path<Uuid>) -> Result<Json<Vec<Feed>>, ApiError> {
    Ok(Json(feeds::list_room_feeds(&state.db, room_id).await?))
}

/// Stop reading a feed; the bookings it brought stay.
#[utoipa::path(delete, path = "/api/v1/feeds/{id}", tag = "feeds", operation_id = "delete_feed",
    params(super::schema::FeedId),
    responses((status = 204, description = "Removed."), super::schema::NotFound), security(("bearer" = [])))]
pub async fn delete(State(state): State<AppState>, Path(id): Path<Uuid>) -> Result<StatusCode, ApiError> {
    let mut conn = state.db.acquire().await.map_err(AccessError::from)?;
    feeds::delete_feed(&mut conn, id, Actor::Api).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Fetch a feed now and say what changed.
#[utoipa::path(post, path = "/api/v1/feeds/{id}/sync", tag = "feeds", operation_id = "sync_feed",
    params(super::schema::FeedId),
    responses((status = 200, description = "What changed.", body = SyncCounts), super::schema::NotFound),
    security(("bearer" = [])))]
pub async fn sync(State(state): State<AppState>, Path(id): Path<Uuid>) -> Result<Json<SyncCounts>, ApiError> {
    match crate::feeds::sync(&state.db, &state.feeds, id).await {
        Ok(Some(counts)) => Ok(Json(counts)),
        Ok(None) => Err(AccessError::NotFound { entity: "feed" }.into()),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "syncing a feed");
            Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error"))
        }
    }
}
