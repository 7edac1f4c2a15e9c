//! doorman's light markup, the same as WhatsApp's: `*bold*` and
//! `` `code` ``. WhatsApp takes it as it is; Telegram gets MarkdownV2 with
//! every special character escaped; the console gets plain text.

/// A run of text with one style.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Span<'a> {
    Plain(&'a str),
    Bold(&'a str),
    Code(&'a str),
}

/// Splits markup into spans. A marker without its partner is plain text.
fn spans(markup: &str) -> Vec<Span<'_>> {
    let mut out = Vec::new();
    let mut rest = markup;
    while !rest.is_empty() {
        let next = rest.find(['*', '`']);
        let Some(start) = next else {
            out.push(Span::Plain(rest));
            break;
        };
        let marker = &rest[start..start + 1];
        let Some(len) = rest[start + 1..].find(marker) else {
            out.push(Span::Plain(rest));
            break;
        };
        if start > 0 {
            out.push(Span::Plain(&rest[..start]));
        }
        let inner = &rest[start + 1..start + 1 + len];
        out.push(if marker == "*" { Span::Bold(inner) } else { Span::Code(inner) });
        rest = &rest[start + 2 + len..];
    }
    out
}

/// Telegram MarkdownV2: every reserved character outside code escaped, and
/// inside code only `` ` `` and `\`. A code such as `A*7#K` survives.
pub fn telegram_markdown_v2(markup: &str) -> String {
    spans(markup)
        .into_iter()
        .map(|span| match span {
            Span::Plain(text) => escape_markdown_v2(text),
            Span::Bold(text) => format!("*{}*", escape_markdown_v2(text)),
            Span::Code(text) => format!("`{}`", text.replace('\\', "\\\\").replace('`', "\\`")),
        })
        .collect()
}

/// Plain text for a terminal.
pub fn plain(markup: &str) -> String {
    spans(markup)
        .into_iter()
        .map(|span| match span {
            Span::Plain(text) | Span::Bold(text) | Span::Code(text) => text,
        })
        .collect()
}

/// Escapes text for MarkdownV2 outside any entity.
pub fn escape_markdown_v2(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if "_*[]()~`>#+-=|{}.!\\".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// A value put into an operator's text (a guest's name, a knowledge-base
/// entry) so that it is never read as markup: WhatsApp has no escape
/// character, so its markers become their look-alikes (`*` → `∗`, `` ` `` →
/// `ˋ`). Telegram's escaping and the e-mail's HTML escaping come after.
pub fn literal(value: &str) -> String {
    value.replace('*', "\u{2217}").replace('`', "\u{02CB}")
}

/// HTML for an e-mail: every character escaped, bold and code as tags,
/// lines as `<br>`.
pub fn html(markup: &str) -> String {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
            .replace('\n', "<br>\n")
    };
    spans(markup)
        .into_iter()
        .map(|span| match span {
            Span::Plain(text) => escape(text),
            Span::Bold(text) => format!("<strong>{}</strong>", escape(text)),
            Span::Code(text) => format!("<code>{}</code>", escape(text)),
        })
        .collect()
}

/// Wraps a code value so it renders as code on every channel.
pub fn code(value: &str) -> String {
    format!("`{value}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_never_markup_and_html_is_escaped() {
        let name = literal("*Ann* `x`");
        assert_eq!(plain(&format!("Hi {name}")), "Hi \u{2217}Ann\u{2217} \u{02CB}x\u{02CB}");
        assert_eq!(html("*Hi* <b>&\n`1#`"), "<strong>Hi</strong> &lt;b&gt;&amp;<br>\n<code>1#</code>");
    }

    #[test]
    fn markdown_v2_escapes_everything_reserved() {
        assert_eq!(
            telegram_markdown_v2("Check-in: 15:00 (Room 101). Wi-Fi: a_b!"),
            "Check\\-in: 15:00 \\(Room 101\\)\\. Wi\\-Fi: a\\_b\\!"
        );
    }

    #[test]
    fn codes_with_reserved_characters_survive() {
        assert_eq!(telegram_markdown_v2("Your code: `84#*91`"), "Your code: `84#*91`");
        assert_eq!(telegram_markdown_v2("`a`b\\c`"), "`a`b\\\\c\\`");
        assert_eq!(telegram_markdown_v2("*Old Town* #1"), "*Old Town* \\#1");
    }

    #[test]
    fn unbalanced_markers_are_plain_text() {
        assert_eq!(telegram_markdown_v2("5 * 3 = 15"), "5 \\* 3 \\= 15");
        assert_eq!(plain("*Your code:* `849391`"), "Your code: 849391");
    }
}
