//! Staff chat commands (SPEC §5): one channel-neutral parser. The table of
//! [`COMMANDS`] is the single source of `/help`, the usage lines and who may
//! run what.

use chrono::{NaiveDate, NaiveTime};

use crate::access::model::Role;

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/help`
    Help,
    /// `/codes 101`
    Codes { room: String },
    /// `/code 101 show`
    CodeShow { room: String },
    /// `/revoke room 101`
    Revoke { room: String },
    /// `/regen room 101`
    Regen { room: String },
    /// `/issue room 101 2026-12-01 09:00 17:00 plumber`
    Issue { room: String, date: NaiveDate, from: NaiveTime, until: NaiveTime, label: String },
    /// `/master room 101`
    Master { room: String },
    /// `/booking BK-10234`
    Booking { reference: String },
    /// `/arrivals today`
    Arrivals { day: Day },
    /// `/status room 101`
    Status { room: String },
    /// `/audit room 101`
    Audit { room: String },
    /// `/link BK-10234 +421900000000`
    Link { reference: String, phone: String },
    /// `/mycode Old Town Flats`
    MyCode { property: String },
    /// `/resolve`, or `/resolve 101` when several hand-offs are open
    Resolve { room: Option<String> },
    /// `/confirm <token>`
    Confirm { token: String },
    /// `/cancel`
    Cancel,
    /// `/login`: a one-time link to the console
    Login,
    /// `/send 42`: send a draft message to its guest
    SendDraft { id: i64 },
    /// `/drop 42`: drop a draft message
    DropDraft { id: i64 },
    /// `/early room 101 12:00`: the next stay's check-in at 12:00
    Early { room: String, time: NaiveTime },
    /// `/late room 101 14:00`: the stay's check-out at 14:00
    Late { room: String, time: NaiveTime },
    /// `/checkout room 101`: the guest has left
    Checkout { room: String },
    /// `/turnovers today`: the day's turnovers between stays
    Turnovers { day: Day },
    /// `/assign room 101 Eva`: the room's next turnover to that cleaner
    Assign { room: String, staff: String },
}

/// Which day `/arrivals` lists.
pub use crate::access::overview::Day;

/// One command's name, usage, least role and description.
#[derive(Debug, PartialEq, Eq)]
pub struct Spec {
    /// The word after the slash.
    pub name: &'static str,
    /// How to write it.
    pub usage: &'static str,
    /// The least role that may run it.
    pub role: Role,
    /// What it does.
    pub does: &'static str,
}

/// Every command, in `/help` order.
pub const COMMANDS: &[Spec] = &[
    Spec { name: "help", usage: "/help", role: Role::Staff, does: "commands you may use" },
    Spec { name: "codes", usage: "/codes 101", role: Role::Staff, does: "live codes of room 101's locks, masked" },
    Spec { name: "code", usage: "/code 101 show", role: Role::Manager, does: "the full code of the current stay" },
    Spec { name: "revoke", usage: "/revoke room 101", role: Role::Manager, does: "revoke the guest codes of room 101" },
    Spec {
        name: "regen",
        usage: "/regen room 101",
        role: Role::Manager,
        does: "replace the stay's code and send it to the guest",
    },
    Spec {
        name: "issue",
        usage: "/issue room 101 2026-12-01 09:00 17:00 plumber",
        role: Role::Manager,
        does: "a code for a time window",
    },
    Spec { name: "master", usage: "/master room 101", role: Role::Manager, does: "a master code for room 101" },
    Spec { name: "booking", usage: "/booking BK-10234", role: Role::Staff, does: "a booking, its codes and messages" },
    Spec {
        name: "arrivals",
        usage: "/arrivals today",
        role: Role::Staff,
        does: "arrivals (today, tomorrow or a date) and their messages",
    },
    Spec {
        name: "status",
        usage: "/status room 101",
        role: Role::Staff,
        does: "the lock: online, battery, codes on it",
    },
    Spec {
        name: "audit",
        usage: "/audit room 101",
        role: Role::Manager,
        does: "codes on the lock that doorman did not set",
    },
    Spec {
        name: "link",
        usage: "/link BK-10234 +421900000000",
        role: Role::Manager,
        does: "link another number to a booking's guest",
    },
    Spec {
        name: "mycode",
        usage: "/mycode Old Town Flats",
        role: Role::Staff,
        does: "your own staff code for a property",
    },
    Spec { name: "resolve", usage: "/resolve", role: Role::Manager, does: "end a guest hand-off" },
    Spec {
        name: "confirm",
        usage: "/confirm <token>",
        role: Role::Staff,
        does: "go ahead with what you were asked to confirm",
    },
    Spec { name: "cancel", usage: "/cancel", role: Role::Staff, does: "drop what you were asked to confirm" },
    Spec {
        name: "login",
        usage: "/login",
        role: Role::Staff,
        does: "a link that signs you in to the web console (once, within 15 minutes)",
    },
    Spec { name: "send", usage: "/send 42", role: Role::Staff, does: "send draft 42 to its guest" },
    Spec { name: "drop", usage: "/drop 42", role: Role::Staff, does: "drop draft 42: the guest gets nothing" },
    Spec {
        name: "early",
        usage: "/early room 101 12:00",
        role: Role::Manager,
        does: "the next stay's check-in at 12:00 on its arrival day, on every lock; the guest is told",
    },
    Spec {
        name: "late",
        usage: "/late room 101 14:00",
        role: Role::Manager,
        does: "the stay's check-out at 14:00 on its departure day, on every lock; the guest is told",
    },
    Spec {
        name: "checkout",
        usage: "/checkout room 101",
        role: Role::Staff,
        does: "the guest has left: their code stops working 15 minutes after you confirm",
    },
    Spec {
        name: "turnovers",
        usage: "/turnovers today",
        role: Role::Staff,
        does: "turnovers between stays (today, tomorrow or a date): room, window, cleaner, code",
    },
    Spec {
        name: "assign",
        usage: "/assign room 101 Eva",
        role: Role::Manager,
        does: "the room's next turnover to that staff member: the cleaner's code goes to them",
    },
];

/// Why a command could not be read: the usage line of the command, or
/// `None` when the word is not a command at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(pub Option<&'static Spec>);

impl Unreadable {
    /// The one-line answer.
    pub fn reply(&self) -> String {
        match self.0 {
            Some(spec) => format!("Usage: {} — {}", spec.usage, spec.does),
            None => "Unknown command. /help lists what you can do.".to_owned(),
        }
    }
}

/// The spec of a command.
pub fn spec(name: &str) -> Option<&'static Spec> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// Whether a role may run a command.
pub fn allowed(role: Role, command: &Spec) -> bool {
    role.at_least(command.role)
}

/// Whether a slash command is meant for doorman. In groups Telegram
/// appends the bot's username (`/codes@doorman_bot`): a command addressed
/// to another bot is not doorman's, nor one addressed to any bot while
/// doorman's own username (`TELEGRAM_BOT_USERNAME`) is not configured.
pub fn is_addressed_to_us(text: &str, bot_username: Option<&str>) -> bool {
    let word = text.split_whitespace().next().unwrap_or_default();
    match word.split_once('@') {
        None => true,
        Some((_, addressee)) => {
            bot_username.is_some_and(|bot| addressee.eq_ignore_ascii_case(bot.trim_start_matches('@')))
        }
    }
}

/// Parses `/command args`, case-insensitively; `room` is optional before a
/// room name.
pub fn parse(text: &str) -> Result<Command, Unreadable> {
    let text = text.trim();
    let without_slash = text.strip_prefix('/').ok_or(Unreadable(None))?;
    let mut words = without_slash.split_whitespace();
    let name = words.next().unwrap_or_default().to_lowercase();
    // Telegram appends the bot's name in groups: /codes@doorman_bot
    let name = name.split('@').next().unwrap_or_default().to_owned();
    let spec = spec(&name).ok_or(Unreadable(None))?;
    let usage = || Unreadable(Some(spec));
    let rest: Vec<&str> = words.collect();
    let room = |args: &[&str]| -> Result<String, Unreadable> {
        let args: Vec<&str> = args.iter().copied().filter(|a| !a.eq_ignore_ascii_case("room")).collect();
        match args.as_slice() {
            [room] => Ok((*room).to_owned()),
            _ => Err(usage()),
        }
    };
    Ok(match name.as_str() {
        "help" => Command::Help,
        "codes" => Command::Codes { room: room(&rest)? },
        "code" => match rest.as_slice() {
            [r @ .., last] if last.eq_ignore_ascii_case("show") => Command::CodeShow { room: room(r)? },
            _ => return Err(usage()),
        },
        "revoke" => Command::Revoke { room: room(&rest)? },
        "checkout" => Command::Checkout { room: room(&rest)? },
        "regen" => Command::Regen { room: room(&rest)? },
        "master" => Command::Master { room: room(&rest)? },
        "status" => Command::Status { room: room(&rest)? },
        "audit" => Command::Audit { room: room(&rest)? },
        "issue" => {
            let args: Vec<&str> = rest.iter().copied().skip_while(|a| a.eq_ignore_ascii_case("room")).collect();
            let [room, date, from, until, label @ ..] = args.as_slice() else {
                return Err(usage());
            };
            let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| usage())?;
            let time = |t: &str| NaiveTime::parse_from_str(t, "%H:%M").map_err(|_| usage());
            let (from, until) = (time(from)?, time(until)?);
            if label.is_empty() {
                return Err(usage());
            }
            Command::Issue { room: (*room).to_owned(), date, from, until, label: label.join(" ") }
        }
        "booking" => match rest.as_slice() {
            [reference] => Command::Booking { reference: (*reference).to_owned() },
            _ => return Err(usage()),
        },
        "arrivals" => Command::Arrivals { day: day(&rest).ok_or_else(usage)? },
        "turnovers" => Command::Turnovers { day: day(&rest).ok_or_else(usage)? },
        "assign" => assign(&rest).ok_or_else(usage)?,
        "link" => match rest.as_slice() {
            [reference, phone @ ..] if !phone.is_empty() => {
                Command::Link { reference: (*reference).to_owned(), phone: phone.join("") }
            }
            _ => return Err(usage()),
        },
        "mycode" if !rest.is_empty() => Command::MyCode { property: rest.join(" ") },
        "mycode" => return Err(usage()),
        "resolve" => match rest.as_slice() {
            [] => Command::Resolve { room: None },
            args => Command::Resolve { room: Some(room(args)?) },
        },
        "confirm" => match rest.as_slice() {
            [token] => Command::Confirm { token: (*token).to_owned() },
            _ => return Err(usage()),
        },
        "cancel" => Command::Cancel,
        "login" => Command::Login,
        "send" | "drop" => draft(&name, &rest).ok_or_else(usage)?,
        "early" | "late" => stay_time(&name, &rest).ok_or_else(usage)?,
        _ => return Err(Unreadable(None)),
    })
}

/// `today` (or nothing), `tomorrow`, `2026-12-01`.
fn day(args: &[&str]) -> Option<Day> {
    match args {
        [] => Some(Day::Today),
        [day] if day.eq_ignore_ascii_case("today") => Some(Day::Today),
        [day] if day.eq_ignore_ascii_case("tomorrow") => Some(Day::Tomorrow),
        [day] => NaiveDate::parse_from_str(day, "%Y-%m-%d").ok().map(Day::Date),
        _ => None,
    }
}

/// `/assign room 101 Eva Novak`.
fn assign(args: &[&str]) -> Option<Command> {
    let args: Vec<&str> = args.iter().copied().skip_while(|a| a.eq_ignore_ascii_case("room")).collect();
    let [room, name @ ..] = args.as_slice() else { return None };
    (!name.is_empty()).then(|| Command::Assign { room: (*room).to_owned(), staff: name.join(" ") })
}

/// `/early room 101 12:00`, `/late 101 14:00`.
fn stay_time(name: &str, args: &[&str]) -> Option<Command> {
    let args: Vec<&str> = args.iter().copied().skip_while(|a| a.eq_ignore_ascii_case("room")).collect();
    let [room, time] = args.as_slice() else { return None };
    let time = NaiveTime::parse_from_str(time, "%H:%M").ok()?;
    let room = (*room).to_owned();
    Some(if name == "early" { Command::Early { room, time } } else { Command::Late { room, time } })
}

/// `/send 42`, `/drop #42`.
fn draft(name: &str, args: &[&str]) -> Option<Command> {
    let [id] = args else { return None };
    let id = id.trim_start_matches('#').parse::<i64>().ok().filter(|id| *id > 0)?;
    Some(if name == "send" { Command::SendDraft { id } } else { Command::DropDraft { id } })
}

/// `/help` for a role.
pub fn help(role: Role) -> String {
    let lines: Vec<String> =
        COMMANDS.iter().filter(|c| allowed(role, c)).map(|c| format!("{} — {}", c.usage, c.does)).collect();
    format!("Commands for {role}:\n{}", lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_optional_and_case_does_not_matter() {
        assert_eq!(parse("/revoke room 101"), Ok(Command::Revoke { room: "101".into() }));
        assert_eq!(parse("/REVOKE 101"), Ok(Command::Revoke { room: "101".into() }));
        assert_eq!(parse("/code 101 SHOW"), Ok(Command::CodeShow { room: "101".into() }));
        assert_eq!(parse("/codes@doorman_bot Room 7"), Ok(Command::Codes { room: "7".into() }));
    }

    #[test]
    fn a_command_for_another_bot_is_not_ours() {
        assert!(is_addressed_to_us("/codes 101", Some("doorman_bot")));
        assert!(is_addressed_to_us("/codes@doorman_bot 101", Some("doorman_bot")));
        assert!(is_addressed_to_us("/codes@Doorman_Bot 101", Some("@doorman_bot")));
        assert!(!is_addressed_to_us("/codes@otherbot 101", Some("doorman_bot")));
        assert!(!is_addressed_to_us("/codes@doorman_bot_2 101", Some("doorman_bot")));
        assert!(!is_addressed_to_us("/codes@doorman_bot 101", None), "unknown own name: not provably ours");
        assert!(is_addressed_to_us("/codes 101", None));
    }

    #[test]
    fn issue_reads_date_times_and_label() {
        let parsed = parse("/issue room 101 2026-12-01 09:00 17:00 plumber Jan").unwrap();
        assert_eq!(
            parsed,
            Command::Issue {
                room: "101".into(),
                date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                from: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
                until: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
                label: "plumber Jan".into(),
            }
        );
    }

    #[test]
    fn bad_arguments_get_the_usage_of_that_command() {
        for (text, usage) in [
            ("/issue room 101 2026-13-01 09:00 17:00 plumber", "/issue room 101 2026-12-01 09:00 17:00 plumber"),
            ("/issue room 101 tomorrow 9 17 plumber", "/issue room 101 2026-12-01 09:00 17:00 plumber"),
            ("/revoke", "/revoke room 101"),
            ("/code 101", "/code 101 show"),
            ("/link BK-1", "/link BK-10234 +421900000000"),
            ("/arrivals someday", "/arrivals today"),
            ("/late room 101 2pm", "/late room 101 14:00"),
            ("/late room 101 25:00", "/late room 101 14:00"),
            ("/early room 101", "/early room 101 12:00"),
            ("/early 12:00", "/early room 101 12:00"),
            ("/turnovers yesterday", "/turnovers today"),
            ("/turnovers today room 101", "/turnovers today"),
            ("/assign room 101", "/assign room 101 Eva"),
            ("/assign", "/assign room 101 Eva"),
        ] {
            let reply = parse(text).unwrap_err().reply();
            assert!(reply.starts_with(&format!("Usage: {usage}")), "{text}: {reply}");
        }
        assert_eq!(
            parse("/late room 101 14:00"),
            Ok(Command::Late { room: "101".into(), time: NaiveTime::from_hms_opt(14, 0, 0).unwrap() })
        );
        assert_eq!(
            parse("/EARLY 7 09:30"),
            Ok(Command::Early { room: "7".into(), time: NaiveTime::from_hms_opt(9, 30, 0).unwrap() })
        );
        assert_eq!(parse("/turnovers"), Ok(Command::Turnovers { day: Day::Today }));
        assert_eq!(parse("/Turnovers TOMORROW"), Ok(Command::Turnovers { day: Day::Tomorrow }));
        assert_eq!(
            parse("/assign room 7 Eva Novak"),
            Ok(Command::Assign { room: "7".into(), staff: "Eva Novak".into() })
        );
        assert_eq!(parse("/send 42"), Ok(Command::SendDraft { id: 42 }));
        assert_eq!(parse("/drop #7"), Ok(Command::DropDraft { id: 7 }));
        assert!(parse("/send x").unwrap_err().reply().starts_with("Usage: /send 42"));
        assert_eq!(parse("/frobnicate").unwrap_err(), Unreadable(None));
        assert_eq!(parse("hello").unwrap_err(), Unreadable(None));
    }

    #[test]
    fn help_lists_what_a_role_may_run() {
        assert!(!help(Role::Staff).contains("/revoke"));
        assert!(help(Role::Staff).contains("/mycode"));
        assert!(help(Role::Manager).contains("/revoke"));
        assert_eq!(help(Role::Admin).lines().count(), COMMANDS.len() + 1);
    }
}
