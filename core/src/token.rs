//! Opaque random tokens (sessions, invitations) and the digests under which they are stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// How many characters a token has: 32 bytes in unpadded Base64.
const TOKEN_CHARS: usize = 43;

/// 256 random bits, URL-safe Base64 without padding: what the browser or the link carries.
pub(crate) fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `value` has the shape of a [`generate`]d token: a cookie value that does not is none of ours.
pub fn is_well_formed(value: &str) -> bool {
    value.len() == TOKEN_CHARS
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The stored form of a token. Only digests reach the database, so a leaked backup
/// or a read-only SQL injection does not hand out live sessions or invitations.
pub fn digest(token: &str) -> String {
    let hash = Sha256::digest(token.as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_distinct() {
        let a = generate();
        let b = generate();
        assert_eq!(a.len(), TOKEN_CHARS);
        assert_ne!(a, b);
        assert!(is_well_formed(&a) && is_well_formed(&b));
    }

    #[test]
    fn only_the_generated_shape_is_well_formed() {
        let token = generate();
        for junk in [
            "",
            "short",
            &token[1..],
            &format!("{token}A"),
            &format!("{}+", &token[1..]),
        ] {
            assert!(!is_well_formed(junk), "{junk}");
        }
    }

    #[test]
    fn digest_is_stable_hex() {
        assert_eq!(digest("abc").len(), 64);
        assert_eq!(digest("abc"), digest("abc"));
        assert_ne!(digest("abc"), digest("abd"));
    }
}
