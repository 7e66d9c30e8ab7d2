//! How long a session lives: idle and absolute expiry.

use chrono::{DateTime, Duration, Utc};

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
