//! Email addresses: the one canonical form every lookup and uniqueness check uses, beside the form people read.

use std::fmt;
use std::hash::{Hash, Hasher};
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// A valid address in two forms. `key` identifies the person: the local part in Unicode compatibility form (NFKC)
/// and lowercased, the domain in lowercase ASCII (punycode), so case, width, composed or decomposed letters and
/// the three spellings of an internationalised domain all reach one user. `display` is the address as typed
/// (trimmed, NFC, the domain lowercased), shown to people. Two addresses are equal when their keys are.
///
/// RFC 5321 lets a mail server treat the local part's case as significant, but no large IdP or mail provider
/// does, and an identity that changes with case is how one person became several users. NFKC rather than NFC:
/// full-width and other compatibility letters look like their plain forms, so an address written with them must
/// not be someone else; the domain already gets this mapping from UTS 46.
#[derive(Clone, Debug)]
pub struct EmailAddress {
    display: String,
    key: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter an email address.")]
    Empty,
    #[error("An email address has exactly one @, as in name@example.com.")]
    NotOneAt,
    #[error("The part before the @ is missing.")]
    MissingLocalPart,
    #[error("The domain after the @ is missing.")]
    MissingDomain,
    #[error("An email address is at most 254 characters long.")]
    TooLong,
    #[error("The part before the @ is at most 64 characters long.")]
    LocalPartTooLong,
    #[error("An email address cannot contain spaces or control characters.")]
    Whitespace,
    #[error(
        "The address contains an invisible formatting character ({0}), which no email address has. Type the address \
         instead of pasting it."
    )]
    Invisible(String),
    #[error("The domain \"{0}\" is not a valid domain name.")]
    InvalidDomain(String),
}

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let display: String = input.trim().nfc().collect();
        if display.is_empty() {
            return Err(EmailError::Empty);
        }
        check_characters(&display)?;
        let folded = Self::fold(&display);
        // Compatibility characters can decompose into spaces (U+00A8 is a space and a diaeresis).
        check_characters(&folded)?;
        let mut parts = folded.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EmailError::NotOneAt);
        };
        if local.is_empty() {
            return Err(EmailError::MissingLocalPart);
        }
        if domain.is_empty() {
            return Err(EmailError::MissingDomain);
        }
        if local.len() > 64 {
            return Err(EmailError::LocalPartTooLong);
        }
        let domain = crate::domains::to_ascii(domain)
            .ok()
            .filter(|ascii| ascii.contains('.'))
            .ok_or_else(|| EmailError::InvalidDomain(domain.to_owned()))?;
        let key = format!("{local}@{domain}");
        // A domain's case means nothing, so it is shown in lowercase; the local part is shown as typed.
        let display = match display.rsplit_once('@') {
            Some((local, domain)) => format!("{local}@{}", domain.to_lowercase()),
            None => display,
        };
        if key.len() > 254 || display.len() > 254 {
            return Err(EmailError::TooLong);
        }
        Ok(Self { display, key })
    }

    /// Text as addresses are compared: compatibility form (NFKC), lowercased, composed (NFC); what a search for
    /// part of an address is matched with.
    pub fn fold(text: &str) -> String {
        text.nfkc().collect::<String>().to_lowercase().nfc().collect()
    }

    /// The address as typed, for people to read.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The canonical form: what is stored for lookups and kept unique.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The domain in its lowercase ASCII form, as verified domains are stored.
    pub fn domain(&self) -> &str {
        self.key.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    /// The local part of the canonical form.
    pub fn local_part(&self) -> &str {
        self.key.rsplit_once('@').map(|(l, _)| l).unwrap_or_default()
    }
}

/// Refuses what cannot be seen: spaces, controls, and formatting characters (Unicode category Cf: zero-width
/// spaces and joiners, bidirectional controls, the byte-order mark, tags), private-use characters, and the other
/// default-ignorable code points (variation selectors, fillers). Each would make an address look like another.
fn check_characters(text: &str) -> Result<(), EmailError> {
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            return Err(EmailError::Whitespace);
        }
        if is_invisible(c) {
            return Err(EmailError::Invisible(format!("U+{:04X}", u32::from(c))));
        }
    }
    Ok(())
}

fn is_invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Format | GeneralCategory::PrivateUse
    ) || matches!(
        c,
        // Default_Ignorable_Code_Point (Unicode's DerivedCoreProperties) outside category Cf.
        '\u{034F}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

impl PartialEq for EmailAddress {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for EmailAddress {}

impl Hash for EmailAddress {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl gatehouse_migrations::EmailCanon for EmailAddress {
    fn key(address: &str) -> Option<String> {
        Self::parse(address).ok().map(|email| email.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(input: &str) -> String {
        EmailAddress::parse(input)
            .unwrap_or_else(|e| panic!("{input:?}: {e}"))
            .key
    }

    #[test]
    fn keeps_the_typed_form_for_display_and_folds_case_for_the_key() {
        let email = EmailAddress::parse("  Alice.Smith@Example.COM \n").unwrap();
        assert_eq!(email.display(), "Alice.Smith@example.com");
        assert_eq!(email.key(), "alice.smith@example.com");
        assert_eq!(email.domain(), "example.com");
        assert_eq!(email.local_part(), "alice.smith");
        assert_eq!(email.to_string(), "Alice.Smith@example.com");
        assert_eq!(email, EmailAddress::parse("alice.smith@example.com").unwrap());
    }

    #[test]
    fn one_key_for_case_unicode_forms_and_width() {
        let alice = key("alice@corp.example");
        for variant in [
            "ALICE@corp.example",
            "Alice@Corp.Example",
            "ａｌｉｃｅ@corp.example",
            "ALICE＠ＣＯＲＰ.example",
        ] {
            assert_eq!(key(variant), alice, "{variant}");
        }
        // Composed (NFC) and decomposed (NFD) ü, and its capital.
        let jurgen = key("j\u{fc}rgen@corp.example");
        assert_eq!(key("ju\u{308}rgen@corp.example"), jurgen);
        assert_eq!(key("J\u{dc}RGEN@corp.example"), jurgen);
        assert_eq!(jurgen, "j\u{fc}rgen@corp.example");
    }

    #[test]
    fn one_key_for_the_spellings_of_an_internationalised_domain() {
        let unicode = key("jurgen@b\u{fc}cher.example");
        assert_eq!(unicode, "jurgen@xn--bcher-kva.example");
        assert_eq!(key("jurgen@xn--bcher-kva.example"), unicode);
        assert_eq!(key("JURGEN@XN--BCHER-KVA.EXAMPLE"), unicode);
        assert_eq!(key("jurgen@B\u{dc}CHER.example"), unicode);
        assert_eq!(key("jurgen@bu\u{308}cher.example"), unicode);
    }

    #[test]
    fn the_key_is_its_own_key() {
        for input in [
            "Alice@Example.COM",
            "ａｌｉｃｅ@corp.example",
            "J\u{dc}RGEN@B\u{dc}CHER.example",
            "\u{130}stanbul@corp.example",
            "\u{212b}ngstr\u{f6}m@corp.example",
            "\u{3392}@corp.example",
            "stra\u{df}e@corp.example",
            "\u{3a3}\u{39f}\u{3a6}\u{399}\u{391}@corp.example",
        ] {
            let once = key(input);
            assert_eq!(key(&once), once, "{input}");
        }
    }

    #[test]
    fn refuses_invisible_and_formatting_characters_with_their_code() {
        for (input, code) in [
            ("al\u{200b}ice@corp.example", "U+200B"),
            ("alice\u{200d}@corp.example", "U+200D"),
            ("\u{feff}alice@corp.example", "U+FEFF"),
            ("alice@corp\u{ad}.example", "U+00AD"),
            ("\u{202e}ecila@corp.example", "U+202E"),
            ("alice\u{2066}@corp.example", "U+2066"),
            ("alice\u{200e}@corp.example", "U+200E"),
            ("alice\u{fe0f}@corp.example", "U+FE0F"),
            ("alice\u{34f}@corp.example", "U+034F"),
            ("alice\u{e0041}@corp.example", "U+E0041"),
            ("alice\u{e000}@corp.example", "U+E000"),
        ] {
            let error = EmailAddress::parse(input).expect_err(input);
            assert_eq!(error, EmailError::Invisible(code.into()), "{input:?}");
            assert!(error.to_string().contains(code));
        }
        assert_eq!(
            EmailAddress::parse("al\u{a8}ice@corp.example"),
            Err(EmailError::Whitespace),
            "a compatibility character that decomposes into a space"
        );
    }

    #[test]
    fn rejects_malformed_addresses_with_a_reason() {
        assert_eq!(EmailAddress::parse("   "), Err(EmailError::Empty));
        assert_eq!(EmailAddress::parse("alice"), Err(EmailError::NotOneAt));
        assert_eq!(EmailAddress::parse("a@b@c.com"), Err(EmailError::NotOneAt));
        assert_eq!(EmailAddress::parse("@example.com"), Err(EmailError::MissingLocalPart));
        assert_eq!(EmailAddress::parse("alice@"), Err(EmailError::MissingDomain));
        assert_eq!(EmailAddress::parse("al ice@example.com"), Err(EmailError::Whitespace));
        for bad in [
            "alice@localhost",
            "alice@-bad.com",
            "alice@a..com",
            "alice@ex_ample.com",
        ] {
            assert!(
                matches!(EmailAddress::parse(bad), Err(EmailError::InvalidDomain(_))),
                "{bad}"
            );
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(EmailAddress::parse(&long_local), Err(EmailError::LocalPartTooLong));
        let long = format!("{}@{}.com", "a".repeat(10), vec!["b".repeat(61); 4].join("."));
        assert_eq!(EmailAddress::parse(&long), Err(EmailError::TooLong));
    }
}
