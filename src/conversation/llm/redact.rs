//! What the model must never see, and a drafted answer must never say,
//! found on a normalised reading of the text: every decimal digit counts
//! (Arabic-Indic `٨٤٩٣`, full-width `８４９３`, not only ASCII), digits
//! split by spaces, dots, dashes or slashes still make one number
//! (`+421 900 123 456`, `84-93-91`, `4 7 1 9`), and tokens mixing letters
//! and digits are taken for alphanumeric codes (`K7M2Q9`).

/// Digits of one number (across separators) from which it could be a
/// code, a phone number or a booking reference.
const NUMBER_DIGITS: usize = 4;
/// Letters and digits of a mixed token from which it could be an
/// alphanumeric code (the shortest code a lock takes has four).
const CODE_CHARS: usize = 4;
/// Separator characters that may stand between two digits of one number.
const MAX_GAP: usize = 3;

/// `text` with numbers, code-like tokens, e-mail addresses and links
/// replaced by `[number]`, `[code]`, `[email]` and `[link]`, and how many
/// were replaced. Whitespace is normalised to single spaces.
pub fn scan(text: &str) -> (String, usize) {
    let (words, in_words) = redact_words(text);
    let (text, numbers) = redact_numbers(&words);
    (text, in_words + numbers)
}

/// Any decimal digit of any script. `char::is_numeric` also takes `½`
/// or `Ⅻ`; hiding those as well costs nothing.
fn is_digit(c: char) -> bool {
    c.is_numeric()
}

/// What may split the digits of one number as people type them.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '.' | '-' | '/' | '_' | '(' | ')' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

/// E-mail addresses, links, and runs of words that together mix letters
/// and digits (`K7M2Q9`, `BK-10234`, `K7 M2 Q9`).
fn redact_words(text: &str) -> (String, usize) {
    let mut out: Vec<&str> = Vec::new();
    let mut found = 0;
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut i = 0;
    while i < words.len() {
        if let Some(placeholder) = contact(words[i]) {
            out.push(placeholder);
            found += 1;
            i += 1;
            continue;
        }
        // Consecutive words holding a digit, read as one token.
        let run = words[i..].iter().take_while(|w| has_digit(w) && contact(w).is_none()).count();
        if run > 0 && looks_like_code(&words[i..i + run]) {
            out.push("[code]");
            found += 1;
            i += run;
            continue;
        }
        out.push(words[i]);
        i += 1;
    }
    (out.join(" "), found)
}

fn contact(word: &str) -> Option<&'static str> {
    let lower = word.to_lowercase();
    if word.contains('@') {
        Some("[email]")
    } else if lower.contains("://") || lower.contains("www.") || lower.contains("t.me/") {
        Some("[link]")
    } else {
        None
    }
}

fn has_digit(word: &str) -> bool {
    word.chars().any(is_digit)
}

/// Whether words that each hold a digit make an alphanumeric code: at
/// least one letter, enough letters and digits, and not a clock time or
/// an ordinal (`10am`, `21st`).
fn looks_like_code(words: &[&str]) -> bool {
    let cores: Vec<&str> = words.iter().map(|w| w.trim_matches(|c: char| !c.is_alphanumeric())).collect();
    let letters = cores.iter().flat_map(|w| w.chars()).filter(|c| c.is_alphabetic()).count();
    let digits = cores.iter().flat_map(|w| w.chars()).filter(|c| is_digit(*c)).count();
    letters > 0 && letters + digits >= CODE_CHARS && !(cores.len() == 1 && is_time_or_ordinal(cores[0]))
}

fn is_time_or_ordinal(word: &str) -> bool {
    let lower = word.to_lowercase();
    let digits = lower.chars().take_while(char::is_ascii_digit).count();
    (1..=2).contains(&digits) && ["am", "pm", "h", "st", "nd", "rd", "th"].contains(&&lower[digits..])
}

/// Runs of at least [`NUMBER_DIGITS`] digits, separators allowed between
/// them (a leading `+` goes with the number).
fn redact_numbers(text: &str) -> (String, usize) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut found = 0;
    let mut i = 0;
    while i < chars.len() {
        if !is_digit(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let (end, digits) = number_at(&chars, i);
        if digits >= NUMBER_DIGITS {
            if out.ends_with('+') {
                out.pop();
            }
            out.push_str("[number]");
            found += 1;
        } else {
            out.extend(&chars[i..end]);
        }
        i = end;
    }
    (out, found)
}

/// Where the number starting at `start` ends (after its last digit), and
/// how many digits it has.
fn number_at(chars: &[char], start: usize) -> (usize, usize) {
    let (mut j, mut end, mut digits) = (start, start, 0);
    loop {
        while j < chars.len() && is_digit(chars[j]) {
            digits += 1;
            j += 1;
        }
        end = end.max(j);
        let gap = chars[j..].iter().take(MAX_GAP).take_while(|c| is_separator(**c)).count();
        if gap == 0 || !chars.get(j + gap).is_some_and(|c| is_digit(*c)) {
            return (end, digits);
        }
        j += gap;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str) -> String {
        scan(text).0
    }

    #[test]
    fn numbers_split_by_separators_are_one_number() {
        for (text, expected) in [
            ("call +421 900 123 456 please", "call [number] please"),
            ("the code 84 93 91 fails", "the code [number] fails"),
            ("the code 84-93-91 fails", "the code [number] fails"),
            ("it is 4 7 1 9", "it is [number]"),
            ("it is 84.93.91", "it is [number]"),
            ("it is 84/93/91", "it is [number]"),
            ("it is 84 - 93 – 91", "it is [number]"),
            ("arriving 2026-12-01", "arriving [number]"),
        ] {
            assert_eq!(redact(text), expected, "{text}");
        }
    }

    #[test]
    fn digits_of_every_script_count() {
        assert_eq!(redact("code ٨٤٩٣٩١ please"), "code [number] please");
        assert_eq!(redact("code ８４９３９１ please"), "code [number] please");
        assert_eq!(redact("code ８４ ９３ ٩١"), "code [number]");
        assert_eq!(redact("code ۴۷۱۹"), "code [number]", "Persian digits");
    }

    #[test]
    fn alphanumeric_codes_are_hidden() {
        assert_eq!(redact("my code K7M2Q9 fails"), "my code [code] fails");
        assert_eq!(redact("my code K7 M2 Q9 fails"), "my code [code] fails");
        assert_eq!(redact("my code k7m2-q9."), "my code [code]");
        assert_eq!(redact("booking BK-10234, thanks"), "booking [code] thanks");
        assert_eq!(redact("code Ｋ７Ｍ２"), "code [code]", "full-width letters and digits");
    }

    #[test]
    fn contacts_are_hidden() {
        assert_eq!(
            redact("mail anna.1984@example.com or see https://x.y and www.example.com"),
            "mail [email] or see [link] and [link]"
        );
    }

    #[test]
    fn ordinary_text_is_kept() {
        for text in
            ["We are 2 adults and 3 kids", "Room 12, arriving at 10am on the 21st", "Panská 12", "is the 2nd floor ok?"]
        {
            assert_eq!(scan(text), (text.to_owned(), 0), "{text}");
        }
    }
}
