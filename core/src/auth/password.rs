//! Password rules and argon2id hashing.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use std::sync::LazyLock;

pub const MIN_LENGTH: usize = 10;
/// Long enough for any passphrase, short enough that hashing it cannot be used to tie up the server.
pub const MAX_LENGTH: usize = 256;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("Use at least {MIN_LENGTH} characters.")]
    TooShort,
    #[error("Use at most {MAX_LENGTH} characters.")]
    TooLong,
    #[error("This password is too common and easy to guess. Choose another.")]
    Common,
    #[error("Don't use your email address as your password.")]
    ContainsEmail,
}

/// A password that passed the rules for new passwords; the only way to get a hash.
pub struct NewPassword(String);

/// Passwords that appear at the top of breach lists, lowercased; checked after lowercasing the candidate.
static COMMON_PASSWORDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    include_str!("common_passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

impl NewPassword {
    pub fn parse(password: &str, email_local_part: &str) -> Result<Self, PasswordError> {
        let length = password.chars().count();
        if length < MIN_LENGTH {
            return Err(PasswordError::TooShort);
        }
        if length > MAX_LENGTH {
            return Err(PasswordError::TooLong);
        }
        let lowered = password.to_lowercase();
        if COMMON_PASSWORDS.contains(&lowered.as_str()) || is_single_repeated_char(&lowered) {
            return Err(PasswordError::Common);
        }
        if email_local_part.len() >= 4 && lowered.contains(&email_local_part.to_lowercase()) {
            return Err(PasswordError::ContainsEmail);
        }
        Ok(Self(password.to_owned()))
    }

    /// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) with a fresh random salt.
    /// CPU-heavy (tens of milliseconds): call it off the async runtime.
    pub fn hash(&self) -> String {
        // Argon2::default() is argon2id, m=19 MiB, t=2, p=1: OWASP's recommended minimum.
        Argon2::default()
            .hash_password(self.0.as_bytes())
            .expect("hashing with a generated salt and default parameters cannot fail")
            .to_string()
    }
}

fn is_single_repeated_char(password: &str) -> bool {
    let mut chars = password.chars();
    let first = chars.next();
    chars.all(|c| Some(c) == first)
}

/// Whether `password` matches the stored PHC string. A malformed stored hash never matches.
/// CPU-heavy: call it off the async runtime.
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
}

/// A valid hash of a random password, verified against when the email is unknown so that a
/// missing user and a wrong password take the same time.
pub static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| NewPassword(crate::token::generate()).hash());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_with_owasp_parameters_and_verifies() {
        let hash = NewPassword::parse("correct horse battery", "alice").unwrap().hash();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify("correct horse battery", &hash));
        assert!(!verify("correct horse battery!", &hash));
    }

    #[test]
    fn salts_differ_per_hash() {
        let password = NewPassword::parse("correct horse battery", "alice").unwrap();
        assert_ne!(password.hash(), password.hash());
    }

    #[test]
    fn rules_for_new_passwords() {
        assert_eq!(NewPassword::parse("short", "a").err(), Some(PasswordError::TooShort));
        assert_eq!(
            NewPassword::parse(&"x".repeat(257), "a").err(),
            Some(PasswordError::TooLong)
        );
        assert_eq!(
            NewPassword::parse("Password123", "a").err(),
            Some(PasswordError::Common)
        );
        assert_eq!(NewPassword::parse("qwertyuiop", "a").err(), Some(PasswordError::Common));
        assert_eq!(
            NewPassword::parse("aaaaaaaaaaaa", "a").err(),
            Some(PasswordError::Common)
        );
        assert_eq!(
            NewPassword::parse("my-alice.smith-pass", "alice.smith").err(),
            Some(PasswordError::ContainsEmail)
        );
        assert!(NewPassword::parse("ünïcödé pässwörd", "a").is_ok());
    }

    #[test]
    fn malformed_stored_hash_never_matches() {
        assert!(!verify("anything", "not a phc string"));
        assert!(!verify("anything", ""));
    }
}
