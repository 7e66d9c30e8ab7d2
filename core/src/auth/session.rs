//! What a session is: how long it lives (idle and absolute expiry) and how it was opened.

use crate::ids::ConnectionId;
use chrono::{DateTime, Duration, Utc};

/// How a session was opened. An account that enforces SSO admits the members its SSO provisioned only with a
/// session opened through one of its own connections, so a session must say which connection vouched for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionOrigin {
    /// A password, or a session opened before sessions recorded their connection: nothing vouches for it beyond
    /// Gatehouse itself.
    Password,
    /// An SSO sign-in through this connection.
    Sso(ConnectionId),
}

#[derive(Clone, Copy, Debug)]
pub struct SessionPolicy {
    /// A session unused for this long ends.
    pub idle: Duration,
    /// A session ends this long after sign-in, however active.
    pub absolute: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: Duration::hours(12),
            absolute: Duration::days(7),
        }
    }
}

/// Writing `last_seen_at` on every request would turn each page view into a database write;
/// a minute's precision is plenty for an idle timeout measured in hours.
pub(crate) const TOUCH_INTERVAL: Duration = Duration::minutes(1);

impl SessionPolicy {
    pub fn is_live(&self, last_seen_at: DateTime<Utc>, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now < expires_at && now - last_seen_at < self.idle
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_and_absolute_expiry() {
        let p = SessionPolicy {
            idle: Duration::hours(1),
            absolute: Duration::hours(8),
        };
        let t0 = Utc::now();
        let expires = t0 + p.absolute;
        assert!(p.is_live(t0, expires, t0 + Duration::minutes(59)));
        assert!(!p.is_live(t0, expires, t0 + Duration::minutes(61)));
        assert!(p.is_live(
            t0 + Duration::hours(7),
            expires,
            t0 + Duration::hours(7) + Duration::minutes(30)
        ));
        assert!(!p.is_live(t0 + Duration::hours(7), expires, t0 + Duration::hours(8)));
    }
}
