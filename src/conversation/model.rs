//! The router's statistical model: two multinomial logistic regressions
//! (the intent, the language) over character n-grams, trained by `scripts/train_router.py` on the labelled
//! messages in `data/` and shipped in the binary (`data/router_model.tsv`).
//!
//! Features are sklearn's `TfidfVectorizer(analyzer="char_wb",
//! ngram_range=(2, 5), sublinear_tf=True)` over [`fold`]: every word padded
//! with a space on each side, its n-grams of 2 to 5 characters counted,
//! `1 + ln(count)` times the n-gram's idf, the vector scaled to length 1;
//! beside them, the folded text's words and word pairs, weighed the same
//! way and scaled to length 1 on their own.
//! The intents' scores are the weights' dot products plus an intercept,
//! plus the weights of the bot's previous intent when the message answers
//! one, turned into probabilities with a softmax. The file also carries the
//! router's abstention thresholds, chosen by the script on a dev set. A unit
//! test checks the probabilities against the ones the training script
//! computed.

use std::sync::LazyLock;

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
    /// The router's abstention: the best intent's least probability, and
    /// its least lead over the second (chosen by the training script).
    thresholds: Thresholds,
    /// The bot's previous intents the model knows, each with what it adds
    /// to every intent's score.
    previous: Vec<(Intent, Vec<f32>)>,
    /// n-gram (packed by [`key`]) → its row in `idf` and `weights`.
    rows: Table<u32>,
    /// Word or word pair (hashed by [`word_hash`]) → its row, after the
    /// n-grams' rows.
    words: Table<u64>,
    idf: Vec<f32>,
    /// A weight per intent then per language, row after row.
    weights: Vec<f32>,
}

/// When the router takes the model's best intent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// The best intent's probability must reach this.
    pub probability: f32,
    /// And lead the second by this much.
    pub margin: f32,
}

/// An open-addressing table of keys → rows: one multiply and, mostly, one
/// probe; far fewer cache lines than a general map. Keys are packed
/// n-grams (`u32`) or hashed words (`u64`); key 0 marks an empty slot (no
/// n-gram packs to 0, and a word hashing to 0 is refused on load).
struct Table<K> {
    slots: Vec<(K, u32)>,
    shift: u32,
}

/// A key of a [`Table`].
trait Key: Copy + Eq + Default {
    /// Its slot in a table of `2^(bits)` slots, `shift` = width − bits.
    fn home(self, shift: u32) -> usize;
}

impl Key for u32 {
    fn home(self, shift: u32) -> usize {
        (self.wrapping_mul(0x9E37_79B1) >> shift) as usize
    }
}

impl Key for u64 {
    fn home(self, shift: u32) -> usize {
        (self.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
    }
}

impl<K: Key> Table<K> {
    fn new(entries: &[(K, u32)]) -> Self {
        let bits = (entries.len().max(1) * 2).next_power_of_two().trailing_zeros().max(4);
        let width = (std::mem::size_of::<K>() * 8) as u32;
        let mut table = Self { slots: vec![(K::default(), 0); 1 << bits], shift: width - bits };
        for &(key, row) in entries {
            let mut at = key.home(table.shift);
            while table.slots[at].0 != K::default() {
                at = (at + 1) & (table.slots.len() - 1);
            }
            table.slots[at] = (key, row);
        }
        table
    }

    fn get(&self, key: K) -> Option<u32> {
        let mut at = key.home(self.shift);
        loop {
            match self.slots[at] {
                (k, _) if k == K::default() => return None,
                (k, row) if k == key => return Some(row),
                _ => at = (at + 1) & (self.slots.len() - 1),
            }
        }
    }
}

/// The value of a byte of folded text in a packed n-gram (base 38, no zero
/// digit, so lengths never collide); 0 for anything else.
const fn digit(byte: u8) -> u32 {
    match byte {
        b' ' => 1,
        b'a'..=b'z' => (byte - b'a') as u32 + 2,
        b'0'..=b'9' => (byte - b'0') as u32 + 28,
        _ => 0,
    }
}

/// An n-gram of up to 5 characters of `a-z`, `0-9` and space, packed in a
/// number.
fn key(ngram: &[u8]) -> Option<u32> {
    if ngram.len() > 5 {
        return None;
    }
    ngram.iter().try_fold(0_u32, |packed, &byte| match digit(byte) {
        0 => None,
        d => Some(packed * 38 + d),
    })
}

static PARSED: LazyLock<Option<Model>> = LazyLock::new(|| match parse(MODEL) {
    Ok(model) => Some(model),
    Err(e) => {
        tracing::error!(error = %e, "the router model does not parse: every message is unknown");
        None
    }
});

/// The model's header lines: `name<TAB>field<TAB>field…`, in order.
struct Header<'a, I: Iterator<Item = &'a str>> {
    lines: I,
}

impl<'a, I: Iterator<Item = &'a str>> Header<'a, I> {
    fn row(&mut self, name: &str) -> Result<Vec<&'a str>, String> {
        let line = self.lines.next().ok_or_else(|| format!("no {name} line"))?;
        let mut fields = line.split('\t');
        match fields.next() {
            Some(first) if first == name => Ok(fields.collect()),
            _ => Err(format!("expected the {name} line")),
        }
    }

    fn numbers(&mut self, name: &str) -> Result<Vec<f32>, String> {
        self.row(name)?.into_iter().map(number).collect()
    }
}

fn number(field: &str) -> Result<f32, String> {
    field.parse::<f32>().map_err(|e| format!("{field}: {e}"))
}

fn intent(name: &str) -> Result<Intent, String> {
    Intent::parse(name).ok_or_else(|| format!("unknown intent {name}"))
}

fn parse(text: &'static str) -> Result<Model, String> {
    let mut header = Header { lines: text.lines().filter(|l| !l.starts_with('#')) };
    let classes = header.row("classes")?.into_iter().map(intent).collect::<Result<Vec<_>, _>>()?;
    let intercepts = header.numbers("intercepts")?;
    let languages = header
        .row("languages")?
        .into_iter()
        .map(|l| LANGUAGES.iter().copied().find(|known| *known == l).ok_or_else(|| format!("unknown language {l}")))
        .collect::<Result<Vec<_>, _>>()?;
    let language_intercepts = header.numbers("language_intercepts")?;
    let thresholds = match header.numbers("thresholds")?[..] {
        [probability, margin] => Thresholds { probability, margin },
        _ => return Err("thresholds: a probability and a margin".into()),
    };
    let mut previous = Vec::new();
    for name in header.row("previous")? {
        let weights = header.numbers(&format!("@{name}"))?;
        if weights.len() != classes.len() {
            return Err(format!("@{name} has {} weights, not {}", weights.len(), classes.len()));
        }
        previous.push((intent(name)?, weights));
    }
    if classes.len() + languages.len() > 32 {
        return Err("more than 32 intents and languages".into());
    }
    let (rows, words, idf, weights) = parse_features(header.lines, classes.len() + languages.len())?;
    if intercepts.len() != classes.len() || language_intercepts.len() != languages.len() || idf.is_empty() {
        return Err("intercepts or features missing".into());
    }
    Ok(Model { classes, intercepts, languages, language_intercepts, thresholds, previous, rows, words, idf, weights })
}

/// The n-gram and word rows of the model.
type Features = (Table<u32>, Table<u64>, Vec<f32>, Vec<f32>);

/// The feature lines: `ngram<TAB>idf<TAB>weight…`, `width` weights each,
/// then `=word<TAB>idf<TAB>weight…` for each word and word pair.
fn parse_features<'a>(lines: impl Iterator<Item = &'a str>, width: usize) -> Result<Features, String> {
    let (mut entries, mut words, mut idfs, mut weights) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut hashes = std::collections::HashSet::new();
    for line in lines {
        let mut fields = line.split('\t');
        let (Some(feature), Some(idf)) = (fields.next(), fields.next()) else {
            return Err(format!("a short line: {line:?}"));
        };
        let before = weights.len();
        for weight in fields {
            weights.push(number(weight)?);
        }
        if weights.len() - before != width {
            return Err(format!("{feature:?} has {} weights, not {width}", weights.len() - before));
        }
        let row = u32::try_from(idfs.len()).map_err(|e| e.to_string())?;
        match feature.strip_prefix('=') {
            Some(word) => {
                let valid = !word.is_empty() && word.bytes().all(|b| digit(b) != 0) && !word.contains("  ");
                let hash = word_hash(word.as_bytes());
                if !valid || hash == 0 || !hashes.insert(hash) {
                    return Err(format!("{word:?} is not a folded word, or its hash is taken"));
                }
                words.push((hash, row));
            }
            None => {
                let packed = key(feature.as_bytes()).ok_or_else(|| format!("{feature:?} is not a folded n-gram"))?;
                entries.push((packed, row));
            }
        }
        idfs.push(number(idf)?);
    }
    Ok((Table::new(&entries), Table::new(&words), idfs, weights))
}

/// FNV-1a over bytes, continued from `hash`.
fn fnv(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3))
}

/// The key of a folded word or word pair (`"door code"`).
fn word_hash(word: &[u8]) -> u64 {
    fnv(0xcbf2_9ce4_8422_2325, word)
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
        text.bytes().for_each(|b| push(char::from(b.to_ascii_lowercase())));
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
    predict_folded(&fold(text), None)
}

/// The model's reading of `text` written right after the bot answered
/// `previous`.
pub fn predict_after(text: &str, previous: Option<Intent>) -> Option<Prediction> {
    predict_folded(&fold(text), previous)
}

/// The thresholds the router abstains below.
pub fn thresholds() -> Option<Thresholds> {
    PARSED.as_ref().map(|m| m.thresholds)
}

/// [`predict_after`] of text already [`fold`]ed.
pub fn predict_folded(folded: &str, previous: Option<Intent>) -> Option<Prediction> {
    let model = PARSED.as_ref()?;
    let rows = known_ngrams(model, folded);
    let classes = model.classes.len();
    let width = classes + model.languages.len();
    let mut scores = [0.0_f32; 32];
    let scores = &mut scores[..width.min(32)];
    scores[..classes].copy_from_slice(&model.intercepts);
    scores[classes..].copy_from_slice(&model.language_intercepts);
    // Each block on its own: sklearn's sublinear tf-idf, `1 + ln(count)`
    // times the idf, the block's vector scaled to length 1.
    add_block(model, &rows, scores);
    add_block(model, &known_words(model, folded), scores);
    if let Some((_, weights)) = model.previous.iter().find(|(p, _)| Some(*p) == previous) {
        scores[..classes].iter_mut().zip(weights).for_each(|(score, w)| *score += w);
    }
    let (intent_scores, language_scores) = scores.split_at_mut(classes);
    softmax(intent_scores);
    let mut intents: Vec<(Intent, f32)> = model.classes.iter().copied().zip(intent_scores.iter().copied()).collect();
    intents.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
    softmax(language_scores);
    let language = model
        .languages
        .iter()
        .copied()
        .zip(language_scores.iter().copied())
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or(("en", 0.0));
    Some(Prediction { intents, language })
}

/// Adds a block of features (their rows, sorted, a row once per
/// occurrence) to the scores.
fn add_block(model: &Model, rows: &[u32], scores: &mut [f32]) {
    let width = scores.len();
    let mut values: Vec<(f32, usize)> = Vec::with_capacity(rows.len());
    let mut norm = 0.0_f32;
    for run in rows.chunk_by(|a, b| a == b) {
        let row = run[0] as usize;
        let tf = if run.len() == 1 { 1.0 } else { 1.0 + (run.len() as f32).ln() };
        let value = tf * model.idf[row];
        norm += value * value;
        values.push((value, row));
    }
    if norm > 0.0 {
        let scale = norm.sqrt().recip();
        for (value, row) in values {
            let value = value * scale;
            for (score, weight) in scores.iter_mut().zip(&model.weights[row * width..(row + 1) * width]) {
                *score += value * weight;
            }
        }
    }
}

/// The rows of the words and word pairs of `folded` the model knows,
/// sorted, a row once per occurrence (sklearn's `analyzer="word"`,
/// `ngram_range=(1, 2)` over the folded text's words).
fn known_words(model: &Model, folded: &str) -> Vec<u32> {
    let tokens: Vec<&[u8]> = folded.as_bytes().split(|b| *b == b' ').filter(|w| !w.is_empty()).collect();
    let mut rows = Vec::with_capacity(tokens.len() * 2);
    for (i, token) in tokens.iter().enumerate() {
        let hash = word_hash(token);
        rows.extend(model.words.get(hash));
        if let Some(next) = tokens.get(i + 1) {
            rows.extend(model.words.get(fnv(fnv(hash, b" "), next)));
        }
    }
    rows.sort_unstable();
    rows
}

/// The rows of the n-grams of `folded` the model knows, sorted, a row once
/// per occurrence. sklearn's `char_wb`: every word padded with a space on
/// each side, its n-grams of 2 to 5 characters, a padded word of fewer
/// characters counted once, whole.
fn known_ngrams(model: &Model, folded: &str) -> Vec<u32> {
    let mut rows: Vec<u32> = Vec::with_capacity(folded.len() * 4 + 8);
    let mut lookup = |packed: u32| {
        if let Some(row) = model.rows.get(packed) {
            rows.push(row);
        }
    };
    // ASCII only after folding: bytes are characters.
    for word in folded.as_bytes().split(|b| *b == b' ').filter(|w| !w.is_empty()) {
        let padded = word.len() + 2;
        let at = |i: usize| if i == 0 || i == padded - 1 { 1 } else { digit(word[i - 1]) };
        for start in 0..padded - 1 {
            let mut packed = at(start);
            for end in start + 1..(start + 5).min(padded) {
                packed = packed * 38 + at(end);
                lookup(packed);
            }
        }
    }
    rows.sort_unstable();
    rows
}

/// Scores to probabilities, in place.
fn softmax(scores: &mut [f32]) {
    let top = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut total = 0.0;
    for score in scores.iter_mut() {
        *score = (*score - top).exp();
        total += *score;
    }
    scores.iter_mut().for_each(|s| *s /= total);
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
            let previous = fields.next().and_then(Intent::parse);
            let expected: Vec<f32> = fields.map(|p| p.parse().unwrap()).collect();
            let prediction = predict_after(text, previous).unwrap();
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
