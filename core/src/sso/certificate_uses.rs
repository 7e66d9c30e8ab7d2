//! When each IdP signing certificate last verified a sign-in, as the owner's "last used" shows it: written at most
//! once per certificate every [`PRECISION`] by each server instance, so that a busy connection's sign-ins do not
//! each pay for a write.

use crate::ids::ConnectionId;
use chrono::{DateTime, Duration, Utc};
use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::Mutex;

/// How stale "last used" may be. Enough to tell which certificate is live during a roll-over (days or weeks).
pub const PRECISION: Duration = Duration::minutes(10);

/// Far more certificates than sign in at once; past it the least recently recorded is forgotten, and its next use
/// is written again.
const REMEMBERED: NonZeroUsize = NonZeroUsize::new(8_192).unwrap();

/// The uses this instance wrote last, by connection and certificate (SHA-256 fingerprint). Only certificates
/// that verified a signature get here, so strangers cannot fill it.
pub struct CertificateUses(Mutex<LruCache<(ConnectionId, String), DateTime<Utc>>>);

impl Default for CertificateUses {
    fn default() -> Self {
        Self(Mutex::new(LruCache::new(REMEMBERED)))
    }
}

impl CertificateUses {
    /// Whether a use at `now` is to be written, counting it as written when it is.
    pub fn due(&self, connection: ConnectionId, fingerprint: &str, now: DateTime<Utc>) -> bool {
        let mut written = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (connection, fingerprint.to_owned());
        match written.get(&key) {
            Some(at) if now - *at < PRECISION && *at <= now => false,
            _ => {
                written.put(key, now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_certificate_is_written_once_per_precision() {
        let uses = CertificateUses::default();
        let (connection, now) = (ConnectionId::new(), Utc::now());
        assert!(uses.due(connection, "AA", now));
        assert!(!uses.due(connection, "AA", now + Duration::minutes(9)));
        assert!(uses.due(connection, "BB", now), "another certificate is its own");
        assert!(
            uses.due(ConnectionId::new(), "AA", now),
            "and so is another connection's"
        );
        assert!(uses.due(connection, "AA", now + PRECISION));
        assert!(
            uses.due(connection, "AA", now),
            "a clock set back is written rather than trusted"
        );
    }
}
