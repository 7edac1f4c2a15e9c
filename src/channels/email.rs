//! Email through SMTP (`lettre`): an HTML part and a plain-text alternative,
//! rendered from `templates/email/` with `minijinja`.

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use minijinja::Environment;
use serde::Serialize;

/// Why an email failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// The server was unreachable or answered with a transient error.
    #[error("{0}")]
    Retryable(String),
    /// A bad address or a permanent refusal.
    #[error("{0}")]
    Permanent(String),
}

/// An SMTP relay and the sender address.
#[derive(Clone)]
pub struct EmailClient {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl EmailClient {
    /// A client of `SMTP_URL` (e.g. `smtps://user:pass@smtp.example.com` or
    /// `smtp://localhost:2525`) sending as `SMTP_FROM`.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let transport =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| format!("SMTP_URL: {e}"))?.build();
        let from = from.parse::<Mailbox>().map_err(|e| format!("SMTP_FROM: {e}"))?;
        Ok(Self { transport, from })
    }

    /// Sends a message with a text and an HTML part; returns its Message-ID.
    pub async fn send(&self, to: &str, subject: &str, text: &str, html: &str) -> Result<String, EmailError> {
        let to = to.parse::<Mailbox>().map_err(|e| EmailError::Permanent(format!("bad address: {e}")))?;
        let id = format!("<{}@doorman>", uuid::Uuid::new_v4().simple());
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(id.clone()))
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text.to_owned()))
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html.to_owned())),
            )
            .map_err(|e| EmailError::Permanent(e.to_string()))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(id),
            Err(e) if e.is_permanent() => Err(EmailError::Permanent(e.to_string())),
            Err(e) => Err(EmailError::Retryable(e.to_string())),
        }
    }
}

/// What the code email shows.
#[derive(Debug, Clone, Serialize)]
pub struct CodeEmail {
    /// The email's subject.
    pub subject: String,
    /// Greeting line.
    pub greeting: String,
    /// The property.
    pub property: String,
    /// The room.
    pub room: String,
    /// The booking reference.
    pub reference: String,
    /// Codes and the locks they open.
    pub codes: Vec<(String, String)>,
    /// Valid from, local to the property.
    pub valid_from: String,
    /// Valid until, local to the property.
    pub valid_until: String,
    /// How to use the lock.
    pub how_to: String,
    /// Entry instructions.
    pub instructions: Option<String>,
    /// Labels in the guest's language: `your_code`, `room_line`,
    /// `valid_line`, `how_to`, `get_in`, `help`.
    pub labels: std::collections::BTreeMap<String, String>,
}

/// Renders the text and HTML parts.
pub fn render(email: &CodeEmail) -> Result<(String, String), String> {
    let mut env = Environment::new();
    // The `.html` name turns on HTML escaping for that template.
    env.add_template("code.txt", include_str!("../../templates/email/code.txt")).map_err(|e| e.to_string())?;
    env.add_template("code.html", include_str!("../../templates/email/code.html")).map_err(|e| e.to_string())?;
    let text = env.get_template("code.txt").and_then(|t| t.render(email)).map_err(|e| e.to_string())?;
    let html = env.get_template("code.html").and_then(|t| t.render(email)).map_err(|e| e.to_string())?;
    Ok((text, html))
}
