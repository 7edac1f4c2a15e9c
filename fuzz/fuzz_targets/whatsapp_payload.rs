//! A WhatsApp Cloud API webhook body, as `POST /webhooks/whatsapp` reads it:
//! the signature check, the JSON, the events, and the JSON the inbox stores
//! and the job reads back.
#![no_main]

use doorman::channels::whatsapp::{sign, signature_is_valid, Webhook};
use doorman::channels::InboundEvent;
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"fuzz-app-secret";

fuzz_target!(|data: &[u8]| {
    // The header is the input's first line, so the fuzzer also tries
    // malformed `sha256=` values; a correct signature must always pass.
    let first_line = data.split(|b| *b == b'\n').next().unwrap_or_default();
    let header = String::from_utf8_lossy(first_line);
    let _ = signature_is_valid(SECRET, data, Some(&header));
    let _ = signature_is_valid(SECRET, data, None);
    let _ = signature_is_valid(b"", data, Some(&header));
    assert!(signature_is_valid(SECRET, data, Some(&sign(SECRET, data))));

    let Ok(webhook) = serde_json::from_slice::<Webhook>(data) else {
        return;
    };
    // The number of the first change, and a clock at the start of time: no
    // message is left out as stale, every event is read.
    let raw: serde_json::Value = serde_json::from_slice(data).unwrap_or_default();
    let number = raw["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"].as_str().unwrap_or_default();
    for event in webhook.into_events(number, chrono::DateTime::<chrono::Utc>::MIN_UTC).events {
        let _ = (event.provider_id(), event.kind());
        // `inbox::accept` stores this (with `expect`); `inbox::process`
        // must read it back.
        let stored = serde_json::to_value(&event).expect("events serialize");
        let read: InboundEvent = serde_json::from_value(stored).expect("a stored event reads back");
        assert_eq!(read, event);
    }
});
