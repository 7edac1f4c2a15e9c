//! Accuracy of the router on the labelled messages in `data/`, per
//! language, with the confidently-wrong rate.
//!
//!     cargo run --release --example router_eval [tune|holdout|all|unseen|blind2|blind3] [--errors]
//!
//! `unseen`, `blind2` and `blind3` read `data/intents_<split>.tsv`, each
//! written blind; the others the splits of `data/intents.tsv`. `--errors`
//! lists the misses with the model's three most likely intents.

use std::collections::BTreeMap;

use doorman::conversation::model;
use doorman::conversation::router::{classify, Intent};

fn main() {
    let split = std::env::args().nth(1).unwrap_or_else(|| "holdout".into());
    let show_errors = std::env::args().any(|a| a == "--errors");
    let file = match split.as_str() {
        "unseen" => "data/intents_unseen.tsv",
        "blind2" => "data/intents_blind2.tsv",
        "blind3" => "data/intents_blind3.tsv",
        _ => "data/intents.tsv",
    };
    let three_columns = matches!(split.as_str(), "unseen" | "blind2" | "blind3");
    let data = std::fs::read_to_string(file).expect("the data set");
    let mut per_language: BTreeMap<String, (usize, usize, usize, usize)> = BTreeMap::new();
    for line in data.lines().skip(1) {
        let fields: Vec<&str> = if three_columns {
            let mut f: Vec<&str> = line.splitn(3, '\t').collect();
            f.insert(2, &split);
            f
        } else {
            line.splitn(4, '\t').collect()
        };
        let [language, expected, line_split, text] = fields[..] else { continue };
        if split != "all" && line_split != split {
            continue;
        }
        let expected = Intent::parse(expected).expect("a known intent");
        let got = classify(text);
        let entry = per_language.entry(language.to_owned()).or_default();
        entry.0 += 1;
        if got.language == Some(language) {
            entry.3 += 1;
        }
        if got.intent == expected {
            entry.1 += 1;
        } else {
            if got.intent != Intent::Unknown && !got.unsure {
                entry.2 += 1;
            }
            if show_errors {
                let top = model::predict(text).map(|p| p.intents).unwrap_or_default();
                let scores: Vec<String> = top.iter().take(3).map(|(i, p)| format!("{}={p:.2}", i.as_str())).collect();
                println!(
                    "{language}\t{}\t{}\t{:.2}\t{text}\t{}",
                    expected.as_str(),
                    got.intent.as_str(),
                    got.confidence,
                    scores.join(" ")
                );
            }
        }
    }
    let (mut total, mut right, mut confidently_wrong, mut languages) = (0, 0, 0, 0);
    println!("| language | messages | accuracy | confidently wrong | language told |");
    println!("|---|---|---|---|---|");
    let percent = |part: usize, whole: usize| 100.0 * part as f64 / whole as f64;
    for (language, (n, ok, wrong, told)) in &per_language {
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
