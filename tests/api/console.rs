//! The operator console through the whole service: sign-in links, the
//! session cookie, CSRF, roles and properties, every page and action, and
//! that no page shows a full code unless it was a reveal.

use chrono::Duration;
use reqwest::redirect::Policy;
use serde_json::{json, Value};

use crate::conversation::{code_of, spawn, Chat, GUEST, MANAGER};

const CLEANER: &str = "421900000003";

/// A browser without JavaScript: a cookie, the session's CSRF token.
pub(crate) struct Browser {
    pub(crate) base: String,
    client: reqwest::Client,
    cookie: Option<String>,
    pub(crate) csrf: String,
}

/// The sign-in link in a `/login` reply.
pub(crate) fn link_in(reply: &str) -> String {
    let start = reply.find("http").unwrap_or_else(|| panic!("no link in {reply}"));
    reply[start..].split_whitespace().next().unwrap().to_owned()
}

fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(html[at..].split('"').next()?.to_owned())
}

impl Browser {
    pub(crate) fn new(base: &str) -> Self {
        let client = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        Self { base: base.to_owned(), client, cookie: None, csrf: String::new() }
    }

    /// Opens a sign-in link and presses its button; the response of the POST.
    pub(crate) async fn open_link(&mut self, link: &str) -> reqwest::Response {
        let page = self.client.get(link).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("id=\"sign-in\""), "{html}");
        let token = link.split("token=").nth(1).unwrap();
        let response =
            self.client.post(format!("{}/admin/login", self.base)).form(&[("token", token)]).send().await.unwrap();
        if let Some(cookie) = response.headers().get("set-cookie") {
            self.cookie = Some(cookie.to_str().unwrap().split(';').next().unwrap().to_owned());
        }
        response
    }

    pub(crate) async fn get(&mut self, path: &str) -> (u16, String) {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let html = response.text().await.unwrap();
        if let Some(csrf) = csrf_in(&html) {
            self.csrf = csrf;
        }
        (status, html)
    }

    /// Posts a form with the session's CSRF token.
    pub(crate) async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let csrf = self.csrf.clone();
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    pub(crate) async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.client.post(format!("{}{path}", self.base)).form(fields);
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }
}

/// Signs `phone` in with the `/login` chat command.
pub(crate) async fn sign_in(chat: &Chat, phone: &str) -> Browser {
    let reply = chat.say(phone, "/login").await;
    let mut browser = Browser::new(&chat.app.address);
    let response = browser.open_link(&link_in(&reply[0])).await;
    assert_eq!(response.status(), 303);
    let (status, _) = browser.get("/admin").await;
    assert_eq!(status, 200);
    browser
}

async fn with_cleaner(chat: &Chat) {
    let body =
        json!({ "name": "Eva", "phone": format!("+{CLEANER}"), "role": "staff", "property_ids": [chat.property_id] });
    assert_eq!(chat.app.post("/api/v1/staff", &body).await.status(), 201);
}

async fn audit_actions(chat: &Chat) -> Vec<(String, String)> {
    let events: Value = chat.app.get("/api/v1/audit?limit=500").await.json().await.unwrap();
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["actor"].as_str().unwrap().to_owned(), e["action"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn a_login_link_works_once_and_the_session_cookie_is_strict() {
    let chat = spawn().await;
    chat.book("BK-1", GUEST, "101", Duration::hours(10), json!({})).await;
    let reply = chat.say(MANAGER, "/login").await;
    assert!(reply[0].contains("15 minutes"), "{}", reply[0]);
    let link = link_in(&reply[0]);
    assert!(link.starts_with(&format!("{}/admin/login?token=", chat.app.address)), "{link}");

    let mut browser = Browser::new(&chat.app.address);
    // Without a session, a page sends you to sign in.
    let client = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    let anonymous = client.get(chat.app.url("/admin")).send().await.unwrap();
    assert_eq!(anonymous.status(), 303);
    assert_eq!(anonymous.headers()["location"], "/admin/login");

    let signed_in = browser.open_link(&link).await;
    assert_eq!(signed_in.status(), 303);
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Max-Age=43200"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain HTTP on loopback: {cookie}");
    let (status, today) = browser.get("/admin").await;
    assert_eq!(status, 200);
    assert!(today.contains("BK-1") && today.contains("Marek"), "{today}");

    // Once only.
    let mut again = Browser::new(&chat.app.address);
    assert_eq!(again.open_link(&link).await.status(), 410);
    assert_eq!(again.get("/admin").await.0, 303);

    // Expired after 15 minutes.
    let late = link_in(&chat.say(MANAGER, "/login").await[0]);
    sqlx::query("UPDATE console_links SET expires_at = now() - interval '1 second' WHERE used_at IS NULL")
        .execute(&chat.app.db)
        .await
        .unwrap();
    assert_eq!(Browser::new(&chat.app.address).open_link(&late).await.status(), 410);

    // Logout ends the session on the server, not only in the browser.
    let stolen = browser.cookie.clone();
    assert_eq!(browser.post("/admin/logout", &[]).await.status(), 303);
    browser.cookie = stolen;
    assert_eq!(browser.get("/admin").await.0, 303);
    let actions = audit_actions(&chat).await;
    assert!(actions.iter().any(|(actor, action)| actor.starts_with("staff:") && action == "console.login"));
    assert!(actions.iter().any(|(actor, action)| actor.starts_with("staff:") && action == "console.logout"));
}

#[tokio::test]
async fn a_form_without_the_sessions_csrf_token_is_refused() {
    let chat = spawn().await;
    chat.book("BK-1", GUEST, "101", Duration::days(5), json!({})).await;
    let mut browser = sign_in(&chat, MANAGER).await;
    browser.get("/admin/bookings/BK-1").await;
    let missing = browser.post_raw("/admin/bookings/BK-1/revoke", &[]).await;
    assert_eq!(missing.status(), 403);
    let wrong = browser.post_raw("/admin/bookings/BK-1/revoke", &[("csrf", "0000")]).await;
    assert_eq!(wrong.status(), 403);
    let codes = crate::helpers::codes_of(&chat.app, "BK-1").await;
    assert!(codes.iter().all(|c| c["state"] != "removing" && c["state"] != "removed"), "{codes:?}");
    // Another session's token is not this one's.
    let other = sign_in(&chat, MANAGER).await;
    assert_ne!(other.csrf, browser.csrf);
    let crossed = browser.post_raw("/admin/bookings/BK-1/revoke", &[("csrf", other.csrf.as_str())]).await;
    assert_eq!(crossed.status(), 403);
    let done = browser.post("/admin/bookings/BK-1/revoke", &[]).await;
    assert_eq!(done.status(), 303, "a future stay is revoked at once");
}

/// Every page a signed-in staff member can open, for this chat's property.
async fn every_page(chat: &Chat, browser: &mut Browser, references: &[&str]) -> Vec<(String, u16, String)> {
    let mut paths: Vec<String> = vec![
        "/admin".into(),
        "/admin/locks".into(),
        "/admin/properties".into(),
        format!("/admin/properties/{}", chat.property_id),
        "/admin/alerts".into(),
        "/admin/audit".into(),
        "/admin/codes/new".into(),
    ];
    for reference in references {
        paths.push(format!("/admin/bookings/{reference}"));
        paths.push(format!("/admin/audit?booking={reference}"));
    }
    for lock in lock_ids(chat).await {
        paths.push(format!("/admin/locks/{lock}"));
        paths.push(format!("/admin/audit?lock={lock}"));
    }
    let mut pages = Vec::new();
    for path in paths {
        let (status, html) = browser.get(&path).await;
        pages.push((path, status, html));
    }
    pages
}

async fn lock_ids(chat: &Chat) -> Vec<String> {
    sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM locks WHERE property_id = $1::uuid ORDER BY name")
        .bind(&chat.property_id)
        .fetch_all(&chat.app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|id| id.to_string())
        .collect()
}

async fn every_code_value(chat: &Chat) -> Vec<String> {
    sqlx::query_scalar::<_, String>("SELECT code FROM access_codes").fetch_all(&chat.app.db).await.unwrap()
}

#[tokio::test]
async fn no_page_shows_a_full_code_unless_it_was_a_reveal() {
    let chat = spawn().await;
    chat.book("BK-1", GUEST, "101", Duration::hours(10), json!({})).await;
    chat.book("BK-2", "421900000008", "102", -Duration::hours(30), json!({})).await;
    // A master code and a standalone one too.
    chat.say(MANAGER, "/master room 101").await;
    let tomorrow = (chrono::Utc::now() + Duration::days(1)).date_naive();
    chat.say(MANAGER, &format!("/issue room 102 {tomorrow} 09:00 17:00 plumber")).await;
    // A calendar feed whose address holds its secret, a channel manager
    // with credentials and a webhook token.
    let room: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM rooms WHERE name = '101'").fetch_one(&chat.app.db).await.unwrap();
    let feed = json!({ "url": "http://127.0.0.1:9/calendar/ical/1.ics?s=feed-secret-abc", "source": "airbnb" });
    assert_eq!(chat.app.post(&format!("/api/v1/rooms/{room}/feeds"), &feed).await.status(), 201);
    let integration = json!({ "kind": "smoobu", "property_id": chat.property_id, "credentials": { "api_key": "smoobu-secret-key" }, "rooms": { "1": "101" } });
    let created: Value = chat.app.post("/api/v1/integrations", &integration).await.json().await.unwrap();
    let webhook_token = created["webhook_url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let mut browser = sign_in(&chat, MANAGER).await;
    let codes = every_code_value(&chat).await;
    assert!(codes.len() >= 4, "{codes:?}");
    let secrets = ["feed-secret-abc", "smoobu-secret-key", webhook_token.as_str(), crate::helpers::TOKEN];
    for (path, status, html) in every_page(&chat, &mut browser, &["BK-1", "BK-2"]).await {
        assert_eq!(status, 200, "{path}: {html}");
        for code in &codes {
            assert!(!html.contains(code.as_str()), "{path} shows the code {code}");
        }
        assert!(
            !html.contains("welcome-2026") || path.starts_with("/admin/properties/"),
            "{path} shows the wifi password"
        );
        for secret in secrets {
            assert!(!html.contains(secret), "{path} shows {secret}");
        }
    }
    // The reveal shows them, once, and it is audited.
    browser.get("/admin/bookings/BK-1").await;
    let revealed = browser.post("/admin/bookings/BK-1/reveal", &[]).await;
    assert_eq!(revealed.status(), 200);
    let html = revealed.text().await.unwrap();
    let booking: Value = chat.app.get("/api/v1/bookings/BK-1").await.json().await.unwrap();
    assert!(html.contains(&code_of(&booking)), "{html}");
    let (_, after) = browser.get("/admin/bookings/BK-1").await;
    assert!(!after.contains(&code_of(&booking)));
    assert!(after.contains("code.revealed"), "the reveal is in the booking's trail");
}

#[tokio::test]
async fn roles_and_properties_are_the_chat_commands() {
    let chat = spawn().await;
    with_cleaner(&chat).await;
    chat.book("BK-1", GUEST, "101", Duration::hours(10), json!({})).await;
    let mut cleaner = sign_in(&chat, CLEANER).await;
    let (status, page) = cleaner.get("/admin/bookings/BK-1").await;
    assert_eq!(status, 200);
    assert!(!page.contains("id=\"reveal\"") && !page.contains("id=\"revoke\""), "a cleaner has no such button");
    for action in ["reveal", "revoke", "regen", "resend"] {
        let refused = cleaner.post(&format!("/admin/bookings/BK-1/{action}"), &[]).await;
        assert_eq!(refused.status(), 403, "{action}");
    }
    let (_, property) = cleaner.get(&format!("/admin/properties/{}", chat.property_id)).await;
    assert!(property.contains("Wifi password") && !property.contains("welcome-2026"), "{property}");
    let refused = cleaner
        .post(
            &format!("/admin/properties/{}/times", chat.property_id),
            &[("check_in", "14:00"), ("check_out", "10:00"), ("release_hours", "24")],
        )
        .await;
    assert_eq!(refused.status(), 403);
    let mut manager = sign_in(&chat, MANAGER).await;
    let (_, property) = manager.get(&format!("/admin/properties/{}", chat.property_id)).await;
    assert!(property.contains("welcome-2026"), "a manager edits the knowledge base");

    // A manager of another property sees nothing of this one.
    let other: Value = chat
        .app
        .post("/api/v1/properties", &json!({ "name": "Lake House", "timezone": "Europe/Vienna" }))
        .await
        .json()
        .await
        .unwrap();
    let body = json!({ "name": "Olga", "phone": "+421900000009", "role": "manager", "property_ids": [other["id"]] });
    assert_eq!(chat.app.post("/api/v1/staff", &body).await.status(), 201);
    let mut stranger = sign_in(&chat, "421900000009").await;
    let (_, today) = stranger.get("/admin").await;
    assert!(!today.contains("BK-1") && !today.contains("Old Town Flats"), "{today}");
    let lock = lock_ids(&chat).await.remove(0);
    for path in [
        "/admin/bookings/BK-1".to_owned(),
        format!("/admin/locks/{lock}"),
        format!("/admin/properties/{}", chat.property_id),
    ] {
        assert_eq!(stranger.get(&path).await.0, 404, "{path}");
    }
    assert_eq!(stranger.post("/admin/bookings/BK-1/revoke", &[]).await.status(), 404);
    assert_eq!(stranger.post(&format!("/admin/locks/{lock}/reconcile"), &[]).await.status(), 404);
    let (_, trail) = stranger.get("/admin/audit").await;
    assert!(!trail.contains("code.created"), "another property's trail: {trail}");
    // Bad input is a clear refusal, never a crash.
    assert_eq!(stranger.get("/admin/locks/not-a-uuid").await.0, 404);
    assert_eq!(stranger.get("/admin/audit?lock=nope").await.0, 422);
    assert_eq!(stranger.get("/admin/nothing-here").await.0, 404);
}

#[tokio::test]
async fn a_stay_in_progress_is_revoked_only_through_the_confirmation_and_every_action_is_audited() {
    let chat = spawn().await;
    chat.book("BK-1", GUEST, "101", -Duration::hours(2), json!({})).await;
    chat.book("BK-2", "421900000008", "102", Duration::days(5), json!({})).await;
    let mut browser = sign_in(&chat, MANAGER).await;
    browser.get("/admin/bookings/BK-1").await;
    let asked = browser.post("/admin/bookings/BK-1/revoke", &[]).await;
    assert_eq!(asked.status(), 200);
    let page = asked.text().await.unwrap();
    assert!(page.contains("in progress") && page.contains("id=\"confirm\""), "{page}");
    let states = |codes: Vec<Value>| codes.iter().map(|c| c["state"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert!(
        states(crate::helpers::codes_of(&chat.app, "BK-1").await).iter().all(|s| s == "set"),
        "nothing before the confirmation"
    );
    let token = page.split("name=\"token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let confirmed =
        browser.post("/admin/confirm", &[("token", token.as_str()), ("back", "/admin/bookings/BK-1")]).await;
    assert_eq!(confirmed.status(), 303);
    assert_eq!(confirmed.headers()["location"], "/admin/bookings/BK-1?done=revoked");
    assert!(states(crate::helpers::codes_of(&chat.app, "BK-1").await).iter().all(|s| s == "removing"));
    let again = browser.post("/admin/confirm", &[("token", token.as_str()), ("back", "/admin/bookings/BK-1")]).await;
    assert_eq!(again.status(), 422, "a confirmation works once");
    let away = browser.post("/admin/confirm", &[("token", "x"), ("back", "https://evil.example")]).await;
    assert_eq!(away.status(), 422);

    // Regenerate (confirmed), resend, reconcile, issue, times, knowledge, hand-off.
    let asked = browser.post("/admin/bookings/BK-2/regen", &[]).await.text().await.unwrap();
    let token = asked.split("name=\"token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let before = code_of(&chat.app.get("/api/v1/bookings/BK-2").await.json().await.unwrap());
    assert_eq!(
        browser.post("/admin/confirm", &[("token", token.as_str()), ("back", "/admin/bookings/BK-2")]).await.status(),
        303
    );
    chat.app.run_jobs().await;
    let codes = crate::helpers::codes_of(&chat.app, "BK-2").await;
    assert!(codes.iter().any(|c| c["state"] == "set" && c["code"] != before.as_str()), "{codes:?}");
    assert_eq!(browser.post("/admin/bookings/BK-2/resend", &[]).await.status(), 303);
    let lock = lock_ids(&chat).await.remove(0);
    browser.get(&format!("/admin/locks/{lock}")).await;
    assert_eq!(browser.post(&format!("/admin/locks/{lock}/reconcile"), &[]).await.status(), 303);
    let issued = browser
        .post(
            "/admin/codes",
            &[
                ("property", chat.property_id.as_str()),
                ("room", "101"),
                ("date", &chrono::Utc::now().date_naive().to_string()),
                ("from", "09:00"),
                ("until", "17:00"),
                ("label", "plumber"),
            ],
        )
        .await;
    assert_eq!(issued.status(), 200);
    assert!(issued.text().await.unwrap().contains("plumber"));
    let bad = browser
        .post(
            "/admin/codes",
            &[
                ("property", chat.property_id.as_str()),
                ("room", "101"),
                ("date", "tomorrow"),
                ("from", "9"),
                ("until", "17:00"),
                ("label", "x"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let property = format!("/admin/properties/{}", chat.property_id);
    assert_eq!(
        browser
            .post(
                &format!("{property}/times"),
                &[("check_in", "14:00"), ("check_out", "10:30"), ("release_hours", "48")]
            )
            .await
            .status(),
        303
    );
    let fields = [
        ("entry_instructions", "Blue door."),
        ("wifi_name", "Flat"),
        ("wifi_password", "new-secret-77"),
        ("parking", ""),
        ("directions", ""),
        ("checkout_instructions", ""),
        ("house_rules", ""),
    ];
    assert_eq!(browser.post(&format!("{property}/knowledge"), &fields).await.status(), 303);
    let stored: Value = chat.app.get(&format!("/api/v1/properties/{}", chat.property_id)).await.json().await.unwrap();
    assert_eq!(stored["check_in_time"], "14:00");
    assert_eq!(stored["code_release_hours"], 48);
    assert_eq!(stored["knowledge"]["entry_instructions"], "Blue door.");
    assert!(stored["knowledge"]["parking"].is_null());
    chat.say(GUEST, "I need to talk to a human").await;
    let (_, alerts) = browser.get("/admin/alerts").await;
    let resolve = alerts
        .split("action=\"/admin/handoffs/")
        .nth(1)
        .expect("an open hand-off")
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(browser.post(&format!("/admin/handoffs/{resolve}"), &[]).await.status(), 303);
    assert!(!browser.get("/admin/alerts").await.1.contains("action=\"/admin/handoffs/"));

    let staff_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM staff WHERE name = 'Marek'").fetch_one(&chat.app.db).await.unwrap();
    let me = format!("staff:{staff_id}");
    let actions: Vec<String> =
        audit_actions(&chat).await.into_iter().filter(|(actor, _)| *actor == me).map(|(_, a)| a).collect();
    for action in [
        "console.login",
        "code.revoked",
        "booking.codes_resent",
        "lock.reconciled",
        "property.updated",
        "handoff.resolved",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action} not audited as {me}: {actions:?}");
    }
    let (_, mine) = browser.get(&format!("/admin/audit?actor={me}")).await;
    assert!(mine.contains("handoff.resolved") && !mine.contains(">api<"), "{mine}");
}

/// The test database's URL, for the `doorman` binary.
fn database_url(db: &sqlx::PgPool) -> String {
    let options = db.connect_options();
    let (host, port, user) = (options.get_host(), options.get_port(), options.get_username());
    let name = options.get_database().unwrap_or("postgres");
    match host.starts_with('/') {
        true => format!("postgres://{user}@localhost:{port}/{name}?host={host}"),
        false => format!("postgres://{user}@{host}:{port}/{name}"),
    }
}

#[tokio::test]
async fn doorman_admin_link_prints_a_link_for_a_staff_member_by_phone() {
    let chat = spawn().await;
    let run = |staff: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_doorman"))
            .args(["admin-link", "--staff", staff])
            .env("DATABASE_URL", database_url(&chat.app.db))
            .env("PUBLIC_BASE_URL", &chat.app.address)
            .env_remove("ADMIN_API_TOKEN")
            .env_remove("BIND_ADDR")
            .output()
            .expect("running doorman admin-link")
    };
    let output = run(&format!("+{MANAGER}"));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let link = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(link.starts_with(&format!("{}/admin/login?token=", chat.app.address)), "{link}");
    let mut browser = Browser::new(&chat.app.address);
    assert_eq!(browser.open_link(&link).await.status(), 303);
    assert_eq!(browser.get("/admin").await.0, 200);
    let unknown = run("+421900000099");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no active staff member"));
}

#[tokio::test]
async fn a_new_install_gets_its_first_admin_from_admin_link_and_only_one() {
    let app = crate::helpers::TestApp::spawn().await;
    let run = |staff: &str, name: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_doorman"))
            .args(["admin-link", "--staff", staff, "--first-admin", name])
            .env("DATABASE_URL", database_url(&app.db))
            .env("PUBLIC_BASE_URL", &app.address)
            .env_remove("ADMIN_API_TOKEN")
            .env_remove("BIND_ADDR")
            .output()
            .expect("running doorman admin-link --first-admin")
    };
    let first = run("+421900000077", "Eva Owner");
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let link = String::from_utf8(first.stdout).unwrap().trim().to_owned();
    let mut browser = Browser::new(&app.address);
    assert_eq!(browser.open_link(&link).await.status(), 303);
    let (status, page) = browser.get("/admin/properties").await;
    assert_eq!(status, 200);
    assert!(page.contains("New property"), "the first admin can set up a property");

    let second = run("+421900000078", "Someone Else");
    assert!(!second.status.success(), "a second first admin must be refused");
    assert!(String::from_utf8_lossy(&second.stderr).contains("has an admin already"));
    let admins: i64 =
        sqlx::query_scalar("SELECT count(*) FROM staff WHERE role = 'admin'").fetch_one(&app.db).await.unwrap();
    assert_eq!(admins, 1);
}

/// The property's page, its id taken from where the creation redirected.
fn created_id(response: &reqwest::Response) -> String {
    let location = response.headers()["location"].to_str().unwrap();
    location.trim_start_matches("/admin/properties/").split('?').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_manager_sets_up_a_property_its_rooms_locks_and_feeds_from_the_console() {
    let chat = spawn().await;
    with_cleaner(&chat).await;
    let mut cleaner = sign_in(&chat, CLEANER).await;
    assert_eq!(cleaner.get("/admin/properties/new").await.0, 403);
    let fields = [
        ("name", "Lake House"),
        ("timezone", "Europe/Vienna"),
        ("address", ""),
        ("check_in", "15:00"),
        ("check_out", "11:00"),
        ("release_hours", "24"),
    ];
    assert_eq!(cleaner.post("/admin/properties", &fields).await.status(), 403);
    let other = format!("/admin/properties/{}", chat.property_id);
    assert_eq!(cleaner.post(&format!("{other}/rooms"), &[("room_name", "999")]).await.status(), 403);

    let mut browser = sign_in(&chat, MANAGER).await;
    let (_, list) = browser.get("/admin/properties").await;
    assert!(list.contains("id=\"new-property\""), "{list}");
    browser.get("/admin/properties/new").await;
    // A bad value: the form again, what was typed kept, a clear message.
    let bad = [
        ("name", "Lake House"),
        ("timezone", "Mars/Olympus"),
        ("address", "Seestrasse 1"),
        ("check_in", "15:00"),
        ("check_out", "11:00"),
        ("release_hours", "24"),
    ];
    let refused = browser.post("/admin/properties", &bad).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("id=\"problem\"") && html.contains("timezone") && html.contains("Seestrasse 1"), "{html}");
    let created = browser.post("/admin/properties", &fields).await;
    assert_eq!(created.status(), 303);
    let id = created_id(&created);
    let page = format!("/admin/properties/{id}");
    let (status, html) = browser.get(&page).await;
    assert_eq!(status, 200, "the creator manages it: {html}");
    assert!(html.contains("Lake House") && html.contains("Europe&#x2f;Vienna"), "{html}");

    assert_eq!(browser.post(&format!("{page}/rooms"), &[("room_name", "201")]).await.status(), 303);
    let clash = browser.post(&format!("{page}/rooms"), &[("room_name", "201")]).await;
    assert!(clash.status() == 409 || clash.status() == 422, "{}", clash.status());
    let room: uuid::Uuid = sqlx::query_scalar("SELECT id FROM rooms WHERE property_id = $1::uuid AND name = '201'")
        .bind(&id)
        .fetch_one(&chat.app.db)
        .await
        .unwrap();
    let room = room.to_string();
    let lock = |name: &'static str, room: &str, length: &'static str| {
        vec![
            ("lock_name", name.to_owned()),
            ("lock_room", room.to_owned()),
            ("provider", "simulated".to_owned()),
            ("device_id", String::new()),
            ("code_format", "numeric".to_owned()),
            ("code_length", length.to_owned()),
            ("capacity", "100".to_owned()),
        ]
    };
    let post_lock = |fields: Vec<(&'static str, String)>| fields;
    let short = post_lock(lock("Front door", "", "4"));
    let short: Vec<(&str, &str)> = short.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = browser.post(&format!("{page}/locks"), &short).await;
    assert_eq!(refused.status(), 422, "an entrance's codes are at least 6 long");
    let html = refused.text().await.unwrap();
    assert!(html.contains("code_length") && html.contains("value=\"Front door\""), "{html}");
    for fields in [lock("Front door", "", "6"), lock("Room 201 door", &room, "6")] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(browser.post(&format!("{page}/locks"), &fields).await.status(), 303);
    }
    let secret = "http://127.0.0.1:9/calendar/ical/9.ics?s=console-feed-secret";
    let bad_feed = browser
        .post(
            &format!("{page}/feeds"),
            &[("feed_room", &room), ("feed_source", "airbnb"), ("feed_url", "ftp://x/console-feed-secret")],
        )
        .await;
    assert_eq!(bad_feed.status(), 422);
    assert!(!bad_feed.text().await.unwrap().contains("console-feed-secret"), "a refused address is not echoed");
    let added = browser
        .post(&format!("{page}/feeds"), &[("feed_room", &room), ("feed_source", "airbnb"), ("feed_url", secret)])
        .await;
    assert_eq!(added.status(), 303);
    let (_, html) = browser.get(&page).await;
    assert!(html.contains("Room 201 door") && html.contains("Front door") && html.contains("127.0.0.1:9"), "{html}");
    assert!(!html.contains("console-feed-secret"), "{html}");
    // Name, address and channels through the PATCH core.
    let settings = [("name", "Lake House Vienna"), ("address", "Seestrasse 2"), ("sms", "on"), ("email", "on")];
    assert_eq!(browser.post(&format!("{page}/settings"), &settings).await.status(), 303);
    let stored: Value = chat.app.get(&format!("/api/v1/properties/{id}")).await.json().await.unwrap();
    assert_eq!(stored["name"], "Lake House Vienna");
    assert_eq!(stored["notify_channels"], json!(["sms", "email"]));
    assert_eq!(stored["locks"].as_array().unwrap().len(), 2);
    // Every page still hides the secret; then the feed is removed.
    for path in ["/admin", "/admin/properties", page.as_str(), "/admin/audit", "/admin/locks"] {
        let (status, html) = browser.get(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(!html.contains("console-feed-secret"), "{path} shows the feed's secret");
    }
    let (_, html) = browser.get(&page).await;
    let remove = html.split(&format!("action=\"{page}/feeds/")).nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert_eq!(browser.post(&format!("{page}/feeds/{remove}"), &[]).await.status(), 303);
    assert!(!browser.get(&page).await.1.contains("127.0.0.1:9"));

    let staff_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM staff WHERE name = 'Marek'").fetch_one(&chat.app.db).await.unwrap();
    let me = format!("staff:{staff_id}");
    let actions: Vec<String> =
        audit_actions(&chat).await.into_iter().filter(|(actor, _)| *actor == me).map(|(_, a)| a).collect();
    for action in [
        "property.created",
        "staff.roles_changed",
        "room.created",
        "lock.created",
        "feed.added",
        "feed.removed",
        "property.updated",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action} not audited as {me}: {actions:?}");
    }
}

#[tokio::test]
async fn a_manager_adds_a_staff_member_from_the_console_and_a_cleaner_cannot() {
    let chat = spawn().await;
    with_cleaner(&chat).await;
    let page = format!("/admin/properties/{}", chat.property_id);
    let mut cleaner = sign_in(&chat, CLEANER).await;
    let form = [("staff_name", "Jana Cleaner"), ("staff_phone", "+421900000055"), ("staff_role", "staff")];
    assert_eq!(cleaner.post(&format!("{page}/staff"), &form).await.status(), 403);

    let mut browser = sign_in(&chat, MANAGER).await;
    let (_, html) = browser.get(&page).await;
    assert!(html.contains("Add a staff member"));
    let bad = [("staff_name", "Jana Cleaner"), ("staff_phone", "not a phone"), ("staff_role", "staff")];
    let refused = browser.post(&format!("{page}/staff"), &bad).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("WhatsApp number"), "the reason is shown");
    assert!(html.contains("Jana Cleaner"), "what was typed is kept");
    let admin = [("staff_name", "Jana Cleaner"), ("staff_phone", "+421900000055"), ("staff_role", "admin")];
    assert_eq!(browser.post(&format!("{page}/staff"), &admin).await.status(), 422, "nobody becomes an admin here");

    assert_eq!(browser.post(&format!("{page}/staff"), &form).await.status(), 303);
    let (_, html) = browser.get(&page).await;
    assert!(html.contains("Jana Cleaner"));
    let role: String = sqlx::query_scalar(
        "SELECT sp.role FROM staff s JOIN staff_properties sp ON sp.staff_id = s.id WHERE s.phone = '+421900000055' AND sp.property_id = $1::uuid",
    )
    .bind(&chat.property_id)
    .fetch_one(&chat.app.db)
    .await
    .unwrap();
    assert_eq!(role, "staff");
    assert!(audit_actions(&chat)
        .await
        .iter()
        .any(|(actor, action)| action == "staff.created" && actor.starts_with("staff:")));
    let again = browser.post(&format!("{page}/staff"), &form).await;
    assert!(again.status().is_client_error(), "the same number twice is refused, not a server error");
}

/// The add-a-lock form offers the provider's devices that are no lock yet
/// (discovery), and a lock added with one of them and no name takes the
/// device's name.
#[tokio::test]
async fn a_lock_added_from_the_offered_devices_takes_the_devices_name() {
    let chat = spawn().await;
    sqlx::query("INSERT INTO simulated_devices (device_id, offline, battery_percent) VALUES ('sim-porch', false, 80)")
        .execute(&chat.app.db)
        .await
        .unwrap();
    let mut browser = sign_in(&chat, MANAGER).await;
    let page = format!("/admin/properties/{}", chat.property_id);
    let (_, html) = browser.get(&page).await;
    assert!(html.contains("<option value=\"sim-porch\">Simulated sim-porch (simulated"), "offered: {html}");
    let fields = [
        ("lock_name", ""),
        ("lock_room", ""),
        ("provider", "simulated"),
        ("device_id", "sim-porch"),
        ("code_format", "numeric"),
        ("code_length", "6"),
        ("capacity", "100"),
    ];
    assert_eq!(browser.post(&format!("{page}/locks"), &fields).await.status(), 303);
    let (_, html) = browser.get(&page).await;
    assert!(html.contains("Simulated sim-porch"), "the device's name: {html}");
    assert!(!html.contains("<option value=\"sim-porch\">"), "no longer offered once it is a lock");
    let again = browser.post(&format!("{page}/locks"), &fields).await;
    assert_eq!(again.status(), 409, "already a lock");
}
