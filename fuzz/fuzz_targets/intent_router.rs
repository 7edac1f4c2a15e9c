//! A guest's message through the router: the folding, the model's
//! probabilities, the router's verdict and the lock-problem phrases.
#![no_main]

use doorman::conversation::catalog::LANGUAGES;
use doorman::conversation::model;
use doorman::conversation::router::{classify, reads_as_lock_problem};
use libfuzzer_sys::fuzz_target;

fn folded_ok(folded: &str) -> bool {
    folded.bytes().all(|b| b == b' ' || b.is_ascii_lowercase() || b.is_ascii_digit())
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    assert!(folded_ok(&model::fold(&text)));
    std::hint::black_box(reads_as_lock_problem(&text));
    let prediction = model::predict(&text).expect("the model is compiled in");
    let total: f32 = prediction.intents.iter().map(|(_, p)| p).sum();
    assert!((total - 1.0).abs() < 1e-3, "{prediction:?}");
    assert!(prediction.language.1.is_finite() && LANGUAGES.contains(&prediction.language.0));
    let verdict = classify(&text);
    assert!((0.0..=1.0).contains(&verdict.confidence), "{verdict:?}");
    assert!(verdict.language.is_none_or(|l| LANGUAGES.contains(&l)), "{verdict:?}");
});
