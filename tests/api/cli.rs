//! The `doorman` binary's start-up errors.

use std::process::Command;

fn doorman(vars: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_doorman"));
    command.args(args).env_remove("DATABASE_URL").env_remove("ADMIN_API_TOKEN").env_remove("BIND_ADDR");
    for (k, v) in vars {
        command.env(k, v);
    }
    command.output().expect("running doorman")
}

#[test]
fn a_malformed_setting_stops_the_start_and_names_the_variable() {
    let output = doorman(&[("BIND_ADDR", "localhost:eighty")], &["migrate"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("BIND_ADDR"), "{stderr}");

    let output = doorman(&[("SCHEDULER_TICK_MS", "-5")], &["serve"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("SCHEDULER_TICK_MS"));
}

#[test]
fn an_unreachable_database_is_a_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("postgres://postgres:s3cret-pw@127.0.0.1:{port}/doorman");
    let output = doorman(&[("DATABASE_URL", &url)], &["migrate"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("applying database migrations"), "{stderr}");
    assert!(!stderr.contains("s3cret-pw"), "the password leaked: {stderr}");
}

#[test]
fn unknown_subcommands_are_refused_with_usage() {
    let output = doorman(&[], &["launch"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("Usage"));
}

/// `doorman demo` with these settings, which must stop on its own: a demo
/// that starts serving is killed after a minute and fails the test.
async fn refused_demo(vars: &[(&str, &str)]) -> std::process::Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_doorman"));
    command.arg("demo").env_remove("DATABASE_URL").env_remove("ADMIN_API_TOKEN").env_remove("BIND_ADDR");
    for (k, v) in vars {
        command.env(k, v);
    }
    let child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("running doorman demo");
    tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("doorman demo refuses to start instead of serving")
        .expect("waiting for doorman demo")
}

#[tokio::test]
async fn demo_refuses_an_address_other_hosts_can_reach() {
    for addr in ["0.0.0.0:0", "[::]:0", "192.168.1.10:0"] {
        let output = refused_demo(&[("BIND_ADDR", addr)]).await;
        assert_eq!(output.status.code(), Some(2), "{addr}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("BIND_ADDR") && stderr.contains("not a loopback address"), "{stderr}");
    }
}

#[tokio::test]
async fn demo_refuses_a_database_that_holds_data_not_its_own() {
    let app = crate::helpers::TestApp::spawn().await;
    doorman::demo::check_database(&app.db).await.expect("an empty database is fine");
    doorman::demo::seed(&app.db).await.unwrap();
    doorman::demo::seed(&app.db).await.unwrap();
    doorman::demo::check_database(&app.db).await.expect("the demo's own data is fine");

    let other = serde_json::json!({ "name": "Riverside Rooms", "timezone": "Europe/Vienna" });
    assert_eq!(app.post("/api/v1/properties", &other).await.status(), 201);
    let refused = doorman::demo::check_database(&app.db).await.unwrap_err().to_string();
    assert!(refused.starts_with("DATABASE_URL: the database holds data that is not the demo's"), "{refused}");
    assert!(refused.contains("1 properties"), "{refused}");

    // The binary stops before it listens.
    let options = app.db.connect_options();
    let url = format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().expect("a test database name")
    );
    let output = refused_demo(&[("DATABASE_URL", &url), ("BIND_ADDR", "127.0.0.1:0")]).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DATABASE_URL: the database holds data that is not the demo's"), "{stderr}");
}
