//! Code values (SPEC §3.1–3.2): drawn from the operating system's CSPRNG
//! (through `rand`'s thread generator), in the lock's format and length,
//! never weak, within what the provider accepts.

use std::collections::HashSet;

use rand::seq::IndexedRandom;

use super::model::{CodeFormat, CodeKind, ProviderKind};

/// The codes a device accepts, as its provider reports them (Seam's `code_constraints`,
/// `supported_code_lengths`, `max_active_codes_supported`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DeviceConstraints {
    /// The lengths it accepts; empty when any.
    pub supported_lengths: Vec<u8>,
    /// Shortest code it accepts.
    pub min_length: Option<u8>,
    /// Longest code it accepts.
    pub max_length: Option<u8>,
    /// It refuses the digit 0.
    pub no_zeros: bool,
    /// Prefixes it refuses (e.g. `12`).
    pub forbidden_prefixes: Vec<String>,
    /// How many codes it holds at once.
    pub max_active_codes: Option<i32>,
    /// It keeps a pool of backup codes doorman can pull from.
    pub backup_pool: bool,
}

/// Digits a numeric code draws from.
const DIGITS: &[u8] = b"0123456789";
/// Letters and digits without look-alikes (no 0/O, 1/I/L).
const ALPHANUMERIC: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// How many draws before giving up on finding a free, strong value.
const MAX_DRAWS: usize = 1000;

/// What a provider's keypads accept, declared as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConstraints {
    /// The only length the provider accepts, if it has one.
    pub exact_length: Option<usize>,
    /// Characters the provider refuses.
    pub forbidden_chars: &'static [u8],
    /// Prefixes the provider refuses.
    pub forbidden_prefixes: &'static [&'static str],
}

impl ProviderConstraints {
    /// The constraints of a provider. Nuki keypads take exactly six digits
    /// 1–9, not starting with `12`; Seam reports `code_constraints` per device.
    pub fn of(provider: ProviderKind) -> Self {
        match provider {
            ProviderKind::Nuki => Self { exact_length: Some(6), forbidden_chars: b"0", forbidden_prefixes: &["12"] },
            ProviderKind::Simulated | ProviderKind::Seam => {
                Self { exact_length: None, forbidden_chars: b"", forbidden_prefixes: &[] }
            }
        }
    }
}

/// Everything a value must satisfy on one or more locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRules {
    /// The characters to draw from.
    pub alphabet: Vec<u8>,
    /// How many characters.
    pub length: usize,
    /// Prefixes to avoid.
    pub forbidden_prefixes: Vec<String>,
}

impl CodeRules {
    /// The rules of one lock for a code of `kind`. Master codes are two
    /// characters longer than guest codes (at most 10). Where the provider
    /// accepts one length only (Nuki), or the device narrows them back (see
    /// [`CodeRules::within`]), they cannot be: the database then refuses the
    /// master code (`access_codes_master_longer`) rather than keeping one
    /// as short as a guest's.
    pub fn for_lock(format: CodeFormat, length: usize, provider: ProviderKind, kind: CodeKind) -> Self {
        let constraints = ProviderConstraints::of(provider);
        let base = match format {
            CodeFormat::Numeric => DIGITS,
            CodeFormat::Alphanumeric => ALPHANUMERIC,
        };
        let length = match (constraints.exact_length, kind) {
            (Some(exact), _) => exact,
            (None, CodeKind::Master) => (length + 2).min(10),
            (None, _) => length,
        };
        Self {
            alphabet: base.iter().copied().filter(|c| !constraints.forbidden_chars.contains(c)).collect(),
            length,
            forbidden_prefixes: constraints.forbidden_prefixes.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    /// These rules narrowed to what the device reports it accepts (Seam's
    /// `supported_code_lengths` and `code_constraints`): the nearest
    /// supported length (longer preferred), no zeros, its forbidden
    /// prefixes.
    pub fn within(mut self, device: &DeviceConstraints) -> Self {
        let fits = |len: usize| {
            device.min_length.is_none_or(|min| len >= usize::from(min))
                && device.max_length.is_none_or(|max| len <= usize::from(max))
        };
        let lengths: Vec<usize> = match device.supported_lengths.is_empty() {
            true => (4..=10).filter(|len| fits(*len)).collect(),
            false => device.supported_lengths.iter().map(|l| usize::from(*l)).filter(|len| fits(*len)).collect(),
        };
        if !lengths.contains(&self.length) {
            let wanted = self.length;
            if let Some(best) = lengths.iter().copied().min_by_key(|len| (len.abs_diff(wanted), *len < wanted)) {
                self.length = best;
            }
        }
        if device.no_zeros {
            self.alphabet.retain(|c| *c != b'0');
        }
        for prefix in &device.forbidden_prefixes {
            if !self.forbidden_prefixes.contains(prefix) {
                self.forbidden_prefixes.push(prefix.clone());
            }
        }
        self
    }

    /// Rules that satisfy both, when the two locks can share one value:
    /// same length, the common characters, every forbidden prefix.
    pub fn shared_with(&self, other: &Self) -> Option<Self> {
        if self.length != other.length {
            return None;
        }
        let alphabet: Vec<u8> = self.alphabet.iter().copied().filter(|c| other.alphabet.contains(c)).collect();
        if alphabet.len() < 3 {
            return None;
        }
        let mut forbidden_prefixes = self.forbidden_prefixes.clone();
        forbidden_prefixes
            .extend(other.forbidden_prefixes.iter().filter(|p| !self.forbidden_prefixes.contains(p)).cloned());
        Some(Self { alphabet, length: self.length, forbidden_prefixes })
    }

    /// Whether `code` satisfies these rules and is not weak.
    pub fn accepts(&self, code: &str) -> bool {
        code.len() == self.length
            && code.bytes().all(|c| self.alphabet.contains(&c))
            && !self.forbidden_prefixes.iter().any(|p| code.starts_with(p))
            && !is_weak(code)
    }
}

/// Draws a value that satisfies `rules` and is not in `taken`. `None` when
/// none was found in a bounded number of draws (the lock is nearly out of
/// values); never loops forever.
pub fn generate(rules: &CodeRules, taken: &HashSet<String>) -> Option<String> {
    let mut rng = rand::rng();
    (0..MAX_DRAWS).find_map(|_| {
        let code: String = (0..rules.length)
            .map(|_| char::from(*rules.alphabet.choose(&mut rng).expect("a non-empty alphabet")))
            .collect();
        (rules.accepts(&code) && !taken.contains(&code)).then_some(code)
    })
}

/// A code a guest, a passer-by or a burglar could guess (SPEC §3.2): one
/// repeated character, an ascending or descending run, a repeated pair or
/// triple (any repeated block), or fewer than three distinct characters.
pub fn is_weak(code: &str) -> bool {
    let bytes = code.as_bytes();
    let distinct: HashSet<u8> = bytes.iter().copied().collect();
    if distinct.len() < 3 {
        return true;
    }
    let steps: Vec<i16> = bytes.windows(2).map(|w| i16::from(w[1]) - i16::from(w[0])).collect();
    if steps.iter().all(|s| *s == 1) || steps.iter().all(|s| *s == -1) {
        return true;
    }
    (1..=bytes.len() / 2)
        .filter(|block| bytes.len() % block == 0)
        .any(|block| bytes.chunks(block).all(|chunk| chunk == &bytes[..block]))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn rules(format: CodeFormat, length: usize, provider: ProviderKind) -> CodeRules {
        CodeRules::for_lock(format, length, provider, CodeKind::Guest)
    }

    #[test]
    fn weak_codes_are_recognised() {
        for weak in ["111111", "123456", "987654", "121212", "123123", "112211", "0000", "1212", "ABCDEF", "454545"] {
            assert!(is_weak(weak), "{weak} should be weak");
        }
        for strong in ["849391", "583920", "7315", "K7M2Q9", "9051734"] {
            assert!(!is_weak(strong), "{strong} should be strong");
        }
    }

    #[test]
    fn nuki_codes_are_six_digits_one_to_nine_not_starting_with_12() {
        let nuki = rules(CodeFormat::Numeric, 6, ProviderKind::Nuki);
        assert!(nuki.accepts("849391"));
        assert!(!nuki.accepts("849301"), "no zero");
        assert!(!nuki.accepts("128493"), "no 12 prefix");
        assert!(!nuki.accepts("84939"), "exactly six");
        let master = CodeRules::for_lock(CodeFormat::Numeric, 6, ProviderKind::Nuki, CodeKind::Master);
        assert_eq!(master.length, 6, "Nuki takes six digits only: no master is longer (the database refuses it)");
    }

    #[test]
    fn master_codes_are_longer() {
        let master = CodeRules::for_lock(CodeFormat::Numeric, 6, ProviderKind::Simulated, CodeKind::Master);
        assert_eq!(master.length, 8);
        let capped = CodeRules::for_lock(CodeFormat::Numeric, 10, ProviderKind::Simulated, CodeKind::Master);
        assert_eq!(capped.length, 10);
    }

    #[test]
    fn shared_rules_need_equal_lengths_and_combine_constraints() {
        let plain = rules(CodeFormat::Numeric, 6, ProviderKind::Simulated);
        let nuki = rules(CodeFormat::Numeric, 6, ProviderKind::Nuki);
        let shared = plain.shared_with(&nuki).unwrap();
        assert!(!shared.alphabet.contains(&b'0'));
        assert_eq!(shared.forbidden_prefixes, ["12"]);
        assert!(plain.shared_with(&rules(CodeFormat::Numeric, 8, ProviderKind::Simulated)).is_none());
        assert!(plain.shared_with(&rules(CodeFormat::Alphanumeric, 6, ProviderKind::Simulated)).is_some());
    }

    #[test]
    fn generation_gives_up_instead_of_looping_when_nothing_is_free() {
        let tiny = CodeRules { alphabet: b"123".to_vec(), length: 4, forbidden_prefixes: vec![] };
        let all: HashSet<String> = (0..81)
            .map(|n| {
                let digits = [n / 27 % 3, n / 9 % 3, n / 3 % 3, n % 3];
                digits.iter().map(|d| char::from(b'1' + d)).collect()
            })
            .collect();
        assert_eq!(generate(&tiny, &all), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn generated_codes_are_never_weak_and_fit_their_lock(
            length in 4usize..=10,
            alphanumeric in any::<bool>(),
            nuki in any::<bool>(),
        ) {
            let format = if alphanumeric { CodeFormat::Alphanumeric } else { CodeFormat::Numeric };
            let provider = if nuki && !alphanumeric { ProviderKind::Nuki } else { ProviderKind::Simulated };
            let rules = rules(format, length, provider);
            let code = generate(&rules, &HashSet::new()).expect("a free value");
            prop_assert!(!is_weak(&code), "{} is weak", code);
            prop_assert_eq!(code.len(), rules.length);
            prop_assert!(rules.accepts(&code));
            if alphanumeric {
                prop_assert!(!code.contains(['0', 'O', '1', 'I', 'L']), "{} has a look-alike", code);
            }
            if provider == ProviderKind::Nuki {
                prop_assert!(!code.starts_with("12") && !code.contains('0'));
            }
        }
    }

    #[test]
    fn device_constraints_narrow_the_rules() {
        let device = DeviceConstraints {
            supported_lengths: vec![4, 6],
            no_zeros: true,
            forbidden_prefixes: vec!["12".into()],
            ..DeviceConstraints::default()
        };
        let narrowed = rules(CodeFormat::Numeric, 5, ProviderKind::Seam).within(&device);
        assert_eq!(narrowed.length, 6, "the nearest supported length, the longer one on a tie");
        assert!(!narrowed.alphabet.contains(&b'0'));
        for _ in 0..200 {
            let code = generate(&narrowed, &HashSet::new()).unwrap();
            assert_eq!(code.len(), 6);
            assert!(!code.contains('0') && !code.starts_with("12"), "{code}");
        }
        let untouched = rules(CodeFormat::Numeric, 6, ProviderKind::Seam).within(&DeviceConstraints::default());
        assert_eq!(untouched, rules(CodeFormat::Numeric, 6, ProviderKind::Seam));
    }
}
