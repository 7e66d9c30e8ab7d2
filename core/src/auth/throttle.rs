//! Brute-force guard: how long a sign-in key (an email, a client address) must wait after failures.

use chrono::Duration;

/// Failures allowed before back-off starts, the longest lock, and how long a quiet key keeps its count.
#[derive(Clone, Copy, Debug)]
pub struct ThrottlePolicy {
    pub free_failures_per_email: u32,
    pub free_failures_per_client: u32,
    pub max_lock: Duration,
    pub forget_after: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_failures_per_email: 5,
            // One office behind one NAT address shares this budget, so it is larger.
            free_failures_per_client: 30,
            max_lock: Duration::minutes(15),
            forget_after: Duration::hours(1),
        }
    }
}

impl ThrottlePolicy {
    /// The lock after the `failures`-th failure: none within the free budget, then 1 s, 2 s, 4 s, …
    /// up to `max_lock`. Doubling keeps honest typos cheap and makes guessing impractical.
    pub fn lock_after(&self, failures: u32, free: u32) -> Option<Duration> {
        let over = failures.checked_sub(free)?;
        let seconds = 1i64.checked_shl(over.min(30)).unwrap_or(i64::MAX);
        Some(Duration::seconds(seconds).min(self.max_lock))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_exponentially_after_the_free_budget() {
        let p = ThrottlePolicy::default();
        assert_eq!(p.lock_after(4, 5), None);
        assert_eq!(p.lock_after(5, 5), Some(Duration::seconds(1)));
        assert_eq!(p.lock_after(6, 5), Some(Duration::seconds(2)));
        assert_eq!(p.lock_after(9, 5), Some(Duration::seconds(16)));
        assert_eq!(p.lock_after(40, 5), Some(Duration::minutes(15)));
        assert_eq!(p.lock_after(u32::MAX, 5), Some(Duration::minutes(15)));
    }
}
