//! Email addresses as Gatehouse stores and compares them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A syntactically valid address: trimmed, with its domain lowercased.
///
/// The local part keeps its case because RFC 5321 lets a mail server treat it as case-sensitive;
/// the domain is case-insensitive, so lowercasing it makes `Bob@Example.COM` and `Bob@example.com` one user.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EmailAddress(String);

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
    #[error("The domain \"{0}\" is not a valid domain name.")]
    InvalidDomain(String),
}

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::Whitespace);
        }
        let mut parts = trimmed.split('@');
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
        let domain = domain.to_ascii_lowercase();
        if !is_plausible_domain(&domain) {
            return Err(EmailError::InvalidDomain(domain));
        }
        let address = format!("{local}@{domain}");
        if address.len() > 254 {
            return Err(EmailError::TooLong);
        }
        Ok(Self(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

/// At least two labels of letters, digits, hyphens (not at a label's ends), or non-ASCII
/// characters (internationalised domains); each label 1 to 63 bytes.
fn is_plausible_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || !c.is_ascii())
        })
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_lowercases_the_domain_only() {
        let email = EmailAddress::parse("  Alice.Smith@Example.COM \n").unwrap();
        assert_eq!(email.as_str(), "Alice.Smith@example.com");
        assert_eq!(email.domain(), "example.com");
    }

    #[test]
    fn rejects_malformed_addresses_with_a_reason() {
        assert_eq!(EmailAddress::parse("   "), Err(EmailError::Empty));
        assert_eq!(EmailAddress::parse("alice"), Err(EmailError::NotOneAt));
        assert_eq!(EmailAddress::parse("a@b@c.com"), Err(EmailError::NotOneAt));
        assert_eq!(EmailAddress::parse("@example.com"), Err(EmailError::MissingLocalPart));
        assert_eq!(EmailAddress::parse("alice@"), Err(EmailError::MissingDomain));
        assert_eq!(EmailAddress::parse("al ice@example.com"), Err(EmailError::Whitespace));
        assert!(matches!(
            EmailAddress::parse("alice@localhost"),
            Err(EmailError::InvalidDomain(_))
        ));
        assert!(matches!(
            EmailAddress::parse("alice@-bad.com"),
            Err(EmailError::InvalidDomain(_))
        ));
        assert!(matches!(
            EmailAddress::parse("alice@a..com"),
            Err(EmailError::InvalidDomain(_))
        ));
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(EmailAddress::parse(&long_local), Err(EmailError::LocalPartTooLong));
        let long = format!("a@{}.com", vec!["b".repeat(60); 5].join("."));
        assert_eq!(EmailAddress::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn accepts_internationalised_domains() {
        assert!(EmailAddress::parse("jürgen@bücher.de").is_ok());
    }
}
