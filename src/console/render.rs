//! The console's templates, compiled into the binary, and the headers every
//! page carries. Auto-escaping is on for every template (`.html`).

use std::sync::LazyLock;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

use super::error::ConsoleError;

/// Every template, by name, as compiled in.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("error.html", include_str!("templates/error.html")),
    ("login.html", include_str!("templates/login.html")),
    ("today.html", include_str!("templates/today.html")),
    ("booking.html", include_str!("templates/booking.html")),
    ("confirm.html", include_str!("templates/confirm.html")),
    ("locks.html", include_str!("templates/locks.html")),
    ("lock.html", include_str!("templates/lock.html")),
    ("properties.html", include_str!("templates/properties.html")),
    ("property_new.html", include_str!("templates/property_new.html")),
    ("property.html", include_str!("templates/property.html")),
    ("alerts.html", include_str!("templates/alerts.html")),
    ("audit.html", include_str!("templates/audit.html")),
    ("issue.html", include_str!("templates/issue.html")),
    ("issued.html", include_str!("templates/issued.html")),
    ("messages.html", include_str!("templates/messages.html")),
];

const CSS: &str = include_str!("static/console.css");
const JS: &str = include_str!("static/console.js");

/// Our own files only: no inline script, no third party, no framing.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                      form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // No indentation of the templates in the pages: Today for a hotel is
    // a long list, and every byte of it is sent.
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    for (name, source) in TEMPLATES {
        env.add_template(name, source).unwrap_or_else(|e| panic!("template {name}: {e}"));
    }
    env
});

/// Renders `name` with `context` to a string.
pub fn render_to_string(name: &str, context: impl Serialize) -> Result<String, minijinja::Error> {
    ENV.get_template(name)?.render(context)
}

/// Renders a page with the console's headers.
pub fn page(name: &str, context: impl Serialize) -> Result<Response, ConsoleError> {
    let html = render_to_string(name, context).map_err(|e| ConsoleError::Internal(anyhow::Error::new(e)))?;
    Ok(with_headers(StatusCode::OK, html))
}

/// The page of an error.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let context = minijinja::context! { title, message, status => status.as_u16() };
    match render_to_string("error.html", context) {
        Ok(html) => with_headers(status, html),
        Err(_) => (status, title.to_owned()).into_response(),
    }
}

fn with_headers(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    // Pages may show a revealed code: never cached, never in a frame, and
    // the login link's token never leaves for another site in a Referer
    // (`same-origin`, not `no-referrer`: with that, browsers send
    // `Origin: null`, and the sign-in checks the origin).
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("content-security-policy", HeaderValue::from_static(POLICY));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}

/// `GET /admin/static/console.css`.
pub async fn stylesheet() -> Response {
    static_file("text/css; charset=utf-8", CSS)
}

/// `GET /admin/static/console.js`.
pub async fn script() -> Response {
    static_file("text/javascript; charset=utf-8", JS)
}

fn static_file(kind: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every template parses (the environment loads them all).
    #[test]
    fn every_template_parses() {
        for (name, _) in TEMPLATES {
            ENV.get_template(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    /// Every template renders, even with nothing in its context (the
    /// pages with data render through the whole service in tests/api).
    #[test]
    fn every_template_renders() {
        for (name, _) in TEMPLATES {
            render_to_string(name, minijinja::context! {}).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        }
    }

    /// Values are escaped: a guest's name cannot become markup.
    #[test]
    fn values_are_escaped() {
        let html =
            render_to_string("error.html", minijinja::context! { title => "<b>x</b>", message => "m", status => 404 })
                .unwrap();
        assert!(html.contains("&lt;b&gt;x"), "{html}");
        assert!(!html.contains("<b>x</b>"));
    }
}
