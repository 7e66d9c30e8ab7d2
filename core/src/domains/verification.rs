//! The verification decision: what one DNS answer means for a domain's status and when to look again.
//!
//! Pure functions of (state, answer, now, policy), so every transition is tested with a fixed clock.

use super::name::DomainName;
use chrono::{DateTime, Duration, Utc};

/// What the DNS said about the TXT records at a domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupOutcome {
    /// The TXT records found (after following CNAMEs), each one's character-strings joined.
    Records(Vec<String>),
    /// The name exists but holds no TXT record.
    NoRecords,
    /// The name does not exist.
    NxDomain,
    /// No DNS server answered in time.
    Timeout,
    /// A server answered with an error or could not be reached; the text says which.
    ServerFailure(String),
}

/// The result of comparing an answer with the domain's expected record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckResult {
    Match,
    NoRecord,
    Mismatch {
        found: usize,
        /// A record holds the value with something around it (quotes, spaces), a common copy-paste slip.
        near_miss: bool,
    },
    NxDomain,
    Timeout,
    ServerFailure(String),
    /// The record matches, but another account has this domain verified.
    ClaimedElsewhere,
}

impl CheckResult {
    /// The result's name in the operator's metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            CheckResult::Match => "match",
            CheckResult::NoRecord => "no_record",
            CheckResult::Mismatch { .. } => "mismatch",
            CheckResult::NxDomain => "nxdomain",
            CheckResult::Timeout => "timeout",
            CheckResult::ServerFailure(_) => "server_failure",
            CheckResult::ClaimedElsewhere => "claimed_elsewhere",
        }
    }

    /// Compares every TXT record exactly with `expected`.
    pub fn from_lookup(outcome: LookupOutcome, expected: &str) -> Self {
        match outcome {
            LookupOutcome::Records(records) if records.is_empty() => CheckResult::NoRecord,
            LookupOutcome::Records(records) => {
                if records.iter().any(|r| r == expected) {
                    CheckResult::Match
                } else {
                    CheckResult::Mismatch {
                        found: records.len(),
                        near_miss: records.iter().any(|r| r.contains(expected)),
                    }
                }
            }
            LookupOutcome::NoRecords => CheckResult::NoRecord,
            LookupOutcome::NxDomain => CheckResult::NxDomain,
            LookupOutcome::Timeout => CheckResult::Timeout,
            LookupOutcome::ServerFailure(message) => CheckResult::ServerFailure(message),
        }
    }

    /// A failure that says nothing about the record (the DNS could not be asked), as opposed to an answer
    /// showing the record is not there.
    fn is_inconclusive(&self) -> bool {
        matches!(self, CheckResult::Timeout | CheckResult::ServerFailure(_))
    }

    /// The failure in plain words for the owner; `None` for a match.
    pub fn reason(&self, domain: &DomainName) -> Option<String> {
        Some(match self {
            CheckResult::Match => return None,
            CheckResult::NoRecord => format!("No TXT record found at {domain}."),
            CheckResult::Mismatch { found, near_miss } => {
                let records = if *found == 1 {
                    "1 TXT record"
                } else {
                    &format!("{found} TXT records")
                };
                let mut text = format!("Found {records} at {domain}; none matches the verification value.");
                if *near_miss {
                    text.push_str(
                        " One contains the value with extra characters (quotes or spaces?): the record must hold exactly the value shown.",
                    );
                }
                text
            }
            CheckResult::NxDomain => format!("The domain {domain} does not exist (NXDOMAIN)."),
            CheckResult::Timeout => "The DNS server did not answer (timeout).".to_owned(),
            CheckResult::ServerFailure(message) => format!("The DNS lookup failed: {message}."),
            CheckResult::ClaimedElsewhere => format!(
                "{domain} is already verified by another account. A domain can be verified in one account only; \
                 it becomes free when that account removes it."
            ),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainStatus {
    /// Added, not checked yet.
    Pending,
    /// Verified; re-checked on an interval.
    Active,
    /// Never verified (or verification expired); the reason says why.
    Failed,
    /// Was verified, the record is gone; still counts as verified until the grace period ends.
    VerificationLost,
}

impl DomainStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DomainStatus::Pending => "pending",
            DomainStatus::Active => "active",
            DomainStatus::Failed => "failed",
            DomainStatus::VerificationLost => "verification_lost",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DomainStatus::Pending => "Pending",
            DomainStatus::Active => "Active",
            DomainStatus::Failed => "Failed",
            DomainStatus::VerificationLost => "Verification lost",
        }
    }

    /// Reads a stored status; an unknown value (a damaged row) reads as Failed, which grants nothing.
    pub fn from_stored(text: &str) -> Self {
        [
            DomainStatus::Pending,
            DomainStatus::Active,
            DomainStatus::Failed,
            DomainStatus::VerificationLost,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
        .unwrap_or(DomainStatus::Failed)
    }

    /// Whether the domain proves ownership now: Active, or lost but still inside its grace period.
    pub fn counts_as_verified(self) -> bool {
        matches!(self, DomainStatus::Active | DomainStatus::VerificationLost)
    }
}

/// How often domains are re-checked and how long a lost record is forgiven.
#[derive(Clone, Copy, Debug)]
pub struct VerificationPolicy {
    /// Between checks of an Active domain.
    pub recheck_interval: Duration,
    /// How long a verified domain whose record disappeared keeps counting as verified.
    pub grace_period: Duration,
    /// How long after it is added (or Verify is pressed) a domain that is not verified yet is checked
    /// automatically, with growing gaps.
    pub pending_window: Duration,
    /// Between checks after an inconclusive answer, or while verification is lost.
    pub retry_interval: Duration,
}

impl Default for VerificationPolicy {
    fn default() -> Self {
        Self {
            recheck_interval: Duration::hours(24),
            grace_period: Duration::days(7),
            pending_window: Duration::hours(72),
            retry_interval: Duration::hours(1),
        }
    }
}

/// The verification fields of a domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationState {
    pub status: DomainStatus,
    pub verified_at: Option<DateTime<Utc>>,
    pub lost_since: Option<DateTime<Utc>>,
    pub last_checked_at: Option<DateTime<Utc>>,
    /// Why the last check failed; a failed check on an Active domain that was inconclusive keeps it Active
    /// and is still reported here.
    pub last_failure: Option<String>,
    /// When the background task looks next; `None`: only when someone presses Verify.
    pub next_check_at: Option<DateTime<Utc>>,
    /// End of the automatic checks of a domain that is not verified yet.
    pub auto_check_until: Option<DateTime<Utc>>,
}

impl VerificationState {
    /// A domain just added: checked automatically for the pending window.
    pub fn new(now: DateTime<Utc>, policy: &VerificationPolicy) -> Self {
        Self {
            status: DomainStatus::Pending,
            verified_at: None,
            lost_since: None,
            last_checked_at: None,
            last_failure: None,
            next_check_at: Some(now + MIN_BACKOFF),
            auto_check_until: Some(now + policy.pending_window),
        }
    }

    /// The moment a lost domain stops counting as verified.
    pub fn grace_ends_at(&self, policy: &VerificationPolicy) -> Option<DateTime<Utc>> {
        match self.status {
            DomainStatus::VerificationLost => self.lost_since.map(|since| since + policy.grace_period),
            _ => None,
        }
    }
}

/// Why a check runs: the owner pressed Verify, or the background task found the domain due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Manual,
    Scheduled,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Scheduled => "scheduled",
        }
    }
}

const MIN_BACKOFF: Duration = Duration::minutes(1);

/// The state after a check. `jitter` (a small random duration) is added to the next regular re-check so
/// domains verified together do not all come due at the same moment.
pub fn decide(
    state: &VerificationState,
    check: &CheckResult,
    domain: &DomainName,
    trigger: Trigger,
    now: DateTime<Utc>,
    jitter: Duration,
    policy: &VerificationPolicy,
) -> VerificationState {
    let mut next = state.clone();
    next.last_checked_at = Some(now);
    next.last_failure = check.reason(domain);
    if trigger == Trigger::Manual && !state.status.counts_as_verified() {
        next.auto_check_until = Some(now + policy.pending_window);
    }

    if *check == CheckResult::Match {
        if !state.status.counts_as_verified() {
            next.verified_at = Some(now);
        }
        next.status = DomainStatus::Active;
        next.lost_since = None;
        next.auto_check_until = None;
        next.next_check_at = Some(now + policy.recheck_interval + jitter);
        return next;
    }

    match state.status {
        DomainStatus::Active if check.is_inconclusive() => {
            next.next_check_at = Some(now + policy.retry_interval);
        }
        DomainStatus::Active => {
            next.status = DomainStatus::VerificationLost;
            next.lost_since = Some(now);
            next.next_check_at = Some(now + policy.retry_interval);
        }
        DomainStatus::VerificationLost => {
            let grace_over = state.lost_since.is_none_or(|since| now >= since + policy.grace_period);
            if grace_over {
                let since = state.lost_since.unwrap_or(now).format("%Y-%m-%d %H:%M UTC");
                next.status = DomainStatus::Failed;
                next.lost_since = None;
                next.verified_at = None;
                next.next_check_at = None;
                next.auto_check_until = None;
                next.last_failure = Some(format!(
                    "{} The record has been failing since {since}, longer than the grace period, so the domain \
                     no longer counts as verified. Put the record back and press Verify.",
                    next.last_failure.unwrap_or_default()
                ));
            } else {
                next.next_check_at = Some(now + policy.retry_interval);
            }
        }
        DomainStatus::Pending | DomainStatus::Failed => {
            next.status = DomainStatus::Failed;
            next.next_check_at = next_pending_check(&next, now, policy);
        }
    }
    next
}

/// Growing gaps while a domain waits for its record: about as long as it has been waiting so far (1 minute
/// at first, at most the retry interval), and none once the pending window is over.
fn next_pending_check(
    state: &VerificationState,
    now: DateTime<Utc>,
    policy: &VerificationPolicy,
) -> Option<DateTime<Utc>> {
    let until = state.auto_check_until?;
    let waiting = now - (until - policy.pending_window);
    let gap = waiting.clamp(MIN_BACKOFF, policy.retry_interval.max(MIN_BACKOFF));
    let at = now + gap;
    (at <= until).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
    }

    fn domain() -> DomainName {
        DomainName::parse("example.com").unwrap()
    }

    fn policy() -> VerificationPolicy {
        VerificationPolicy::default()
    }

    fn run(state: &VerificationState, check: CheckResult, trigger: Trigger, at: DateTime<Utc>) -> VerificationState {
        decide(state, &check, &domain(), trigger, at, Duration::zero(), &policy())
    }

    #[test]
    fn compares_records_exactly() {
        let expected = "gatehouse-verification=abc";
        let found = |records: &[&str]| {
            CheckResult::from_lookup(
                LookupOutcome::Records(records.iter().map(|r| r.to_string()).collect()),
                expected,
            )
        };
        assert_eq!(found(&["v=spf1 -all", expected]), CheckResult::Match);
        assert_eq!(
            found(&["v=spf1 -all", "gatehouse-verification=abd"]),
            CheckResult::Mismatch {
                found: 2,
                near_miss: false
            }
        );
        assert_eq!(
            found(&["\"gatehouse-verification=abc\""]),
            CheckResult::Mismatch {
                found: 1,
                near_miss: true
            }
        );
        assert_eq!(found(&[]), CheckResult::NoRecord);
        assert_eq!(
            found(&["GATEHOUSE-VERIFICATION=ABC"]),
            CheckResult::Mismatch {
                found: 1,
                near_miss: false
            },
            "the value is compared case-sensitively"
        );
    }

    #[test]
    fn reasons_read_as_plain_words() {
        let d = domain();
        assert_eq!(
            CheckResult::NoRecord.reason(&d).unwrap(),
            "No TXT record found at example.com."
        );
        assert_eq!(
            CheckResult::Mismatch {
                found: 2,
                near_miss: false
            }
            .reason(&d)
            .unwrap(),
            "Found 2 TXT records at example.com; none matches the verification value."
        );
        assert_eq!(
            CheckResult::NxDomain.reason(&d).unwrap(),
            "The domain example.com does not exist (NXDOMAIN)."
        );
        assert_eq!(
            CheckResult::Timeout.reason(&d).unwrap(),
            "The DNS server did not answer (timeout)."
        );
        assert_eq!(CheckResult::Match.reason(&d), None);
    }

    #[test]
    fn a_match_activates_and_schedules_the_regular_recheck() {
        let state = VerificationState::new(t0(), &policy());
        let next = decide(
            &state,
            &CheckResult::Match,
            &domain(),
            Trigger::Manual,
            t0(),
            Duration::minutes(7),
            &policy(),
        );
        assert_eq!(next.status, DomainStatus::Active);
        assert_eq!(next.verified_at, Some(t0()));
        assert_eq!(next.last_failure, None);
        assert_eq!(next.auto_check_until, None);
        assert_eq!(
            next.next_check_at,
            Some(t0() + Duration::hours(24) + Duration::minutes(7))
        );
    }

    #[test]
    fn a_pending_domain_is_rechecked_with_growing_gaps_until_the_window_ends() {
        let mut state = VerificationState::new(t0(), &policy());
        assert_eq!(state.next_check_at, Some(t0() + Duration::minutes(1)));
        let mut gaps = Vec::new();
        while let Some(at) = state.next_check_at {
            let next = run(&state, CheckResult::NoRecord, Trigger::Scheduled, at);
            assert_eq!(next.status, DomainStatus::Failed);
            assert_eq!(
                next.last_failure.as_deref(),
                Some("No TXT record found at example.com.")
            );
            if let Some(following) = next.next_check_at {
                gaps.push(following - at);
                assert!(following <= t0() + Duration::hours(72));
            }
            state = next;
        }
        assert_eq!(gaps[0], Duration::minutes(1));
        assert_eq!(gaps[1], Duration::minutes(2));
        assert_eq!(gaps[2], Duration::minutes(4));
        assert!(gaps.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*gaps.last().unwrap(), Duration::hours(1));
        assert!(gaps.len() < 100, "{} checks in 72 hours", gaps.len());
    }

    #[test]
    fn pressing_verify_reopens_the_automatic_checks() {
        let mut state = VerificationState::new(t0(), &policy());
        state.status = DomainStatus::Failed;
        state.next_check_at = None;
        state.auto_check_until = Some(t0() + Duration::hours(72));
        let later = t0() + Duration::days(5);
        let next = run(&state, CheckResult::NoRecord, Trigger::Manual, later);
        assert_eq!(next.auto_check_until, Some(later + Duration::hours(72)));
        assert_eq!(next.next_check_at, Some(later + Duration::minutes(1)));
    }

    #[test]
    fn a_lost_record_gets_a_grace_period_then_stops_counting() {
        let active = run(
            &VerificationState::new(t0(), &policy()),
            CheckResult::Match,
            Trigger::Manual,
            t0(),
        );
        let day1 = t0() + Duration::days(1);
        let lost = run(&active, CheckResult::NoRecord, Trigger::Scheduled, day1);
        assert_eq!(lost.status, DomainStatus::VerificationLost);
        assert!(lost.status.counts_as_verified());
        assert_eq!(lost.lost_since, Some(day1));
        assert_eq!(lost.grace_ends_at(&policy()), Some(day1 + Duration::days(7)));
        assert_eq!(lost.next_check_at, Some(day1 + Duration::hours(1)));

        let still = run(
            &lost,
            CheckResult::Timeout,
            Trigger::Scheduled,
            day1 + Duration::days(6),
        );
        assert_eq!(still.status, DomainStatus::VerificationLost);
        assert_eq!(still.lost_since, Some(day1));

        let expired = run(
            &still,
            CheckResult::NoRecord,
            Trigger::Scheduled,
            day1 + Duration::days(7),
        );
        assert_eq!(expired.status, DomainStatus::Failed);
        assert!(!expired.status.counts_as_verified());
        assert_eq!(expired.next_check_at, None);
        assert_eq!(expired.verified_at, None);
        assert!(expired.last_failure.unwrap().contains("grace period"));
    }

    #[test]
    fn verification_is_regained_when_the_record_returns() {
        let active = run(
            &VerificationState::new(t0(), &policy()),
            CheckResult::Match,
            Trigger::Manual,
            t0(),
        );
        let lost = run(
            &active,
            CheckResult::NxDomain,
            Trigger::Scheduled,
            t0() + Duration::days(1),
        );
        let back = run(&lost, CheckResult::Match, Trigger::Scheduled, t0() + Duration::days(2));
        assert_eq!(back.status, DomainStatus::Active);
        assert_eq!(back.lost_since, None);
        assert_eq!(
            back.verified_at,
            Some(t0()),
            "verified since the first time, never interrupted"
        );
    }

    #[test]
    fn an_unanswered_lookup_does_not_demote_an_active_domain() {
        let active = run(
            &VerificationState::new(t0(), &policy()),
            CheckResult::Match,
            Trigger::Manual,
            t0(),
        );
        let at = t0() + Duration::days(1);
        let next = run(&active, CheckResult::Timeout, Trigger::Scheduled, at);
        assert_eq!(next.status, DomainStatus::Active);
        assert_eq!(
            next.last_failure.as_deref(),
            Some("The DNS server did not answer (timeout).")
        );
        assert_eq!(next.next_check_at, Some(at + Duration::hours(1)));
    }

    #[test]
    fn a_domain_verified_elsewhere_stays_unverified_here() {
        let state = VerificationState::new(t0(), &policy());
        let next = run(&state, CheckResult::ClaimedElsewhere, Trigger::Manual, t0());
        assert_eq!(next.status, DomainStatus::Failed);
        assert!(next.last_failure.unwrap().contains("verified by another account"));
    }

    #[test]
    fn unknown_stored_status_grants_nothing() {
        assert_eq!(DomainStatus::from_stored("verified!"), DomainStatus::Failed);
        for status in [
            DomainStatus::Pending,
            DomainStatus::Active,
            DomainStatus::Failed,
            DomainStatus::VerificationLost,
        ] {
            assert_eq!(DomainStatus::from_stored(status.as_str()), status);
        }
    }
}
