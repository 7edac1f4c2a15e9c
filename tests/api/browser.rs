//! The console in a real browser: headless Chromium driven over WebDriver
//! (Debian's `chromium` and `chromium-driver`). Signs in with a `/login`
//! link, opens Today at 375 px and 1280 px, reveals a code, revokes a
//! stay in progress through the confirmation. Screenshots land in
//! `target/screenshots/` for a person to look at. Without Chromium the
//! test fails and says how to install it: it never skips.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use chrono::Duration;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::console::link_in;
use crate::conversation::{code_of, spawn, GUEST, MANAGER};

const INSTALL: &str = "apt-get install chromium chromium-driver";

fn find_binary(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    names.iter().find_map(|name| {
        std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]).map(|dir| dir.join(name)).find(|p| p.is_file())
    })
}

/// chromedriver on a free port, and the port once it says it listens.
async fn start_chromedriver(driver: &Path) -> (tokio::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = tokio::process::Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}; install it with `{INSTALL}`", driver.display()));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.contains("started successfully") {
            // Keep reading its output so that it never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return (child, port);
        }
    }
    panic!("chromedriver stopped before it listened; reinstall it with `{INSTALL}`");
}

async fn browser(chromium: &Path, port: u16, profile: &Path) -> Client {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
    ];
    let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), json!({ "binary": chromium, "args": args }));
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_or_else(|e| panic!("Chromium did not start through chromedriver: {e}; `{INSTALL}`"))
}

/// Makes the page `width` CSS pixels wide, whatever the window's frame.
async fn viewport(client: &Client, width: u32, height: u32) {
    client.set_window_size(width, height).await.unwrap();
    let inner = client.execute("return window.innerWidth", vec![]).await.unwrap().as_u64().unwrap() as u32;
    if inner != width {
        client.set_window_size(width + (width - inner.min(width)), height).await.unwrap();
    }
    let inner = client.execute("return window.innerWidth", vec![]).await.unwrap();
    assert_eq!(inner, json!(width), "the page is {width} px wide");
}

async fn screenshot(client: &Client, name: &str) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// The page's whole height, so that a screenshot shows all of it.
async fn full_height(client: &Client, width: u32) {
    let height = client.execute("return document.documentElement.scrollHeight", vec![]).await.unwrap();
    let height = height.as_u64().unwrap_or(800).clamp(600, 4000) as u32;
    viewport(client, width, height).await;
}

#[tokio::test]
async fn the_console_works_in_a_real_browser_at_phone_and_desktop_width() {
    let chromium = find_binary(&["chromium", "chromium-browser"])
        .unwrap_or_else(|| panic!("Chromium is not installed: the browser test needs it. Run `{INSTALL}`"));
    let driver = find_binary(&["chromedriver"])
        .unwrap_or_else(|| panic!("chromedriver is not installed: the browser test needs it. Run `{INSTALL}`"));
    let chat = spawn().await;
    let arriving = chat.book("BK-1", GUEST, "101", Duration::hours(5), json!({})).await;
    chat.book("BK-2", "421900000008", "102", -Duration::hours(20), json!({})).await;
    let link = link_in(&chat.say(MANAGER, "/login").await[0]);

    let (_driver, port) = start_chromedriver(&driver).await;
    let profile = tempdir();
    let client = browser(&chromium, port, &profile).await;
    viewport(&client, 375, 812).await;
    client.goto(&link).await.unwrap();
    client.find(Locator::Id("sign-in")).await.unwrap().click().await.unwrap();
    client.wait().for_element(Locator::Css("nav")).await.unwrap();
    let url = client.current_url().await.unwrap();
    assert_eq!(url.path(), "/admin", "signed in, on Today");
    let today = client.source().await.unwrap();
    assert!(today.contains("BK-1") && today.contains("Arrivals"), "{today}");
    assert!(!today.contains(&code_of(&arriving)));
    // Nothing is wider than the phone.
    let scroll = client.execute("return document.documentElement.scrollWidth", vec![]).await.unwrap();
    assert_eq!(scroll, json!(375), "Today fits 375 px without sideways scrolling");
    full_height(&client, 375).await;
    screenshot(&client, "today-375").await;
    viewport(&client, 1280, 900).await;
    client.refresh().await.unwrap();
    full_height(&client, 1280).await;
    screenshot(&client, "today-1280").await;

    // Reveal a code: the button, the value, a copy button.
    viewport(&client, 375, 812).await;
    client.goto(&format!("{}/admin/bookings/BK-1", chat.app.address)).await.unwrap();
    full_height(&client, 375).await;
    screenshot(&client, "booking-375").await;
    viewport(&client, 1280, 900).await;
    full_height(&client, 1280).await;
    screenshot(&client, "booking-1280").await;
    client.find(Locator::Id("reveal")).await.unwrap().click().await.unwrap();
    let shown = client.wait().for_element(Locator::Css(".revealed")).await.unwrap().text().await.unwrap();
    assert_eq!(shown, code_of(&arriving));
    viewport(&client, 1280, 900).await;
    full_height(&client, 1280).await;
    screenshot(&client, "booking-revealed-1280").await;

    // Revoke a stay in progress: it asks first.
    viewport(&client, 375, 812).await;
    client.goto(&format!("{}/admin/bookings/BK-2", chat.app.address)).await.unwrap();
    client.find(Locator::Id("revoke")).await.unwrap().click().await.unwrap();
    client.wait().for_element(Locator::Id("confirm")).await.unwrap();
    let question = client.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
    assert!(question.contains("in progress"), "{question}");
    screenshot(&client, "revoke-confirm-375").await;
    client.find(Locator::Id("confirm")).await.unwrap().click().await.unwrap();
    let note = client.wait().for_element(Locator::Css(".note")).await.unwrap().text().await.unwrap();
    assert!(note.contains("being removed"), "{note}");
    let booking: Value = chat.app.get("/api/v1/bookings/BK-2").await.json().await.unwrap();
    assert!(booking["codes"].as_array().unwrap().iter().all(|c| c["state"] == "removing"), "{booking}");
    client.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&profile);
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("doorman-chromium-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
