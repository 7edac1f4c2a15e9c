//! The operator console (SPEC §10): server-rendered pages under `/admin`
//! for a phone first. Login by a one-time link, then a session cookie;
//! every form carries the session's CSRF token. Each handler reads the
//! session, calls the same core functions the admin API and the chat
//! commands call (`access::…`), and renders a template; roles are the
//! chat commands' (`conversation::commands::spec`).
//!
//! - [`session`]: the cookie, the login link, CSRF, who is acting.
//! - [`render`]: the templates (compiled in) and the error pages.
//! - one file per screen: [`today`], [`booking`], [`locks`],
//!   [`properties`] (and [`setup`]: new properties, rooms, locks, feeds; [`messages`]: the message rules and
//!   drafts), [`alerts`], [`audit`], [`codes`].

mod alerts;
mod audit;
mod booking;
mod codes;
mod error;
mod locks;
mod messages;
mod properties;
pub mod render;
mod session;
mod setup;
mod stay;
mod today;
mod view;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use sqlx::PgPool;

use crate::context::JobContext;

pub use error::ConsoleError;
pub use session::SESSION_COOKIE;

/// What the console's handlers reach.
#[derive(Clone)]
pub struct Console {
    /// What the jobs reach: the database, the lock providers (reconcile,
    /// device listings) and the senders (resend, regenerate).
    pub jobs: JobContext,
    /// Whether the session cookie is `Secure`: everywhere but plain HTTP on
    /// a loopback address.
    pub secure_cookies: bool,
}

impl Console {
    /// The console of a service reachable at `public_base_url`.
    pub fn new(jobs: JobContext, public_base_url: &str) -> Self {
        Self { jobs, secure_cookies: !is_loopback_http(public_base_url) }
    }

    fn db(&self) -> &PgPool {
        &self.jobs.db
    }
}

/// Whether `url` is plain HTTP on a loopback address (the demo, the tests).
pub fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or_default();
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The console's routes, to nest under `/admin`.
pub fn routes<S>(console: Console) -> Router<S> {
    Router::new()
        .route("/", get(today::page))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/bookings/{reference}", get(booking::page))
        .route("/bookings/{reference}/reveal", post(booking::reveal))
        .route("/bookings/{reference}/resend", post(booking::resend))
        .route("/bookings/{reference}/regen", post(booking::regen))
        .route("/bookings/{reference}/revoke", post(booking::revoke))
        .route("/bookings/{reference}/early", post(stay::early))
        .route("/bookings/{reference}/late", post(stay::late))
        .route("/bookings/{reference}/depart", post(stay::depart))
        .route("/confirm", post(booking::confirm))
        .route("/locks", get(locks::list))
        .route("/locks/{id}", get(locks::page))
        .route("/locks/{id}/reconcile", post(locks::reconcile))
        .route("/locks/{id}/adopt", post(locks::adopt))
        .route("/locks/{id}/remove", post(locks::remove))
        .route("/properties", get(properties::list).post(setup::create_property))
        .route("/properties/new", get(setup::new_property))
        .route("/properties/{id}", get(properties::page))
        .route("/properties/{id}/settings", post(properties::edit_settings))
        .route("/properties/{id}/rooms", post(setup::add_room))
        .route("/properties/{id}/staff", post(setup::add_staff))
        .route("/properties/{id}/locks", post(setup::add_lock))
        .route("/properties/{id}/feeds", post(setup::add_feed))
        .route("/properties/{id}/feeds/{feed}/delete", post(setup::delete_feed))
        .route("/properties/{id}/knowledge", post(properties::knowledge))
        .route("/properties/{id}/times", post(properties::times))
        .route("/properties/{id}/messages", get(messages::page).post(messages::save))
        .route("/drafts/{id}/{what}", post(messages::decide))
        .route("/alerts", get(alerts::page))
        .route("/handoffs/{id}/resolve", post(alerts::resolve))
        .route("/audit", get(audit::page))
        .route("/codes/new", get(codes::form))
        .route("/codes", post(codes::issue))
        .route("/static/console.css", get(render::stylesheet))
        .route("/static/console.js", get(render::script))
        .fallback(|| async { ConsoleError::NotFound })
        .with_state(Arc::new(console))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The session cookie is `Secure` except on plain HTTP to this machine.
    #[test]
    fn cookies_are_secure_outside_loopback() {
        assert!(is_loopback_http("http://127.0.0.1:8080"));
        assert!(is_loopback_http("http://localhost:8080/"));
        assert!(is_loopback_http("http://[::1]:8080"));
        assert!(!is_loopback_http("http://doorman.example.com"));
        assert!(!is_loopback_http("https://127.0.0.1"));
        assert!(!is_loopback_http("http://127.0.0.1.example.com"));
    }
}
