//! Accuracy of the router on the labelled messages in `data/`, per
//! language, with the confidently-wrong rate and how often the reply's
//! language is right.
//!
//!     cargo run --release --example router_eval [SPLIT] [--errors]
//!
//! SPLIT: `tune`, `holdout` or `all` (the splits of `data/intents.tsv`);
//! `unseen`, `blind2`, `blind3`, `train4`, `train5`, `blind6`, `train7`,
//! `blind7`, `train8`, `blind8`
//! (`data/intents_<split>.tsv`: language, intent, text); `context5`,
//! `context6`, `context7train`, `context7`, `context8train`, `context8`
//! (`data/intents_<split>.tsv`: language, previous, intent,
//! text, each message classified after the bot's previous intent).
//! `--errors` lists the misses with the model's three most likely intents.

use std::collections::BTreeMap;

use doorman::conversation::model;
use doorman::conversation::router::{classify_after, Intent};

/// How a set's lines are laid out.
#[derive(Clone, Copy, PartialEq)]
enum Layout {
    /// language, intent, split, text.
    Split,
    /// language, intent, text.
    Plain,
    /// language, previous, intent, text.
    Context,
}

/// One labelled message.
struct Labelled<'a> {
    language: &'a str,
    previous: Option<Intent>,
    expected: Intent,
    text: &'a str,
}

/// Per language: messages, right, confidently wrong, reply language right.
type Tally = (usize, usize, usize, usize);

fn main() {
    let split = std::env::args().nth(1).filter(|a| !a.starts_with("--")).unwrap_or_else(|| "holdout".into());
    let show_errors = std::env::args().any(|a| a == "--errors");
    let (file, layout) = match split.as_str() {
        "tune" | "holdout" | "all" => ("data/intents.tsv".to_owned(), Layout::Split),
        s if s.starts_with("context") => (format!("data/intents_{s}.tsv"), Layout::Context),
        s => (format!("data/intents_{s}.tsv"), Layout::Plain),
    };
    let data = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut per_language: BTreeMap<String, Tally> = BTreeMap::new();
    for line in data.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let Some(labelled) = parse(line, layout, &split) else { continue };
        let got = classify_after(labelled.text, labelled.previous);
        let entry = per_language.entry(labelled.language.to_owned()).or_default();
        entry.0 += 1;
        // The reply is in the message's language, else English.
        if got.language.unwrap_or("en") == labelled.language {
            entry.3 += 1;
        }
        if got.intent == labelled.expected {
            entry.1 += 1;
            continue;
        }
        if got.intent != Intent::Unknown && !got.unsure {
            entry.2 += 1;
        }
        if show_errors {
            print_error(&labelled, got.intent, got.confidence);
        }
    }
    print_table(&split, &per_language);
}

/// A line of the set, `None` when it is not of `split` (`data/intents.tsv`).
fn parse<'a>(line: &'a str, layout: Layout, split: &str) -> Option<Labelled<'a>> {
    let intent = |name: &str| Intent::parse(name).unwrap_or_else(|| panic!("{name:?} is not an intent: {line:?}"));
    let fields: Vec<&str> = line.splitn(if layout == Layout::Plain { 3 } else { 4 }, '\t').collect();
    let (language, previous, expected, text) = match (layout, &fields[..]) {
        (Layout::Split, [language, expected, line_split, text]) => {
            if split != "all" && line_split != &split {
                return None;
            }
            (*language, None, intent(expected), *text)
        }
        (Layout::Plain, [language, expected, text]) => (*language, None, intent(expected), *text),
        (Layout::Context, [language, previous, expected, text]) => {
            (*language, Intent::parse(previous), intent(expected), *text)
        }
        _ => panic!("a line with the wrong number of fields: {line:?}"),
    };
    Some(Labelled { language, previous, expected, text })
}

fn print_error(labelled: &Labelled, got: Intent, confidence: f32) {
    let top = model::predict_after(labelled.text, labelled.previous).map(|p| p.intents).unwrap_or_default();
    let scores: Vec<String> = top.iter().take(3).map(|(i, p)| format!("{}={p:.2}", i.as_str())).collect();
    let previous = labelled.previous.map_or("-", Intent::as_str);
    println!(
        "{}\t{previous}\t{}\t{}\t{confidence:.2}\t{}\t{}",
        labelled.language,
        labelled.expected.as_str(),
        got.as_str(),
        labelled.text,
        scores.join(" ")
    );
}

fn print_table(split: &str, per_language: &BTreeMap<String, Tally>) {
    let (mut total, mut right, mut confidently_wrong, mut languages) = (0, 0, 0, 0);
    println!("| language | messages | accuracy | confidently wrong | reply language right |");
    println!("|---|---|---|---|---|");
    let percent = |part: usize, whole: usize| 100.0 * part as f64 / whole.max(1) as f64;
    for (language, (n, ok, wrong, told)) in per_language {
        println!(
            "| {language} | {n} | {:.1} % | {:.1} % | {:.1} % |",
            percent(*ok, *n),
            percent(*wrong, *n),
            percent(*told, *n)
        );
        total += n;
        right += ok;
        confidently_wrong += wrong;
        languages += told;
    }
    println!(
        "| all ({split}) | {total} | {:.1} % | {:.1} % | {:.1} % |",
        percent(right, total),
        percent(confidently_wrong, total),
        percent(languages, total)
    );
}
