//! Background housekeeping that runs while the server is up.

use gatehouse_core::AuthService;
use std::time::Duration;

/// Every quarter of an hour, deletes sessions that can no longer be used and forgotten sign-in failure counts.
/// Each run is idempotent, so several instances sharing one database may all run it.
pub fn spawn_cleanup(auth: AuthService) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(15 * 60));
        loop {
            every.tick().await;
            match auth.remove_expired(chrono::Utc::now()).await {
                Ok((sessions, throttles)) if sessions + throttles > 0 => {
                    tracing::info!(sessions, throttles, "removed expired sessions and sign-in counts")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cleaning up expired sessions failed; will retry"),
            }
        }
    });
}
