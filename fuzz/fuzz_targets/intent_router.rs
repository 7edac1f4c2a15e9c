//! A guest's message through the router: the model's folding and
//! probabilities, the lexicon's folding, scores and verdict, and the
//! combined verdict.
#![no_main]

use doorman::conversation::model;
use doorman::conversation::router::{classify, classify_by_rules, explain, fold, LANGUAGES};
use libfuzzer_sys::fuzz_target;

fn folded_ok(folded: &str) -> bool {
    folded.bytes().all(|b| b == b' ' || b.is_ascii_lowercase() || b.is_ascii_digit())
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    assert!(folded_ok(&fold(&text)));
    assert!(folded_ok(&model::fold(&text)));
    for (_, score) in explain(&text) {
        assert!(score.is_finite() && score > 0.0);
    }
    let prediction = model::predict(&text).expect("the model is compiled in");
    let total: f32 = prediction.intents.iter().map(|(_, p)| p).sum();
    assert!((total - 1.0).abs() < 1e-3, "{prediction:?}");
    assert!(prediction.language.1.is_finite() && LANGUAGES.contains(&prediction.language.0));
    for verdict in [classify(&text), classify_by_rules(&text)] {
        assert!((0.0..=1.0).contains(&verdict.confidence), "{verdict:?}");
        assert!(verdict.language.is_none_or(|l| LANGUAGES.contains(&l)), "{verdict:?}");
    }
});
