//! The lifecycle of IdP signing certificates as rows: when each last verified a sign-in, the connections whose last
//! certificate expires soon, and the expiry notices already sent.

use super::schema::{certificate_expiry_notice, idp_certificate_use, membership, sp_key, sso_connection, user};
use super::{SsoEventRow, Store, StoreError, sso};
use crate::ids::{AccountId, ConnectionId};
use crate::saml::sp_keys::KeyState;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, Insert, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};

/// A connection whose last signing certificate expires at `valid_until`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiringRow {
    pub account_id: AccountId,
    pub connection_id: ConnectionId,
    pub label: String,
    pub idp_entity_id: String,
    pub sso_url: String,
    pub valid_until: DateTime<Utc>,
    /// The connection's metadata is refreshed from a URL, which picks up the IdP's next certificate by itself.
    pub monitored: bool,
}

/// An expiry notice that was claimed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoticeRow {
    pub connection_id: ConnectionId,
    /// What ends: `idp_signing` or `sp_key`.
    pub subject: String,
    pub valid_until: DateTime<Utc>,
    pub days_before: i32,
    /// When it was claimed, or its mail last tried again.
    pub sent_at: DateTime<Utc>,
    /// Its SSO event's reference.
    pub reference: String,
}

type ExpiringTuple = (
    uuid::Uuid,
    uuid::Uuid,
    String,
    String,
    String,
    Option<DateTime<Utc>>,
    Option<String>,
    bool,
);

fn expiring_row(
    (account, connection, label, idp_entity_id, sso_url, valid_until, url, monitor): ExpiringTuple,
) -> Option<ExpiringRow> {
    Some(ExpiringRow {
        account_id: account.into(),
        connection_id: connection.into(),
        label,
        idp_entity_id,
        sso_url,
        valid_until: valid_until?,
        monitored: url.is_some() && monitor,
    })
}

fn expiring_columns() -> sea_orm::Select<sso_connection::Entity> {
    use sso_connection::Column;
    sso_connection::Entity::find()
        .select_only()
        .column(Column::AccountId)
        .column(Column::Id)
        .column(Column::Label)
        .column(Column::IdpEntityId)
        .column(Column::SsoUrl)
        .column(Column::SigningValidUntil)
        .column(Column::MetadataUrl)
        .column(Column::MonitorMetadata)
}

/// The rows after (`valid_until`, `id`) in the order (date, id): the next batch of a pass that goes by date.
fn after_key<C: ColumnTrait>(date: C, id_column: C, valid_until: DateTime<Utc>, id: uuid::Uuid) -> Condition {
    Condition::any()
        .add(date.gt(valid_until))
        .add(Condition::all().add(date.eq(valid_until)).add(id_column.gt(id)))
}

/// Records that a certificate verified a sign-in at `at`; a later time already recorded (by another instance)
/// stays.
pub(super) async fn record_certificate_use(
    db: &impl ConnectionTrait,
    connection_id: ConnectionId,
    fingerprint: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    certificate_use_upsert(connection_id, fingerprint, at)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The upsert of a certificate's last use, which never moves it back in time.
pub(super) fn certificate_use_upsert(
    connection_id: ConnectionId,
    fingerprint: &str,
    at: DateTime<Utc>,
) -> Insert<idp_certificate_use::ActiveModel> {
    use idp_certificate_use::Column;
    idp_certificate_use::Entity::insert(idp_certificate_use::ActiveModel {
        connection_id: Set(connection_id.as_uuid()),
        sha256_fingerprint: Set(fingerprint.to_owned()),
        last_used_at: Set(at),
    })
    .on_conflict(
        OnConflict::columns([Column::ConnectionId, Column::Sha256Fingerprint])
            .update_column(Column::LastUsedAt)
            .action_and_where(Expr::col((idp_certificate_use::Entity, Column::LastUsedAt)).lt(at))
            .to_owned(),
    )
}

impl Store {
    /// When each of a connection's certificates last verified a sign-in, by SHA-256 fingerprint (certificates
    /// removed since may be among them).
    pub async fn certificate_uses(
        &self,
        connection_id: ConnectionId,
    ) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        use idp_certificate_use::Column;
        Ok(idp_certificate_use::Entity::find()
            .select_only()
            .column(Column::Sha256Fingerprint)
            .column(Column::LastUsedAt)
            .filter(Column::ConnectionId.eq(connection_id.as_uuid()))
            .into_tuple()
            .all(&self.db)
            .await?)
    }

    /// Connections whose last signing certificate expires by `before`, soonest first, after the connection
    /// `after` in that order, at most `limit`: one batch of the expiry pass.
    pub async fn connections_expiring_before(
        &self,
        before: DateTime<Utc>,
        after: Option<(DateTime<Utc>, ConnectionId)>,
        limit: u64,
    ) -> Result<Vec<ExpiringRow>, StoreError> {
        use sso_connection::Column;
        let mut query = expiring_columns()
            .filter(Column::SigningValidUntil.lte(before))
            .order_by_asc(Column::SigningValidUntil)
            .order_by_asc(Column::Id)
            .limit(limit);
        if let Some((valid_until, id)) = after {
            query = query.filter(after_key(
                Column::SigningValidUntil,
                Column::Id,
                valid_until,
                id.as_uuid(),
            ));
        }
        let rows: Vec<ExpiringTuple> = query.into_tuple().all(&self.db).await?;
        Ok(rows.into_iter().filter_map(expiring_row).collect())
    }

    /// Every connection with the date its last signing certificate expires, for the operator's metric.
    pub async fn signing_validity(&self) -> Result<Vec<ExpiringRow>, StoreError> {
        let rows: Vec<ExpiringTuple> = expiring_columns().into_tuple().all(&self.db).await?;
        Ok(rows.into_iter().filter_map(expiring_row).collect())
    }

    /// Up to `limit` connections saved before their certificates' last date was kept: (id, Base64 DER
    /// certificates).
    pub async fn connections_without_signing_validity(
        &self,
        limit: u64,
    ) -> Result<Vec<(ConnectionId, Vec<String>)>, StoreError> {
        use sso_connection::Column;
        let rows: Vec<(uuid::Uuid, String)> = sso_connection::Entity::find()
            .select_only()
            .column(Column::Id)
            .column(Column::Certificates)
            .filter(Column::SigningValidUntil.is_null())
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, certificates)| (id.into(), super::connections::lines(&certificates)))
            .collect())
    }

    /// Keeps the date a connection's last certificate expires, unless the certificates were changed meanwhile
    /// (whoever changed them wrote it).
    pub async fn set_signing_validity(
        &self,
        connection_id: ConnectionId,
        certificates: &[String],
        valid_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        use sso_connection::Column;
        sso_connection::Entity::update_many()
            .col_expr(Column::SigningValidUntil, Expr::value(valid_until))
            .filter(Column::Id.eq(connection_id.as_uuid()))
            .filter(Column::SigningValidUntil.is_null())
            .filter(Column::Certificates.eq(certificates.join("\n")))
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    /// The expiry notices already sent for `connections`: (connection, subject, expiry date, days before).
    pub async fn expiry_notices_sent(
        &self,
        connections: &[ConnectionId],
    ) -> Result<Vec<(ConnectionId, String, DateTime<Utc>, i32)>, StoreError> {
        use certificate_expiry_notice::Column;
        let rows: Vec<(uuid::Uuid, String, DateTime<Utc>, i32)> = certificate_expiry_notice::Entity::find()
            .select_only()
            .column(Column::ConnectionId)
            .column(Column::Subject)
            .column(Column::ValidUntil)
            .column(Column::DaysBefore)
            .filter(Column::ConnectionId.is_in(connections.iter().map(|c| c.as_uuid())))
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(c, subject, at, days)| (c.into(), subject, at, days))
            .collect())
    }

    /// Claims `notice` (its certificate ends within its days) and records its SSO event in the same transaction:
    /// `true` for the one caller (of any instance) that is to mail it.
    pub async fn claim_expiry_notice(&self, notice: &NoticeRow, event: &SsoEventRow) -> Result<bool, StoreError> {
        use certificate_expiry_notice::Column;
        let txn = self.writer.begin().await?;
        let inserted = certificate_expiry_notice::Entity::insert(certificate_expiry_notice::ActiveModel {
            connection_id: Set(notice.connection_id.as_uuid()),
            subject: Set(notice.subject.clone()),
            valid_until: Set(notice.valid_until),
            days_before: Set(notice.days_before),
            sent_at: Set(notice.sent_at),
            reference: Set(notice.reference.clone()),
            mailed: Set(false),
            mail_attempts: Set(1),
        })
        .on_conflict(
            OnConflict::columns([
                Column::ConnectionId,
                Column::Subject,
                Column::ValidUntil,
                Column::DaysBefore,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        if inserted == 1 {
            sso::insert_sso_event(&txn, event).await?;
        }
        txn.commit().await?;
        Ok(inserted == 1)
    }

    /// Records that a notice's mail reached everyone it was for (or that there was nothing to mail).
    pub async fn expiry_notice_mailed(&self, notice: &NoticeRow) -> Result<(), StoreError> {
        use certificate_expiry_notice::Column;
        certificate_expiry_notice::Entity::update_many()
            .col_expr(Column::Mailed, Expr::value(true))
            .filter(Column::ConnectionId.eq(notice.connection_id.as_uuid()))
            .filter(Column::Subject.eq(notice.subject.clone()))
            .filter(Column::ValidUntil.eq(notice.valid_until))
            .filter(Column::DaysBefore.eq(notice.days_before))
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    /// Notices whose mail failed (or whose instance stopped before mailing), last tried by `tried_by` and fewer
    /// than `attempts` times, at most `limit`.
    pub async fn notice_mails_to_retry(
        &self,
        tried_by: DateTime<Utc>,
        attempts: i32,
        limit: u64,
    ) -> Result<Vec<NoticeRow>, StoreError> {
        use certificate_expiry_notice::Column;
        Ok(certificate_expiry_notice::Entity::find()
            .filter(Column::Mailed.eq(false))
            .filter(Column::SentAt.lte(tried_by))
            .filter(Column::MailAttempts.lt(attempts))
            .order_by_asc(Column::SentAt)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| NoticeRow {
                connection_id: m.connection_id.into(),
                subject: m.subject,
                valid_until: m.valid_until,
                days_before: m.days_before,
                sent_at: m.sent_at,
                reference: m.reference,
            })
            .collect())
    }

    /// Claims another try at a notice's mail: `true` for the one caller (of any instance) that is to make it.
    pub async fn claim_notice_mail_retry(&self, notice: &NoticeRow, now: DateTime<Utc>) -> Result<bool, StoreError> {
        use certificate_expiry_notice::Column;
        let claimed = certificate_expiry_notice::Entity::update_many()
            .col_expr(Column::SentAt, Expr::value(now))
            .col_expr(Column::MailAttempts, Expr::col(Column::MailAttempts).add(1))
            .filter(Column::ConnectionId.eq(notice.connection_id.as_uuid()))
            .filter(Column::Subject.eq(notice.subject.clone()))
            .filter(Column::ValidUntil.eq(notice.valid_until))
            .filter(Column::DaysBefore.eq(notice.days_before))
            .filter(Column::Mailed.eq(false))
            .filter(Column::SentAt.eq(notice.sent_at))
            .exec(&self.writer)
            .await?;
        Ok(claimed.rows_affected == 1)
    }

    /// The connections' accounts, names, IdPs and the dates their last certificates expire.
    pub async fn expiring_rows(&self, connections: &[ConnectionId]) -> Result<Vec<ExpiringRow>, StoreError> {
        let rows: Vec<ExpiringTuple> = expiring_columns()
            .filter(sso_connection::Column::Id.is_in(connections.iter().map(|c| c.as_uuid())))
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().filter_map(expiring_row).collect())
    }

    /// Active SP keys whose certificate ends by `before`, soonest first, after `after` (an end and a key id) in
    /// that order, at most `limit`: (key id, connection, end).
    pub async fn sp_keys_ending_before(
        &self,
        before: DateTime<Utc>,
        after: Option<(DateTime<Utc>, uuid::Uuid)>,
        limit: u64,
    ) -> Result<Vec<(uuid::Uuid, ConnectionId, DateTime<Utc>)>, StoreError> {
        use sp_key::Column;
        let mut query = sp_key::Entity::find()
            .select_only()
            .column(Column::Id)
            .column(Column::ConnectionId)
            .column(Column::ValidUntil)
            .filter(Column::State.eq(KeyState::Active.as_str()))
            .filter(Column::ValidUntil.lte(before))
            .order_by_asc(Column::ValidUntil)
            .order_by_asc(Column::Id)
            .limit(limit);
        if let Some((valid_until, id)) = after {
            query = query.filter(after_key(Column::ValidUntil, Column::Id, valid_until, id));
        }
        let rows: Vec<(uuid::Uuid, uuid::Uuid, Option<DateTime<Utc>>)> = query.into_tuple().all(&self.db).await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, connection, valid_until)| Some((id, connection.into(), valid_until?)))
            .collect())
    }

    /// When the active SP key of each of `connections` ends, for those that have one with a known end.
    pub async fn active_sp_keys_ending(
        &self,
        connections: &[ConnectionId],
    ) -> Result<Vec<(ConnectionId, DateTime<Utc>)>, StoreError> {
        use sp_key::Column;
        let rows: Vec<(uuid::Uuid, Option<DateTime<Utc>>)> = sp_key::Entity::find()
            .select_only()
            .column(Column::ConnectionId)
            .column(Column::ValidUntil)
            .filter(Column::State.eq(KeyState::Active.as_str()))
            .filter(Column::ConnectionId.is_in(connections.iter().map(|c| c.as_uuid())))
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(connection, valid_until)| Some((connection.into(), valid_until?)))
            .collect())
    }

    /// The account's connections, as the certificate notices name them.
    pub async fn account_expiring_rows(&self, account_id: AccountId) -> Result<Vec<ExpiringRow>, StoreError> {
        let rows: Vec<ExpiringTuple> = expiring_columns()
            .filter(sso_connection::Column::AccountId.eq(account_id.as_uuid()))
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().filter_map(expiring_row).collect())
    }

    /// Up to `limit` SP keys stored before their certificate's end was kept: (key id, Base64 DER certificate).
    pub async fn sp_keys_without_validity(&self, limit: u64) -> Result<Vec<(uuid::Uuid, String)>, StoreError> {
        use sp_key::Column;
        Ok(sp_key::Entity::find()
            .select_only()
            .column(Column::Id)
            .column(Column::Certificate)
            .filter(Column::ValidUntil.is_null())
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await?)
    }

    /// Keeps the end of an SP key's certificate.
    pub async fn set_sp_key_validity(&self, key: uuid::Uuid, valid_until: DateTime<Utc>) -> Result<(), StoreError> {
        use sp_key::Column;
        sp_key::Entity::update_many()
            .col_expr(Column::ValidUntil, Expr::value(valid_until))
            .filter(Column::Id.eq(key))
            .filter(Column::ValidUntil.is_null())
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    /// The email addresses of the account's members with one of `roles` (storage names).
    pub async fn member_emails_with_roles(
        &self,
        account_id: AccountId,
        roles: &[&str],
    ) -> Result<Vec<String>, StoreError> {
        let users: Vec<uuid::Uuid> = membership::Entity::find()
            .select_only()
            .column(membership::Column::UserId)
            .filter(membership::Column::AccountId.eq(account_id.as_uuid()))
            .filter(membership::Column::Role.is_in(roles.iter().copied()))
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(user::Entity::find()
            .select_only()
            .column(user::Column::Email)
            .filter(user::Column::Id.is_in(users))
            .order_by_asc(user::Column::Email)
            .into_tuple()
            .all(&self.db)
            .await?)
    }
}
