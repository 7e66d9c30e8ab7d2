//! What the owner is told about a connection's certificates over their life: notices 30, 7 and 1 days before the
//! IdP's last signing certificate expires, or the SP key's certificate ends (its rotation is then due), and once
//! it has (an SSO event, and mail to the account's Owners and Admins, each once however many server instances
//! run, the mail tried again while it fails), the banner of connections near that date, and the SSO events of a
//! monitored metadata URL adding or dropping a certificate.

use super::connection::{ConnectionError, ConnectionService, IdpSettings};
use super::explanation::next_certificate_place;
use super::idp_product::IdpProduct;
use crate::auth::Caller;
use crate::ids::{AccountId, ConnectionId, new_reference};
use crate::saml::certificate::Certificate;
use crate::store::{ExpiringRow, NoticeRow, SsoEventRow};
use crate::tenancy::Permission;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashSet;

/// The notices before the last certificate expires, in days before its end; 0 is the notice that it has.
pub const NOTICE_DAYS: [i32; 4] = [30, 7, 1, 0];

/// The SSO event outcome of a notice about certificates.
pub const CERTIFICATE_EVENT: &str = "certificate";

/// How many connections one batch of the notice pass reads.
const BATCH: u64 = 100;

/// A notice's mail that failed is tried again this long after the last try, this many times in all.
const RETRY_MAIL_AFTER: Duration = Duration::minutes(15);
const MAIL_ATTEMPTS: i32 = 5;

/// How many connections saved before their expiry date was kept get it filled in per pass.
const FILL_IN_BATCH: u64 = 500;

/// The notice due at `now` for certificates whose last one ends at `valid_until`: the most urgent one reached.
/// A server that was down past a threshold sends only the notice that still matters.
pub fn due_notice(valid_until: DateTime<Utc>, now: DateTime<Utc>) -> Option<i32> {
    NOTICE_DAYS
        .into_iter()
        .filter(|days| now >= valid_until - Duration::days((*days).into()))
        .min()
}

/// Whole days until `valid_until`, a part of a day counting as one, as people count "expires in 5 days".
fn days_left(valid_until: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    const DAY: i64 = 86_400;
    let seconds = (valid_until - now).num_seconds();
    if seconds > 0 {
        (seconds + DAY - 1) / DAY
    } else {
        seconds / DAY
    }
}

/// What of a connection comes to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The last of the IdP's signing certificates: the IdP will sign with a new one.
    IdpSigning,
    /// The certificate of the SP key that signs requests and decrypts: time to rotate the key.
    SpKey,
}

impl Ending {
    pub fn as_str(self) -> &'static str {
        match self {
            Ending::IdpSigning => "idp_signing",
            Ending::SpKey => "sp_key",
        }
    }

    fn from_stored(text: &str) -> Self {
        match text {
            "sp_key" => Ending::SpKey,
            _ => Ending::IdpSigning,
        }
    }
}

/// A connection whose last signing certificate, or whose SP key's certificate, ends within the first notice's
/// days, or has ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiringConnection {
    pub account: AccountId,
    pub connection: ConnectionId,
    pub label: String,
    pub ending: Ending,
    pub valid_until: DateTime<Utc>,
    /// Days left, a part of a day counting as one (4 days and 23 hours are "5 days"); 0 or less once expired.
    pub days_left: i64,
    /// Its metadata URL is monitored, so the IdP's next certificate is added by itself once published.
    pub monitored: bool,
    /// The IdP's product, for where its next certificate is made.
    pub idp: IdpProduct,
}

impl ExpiringConnection {
    /// The connection `row` for what ends (`valid_until` being the IdP's certificates' end in the row).
    fn of(row: ExpiringRow, ending: Ending, now: DateTime<Utc>) -> Self {
        Self {
            account: row.account_id,
            connection: row.connection_id,
            ending,
            idp: IdpProduct::detect(&row.idp_entity_id, &row.sso_url),
            days_left: days_left(row.valid_until, now),
            label: row.label,
            valid_until: row.valid_until,
            monitored: row.monitored,
        }
    }

    /// One sentence: what runs out, and when.
    pub fn summary(&self, now: DateTime<Utc>) -> String {
        let date = self.valid_until.format("%Y-%m-%d %H:%M UTC");
        let label = &self.label;
        let what = match self.ending {
            Ending::IdpSigning => format!("The last signing certificate of {label}"),
            Ending::SpKey => format!("The certificate of Gatehouse's key for {label} (SP key)"),
        };
        if self.valid_until <= now {
            let after = match self.ending {
                Ending::IdpSigning => "Sign-ins go on only while the IdP keeps signing with it.",
                Ending::SpKey => {
                    "IdPs that check it refuse Gatehouse's signed requests and its encryption certificate."
                }
            };
            format!("{what} expired on {date}. {after}")
        } else if self.valid_until - now < Duration::days(1) {
            format!("{what} expires in less than a day, on {date}.")
        } else if self.days_left == 1 {
            format!("{what} expires in 1 day, on {date}.")
        } else {
            format!("{what} expires in {} days, on {date}.", self.days_left)
        }
    }

    /// What the owner does about it.
    pub fn fix(&self) -> String {
        let place = next_certificate_place(self.idp);
        match (self.ending, self.monitored) {
            (Ending::IdpSigning, true) => format!(
                "Gatehouse adds the IdP's next certificate from the monitored metadata URL as soon as the IdP publishes it. If it is not published by then, make it at the IdP ({place}) and check the metadata URL."
            ),
            (Ending::IdpSigning, false) => format!(
                "Make the next signing certificate at the IdP ({place}) and add it to this connection before the IdP signs with it: both are trusted. Remove the old one once the new one shows \"Last verified a sign-in\" on the connection's page."
            ),
            (Ending::SpKey, _) => "Rotate the key on the connection's page, under Gatehouse keys for this connection: Publish a new key, let the IdP read the SP metadata again (or upload it there), then Switch to the new key.".to_owned(),
        }
    }

    /// The connection's page, from the public URL, where its certificates are listed and added.
    pub fn page_path(&self) -> Vec<String> {
        vec![
            "accounts".into(),
            self.account.to_string(),
            "sso".into(),
            "connections".into(),
            self.connection.to_string(),
        ]
    }
}

/// What one notice pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoticeReport {
    pub notices: usize,
    pub mails_sent: usize,
    pub mails_failed: usize,
}

impl ConnectionService {
    /// The account's connections whose last signing certificate or SP key ends within the first notice's days,
    /// or ended less than as many days ago, soonest first: the dashboard's banner, for those who look after
    /// connections. What ended longer ago is flagged on its connection's page only: many IdPs keep signing with an
    /// expired certificate, and a banner on every page for a standing state would only teach owners to ignore it.
    pub async fn expiring_connections(
        &self,
        caller: &Caller,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> Result<Vec<ExpiringConnection>, ConnectionError> {
        self.tenancy
            .require(caller, account, Permission::ManageConnections)
            .await?;
        let window = Duration::days(NOTICE_DAYS[0].into());
        let rows = self.store.account_expiring_rows(account).await?;
        let mut expiring = self.sp_keys_of(&rows, now).await?;
        expiring.extend(
            rows.into_iter()
                .map(|row| ExpiringConnection::of(row, Ending::IdpSigning, now)),
        );
        expiring.retain(|e| e.valid_until >= now - window && e.valid_until <= now + window);
        expiring.sort_by_key(|e| e.valid_until);
        Ok(expiring)
    }

    /// The connections of `rows` as their active SP key ends.
    async fn sp_keys_of(
        &self,
        rows: &[ExpiringRow],
        now: DateTime<Utc>,
    ) -> Result<Vec<ExpiringConnection>, ConnectionError> {
        let ids: Vec<ConnectionId> = rows.iter().map(|row| row.connection_id).collect();
        let ends = self.store.active_sp_keys_ending(&ids).await?;
        Ok(ends
            .into_iter()
            .filter_map(|(connection, valid_until)| {
                let row = rows.iter().find(|row| row.connection_id == connection)?;
                let row = ExpiringRow {
                    valid_until,
                    ..row.clone()
                };
                Some(ExpiringConnection::of(row, Ending::SpKey, now))
            })
            .collect())
    }

    /// Sends the notices due at `now`, each once across every server instance sharing the database: an SSO event,
    /// and mail to the account's Owners and Admins when SMTP is configured.
    pub async fn send_expiry_notices(&self, now: DateTime<Utc>) -> Result<NoticeReport, ConnectionError> {
        self.fill_in_validity().await?;
        let horizon = now + Duration::days(NOTICE_DAYS[0].into());
        let mut report = NoticeReport::default();
        self.retry_notice_mails(now, &mut report).await?;
        let mut after = None;
        loop {
            let batch = self.store.connections_expiring_before(horizon, after, BATCH).await?;
            let Some(last) = batch.last() else {
                break;
            };
            after = Some((last.valid_until, last.connection_id));
            let expiring = batch
                .into_iter()
                .map(|row| ExpiringConnection::of(row, Ending::IdpSigning, now))
                .collect();
            self.notify_due(expiring, now, &mut report).await?;
        }
        let mut after = None;
        loop {
            let keys = self.store.sp_keys_ending_before(horizon, after, BATCH).await?;
            let Some(last) = keys.last() else {
                return Ok(report);
            };
            after = Some((last.2, last.0));
            let ids: Vec<ConnectionId> = keys.iter().map(|(_, connection, _)| *connection).collect();
            let rows = self.store.expiring_rows(&ids).await?;
            let expiring = self.sp_keys_of(&rows, now).await?;
            self.notify_due(expiring, now, &mut report).await?;
        }
    }

    /// Claims, records and mails the notice due for each of `expiring` that has not gone out yet.
    async fn notify_due(
        &self,
        expiring: Vec<ExpiringConnection>,
        now: DateTime<Utc>,
        report: &mut NoticeReport,
    ) -> Result<(), ConnectionError> {
        let ids: Vec<ConnectionId> = expiring.iter().map(|e| e.connection).collect();
        let sent: HashSet<(ConnectionId, String, DateTime<Utc>, i32)> =
            self.store.expiry_notices_sent(&ids).await?.into_iter().collect();
        for expiring in expiring {
            let Some(days) = due_notice(expiring.valid_until, now) else {
                continue;
            };
            let subject = expiring.ending.as_str().to_owned();
            if sent.contains(&(expiring.connection, subject.clone(), expiring.valid_until, days)) {
                continue;
            }
            let event = certificate_event(
                expiring.account,
                expiring.connection,
                now,
                expiring.summary(now),
                Some(expiring.fix()),
            );
            let notice = NoticeRow {
                connection_id: expiring.connection,
                subject,
                valid_until: expiring.valid_until,
                days_before: days,
                sent_at: now,
                reference: event.reference.clone(),
            };
            if !self.store.claim_expiry_notice(&notice, &event).await? {
                continue;
            }
            report.notices += 1;
            self.mail_notice(&expiring, &notice, now, report).await?;
        }
        Ok(())
    }

    /// Tries again the mails of notices that failed (SMTP down) or whose instance stopped before mailing them,
    /// [`RETRY_MAIL_AFTER`] after the last try, [`MAIL_ATTEMPTS`] times at most; a connection whose certificate or
    /// key changed since has nothing left to say.
    async fn retry_notice_mails(&self, now: DateTime<Utc>, report: &mut NoticeReport) -> Result<(), ConnectionError> {
        let due = self
            .store
            .notice_mails_to_retry(now - RETRY_MAIL_AFTER, MAIL_ATTEMPTS, BATCH)
            .await?;
        for notice in due {
            if !self.store.claim_notice_mail_retry(&notice, now).await? {
                continue;
            }
            let rows = self.store.expiring_rows(&[notice.connection_id]).await?;
            let current = match Ending::from_stored(&notice.subject) {
                Ending::IdpSigning => rows
                    .into_iter()
                    .map(|row| ExpiringConnection::of(row, Ending::IdpSigning, now))
                    .collect(),
                Ending::SpKey => self.sp_keys_of(&rows, now).await?,
            };
            match current.into_iter().find(|e| e.valid_until == notice.valid_until) {
                Some(expiring) => self.mail_notice(&expiring, &notice, now, report).await?,
                None => self.store.expiry_notice_mailed(&notice).await?,
            }
        }
        Ok(())
    }

    /// Mails a notice already recorded in the SSO events to the account's Owners and Admins; once it reached
    /// every one of them (or there is no SMTP relay), it is not tried again.
    async fn mail_notice(
        &self,
        expiring: &ExpiringConnection,
        notice: &NoticeRow,
        now: DateTime<Utc>,
        report: &mut NoticeReport,
    ) -> Result<(), ConnectionError> {
        let path = expiring.page_path();
        let link = self
            .tenancy
            .page_link(&path.iter().map(String::as_str).collect::<Vec<_>>());
        let ended = expiring.valid_until <= now;
        let subject = match (expiring.ending, ended) {
            (Ending::IdpSigning, true) => format!("The signing certificate of {} has expired", expiring.label),
            (Ending::IdpSigning, false) => format!("The signing certificate of {} expires soon", expiring.label),
            (Ending::SpKey, true) => format!("Gatehouse's key for {} has expired", expiring.label),
            (Ending::SpKey, false) => format!("Gatehouse's key for {} is due for rotation", expiring.label),
        };
        let body = format!(
            "{}\n\n{}\n\nThe connection's certificates and keys:\n{link}\n\n\
             You receive this as an Owner or Admin of the account. The SSO events list this notice under the reference {}.\n",
            expiring.summary(now),
            expiring.fix(),
            notice.reference
        );
        let mailed = self
            .tenancy
            .mail_members_allowed(expiring.account, Permission::ManageConnections, &subject, &body)
            .await?;
        report.mails_sent += mailed.sent;
        report.mails_failed += mailed.failed;
        if mailed.failed == 0 {
            self.store.expiry_notice_mailed(notice).await?;
        }
        Ok(())
    }

    /// Keeps the end dates of connections and SP keys saved before they were kept; certificates that no longer
    /// read are left as they are (the connection's page says so).
    async fn fill_in_validity(&self) -> Result<(), ConnectionError> {
        let end_of = |texts: &[String]| -> Option<DateTime<Utc>> {
            let parsed: Option<Vec<Certificate>> =
                texts.iter().map(|text| Certificate::from_base64(text).ok()).collect();
            parsed?.iter().map(|c| c.not_after).max()
        };
        for (id, certificates) in self.store.connections_without_signing_validity(FILL_IN_BATCH).await? {
            if let Some(valid_until) = end_of(&certificates) {
                self.store.set_signing_validity(id, &certificates, valid_until).await?;
            }
        }
        for (key, certificate) in self.store.sp_keys_without_validity(FILL_IN_BATCH).await? {
            if let Some(valid_until) = end_of(&[certificate]) {
                self.store.set_sp_key_validity(key, valid_until).await?;
            }
        }
        Ok(())
    }

    /// Records in the SSO events the signing certificates a metadata refresh added and dropped.
    pub(super) async fn record_certificate_changes(
        &self,
        account: AccountId,
        connection: ConnectionId,
        before: &IdpSettings,
        after: &IdpSettings,
        now: DateTime<Utc>,
    ) -> Result<(), ConnectionError> {
        let has =
            |idp: &IdpSettings, fingerprint: &str| idp.certificates.iter().any(|c| c.sha256_fingerprint == fingerprint);
        for added in after
            .certificates
            .iter()
            .filter(|c| !has(before, &c.sha256_fingerprint))
        {
            let reason = format!(
                "The IdP published a new signing certificate (SHA-256 {}, valid until {}); both are trusted until the old one disappears from its metadata.",
                added.sha256_fingerprint,
                added.not_after.format("%Y-%m-%d")
            );
            self.store
                .insert_sso_event(&certificate_event(account, connection, now, reason, None))
                .await?;
        }
        for removed in before
            .certificates
            .iter()
            .filter(|c| !has(after, &c.sha256_fingerprint))
        {
            let reason = format!(
                "The IdP no longer publishes the signing certificate SHA-256 {}; it was removed from this connection, and responses signed with it are refused from now on.",
                removed.sha256_fingerprint
            );
            self.store
                .insert_sso_event(&certificate_event(account, connection, now, reason, None))
                .await?;
        }
        Ok(())
    }
}

fn certificate_event(
    account: AccountId,
    connection: ConnectionId,
    now: DateTime<Utc>,
    reason: String,
    fix: Option<String>,
) -> SsoEventRow {
    SsoEventRow {
        account_id: account,
        connection_id: Some(connection),
        at: now,
        outcome: CERTIFICATE_EVENT.into(),
        reference: new_reference(),
        reason,
        name_id: None,
        attributes: String::new(),
        raw_response: None,
        cause: None,
        fix,
        refusal: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_most_urgent_notice_reached_is_the_one_due() {
        let end = Utc.with_ymd_and_hms(2027, 3, 1, 12, 0, 0).unwrap();
        let at = |days: i64, hours: i64| end - Duration::days(days) - Duration::hours(hours);
        assert_eq!(due_notice(end, at(31, 0)), None);
        assert_eq!(due_notice(end, at(30, 0)), Some(30));
        assert_eq!(due_notice(end, at(7, 1)), Some(30));
        assert_eq!(due_notice(end, at(7, 0)), Some(7));
        assert_eq!(due_notice(end, at(1, 0)), Some(1));
        assert_eq!(due_notice(end, at(0, 1)), Some(1));
        assert_eq!(due_notice(end, end), Some(0));
        assert_eq!(due_notice(end, end + Duration::days(400)), Some(0));
    }

    #[test]
    fn a_notice_names_the_days_left_and_what_to_do_at_the_idp_in_use() {
        let now = Utc.with_ymd_and_hms(2027, 3, 1, 12, 0, 0).unwrap();
        let expiring_as = |ending, left: Duration, monitored| {
            ExpiringConnection::of(
                ExpiringRow {
                    account_id: AccountId::new(),
                    connection_id: ConnectionId::new(),
                    label: "Entra ID".into(),
                    idp_entity_id: "https://sts.windows.net/0f1e2d3c-1111-2222-3333-444455556666/".into(),
                    sso_url: "https://login.microsoftonline.com/0f1e2d3c-1111-2222-3333-444455556666/saml2".into(),
                    valid_until: now + left,
                    monitored,
                },
                ending,
                now,
            )
        };
        let expiring = |left, monitored| expiring_as(Ending::IdpSigning, left, monitored);
        // The 7-day notice, sent by the hourly job up to an hour late, still says 7 days.
        let week = expiring(Duration::days(7) - Duration::minutes(50), false);
        assert_eq!(week.days_left, 7);
        assert_eq!(
            week.summary(now),
            "The last signing certificate of Entra ID expires in 7 days, on 2027-03-08 11:10 UTC."
        );
        assert!(
            week.fix().contains("SAML Certificates › Edit › New Certificate"),
            "{}",
            week.fix()
        );
        assert!(week.fix().contains("add it to this connection"));
        assert!(
            expiring(Duration::days(7), true)
                .fix()
                .contains("monitored metadata URL")
        );
        assert!(expiring(Duration::days(1), false).summary(now).contains("in 1 day,"));
        assert!(
            expiring(Duration::hours(23), false)
                .summary(now)
                .contains("less than a day")
        );
        let expired = expiring(-Duration::days(3), false);
        assert!(expired.days_left <= 0);
        assert!(expired.summary(now).contains("expired on 2027-02-26"));
        // Gatehouse's own key: its rotation, on the connection's page, whatever the IdP.
        let key = expiring_as(Ending::SpKey, Duration::days(30), true);
        assert_eq!(
            key.summary(now),
            "The certificate of Gatehouse's key for Entra ID (SP key) expires in 30 days, on 2027-03-31 12:00 UTC."
        );
        assert!(key.fix().starts_with("Rotate the key") && key.fix().contains("Publish a new key"));
    }
}
