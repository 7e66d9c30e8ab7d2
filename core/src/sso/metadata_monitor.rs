//! Metadata imported from a URL, and the background refresh that keeps it current: a new signing certificate
//! is picked up, every result is recorded, and a broken download never replaces a working configuration.

use super::connection::{
    Connection, ConnectionError, ConnectionService, IdpSettings, MetadataOrigin, MetadataRefresh, RefreshOutcome,
    Source, checked_label, read_document, signing_certificate,
};
use super::connection_rows::refreshed_row_of;
use super::metadata_fetch::parse_url;
use crate::audit;
use crate::auth::Caller;
use crate::ids::{AccountId, ConnectionId};
use crate::store::{AuditRow, RefreshRow, RefreshedIdpRow};
use crate::tenancy::Permission;
use chrono::{DateTime, Duration, Utc};

/// A failed refresh is retried within the hour (or the interval, when shorter).
const RETRY_AFTER_FAILURE: Duration = Duration::hours(1);
/// How long one server instance holds a refresh before another may take it over.
const REFRESH_LEASE: Duration = Duration::minutes(10);
const DUE_BATCH: u64 = 50;
/// The actor the audit log names for background refreshes.
pub const MONITOR_ACTOR: &str = "Gatehouse metadata monitor";

/// A metadata URL as the owner typed it.
#[derive(Clone, Debug, Default)]
pub struct UrlImport<'a> {
    pub label: &'a str,
    pub url: &'a str,
    /// Picks one IdP from an aggregate.
    pub entity_id: &'a str,
    pub monitor: bool,
    /// The federation certificate every version must be signed with; empty for none.
    pub signing_certificate: &'a [u8],
}

/// What one pass of the background refresh did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RefreshReport {
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
}

impl ConnectionService {
    /// Creates a connection (or replaces `target`'s IdP settings) from the metadata at a URL, optionally
    /// refreshing it in the background from then on. The Owner's alone: the URL and its federation certificate
    /// decide which certificates are trusted from then on.
    pub async fn import_metadata_url(
        &self,
        caller: &Caller,
        account: AccountId,
        import: &UrlImport<'_>,
        target: Option<ConnectionId>,
        now: DateTime<Utc>,
    ) -> Result<Connection, ConnectionError> {
        self.tenancy.require(caller, account, Permission::ManageTrust).await?;
        let label = checked_label(import.label)?;
        let url = parse_url(self.fetcher.policy(), import.url)?;
        let signing_certificate = signing_certificate(import.signing_certificate)?;
        let document = self.fetcher.fetch(&url).await?;
        let (idp, xml) = read_document(document, import.entity_id, signing_certificate.clone()).await?;
        let origin = MetadataOrigin {
            xml: Some(xml),
            url: Some(url),
            monitor: import.monitor,
            signing_certificate,
            refresh_due_at: import.monitor.then(|| now + self.refresh_interval),
        };
        self.save_settings(caller, account, target, label, idp, Source::MetadataUrl, origin, now)
            .await
    }

    /// Turns the background refresh of a URL-imported connection on or off.
    pub async fn set_monitoring(
        &self,
        caller: &Caller,
        account: AccountId,
        id: ConnectionId,
        monitor: bool,
        now: DateTime<Utc>,
    ) -> Result<(), ConnectionError> {
        let before = self.load(caller, account, id, Permission::ManageConnections).await?;
        if before.origin.url.is_none() {
            return Err(ConnectionError::NotMonitorable);
        }
        if before.origin.monitor == monitor {
            return Ok(());
        }
        let action = if monitor {
            "Metadata monitoring turned on"
        } else {
            "Metadata monitoring turned off"
        };
        let entry = audit::entry(account, caller, now, action, before.label.clone());
        let updated = Connection {
            origin: MetadataOrigin {
                monitor,
                refresh_due_at: monitor.then_some(now),
                ..before.origin.clone()
            },
            updated_at: now,
            ..before
        };
        self.write(&updated, account, &entry).await
    }

    /// Fetches a URL-imported connection's metadata now, as the background refresh would.
    pub async fn refresh_metadata_now(
        &self,
        caller: &Caller,
        account: AccountId,
        id: ConnectionId,
        now: DateTime<Utc>,
    ) -> Result<MetadataRefresh, ConnectionError> {
        let connection = self.load(caller, account, id, Permission::ManageConnections).await?;
        if connection.origin.url.is_none() {
            return Err(ConnectionError::NotMonitorable);
        }
        self.refresh(account, connection, &caller.actor(), now).await
    }

    /// Refreshes every monitored connection that is due, each claimed first so that several server instances
    /// never fetch the same one at once.
    pub async fn refresh_due_metadata(&self, now: DateTime<Utc>) -> Result<RefreshReport, ConnectionError> {
        let mut report = RefreshReport::default();
        loop {
            let due = self.store.metadata_refreshes_due(now, DUE_BATCH).await?;
            if due.is_empty() {
                return Ok(report);
            }
            for row in due {
                let Some(due_at) = row.metadata_refresh_due_at else {
                    continue;
                };
                if !self
                    .store
                    .claim_metadata_refresh(row.id, due_at, now + REFRESH_LEASE)
                    .await?
                {
                    continue;
                }
                let account = row.account_id;
                let connection = self.assemble(row).await?;
                match self.refresh(account, connection, MONITOR_ACTOR, now).await?.outcome {
                    RefreshOutcome::Updated => report.updated += 1,
                    RefreshOutcome::Unchanged => report.unchanged += 1,
                    RefreshOutcome::Failed => report.failed += 1,
                }
            }
        }
    }

    /// One fetch and its recorded result. Only a document that passes every check and still describes the same
    /// IdP replaces the saved IdP values; anything else is recorded as a failure and changes nothing. The rest of
    /// the connection (name, options, monitoring) is never written: its owner may change it during the download.
    async fn refresh(
        &self,
        account: AccountId,
        connection: Connection,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<MetadataRefresh, ConnectionError> {
        let fetched = self.fetch_settings(&connection).await;
        let mut update: Option<(RefreshedIdpRow, AuditRow, IdpSettings)> = None;
        let (outcome, detail) = match fetched {
            Err(e) => (
                RefreshOutcome::Failed,
                format!("{e} The saved configuration is unchanged."),
            ),
            Ok((idp, _)) if idp.entity_id != connection.idp.entity_id => (
                RefreshOutcome::Failed,
                format!(
                    "The document now describes the IdP {}, not {}. The saved configuration is unchanged.",
                    idp.entity_id, connection.idp.entity_id
                ),
            ),
            Ok((idp, xml)) => {
                let changes = idp.changes_from(&connection.idp);
                if changes.is_empty() {
                    let count = idp.certificates.len();
                    (
                        RefreshOutcome::Unchanged,
                        format!("No change ({count} signing certificate(s))."),
                    )
                } else {
                    let detail = changes.join("; ");
                    let entry = audit::system_entry(
                        account,
                        now,
                        actor,
                        "Metadata refreshed",
                        format!("{}: {detail}", connection.label),
                    );
                    update = Some((refreshed_row_of(&idp, xml), entry, idp));
                    (RefreshOutcome::Updated, format!("Updated: {detail}."))
                }
            }
        };
        crate::metrics::metadata_refresh(outcome.as_str());
        let retry = if outcome == RefreshOutcome::Failed {
            self.refresh_interval.min(RETRY_AFTER_FAILURE)
        } else {
            self.refresh_interval
        };
        // Only monitored connections are picked up when due; for the others the time is merely recorded.
        let next_due = now + retry;
        let record = RefreshRow {
            connection_id: connection.id,
            at: now,
            outcome: outcome.as_str().to_owned(),
            detail: detail.clone(),
        };
        let url = connection.origin.url.as_ref().ok_or(ConnectionError::NotMonitorable)?;
        let recorded = self
            .store
            .record_metadata_refresh(
                &record,
                url.as_str(),
                next_due,
                update.as_ref().map(|(row, entry, _)| (row, entry)),
            )
            .await?;
        if let (true, Some((_, _, idp))) = (recorded, &update) {
            self.record_certificate_changes(account, connection.id, &connection.idp, idp, now)
                .await?;
        }
        Ok(MetadataRefresh {
            at: now,
            outcome,
            detail,
        })
    }

    async fn fetch_settings(&self, connection: &Connection) -> Result<(IdpSettings, String), ConnectionError> {
        let url = connection.origin.url.as_ref().ok_or(ConnectionError::NotMonitorable)?;
        let document = self.fetcher.fetch(url).await?;
        read_document(
            document,
            &connection.idp.entity_id,
            connection.origin.signing_certificate.clone(),
        )
        .await
    }
}
