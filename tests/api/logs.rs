//! The redaction layer on the test run's own log file.

use crate::helpers::{capture_logs, TestApp, TOKEN};

#[tokio::test]
async fn a_code_a_phone_number_and_a_token_never_reach_the_log_in_full() {
    // Building the app registers its configured secrets (the admin token).
    let _app = TestApp::spawn().await;
    let path = capture_logs();
    let marker = uuid::Uuid::new_v4().to_string();
    tracing::warn!(%marker, phone = "+421900000777", token = TOKEN, "code 5813 sent to +421 900 000 777");

    let log = std::fs::read_to_string(path).unwrap();
    let line = log.lines().find(|line| line.contains(&marker)).expect("the line reached the log");
    let record: serde_json::Value = serde_json::from_str(line).expect("a JSON record");
    assert_eq!(record["message"], "code •••• sent to +••••777");
    assert_eq!(record["phone"], "+••••777");
    assert_eq!(record["token"], "[redacted]");
    for secret in ["5813", "421900000777", "900 000 777", TOKEN] {
        assert!(!line.contains(secret), "{secret} in {line}");
    }
}
