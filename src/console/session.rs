//! Who is acting: the session cookie, the login link that starts it, the
//! CSRF token every form carries, logout.

use std::sync::Arc;

use axum::extract::{Form, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::error::ConsoleError;
use super::{render, Console};
use crate::access::model::Role;
use crate::access::sessions::{self, SESSION_LENGTH};
use crate::access::staff::StaffMember;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "doorman_session";

/// A signed-in staff member, with the CSRF token their forms carry.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who they are, with their role at each property.
    pub member: StaffMember,
    /// The token every form of this session carries.
    pub csrf: String,
}

impl Session {
    /// Their role at `property_id`; a property they do not work at is
    /// not found (never "forbidden", which would tell it exists).
    pub fn role_at(&self, property_id: uuid::Uuid) -> Result<Role, ConsoleError> {
        self.member.role_at(property_id).ok_or(ConsoleError::NotFound)
    }

    /// Checks that they hold at least `least` at `property_id`: the chat
    /// command's least role, so the console allows exactly what chat does.
    pub fn require(&self, property_id: uuid::Uuid, least: Role) -> Result<(), ConsoleError> {
        match self.role_at(property_id)? {
            role if role.at_least(least) => Ok(()),
            _ => Err(ConsoleError::NeedsRole(least)),
        }
    }

    /// The least role of a chat command.
    pub fn command_role(name: &str) -> Role {
        crate::conversation::commands::spec(name).map_or(Role::Admin, |spec| spec.role)
    }
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

impl FromRequestParts<Arc<Console>> for Session {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, console: &Arc<Console>) -> Result<Self, Self::Rejection> {
        let token = cookie_value(&parts.headers, SESSION_COOKIE).ok_or(ConsoleError::SignIn)?;
        let mut conn = console.db().acquire().await?;
        let member = sessions::session_member(&mut conn, token, Utc::now()).await?.ok_or(ConsoleError::SignIn)?;
        Ok(Self { member, csrf: sessions::csrf_token(token) })
    }
}

/// A form posted by a signed-in staff member, its CSRF token checked (in
/// constant time) before any field is read.
#[derive(Debug)]
pub struct Posted<T> {
    /// Who posted it.
    pub session: Session,
    /// The fields.
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<Arc<Console>> for Posted<T> {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, console: &Arc<Console>) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let session = Session::from_request_parts(&mut parts, console).await?;
        let request = Request::from_parts(parts, body);
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(request, console)
            .await
            .map_err(|_| ConsoleError::BadForm("The form could not be read.".into()))?;
        let sent = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or_default();
        if !bool::from(sent.as_bytes().ct_eq(session.csrf.as_bytes())) {
            return Err(ConsoleError::Csrf);
        }
        let fields: serde_json::Map<String, serde_json::Value> =
            pairs.into_iter().filter(|(k, _)| k != "csrf").map(|(k, v)| (k, serde_json::Value::String(v))).collect();
        let form = serde_json::from_value(serde_json::Value::Object(fields))
            .map_err(|_| ConsoleError::BadForm("A field of the form is missing.".into()))?;
        Ok(Self { session, form })
    }
}

/// A form with no fields but the CSRF token.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

/// `?token=` of a login link.
#[derive(Debug, Deserialize)]
pub struct LinkToken {
    token: Option<String>,
}

/// `GET /admin/login?token=…`: a button that signs in. The link's token is
/// spent only by the button's POST, so a chat app fetching the link for a
/// preview does not use it up.
pub async fn login_page(Query(link): Query<LinkToken>) -> Result<Response, ConsoleError> {
    let token = link.token.filter(|t| !t.trim().is_empty());
    render::page("login.html", minijinja::context! { token, expired => false })
}

/// `POST /admin/login`: trades the link for a session cookie, once. Only
/// from our own page: a form on another site cannot sign a browser in to
/// someone else's session.
pub async fn login(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    Form(link): Form<LinkToken>,
) -> Result<Response, ConsoleError> {
    if !same_origin(&headers) {
        return Err(ConsoleError::Csrf);
    }
    let token = link.token.unwrap_or_default();
    let mut tx = console.db().begin().await?;
    let session = sessions::redeem_login_link(&mut tx, &token, Utc::now()).await?;
    tx.commit().await?;
    let Some(session) = session else {
        let mut page = render::page("login.html", minijinja::context! { token => None::<String>, expired => true })?;
        *page.status_mut() = StatusCode::GONE;
        return Ok(page);
    };
    let secure = if console.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={session}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_LENGTH.num_seconds()
    );
    let mut response = Redirect::to("/admin").into_response();
    let value = HeaderValue::from_str(&cookie).map_err(|e| ConsoleError::Internal(anyhow::Error::new(e)))?;
    response.headers_mut().insert(SET_COOKIE, value);
    Ok(response)
}

/// Whether the request's `Origin`, when the browser sends one, is this
/// service's own host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(axum::http::header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(axum::http::header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// `POST /admin/logout`: ends the session and clears the cookie.
pub async fn logout(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    _posted: Posted<NoFields>,
) -> Result<Response, ConsoleError> {
    if let Some(token) = cookie_value(&headers, SESSION_COOKIE) {
        let mut conn = console.db().acquire().await?;
        sessions::end_session(&mut conn, token).await?;
    }
    let mut response = Redirect::to("/admin/login").into_response();
    let cleared = format!("{SESSION_COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0");
    let value = HeaderValue::from_str(&cleared).map_err(|e| ConsoleError::Internal(anyhow::Error::new(e)))?;
    response.headers_mut().insert(SET_COOKIE, value);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_from_another_site_is_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(axum::http::header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&headers), "no Origin: not a browser's cross-site form");
        headers.insert(axum::http::header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&headers));
        headers.insert(axum::http::header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&headers));
        headers.insert(axum::http::header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&headers));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; doorman_session=abc; b=2"));
        assert_eq!(cookie_value(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie_value(&headers, "missing"), None);
    }
}
