//! A guest's message through the rule router: folding, the raw scores and
//! the verdict.
#![no_main]

use doorman::conversation::router::{classify, explain, fold, LANGUAGES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let folded = fold(&text);
    assert!(folded.bytes().all(|b| b == b' ' || b.is_ascii_lowercase() || b.is_ascii_digit()), "{folded:?}");
    for (_, score) in explain(&text) {
        assert!(score.is_finite() && score > 0.0);
    }
    let verdict = classify(&text);
    assert!((0.0..=1.0).contains(&verdict.confidence), "{verdict:?}");
    assert!(verdict.language.is_none_or(|l| LANGUAGES.contains(&l)), "{verdict:?}");
});
