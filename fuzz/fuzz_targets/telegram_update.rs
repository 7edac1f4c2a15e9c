//! A Telegram update body, as `POST /webhooks/telegram` reads it: the raw
//! JSON and its `update_id`, teloxide's `Update`, the event, and the JSON
//! the inbox stores and the job reads back.
#![no_main]

use doorman::channels::{telegram, InboundEvent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Some(update_id) = raw.get("update_id").and_then(serde_json::Value::as_u64) else {
        return;
    };
    let _ = update_id.to_string();
    // From the bytes, as the handler does: teloxide reads update kinds from
    // borrowed keys.
    let Some(event) =
        serde_json::from_slice::<teloxide_core::types::Update>(data).ok().and_then(|u| telegram::update_event(&u))
    else {
        return;
    };
    let _ = (event.provider_id(), event.kind());
    let stored = serde_json::to_value(&event).expect("events serialize");
    let read: InboundEvent = serde_json::from_value(stored).expect("a stored event reads back");
    assert_eq!(read, event);
});
