//! The reply catalogues of `locales/`, one per language, compiled in. A
//! reply is looked up in the language of the message, then the guest's,
//! then English.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Languages with a catalogue, the ones the router reads.
pub const LANGUAGES: [&str; 11] = ["en", "de", "fr", "es", "it", "sk", "cs", "pl", "pt", "nl", "sw"];

const SOURCES: [(&str, &str); 11] = [
    ("en", include_str!("../../locales/en.toml")),
    ("de", include_str!("../../locales/de.toml")),
    ("fr", include_str!("../../locales/fr.toml")),
    ("es", include_str!("../../locales/es.toml")),
    ("it", include_str!("../../locales/it.toml")),
    ("sk", include_str!("../../locales/sk.toml")),
    ("cs", include_str!("../../locales/cs.toml")),
    ("pl", include_str!("../../locales/pl.toml")),
    ("pt", include_str!("../../locales/pt.toml")),
    ("nl", include_str!("../../locales/nl.toml")),
    ("sw", include_str!("../../locales/sw.toml")),
];

type Catalogue = HashMap<String, String>;

fn catalogues() -> &'static HashMap<&'static str, Catalogue> {
    static CATALOGUES: OnceLock<HashMap<&'static str, Catalogue>> = OnceLock::new();
    CATALOGUES.get_or_init(|| {
        SOURCES
            .iter()
            .map(|(language, source)| {
                // The files are part of the build and tested; a broken one is
                // a bug to see at once, not input to tolerate.
                let table: Catalogue =
                    toml::from_str(source).unwrap_or_else(|e| panic!("locales/{language}.toml: {e}"));
                (*language, table)
            })
            .collect()
    })
}

/// The first of `preferences` that has a catalogue, else English.
pub fn pick(preferences: &[Option<&str>]) -> &'static str {
    preferences.iter().flatten().find_map(|wanted| LANGUAGES.iter().find(|l| *l == wanted).copied()).unwrap_or("en")
}

/// An instant in local time the way `language` writes it (its catalogue's
/// `datetime` format), e.g. `Thu 3 Dec 15:00` or `3. 12. 2026 15:00`.
pub fn local_time<Tz: chrono::TimeZone>(language: &str, at: chrono::DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    use std::fmt::Write;
    let mut out = String::new();
    let format = text(language, "datetime", &[]);
    // The formats are part of the build and tested; should one ever be
    // broken, English is written rather than nothing.
    if write!(out, "{}", at.format(&format)).is_err() {
        out.clear();
        let _ = write!(out, "{}", at.format("%a %-d %b %H:%M"));
    }
    out
}

/// The reply `key` in `language` (English when missing), with `{name}`
/// placeholders filled from `args`.
pub fn text(language: &str, key: &str, args: &[(&str, &str)]) -> String {
    let all = catalogues();
    let template = all
        .get(language)
        .and_then(|c| c.get(key))
        .or_else(|| all.get("en").and_then(|c| c.get(key)))
        .map(String::as_str)
        .unwrap_or(key);
    args.iter().fold(template.to_owned(), |text, (name, value)| text.replace(&format!("{{{name}}}"), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_has_every_english_key_with_the_same_placeholders() {
        let all = catalogues();
        let english = &all["en"];
        let placeholders = |s: &str| {
            let mut found: Vec<String> =
                s.split('{').skip(1).filter_map(|p| p.split_once('}').map(|(name, _)| name.to_owned())).collect();
            found.sort();
            found
        };
        for language in LANGUAGES {
            let catalogue = &all[language];
            for (key, source) in english {
                let translated = catalogue.get(key).unwrap_or_else(|| panic!("{language} lacks {key}"));
                assert_eq!(placeholders(translated), placeholders(source), "{language}.{key}");
            }
        }
    }

    #[test]
    fn every_language_writes_local_times() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-03T15:00:00+01:00").unwrap();
        for language in LANGUAGES {
            let written = local_time(language, at);
            assert!(
                written.contains("15:00") && written.contains('3') && !written.contains('%'),
                "{language}: {written}"
            );
        }
        assert_eq!(local_time("en", at), "Thu 3 Dec 15:00");
        assert_eq!(local_time("sk", at), "3. 12. 2026 15:00");
    }

    #[test]
    fn falls_back_to_english_and_fills_placeholders() {
        assert_eq!(pick(&[Some("xx"), Some("de")]), "de");
        assert_eq!(pick(&[None, Some("klingon")]), "en");
        let text = text("de", "checkin_time_generic", &[("time", "15:00")]);
        assert!(text.contains("15:00") && !text.contains("{time}"), "{text}");
    }
}
