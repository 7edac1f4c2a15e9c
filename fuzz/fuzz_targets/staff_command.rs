//! A staff member's chat command: the parser, the role check `staff::run`
//! makes before running it, `/help`, and the usage replies.
#![no_main]

use doorman::access::model::Role;
use doorman::access::stay::local_instant;
use doorman::conversation::commands::{self, Command};
use doorman::conversation::staff;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = staff::asks_the_locks(text);
    let command = match commands::parse(text) {
        Ok(command) => command,
        Err(unreadable) => {
            let _ = unreadable.reply();
            return;
        }
    };
    // `staff::run` finds the spec for the role check from the text again:
    // a parsed command must always find it, or the check is skipped.
    let name = text.trim().trim_start_matches('/').split_whitespace().next().unwrap_or_default().to_lowercase();
    let name = name.split('@').next().unwrap_or_default();
    let spec = commands::spec(name).expect("a parsed command has a spec");
    for role in Role::ALL {
        let _ = commands::allowed(*role, spec);
        if command == Command::Help {
            let _ = commands::help(*role);
        }
    }
    // `/issue` turns its date and times into instants in the property's
    // timezone.
    if let Command::Issue { date, from, until, .. } = command {
        for tz in [chrono_tz::Europe::Bratislava, chrono_tz::Pacific::Kiritimati, chrono_tz::Pacific::Pago_Pago] {
            let _ = local_instant(tz, date.and_time(from));
            let _ = local_instant(tz, date.and_time(until));
        }
    }
});
