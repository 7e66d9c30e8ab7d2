//! Email domain names as owners type them, checked and normalised to the lowercase ASCII form DNS uses.

use std::fmt;
use std::net::IpAddr;

/// Longest name DNS can carry, without the trailing dot (RFC 1035, 255 octets on the wire).
const MAX_NAME: usize = 253;
const MAX_LABEL: usize = 63;

/// A domain an account may claim: lowercase ASCII (internationalised names in punycode), at least two labels,
/// not an IP address and not itself a public suffix.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DomainNameError {
    #[error("Enter a domain, for example example.com.")]
    Empty,
    #[error("Enter the domain only, for example example.com, without \"{0}\".")]
    NotJustADomain(&'static str),
    #[error("{0} is an IP address; enter a domain name such as example.com.")]
    IpAddress(String),
    #[error("\"{0}\" is not a valid domain name: {1}")]
    Invalid(String, &'static str),
    #[error("The domain is {0} characters long; DNS allows at most {MAX_NAME}.")]
    TooLong(usize),
    #[error("The part \"{0}\" is longer than {MAX_LABEL} characters, which DNS does not allow.")]
    LabelTooLong(String),
    #[error("Enter a full domain such as {0}.com, not a single name.")]
    SingleLabel(String),
    #[error(
        "{0} is a public suffix: names under it belong to many different owners. Enter your own domain, for example yourcompany.{0}."
    )]
    PublicSuffix(String),
}

impl DomainName {
    /// Trims, drops one trailing dot, lowercases and converts internationalised names to punycode (UTS 46),
    /// then checks what a claimable email domain must be.
    pub fn parse(input: &str) -> Result<Self, DomainNameError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(DomainNameError::Empty);
        }
        if text.contains("://") {
            return Err(DomainNameError::NotJustADomain("https://"));
        }
        let text = text.strip_suffix('.').unwrap_or(text);
        let bare = text.trim_start_matches('[').trim_end_matches(']');
        if bare.parse::<IpAddr>().is_ok() {
            return Err(DomainNameError::IpAddress(bare.to_owned()));
        }
        if let Some(part) = ["@", "/", ":", " "].into_iter().find(|part| text.contains(part)) {
            return Err(DomainNameError::NotJustADomain(part));
        }
        if text.is_empty() || text.starts_with('.') || text.contains("..") {
            return Err(DomainNameError::Invalid(
                text.to_owned(),
                "it has an empty part between dots.",
            ));
        }
        let ascii = to_ascii(text)?;
        if !ascii.contains('.') {
            return Err(DomainNameError::SingleLabel(ascii));
        }
        // The public suffix list covers ICANN suffixes (com, co.uk) and private ones (github.io): in both,
        // names below belong to unrelated owners, so the suffix itself cannot be claimed. Unlisted top-level
        // names (a private `corp.internal`) stay allowed for deployments with their own DNS.
        if psl::suffix(ascii.as_bytes()).is_some_and(|s| s.is_known() && s.as_bytes() == ascii.as_bytes()) {
            return Err(DomainNameError::PublicSuffix(ascii));
        }
        Ok(Self(ascii))
    }

    /// Rebuilds a name that was stored after `parse`.
    pub(crate) fn from_stored(name: String) -> Self {
        Self(name)
    }

    /// The lowercase ASCII (punycode) form: what is stored and looked up.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form people read: internationalised labels decoded from punycode.
    pub fn to_unicode(&self) -> String {
        let (unicode, result) = idna::domain_to_unicode(&self.0);
        if result.is_ok() { unicode } else { self.0.clone() }
    }
}

/// The lowercase ASCII form of a host name (UTS 46: case, width and Unicode forms mapped, internationalised labels
/// in punycode), checked against DNS's rules: how both claimed domains and the domains of email addresses are
/// compared.
pub(crate) fn to_ascii(text: &str) -> Result<String, DomainNameError> {
    let ascii = idna::domain_to_ascii(text)
        .map_err(|_| DomainNameError::Invalid(text.to_owned(), "it contains characters a domain cannot have."))?;
    check_labels(&ascii)?;
    // Only the standard punycode spelling is taken, so that a stored name always reads back as itself and one
    // domain has one key, whatever spellings the IDNA library lets through.
    if ascii.contains("xn--") {
        let (unicode, decoded) = idna::domain_to_unicode(&ascii);
        if decoded.is_err() || idna::domain_to_ascii(&unicode).ok().as_deref() != Some(ascii.as_str()) {
            return Err(DomainNameError::Invalid(
                ascii,
                "its internationalised part is not in its standard form; type the name as people read it.",
            ));
        }
    }
    if ascii.len() > MAX_NAME {
        return Err(DomainNameError::TooLong(ascii.len()));
    }
    Ok(ascii)
}

/// Host-name rules (RFC 1123) on the ASCII form: letters, digits and inner hyphens, 1 to 63 characters a label.
fn check_labels(ascii: &str) -> Result<(), DomainNameError> {
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err(DomainNameError::Invalid(
                ascii.to_owned(),
                "it has an empty part between dots.",
            ));
        }
        if label.len() > MAX_LABEL {
            return Err(DomainNameError::LabelTooLong(label.to_owned()));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(DomainNameError::Invalid(
                ascii.to_owned(),
                "use only letters, digits, hyphens and dots.",
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(DomainNameError::Invalid(
                ascii.to_owned(),
                "a part cannot start or end with a hyphen.",
            ));
        }
    }
    if ascii
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(DomainNameError::Invalid(
            ascii.to_owned(),
            "the last part cannot be only digits.",
        ));
    }
    Ok(())
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> String {
        DomainName::parse(input).unwrap_or_else(|e| panic!("{input}: {e}")).0
    }

    fn err(input: &str) -> DomainNameError {
        DomainName::parse(input).expect_err(input)
    }

    #[test]
    fn normalises_case_space_and_trailing_dot() {
        assert_eq!(ok("  Example.COM.  "), "example.com");
        assert_eq!(ok("mail.example.co.uk"), "mail.example.co.uk");
        assert_eq!(ok("a-b.example"), "a-b.example");
    }

    #[test]
    fn converts_internationalised_names_to_punycode() {
        assert_eq!(ok("Bücher.example"), "xn--bcher-kva.example");
        assert_eq!(ok("münchen.de"), "xn--mnchen-3ya.de");
        assert_eq!(ok("例え.jp"), "xn--r8jz45g.jp");
        assert_eq!(
            DomainName::parse("xn--bcher-kva.example").unwrap().to_unicode(),
            "bücher.example"
        );
    }

    #[test]
    fn takes_punycode_only_in_its_standard_spelling() {
        assert_eq!(ok("xn--tda.example"), "xn--tda.example");
        assert_eq!(ok("ü.example"), "xn--tda.example");
        for other in ["xn---tda.example", "xn--tda-.example", "xn--.example"] {
            assert!(DomainName::parse(other).is_err(), "{other}");
        }
    }

    #[test]
    fn rejects_ip_addresses() {
        assert!(matches!(err("192.0.2.10"), DomainNameError::IpAddress(_)));
        assert!(matches!(err("2001:db8::1"), DomainNameError::IpAddress(_)));
        assert!(matches!(err("[2001:db8::1]"), DomainNameError::IpAddress(_)));
    }

    #[test]
    fn rejects_single_labels_and_public_suffixes() {
        assert_eq!(err("localhost"), DomainNameError::SingleLabel("localhost".into()));
        assert_eq!(err("com"), DomainNameError::SingleLabel("com".into()));
        assert_eq!(err("co.uk"), DomainNameError::PublicSuffix("co.uk".into()));
        assert_eq!(err("CO.UK."), DomainNameError::PublicSuffix("co.uk".into()));
        assert_eq!(err("github.io"), DomainNameError::PublicSuffix("github.io".into()));
        assert_eq!(ok("acme.github.io"), "acme.github.io");
    }

    #[test]
    fn rejects_emails_urls_and_paths_with_a_hint() {
        assert_eq!(err("user@example.com"), DomainNameError::NotJustADomain("@"));
        assert_eq!(err("https://example.com"), DomainNameError::NotJustADomain("https://"));
        assert_eq!(err("example.com/path"), DomainNameError::NotJustADomain("/"));
        assert_eq!(err("example.com:443"), DomainNameError::NotJustADomain(":"));
        assert_eq!(err("exa mple.com"), DomainNameError::NotJustADomain(" "));
    }

    #[test]
    fn rejects_malformed_names() {
        assert_eq!(err(""), DomainNameError::Empty);
        assert_eq!(err("   "), DomainNameError::Empty);
        assert!(matches!(err("."), DomainNameError::Invalid(..)));
        assert!(matches!(err("example..com"), DomainNameError::Invalid(..)));
        assert!(matches!(err(".example.com"), DomainNameError::Invalid(..)));
        assert!(matches!(err("-example.com"), DomainNameError::Invalid(..)));
        assert!(matches!(err("example-.com"), DomainNameError::Invalid(..)));
        assert!(matches!(err("ex_ample.com"), DomainNameError::Invalid(..)));
        assert!(matches!(err("example.123"), DomainNameError::Invalid(..)));
        assert!(matches!(err("exa\u{0}mple.com"), DomainNameError::Invalid(..)));
    }

    #[test]
    fn rejects_names_longer_than_dns_allows() {
        let label = "a".repeat(64);
        assert_eq!(err(&format!("{label}.com")), DomainNameError::LabelTooLong(label));
        let long = format!("{}.com", vec!["a".repeat(60); 5].join("."));
        assert_eq!(err(&long), DomainNameError::TooLong(long.len()));
        let longest = format!("{}.com", vec!["a".repeat(62); 4].join("."));
        assert_eq!(longest.len(), 255);
        assert!(DomainName::parse(&longest[4..]).is_ok());
    }
}
