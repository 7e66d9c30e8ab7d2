//! Background housekeeping that runs while the server is up.

use gatehouse_core::sso::ConnectionService;
use gatehouse_core::sso::sign_in::SsoService;
use gatehouse_core::{AuthService, DomainService};
use std::future::Future;
use std::time::Duration;

/// Runs `pass` every `tick` for as long as the server runs; a pass that overruns delays the next tick instead of
/// being caught up with a burst.
fn every<F, Fut>(tick: Duration, mut pass: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut every = tokio::time::interval(tick);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            pass().await;
        }
    });
}

/// Every quarter of an hour, deletes sessions that can no longer be used, forgotten sign-in failure counts, expired
/// email proof links, and SSO requests and replay records past their expiry. Each run is idempotent, so several
/// instances sharing one database may all run it.
pub fn spawn_cleanup(auth: AuthService, sso: SsoService) {
    every(Duration::from_secs(15 * 60), move || {
        let (auth, sso) = (auth.clone(), sso.clone());
        async move {
            let now = chrono::Utc::now();
            match auth.remove_expired(now).await {
                Ok(removed) if removed != Default::default() => tracing::info!(
                    sessions = removed.sessions,
                    throttles = removed.throttles,
                    email_proofs = removed.email_proofs,
                    "removed expired sessions, sign-in counts and email proof links"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cleaning up expired sessions failed; will retry"),
            }
            match sso.remove_expired(now).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "removed expired SSO requests and replay records"),
                Err(e) => tracing::warn!(error = %e, "cleaning up SSO state failed; will retry"),
            }
        }
    });
}

/// Every `tick`, checks the domains whose automatic check is due (regular re-checks of Active domains,
/// retries of lost ones, growing gaps for pending ones). Instances sharing a database claim each check
/// first, so none is run twice.
pub fn spawn_domain_rechecks(domains: DomainService, tick: Duration) {
    every(tick, move || {
        let domains = domains.clone();
        async move {
            match domains.recheck_due(chrono::Utc::now()).await {
                Ok(report) if report.checked > 0 => tracing::info!(
                    checked = report.checked,
                    verified = report.verified,
                    not_verified = report.failed,
                    "re-checked domains"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "re-checking domains failed; will retry"),
            }
        }
    });
}

/// Every `tick`, refreshes the monitored metadata URLs that are due. Instances sharing a database claim each
/// refresh first, so none is fetched twice at once.
pub fn spawn_metadata_refreshes(connections: ConnectionService, tick: Duration) {
    every(tick, move || {
        let connections = connections.clone();
        async move {
            match connections.refresh_due_metadata(chrono::Utc::now()).await {
                Ok(report) if report.updated + report.unchanged + report.failed > 0 => tracing::info!(
                    updated = report.updated,
                    unchanged = report.unchanged,
                    failed = report.failed,
                    "refreshed IdP metadata"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "refreshing IdP metadata failed; will retry"),
            }
        }
    });
}

/// Every `tick`, sends the signing-certificate expiry notices that are due. Instances sharing a database claim
/// each notice first, so each goes out once.
pub fn spawn_certificate_notices(connections: ConnectionService, tick: Duration) {
    every(tick, move || {
        let connections = connections.clone();
        async move {
            match connections.send_expiry_notices(chrono::Utc::now()).await {
                Ok(report) if report.notices > 0 => tracing::info!(
                    notices = report.notices,
                    mails_sent = report.mails_sent,
                    mails_failed = report.mails_failed,
                    "sent signing-certificate expiry notices"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sending certificate expiry notices failed; will retry"),
            }
        }
    });
}
