//! What the server counts for its operators: every metric's name, kind and meaning in one table, and the calls
//! that record them through the `metrics` facade. The server installs a Prometheus recorder when its operator
//! asks for one; without it, recording does nothing.

use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One metric as the operator's documentation lists it.
#[derive(Clone, Copy, Debug)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    pub labels: &'static [&'static str],
    pub help: &'static str,
}

pub const SSO_RESPONSES: &str = "gatehouse_sso_responses_total";
pub const ACS_SECONDS: &str = "gatehouse_acs_duration_seconds";
pub const SIGN_IN_SECONDS: &str = "gatehouse_sign_in_duration_seconds";
pub const DNS_CHECKS: &str = "gatehouse_dns_checks_total";
pub const METADATA_REFRESHES: &str = "gatehouse_metadata_refreshes_total";
pub const CERTIFICATE_DAYS_LEFT: &str = "gatehouse_signing_certificate_days_left";
pub const SESSIONS: &str = "gatehouse_sessions";
pub const DATABASE_CONNECTIONS: &str = "gatehouse_database_connections";

/// Every metric the server exports.
pub const ALL: [Metric; 8] = [
    Metric {
        name: SSO_RESPONSES,
        kind: Kind::Counter,
        labels: &["mode", "outcome", "check"],
        help: "SAML responses posted to the ACS: mode (sign_in, owner_link, test), outcome (accepted, refused, \
               limited: refused unchecked by the refusal limits) and the check that refused it (none when accepted)",
    },
    Metric {
        name: ACS_SECONDS,
        kind: Kind::Histogram,
        labels: &[],
        help: "Time the server spent on one SAML response at the ACS, from the post to its answer",
    },
    Metric {
        name: SIGN_IN_SECONDS,
        kind: Kind::Histogram,
        labels: &[],
        help: "Time of a whole SP-initiated sign-in, from the AuthnRequest to the session (the IdP's part included)",
    },
    Metric {
        name: DNS_CHECKS,
        kind: Kind::Counter,
        labels: &["trigger", "result"],
        help: "TXT record checks of email domains: trigger (manual, scheduled) and result (match, no_record, \
               mismatch, nxdomain, timeout, server_failure, claimed_elsewhere)",
    },
    Metric {
        name: METADATA_REFRESHES,
        kind: Kind::Counter,
        labels: &["outcome"],
        help: "Fetches of monitored IdP metadata URLs: outcome (updated, unchanged, failed)",
    },
    Metric {
        name: CERTIFICATE_DAYS_LEFT,
        kind: Kind::Gauge,
        labels: &["account", "connection"],
        help: "Days until the last of a connection's signing certificates expires (negative once all have)",
    },
    Metric {
        name: SESSIONS,
        kind: Kind::Gauge,
        labels: &[],
        help: "Sessions that have not expired",
    },
    Metric {
        name: DATABASE_CONNECTIONS,
        kind: Kind::Gauge,
        labels: &["pool", "state"],
        help: "The database pools' connections: pool (reader, writer; one pool on PostgreSQL) and state (idle, busy)",
    },
];

/// Gives every metric its help text in the recorder, so a scrape explains what it shows.
pub fn describe() {
    for metric in ALL {
        match metric.kind {
            Kind::Counter => metrics::describe_counter!(metric.name, metric.help),
            Kind::Gauge => metrics::describe_gauge!(metric.name, metric.help),
            Kind::Histogram => metrics::describe_histogram!(metric.name, metric.help),
        }
    }
}

pub(crate) fn sso_response(mode: &'static str, outcome: &'static str, check: &'static str, took: Duration) {
    metrics::counter!(SSO_RESPONSES, "mode" => mode, "outcome" => outcome, "check" => check).increment(1);
    metrics::histogram!(ACS_SECONDS).record(took.as_secs_f64());
}

pub(crate) fn sign_in(took: chrono::Duration) {
    if let Ok(took) = took.to_std() {
        metrics::histogram!(SIGN_IN_SECONDS).record(took.as_secs_f64());
    }
}

pub(crate) fn dns_check(trigger: &'static str, result: &'static str) {
    metrics::counter!(DNS_CHECKS, "trigger" => trigger, "result" => result).increment(1);
}

pub(crate) fn metadata_refresh(outcome: &'static str) {
    metrics::counter!(METADATA_REFRESHES, "outcome" => outcome).increment(1);
}

/// Sets the gauges from the database as it is now: sessions, the pools' connections, and each connection's days
/// of signing certificates left. Called at each scrape, so that every instance reports the same stored values.
pub async fn sample(store: &Store, now: DateTime<Utc>) -> Result<(), StoreError> {
    for pool in store.pool_use() {
        metrics::gauge!(DATABASE_CONNECTIONS, "pool" => pool.pool, "state" => "idle").set(pool.idle as f64);
        metrics::gauge!(DATABASE_CONNECTIONS, "pool" => pool.pool, "state" => "busy").set(pool.busy as f64);
    }
    metrics::gauge!(SESSIONS).set(store.count_live_sessions(now).await? as f64);
    // One date per connection, kept with its certificates: a scrape reads no certificate.
    for row in store.signing_validity().await? {
        metrics::gauge!(
            CERTIFICATE_DAYS_LEFT,
            "account" => row.account_id.to_string(),
            "connection" => row.connection_id.to_string()
        )
        .set(days_left(row.valid_until, now));
    }
    Ok(())
}

/// Days, with their fraction, from `now` until `valid_until` (negative once past).
pub fn days_left(valid_until: DateTime<Utc>, now: DateTime<Utc>) -> f64 {
    (valid_until - now).num_seconds() as f64 / 86_400.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operators_page_lists_every_metric_as_it_is() {
        let page = include_str!("../../docs/metrics.md");
        let rows: Vec<&str> = page.lines().filter(|line| line.starts_with("| `gatehouse_")).collect();
        assert_eq!(rows.len(), ALL.len(), "one row per metric");
        for metric in ALL {
            let kind = match metric.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram => "histogram",
            };
            let labels: Vec<String> = metric.labels.iter().map(|label| format!("`{label}`")).collect();
            let labels = if labels.is_empty() {
                "none".to_owned()
            } else {
                labels.join(", ")
            };
            let row = format!("| `{}` | {kind} | {labels} |", metric.name);
            assert!(rows.iter().any(|r| r.starts_with(&row)), "docs/metrics.md has {row}");
        }
    }

    #[test]
    fn days_left_count_fractions_and_go_negative_once_past() {
        let now = DateTime::parse_from_rfc3339("2026-12-06T00:00:00Z").unwrap().to_utc();
        assert_eq!(days_left(now + chrono::Duration::hours(36), now), 1.5);
        assert_eq!(days_left(now - chrono::Duration::days(2), now), -2.0);
    }
}
