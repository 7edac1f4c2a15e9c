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
