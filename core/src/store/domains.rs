//! Claimed email domains and their verification state, as rows.

use super::UniqueRow;
use super::policy::{AuditRow, insert_audit};
use super::schema::{domain, session, sso_connection, sso_link, user};
use super::{Store, StoreError, ascii_email_domain};
use crate::domains::{DomainName, DomainStatus, VerificationState};
use crate::ids::{AccountId, ConnectionId, DomainId};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use std::collections::HashSet;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainRow {
    pub id: DomainId,
    pub account_id: AccountId,
    pub name: DomainName,
    /// The value the TXT record must hold.
    pub record_value: String,
    pub created_at: DateTime<Utc>,
    pub state: VerificationState,
    /// The connection the domain's users sign in through; `None`: password sign-in.
    pub connection_id: Option<ConnectionId>,
    /// Someone chose password sign-in for the domain; `false` with no connection: never decided.
    pub password_chosen: bool,
    /// The Owner started the domain's latest verification (added it or pressed Verify).
    pub owner_started_check: bool,
}

impl From<domain::Model> for DomainRow {
    fn from(m: domain::Model) -> Self {
        Self {
            id: m.id.into(),
            account_id: m.account_id.into(),
            name: DomainName::from_stored(m.name),
            record_value: m.token,
            created_at: m.created_at,
            connection_id: m.connection_id.map(ConnectionId::from),
            password_chosen: m.password_chosen,
            owner_started_check: m.owner_started_check,
            state: VerificationState {
                status: DomainStatus::from_stored(&m.status),
                verified_at: m.verified_at,
                lost_since: m.lost_since,
                last_checked_at: m.last_checked_at,
                last_failure: m.last_failure,
                next_check_at: m.next_check_at,
                auto_check_until: m.auto_check_until,
            },
        }
    }
}

/// The claim column: the name while the domain counts as verified, so its unique index allows one such row.
fn verified_name(name: &DomainName, state: &VerificationState) -> Option<String> {
    state.status.counts_as_verified().then(|| name.as_str().to_owned())
}

/// Links follow the domain: deletes the links of the account's connections (all but `kept`) whose user's email is
/// at `name`, and the sessions opened through them, inside `txn`, with an audit entry saying `why` when any went;
/// answers how many links went.
async fn end_links_of_domain(
    txn: &DatabaseTransaction,
    account_id: AccountId,
    name: &DomainName,
    kept: Option<ConnectionId>,
    why: &str,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut connections = sso_connection::Entity::find()
        .select_only()
        .column(sso_connection::Column::Id)
        .filter(sso_connection::Column::AccountId.eq(account_id.as_uuid()));
    if let Some(kept) = kept {
        connections = connections.filter(sso_connection::Column::Id.ne(kept.as_uuid()));
    }
    let connections = connections.into_tuple::<uuid::Uuid>().all(txn).await?;
    let links = sso_link::Entity::find()
        .filter(sso_link::Column::ConnectionId.is_in(connections))
        .all(txn)
        .await?;
    let users: std::collections::HashMap<uuid::Uuid, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(links.iter().map(|l| l.user_id)))
        .all(txn)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    let mut ended = 0;
    for link in links {
        let at_domain = users
            .get(&link.user_id)
            .is_some_and(|email| ascii_email_domain(email) == name.as_str());
        if !at_domain {
            continue;
        }
        session::Entity::delete_many()
            .filter(
                Condition::all()
                    .add(session::Column::SsoConnectionId.eq(link.connection_id))
                    .add(session::Column::SsoNameId.eq(link.name_id.clone())),
            )
            .exec(txn)
            .await?;
        sso_link::Entity::delete_by_id((link.connection_id, link.name_id))
            .exec(txn)
            .await?;
        ended += 1;
    }
    if ended > 0 {
        let audit = AuditRow {
            account_id,
            at: now,
            actor_email: "Gatehouse domains".to_owned(),
            action: "SSO links ended with their domain".to_owned(),
            detail: format!(
                "{name} {why}: {ended} link(s) of its users to the account's connections deleted and the sessions \
                 opened through them ended"
            ),
        };
        insert_audit(txn, &audit).await?;
    }
    Ok(ended)
}

impl Store {
    /// Adds a domain with its audit entry, in one transaction; a unique violation means the account has it
    /// already.
    pub async fn insert_domain(&self, row: &DomainRow, audit: &AuditRow) -> Result<(), StoreError> {
        let s = &row.state;
        let txn = self.writer.begin().await?;
        domain::Entity::insert(domain::ActiveModel {
            id: Set(row.id.as_uuid()),
            account_id: Set(row.account_id.as_uuid()),
            name: Set(row.name.as_str().to_owned()),
            token: Set(row.record_value.clone()),
            status: Set(s.status.as_str().to_owned()),
            created_at: Set(row.created_at),
            verified_at: Set(s.verified_at),
            lost_since: Set(s.lost_since),
            last_checked_at: Set(s.last_checked_at),
            last_failure: Set(s.last_failure.clone()),
            next_check_at: Set(s.next_check_at),
            auto_check_until: Set(s.auto_check_until),
            verified_name: Set(verified_name(&row.name, s)),
            connection_id: Set(row.connection_id.map(|c| c.as_uuid())),
            password_chosen: Set(row.password_chosen),
            owner_started_check: Set(row.owner_started_check),
        })
        .exec(&txn)
        .await?;
        insert_audit(&txn, audit).await?;
        txn.commit().await?;
        Ok(())
    }

    pub async fn domains_of_account(&self, account_id: AccountId) -> Result<Vec<DomainRow>, StoreError> {
        Ok(domain::Entity::find()
            .filter(domain::Column::AccountId.eq(account_id.as_uuid()))
            .order_by_asc(domain::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(DomainRow::from)
            .collect())
    }

    pub async fn count_domains(&self, account_id: AccountId) -> Result<u64, StoreError> {
        Ok(domain::Entity::find()
            .filter(domain::Column::AccountId.eq(account_id.as_uuid()))
            .count(&self.db)
            .await?)
    }

    pub async fn domain(&self, account_id: AccountId, id: DomainId) -> Result<Option<DomainRow>, StoreError> {
        Ok(domain::Entity::find_by_id(id.as_uuid())
            .filter(domain::Column::AccountId.eq(account_id.as_uuid()))
            .unique_row(&self.db)
            .await?
            .map(DomainRow::from))
    }

    /// Which of `names` count as verified in an account other than `account_id`.
    pub async fn domains_verified_elsewhere(
        &self,
        account_id: AccountId,
        names: impl IntoIterator<Item = &DomainName>,
    ) -> Result<HashSet<DomainName>, StoreError> {
        let names: Vec<&str> = names.into_iter().map(DomainName::as_str).collect();
        if names.is_empty() {
            return Ok(HashSet::new());
        }
        Ok(domain::Entity::find()
            .filter(domain::Column::VerifiedName.is_in(names))
            .filter(domain::Column::AccountId.ne(account_id.as_uuid()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| DomainName::from_stored(m.name))
            .collect())
    }

    /// Writes a check's outcome, and for a check a person started, whether the Owner started it; `false` when the
    /// domain was removed meanwhile. A unique violation means another account holds the domain verified. When the
    /// domain does not count as verified (any more), the links of its users end in the same transaction.
    pub async fn save_verification(
        &self,
        account_id: AccountId,
        id: DomainId,
        name: &DomainName,
        state: &VerificationState,
        owner_started: Option<bool>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.writer.begin().await?;
        let mut update = domain::Entity::update_many();
        if let Some(owner_started) = owner_started {
            update = update.col_expr(domain::Column::OwnerStartedCheck, Expr::value(owner_started));
        }
        let result = update
            .col_expr(domain::Column::Status, Expr::value(state.status.as_str()))
            .col_expr(domain::Column::VerifiedAt, Expr::value(state.verified_at))
            .col_expr(domain::Column::LostSince, Expr::value(state.lost_since))
            .col_expr(domain::Column::LastCheckedAt, Expr::value(state.last_checked_at))
            .col_expr(domain::Column::LastFailure, Expr::value(state.last_failure.clone()))
            .col_expr(domain::Column::NextCheckAt, Expr::value(state.next_check_at))
            .col_expr(domain::Column::AutoCheckUntil, Expr::value(state.auto_check_until))
            .col_expr(domain::Column::VerifiedName, Expr::value(verified_name(name, state)))
            .filter(domain::Column::Id.eq(id.as_uuid()))
            .filter(domain::Column::AccountId.eq(account_id.as_uuid()))
            .exec(&txn)
            .await?;
        if result.rows_affected != 1 {
            return Ok(false);
        }
        if !state.status.counts_as_verified() {
            end_links_of_domain(&txn, account_id, name, None, "no longer counts as verified", now).await?;
        }
        txn.commit().await?;
        Ok(true)
    }

    /// Deletes the domain with its audit entry and the links of its users (see [`end_links_of_domain`]), in one
    /// transaction; `false` when the account has no such domain.
    pub async fn delete_domain(
        &self,
        account_id: AccountId,
        id: DomainId,
        audit: &AuditRow,
    ) -> Result<bool, StoreError> {
        let txn = self.writer.begin().await?;
        let removed = domain::Entity::delete_many()
            .filter(domain::Column::Id.eq(id.as_uuid()))
            .filter(domain::Column::AccountId.eq(account_id.as_uuid()))
            .exec_with_returning(&txn)
            .await?;
        let Some(removed) = removed.into_iter().next() else {
            return Ok(false);
        };
        insert_audit(&txn, audit).await?;
        let name = DomainName::from_stored(removed.name);
        end_links_of_domain(&txn, account_id, &name, None, "was removed", audit.at).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Up to `limit` domains whose next automatic check is due, oldest first.
    pub async fn domains_due(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<DomainRow>, StoreError> {
        Ok(domain::Entity::find()
            .filter(domain::Column::NextCheckAt.lte(now))
            .order_by_asc(domain::Column::NextCheckAt)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(DomainRow::from)
            .collect())
    }

    /// Takes a due check for this process by moving its time to `lease_until`, only if no one else moved it
    /// since it was read: two server processes never check the same domain at once, and a process that dies
    /// mid-check leaves the domain due again when the lease ends.
    pub async fn claim_domain_check(
        &self,
        id: DomainId,
        due_at: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = domain::Entity::update_many()
            .col_expr(domain::Column::NextCheckAt, Expr::value(lease_until))
            .filter(domain::Column::Id.eq(id.as_uuid()))
            .filter(domain::Column::NextCheckAt.eq(due_at))
            .exec(&self.writer)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Routes a domain to a connection of the same account (or, chosen, to password sign-in) with its audit entry,
    /// in one transaction; `false` when either is not the account's. The links of the domain's users to the account's
    /// other connections end with the old route (see [`end_links_of_domain`]).
    pub async fn route_domain(
        &self,
        account_id: AccountId,
        id: DomainId,
        connection: Option<ConnectionId>,
        audit: &AuditRow,
    ) -> Result<bool, StoreError> {
        let txn = self.writer.begin().await?;
        if let Some(connection) = connection {
            let owned = super::schema::sso_connection::Entity::find_by_id(connection.as_uuid())
                .filter(super::schema::sso_connection::Column::AccountId.eq(account_id.as_uuid()))
                .unique_row(&txn)
                .await?
                .is_some();
            if !owned {
                return Ok(false);
            }
        }
        let Some(routed) = domain::Entity::find_by_id(id.as_uuid())
            .filter(domain::Column::AccountId.eq(account_id.as_uuid()))
            .unique_row(&txn)
            .await?
        else {
            return Ok(false);
        };
        domain::Entity::update_many()
            .col_expr(
                domain::Column::ConnectionId,
                Expr::value(connection.map(|c| c.as_uuid())),
            )
            .col_expr(domain::Column::PasswordChosen, Expr::value(connection.is_none()))
            .filter(domain::Column::Id.eq(id.as_uuid()))
            .exec(&txn)
            .await?;
        insert_audit(&txn, audit).await?;
        if routed.connection_id != connection.map(|c| c.as_uuid()) {
            let name = DomainName::from_stored(routed.name);
            let why = match connection {
                Some(_) => "was routed to another connection",
                None => "was routed to password sign-in",
            };
            end_links_of_domain(&txn, account_id, &name, connection, why, audit.at).await?;
        }
        txn.commit().await?;
        Ok(true)
    }

    /// Routes the account's undecided domains (counting as verified, routed nowhere, password sign-in never
    /// chosen; only `only` when given) to its connection when it has exactly one, each with an audit entry by
    /// `actor` giving `why`, in one transaction; answers the names routed. The caller decides that the Owner's
    /// action allows it: this widens the connection's reach.
    pub async fn route_undecided_to_sole_connection(
        &self,
        account_id: AccountId,
        only: Option<DomainId>,
        actor: &str,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<DomainName>, StoreError> {
        let txn = self.writer.begin().await?;
        let connections = sso_connection::Entity::find()
            .filter(sso_connection::Column::AccountId.eq(account_id.as_uuid()))
            .limit(2)
            .all(&txn)
            .await?;
        let [connection] = connections.as_slice() else {
            return Ok(Vec::new());
        };
        let undecided = Condition::all()
            .add(domain::Column::AccountId.eq(account_id.as_uuid()))
            .add(domain::Column::VerifiedName.is_not_null())
            .add(domain::Column::ConnectionId.is_null())
            .add(domain::Column::PasswordChosen.eq(false))
            .add_option(only.map(|id| domain::Column::Id.eq(id.as_uuid())));
        let routed = domain::Entity::update_many()
            .col_expr(domain::Column::ConnectionId, Expr::value(connection.id))
            .filter(undecided)
            .exec_with_returning(&txn)
            .await?;
        let mut names = Vec::new();
        for row in routed {
            let name = DomainName::from_stored(row.name);
            let audit = AuditRow {
                account_id,
                at: now,
                actor_email: actor.to_owned(),
                action: "Domain routed".to_owned(),
                detail: format!("{name} → {} (automatically: {why})", connection.label),
            };
            insert_audit(&txn, &audit).await?;
            names.push(name);
        }
        txn.commit().await?;
        Ok(names)
    }
}
