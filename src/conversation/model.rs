//! The router's statistical model: two multinomial logistic regressions
//! (the intent, the language) over character n-grams, trained by `scripts/train_router.py` on the labelled
//! messages in `data/` and shipped in the binary (`data/router_model.tsv`).
//!
//! Features are sklearn's `TfidfVectorizer(analyzer="char_wb",
//! ngram_range=(2, 5), sublinear_tf=True)` over [`fold`]: every word padded
//! with a space on each side, its n-grams of 2 to 5 characters counted,
//! `1 + ln(count)` times the n-gram's idf, the vector scaled to length 1.
//! The intents' scores are the weights' dot products plus an intercept,
//! turned into probabilities with a softmax. A unit test checks the
//! probabilities against the ones the training script computed.

use std::sync::LazyLock;

use rustc_hash::FxHashMap;
use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::UnicodeNormalization;

use super::catalog::LANGUAGES;
use super::router::Intent;

const MODEL: &str = include_str!("../../data/router_model.tsv");

/// The parsed model.
struct Model {
    classes: Vec<Intent>,
    intercepts: Vec<f32>,
    languages: Vec<&'static str>,
    language_intercepts: Vec<f32>,
    /// n-gram (packed by [`key`]) → its row in `idf` and `weights`.
    rows: FxHashMap<u32, u32>,
    idf: Vec<f32>,
    /// A weight per intent then per language, row after row.
    weights: Vec<f32>,
}

/// An n-gram of up to 5 characters of `a-z`, `0-9` and space, packed in a
/// number (base 38, no zero digit, so lengths never collide).
fn key(ngram: &[u8]) -> Option<u32> {
    if ngram.len() > 5 {
        return None;
    }
    ngram.iter().try_fold(0_u32, |packed, byte| {
        let digit = match byte {
            b' ' => 1,
            b'a'..=b'z' => u32::from(byte - b'a') + 2,
            b'0'..=b'9' => u32::from(byte - b'0') + 28,
            _ => return None,
        };
        Some(packed * 38 + digit)
    })
}

static PARSED: LazyLock<Option<Model>> = LazyLock::new(|| match parse(MODEL) {
    Ok(model) => Some(model),
    Err(e) => {
        tracing::error!(error = %e, "the router model does not parse: every message is unknown");
        None
    }
});

fn parse(text: &'static str) -> Result<Model, String> {
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let mut row = |name: &str| -> Result<Vec<&'static str>, String> {
        let line = lines.next().ok_or_else(|| format!("no {name} line"))?;
        let mut fields = line.split('\t');
        match fields.next() {
            Some(first) if first == name => Ok(fields.collect()),
            _ => Err(format!("expected the {name} line")),
        }
    };
    let classes = row("classes")?
        .into_iter()
        .map(|c| Intent::parse(c).ok_or_else(|| format!("unknown intent {c}")))
        .collect::<Result<Vec<_>, _>>()?;
    let number = |field: &str| field.parse::<f32>().map_err(|e| format!("{field}: {e}"));
    let intercepts = row("intercepts")?.into_iter().map(number).collect::<Result<Vec<_>, _>>()?;
    let languages = row("languages")?
        .into_iter()
        .map(|l| LANGUAGES.iter().copied().find(|known| *known == l).ok_or_else(|| format!("unknown language {l}")))
        .collect::<Result<Vec<_>, _>>()?;
    let language_intercepts = row("language_intercepts")?.into_iter().map(number).collect::<Result<Vec<_>, _>>()?;
    let width = classes.len() + languages.len();
    let (mut rows, mut idfs, mut weights) = (FxHashMap::default(), Vec::new(), Vec::new());
    for line in lines {
        let mut fields = line.split('\t');
        let (Some(ngram), Some(idf)) = (fields.next(), fields.next()) else {
            return Err(format!("a short line: {line:?}"));
        };
        let packed = key(ngram.as_bytes()).ok_or_else(|| format!("{ngram:?} is not a folded n-gram"))?;
        let before = weights.len();
        for weight in fields {
            weights.push(number(weight)?);
        }
        if weights.len() - before != width {
            return Err(format!("{ngram:?} has {} weights, not {width}", weights.len() - before));
        }
        rows.insert(packed, u32::try_from(idfs.len()).map_err(|e| e.to_string())?);
        idfs.push(number(idf)?);
    }
    if intercepts.len() != classes.len() || language_intercepts.len() != languages.len() || rows.is_empty() {
        return Err("intercepts or features missing".into());
    }
    Ok(Model { classes, intercepts, languages, language_intercepts, rows, idf: idfs, weights })
}

/// Lower case, accents stripped (NFKD without combining marks), anything
/// but `a-z` and `0-9` a space, spaces collapsed: the training script's
/// `fold`, character for character. The one folding of guest text: the
/// router's phrases and the LLM's checks read it too.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    let mut push = |c: char| {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    };
    if text.is_ascii() {
        text.chars().for_each(|c| push(c.to_ascii_lowercase()));
    } else {
        text.to_lowercase().nfkd().filter(|c| canonical_combining_class(*c) == 0).for_each(push);
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// What the model makes of a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The intents with their probabilities, most likely first.
    pub intents: Vec<(Intent, f32)>,
    /// The most likely language (ISO 639-1) and its probability.
    pub language: (&'static str, f32),
}

/// The model's reading of `text`; `None` when the model is missing (it is
/// compiled in: only a broken build).
pub fn predict(text: &str) -> Option<Prediction> {
    let model = PARSED.as_ref()?;
    let folded = fold(text);
    // Every word with a space on each side, one buffer: " cafe  wifi ".
    let mut padded = String::with_capacity(folded.len() * 2 + 2);
    let mut words = Vec::new();
    for word in folded.split(' ').filter(|w| !w.is_empty()) {
        let start = padded.len();
        padded.push(' ');
        padded.push_str(word);
        padded.push(' ');
        words.push(start..padded.len());
    }
    let mut ngrams: Vec<u32> = Vec::with_capacity(padded.len() * 4);
    for range in words {
        // ASCII only after folding: byte offsets are character offsets.
        let word = &padded.as_bytes()[range];
        for n in 2..=5 {
            if word.len() <= n {
                // A word no longer than n counts once, whole, and ends the
                // longer n-grams (sklearn's char_wb).

                ngrams.extend(key(word));
                break;
            }
            ngrams.extend(word.windows(n).filter_map(key));
        }
    }
    ngrams.sort_unstable();
    let classes = model.classes.len();
    let width = classes + model.languages.len();
    let mut scores = model.intercepts.clone();
    scores.extend_from_slice(&model.language_intercepts);
    let mut known: Vec<(f32, &[f32])> = Vec::with_capacity(ngrams.len());
    let mut norm = 0.0_f32;
    for run in ngrams.chunk_by(|a, b| a == b) {
        if let Some(&row) = model.rows.get(&run[0]) {
            let row = row as usize;
            let value = (1.0 + (run.len() as f32).ln()) * model.idf[row];
            norm += value * value;
            known.push((value, &model.weights[row * width..(row + 1) * width]));
        }
    }
    let norm = norm.sqrt();
    if norm > 0.0 {
        for (value, weights) in known {
            let value = value / norm;
            for (score, weight) in scores.iter_mut().zip(weights) {
                *score += value * weight;
            }
        }
    }
    let (intent_scores, language_scores) = scores.split_at(classes);
    let mut intents: Vec<(Intent, f32)> = model.classes.iter().copied().zip(softmax(intent_scores)).collect();
    intents.sort_by(|a, b| b.1.total_cmp(&a.1));
    let language = model
        .languages
        .iter()
        .copied()
        .zip(softmax(language_scores))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or(("en", 0.0));
    Some(Prediction { intents, language })
}

fn softmax(scores: &[f32]) -> Vec<f32> {
    let top = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = scores.iter().map(|s| (s - top).exp()).collect();
    let total: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_parses_and_matches_the_training_scripts_probabilities() {
        let model = PARSED.as_ref().expect("the model parses");
        let check = include_str!("../../data/router_model_check.tsv");
        for line in check.lines() {
            let mut fields = line.split('\t');
            let text = fields.next().unwrap();
            let expected: Vec<f32> = fields.map(|p| p.parse().unwrap()).collect();
            let prediction = predict(text).unwrap();
            let (intents, languages) = expected.split_at(model.classes.len());
            for (class, want) in model.classes.iter().zip(intents) {
                let got = prediction.intents.iter().find(|(i, _)| i == class).unwrap().1;
                assert!((got - want).abs() < 2e-3, "{text:?} {class:?}: {got} vs {want}");
            }
            let (best, probability) = prediction.language;
            let at = model.languages.iter().position(|l| *l == best).unwrap();
            assert!((probability - languages[at]).abs() < 2e-3, "{text:?} {best}: {probability} vs {}", languages[at]);
            assert!(languages.iter().all(|p| *p <= languages[at] + 1e-6), "{text:?}: {best} is the most likely");
        }
    }

    #[test]
    fn folding_matches_the_training_script() {
        assert_eq!(fold("Dobrý deň, chcel by som hovoriť s majiteľom!"), "dobry den chcel by som hovorit s majitelom");
        assert_eq!(fold("  ¿Qué   HORA? 😊 "), "que hora");
        assert_eq!(fold("Straße Łódź"), "stra e odz");
    }
}
