//! Fills the database with as many accounts and users as a large deployment holds, written straight into the
//! tables (setting 100,000 accounts up over HTTP would take hours): each account with a verified domain, a
//! connection to an IdP and SSO on, each user provisioned by SSO into one account (membership and SSO link).
//! The sign-ins measured before and after the fill then show whether the ACS slows down with the database's size.

use chrono::{Duration as TimeDelta, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, InsertStatement, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Rows per INSERT statement: large enough that statement overhead does not dominate, small enough to stay under
/// SQLite's limit of bound values per statement.
const ROWS_PER_STATEMENT: usize = 500;
/// Accounts written per transaction (with their users).
const ACCOUNTS_PER_TRANSACTION: usize = 2_000;

/// What the fill wrote, and how long it took.
pub struct Filled {
    pub accounts: usize,
    pub users: usize,
    pub took: Duration,
}

/// The IdP settings every filler connection copies from the connection the measured account set up over HTTP,
/// so the rows hold values the server reads like any other.
const TEMPLATE_COLUMNS: [&str; 6] = [
    "sso_url",
    "sso_binding",
    "sso_endpoints",
    "certificates",
    "name_id_formats",
    "source",
];

/// The template connection's values of [`TEMPLATE_COLUMNS`], in that order.
async fn template(db: &DatabaseConnection, connection: &str) -> Result<Vec<String>, String> {
    let id = Uuid::parse_str(connection).map_err(|e| format!("connection id {connection}: {e}"))?;
    let select = Query::select()
        .columns(TEMPLATE_COLUMNS.map(Alias::new))
        .from(Alias::new("sso_connections"))
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .to_owned();
    let row = db
        .query_one(&select)
        .await
        .map_err(|e| format!("reading the template connection: {e}"))?
        .ok_or("the template connection is not in the database")?;
    TEMPLATE_COLUMNS
        .iter()
        .map(|column| row.try_get::<String>("", column).map_err(|e| format!("{column}: {e}")))
        .collect()
}

/// Rows for one table, flushed as multi-row INSERTs.
struct Rows {
    table: &'static str,
    columns: Vec<&'static str>,
    values: Vec<Vec<SimpleExpr>>,
}

impl Rows {
    fn new(table: &'static str, columns: &[&'static str]) -> Self {
        Rows {
            table,
            columns: columns.to_vec(),
            values: Vec::new(),
        }
    }

    fn push(&mut self, row: Vec<SimpleExpr>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.values.push(row);
    }

    async fn flush<C: ConnectionTrait>(&mut self, db: &C) -> Result<(), String> {
        for chunk in self.values.chunks(ROWS_PER_STATEMENT) {
            let mut insert: InsertStatement = Query::insert()
                .into_table(Alias::new(self.table))
                .columns(self.columns.iter().map(|c| Alias::new(*c)))
                .to_owned();
            for row in chunk {
                insert
                    .values(row.iter().cloned())
                    .map_err(|e| format!("{}: {e}", self.table))?;
            }
            db.execute(&insert)
                .await
                .map_err(|e| format!("writing {}: {e}", self.table))?;
        }
        self.values.clear();
        Ok(())
    }
}

/// Writes `accounts` accounts and `users` users (spread evenly over them) into the database at `url`, next to the
/// measured account whose connection `template_connection` is. Domains are `fill<N>.example`, users
/// `user<M>@fill<N>.example`. Domains are marked as checked recently, so the background re-check leaves them be.
pub async fn fill(url: &str, template_connection: &str, accounts: usize, users: usize) -> Result<Filled, String> {
    let began = Instant::now();
    let db = Database::connect(url)
        .await
        .map_err(|e| format!("connecting to the database: {e}"))?;
    let template = template(&db, template_connection).await?;
    let now = Utc::now();
    let next_check = now + TimeDelta::days(1);
    let users_per_account = users / accounts.max(1);
    let mut written_users = 0;
    for first in (0..accounts).step_by(ACCOUNTS_PER_TRANSACTION) {
        let mut account_rows = Rows::new("accounts", &["id", "name", "created_at"]);
        let mut settings = Rows::new(
            "sso_settings",
            &[
                "account_id",
                "sso_enabled",
                "enforce_sso",
                "no_separate_account",
                "updated_at",
            ],
        );
        let mut domains = Rows::new(
            "domains",
            &[
                "id",
                "account_id",
                "name",
                "token",
                "status",
                "created_at",
                "verified_at",
                "last_checked_at",
                "next_check_at",
                "verified_name",
                "connection_id",
            ],
        );
        let mut connections = Rows::new(
            "sso_connections",
            &[
                &["id", "account_id", "label", "idp_entity_id"][..],
                &TEMPLATE_COLUMNS,
                &["created_at", "updated_at"],
            ]
            .concat(),
        );
        let mut user_rows = Rows::new("users", &["id", "email", "created_at", "sso_account_id"]);
        let mut memberships = Rows::new("memberships", &["account_id", "user_id", "role", "created_at"]);
        let mut links = Rows::new("sso_links", &["connection_id", "name_id", "user_id", "created_at"]);
        for index in first..(first + ACCOUNTS_PER_TRANSACTION).min(accounts) {
            let (account, connection) = (Uuid::new_v4(), Uuid::new_v4());
            let domain = format!("fill{index}.example");
            account_rows.push(vec![account.into(), format!("Filler {index}").into(), now.into()]);
            settings.push(vec![
                account.into(),
                true.into(),
                false.into(),
                false.into(),
                now.into(),
            ]);
            domains.push(vec![
                Uuid::new_v4().into(),
                account.into(),
                domain.clone().into(),
                format!("gatehouse-verification=fill{index}").into(),
                "active".into(),
                now.into(),
                now.into(),
                now.into(),
                next_check.into(),
                domain.clone().into(),
                connection.into(),
            ]);
            let mut connection_row: Vec<SimpleExpr> = vec![
                connection.into(),
                account.into(),
                "Filler IdP".into(),
                format!("https://idp.fill{index}.example/saml").into(),
            ];
            connection_row.extend(template.iter().cloned().map(Into::into));
            connection_row.extend([now.into(), now.into()]);
            connections.push(connection_row);
            for n in 0..users_per_account {
                let user = Uuid::new_v4();
                let email = format!("user{n}@{domain}");
                user_rows.push(vec![user.into(), email.clone().into(), now.into(), account.into()]);
                memberships.push(vec![account.into(), user.into(), "no_access".into(), now.into()]);
                links.push(vec![connection.into(), email.into(), user.into(), now.into()]);
                written_users += 1;
            }
        }
        let transaction = db.begin().await.map_err(|e| format!("starting a transaction: {e}"))?;
        // Parents before children: the foreign keys are checked as rows arrive.
        for rows in [
            &mut account_rows,
            &mut settings,
            &mut connections,
            &mut domains,
            &mut user_rows,
            &mut memberships,
            &mut links,
        ] {
            rows.flush(&transaction).await?;
        }
        transaction.commit().await.map_err(|e| format!("committing: {e}"))?;
    }
    // The planner's statistics, as a database of this size has them after its routine maintenance.
    let analyze = Statement::from_string(db.get_database_backend(), "ANALYZE");
    db.execute_raw(analyze).await.map_err(|e| format!("ANALYZE: {e}"))?;
    if db.get_database_backend() == DbBackend::Sqlite {
        // Fold the write-ahead log into the file, as SQLite does by itself after a burst of writes.
        let checkpoint = Statement::from_string(DbBackend::Sqlite, "PRAGMA wal_checkpoint(TRUNCATE)");
        db.execute_raw(checkpoint)
            .await
            .map_err(|e| format!("checkpoint: {e}"))?;
    }
    db.close().await.map_err(|e| e.to_string())?;
    Ok(Filled {
        accounts,
        users: written_users,
        took: began.elapsed(),
    })
}
