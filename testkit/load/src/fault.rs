//! The crash test: the server is killed with SIGKILL in the middle of a burst of configuration changes and
//! sign-ins, started again on the same database, and then every change it acknowledged must be there, nothing
//! may be half-written, and sign-in must work again.

use crate::flows::{self, Account};
use crate::server::Server;
use rand::Rng;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;

/// What the burst's writers had acknowledged by the moment of the kill, and what they had sent.
#[derive(Default)]
struct Acknowledged {
    domains: Mutex<Vec<String>>,
    sessions: Mutex<Vec<String>>,
    /// Versions of the role mappings (and of the account's name): the highest answered, and the highest sent.
    mappings_answered: AtomicU64,
    mappings_sent: AtomicU64,
    names_answered: AtomicU64,
    names_sent: AtomicU64,
    /// Requests that failed before the kill (there should be none).
    early_failures: Mutex<Vec<String>>,
}

/// The versions of the role mappings and of the account's name found stored after a restart.
#[derive(Clone, Copy, Default)]
struct Stored {
    mappings: u64,
    name: u64,
}

impl Acknowledged {
    /// A round's start: what the previous round left stored counts as acknowledged, and new versions follow it.
    fn after(stored: &Stored) -> Self {
        Acknowledged {
            mappings_answered: AtomicU64::new(stored.mappings),
            mappings_sent: AtomicU64::new(stored.mappings),
            names_answered: AtomicU64::new(stored.name),
            names_sent: AtomicU64::new(stored.name),
            ..Default::default()
        }
    }
}

/// The role mappings of version `v`: two rules, so a half-written save would show as a mix of versions.
fn mapping_form(account: &Account, v: u64) -> Vec<(String, String)> {
    let mut form = vec![
        ("account_id".to_owned(), account.id.clone()),
        ("connection_id".to_owned(), account.connection.clone()),
        ("default_role".to_owned(), "no_access".to_owned()),
    ];
    for (i, role) in ["admin", "viewer"].iter().enumerate() {
        form.push((format!("rules[{i}][attribute]"), "groups".to_owned()));
        form.push((format!("rules[{i}][value]"), format!("crash-v{v}-{role}")));
        form.push((format!("rules[{i}][role]"), (*role).to_owned()));
    }
    form
}

/// Domains one account may hold (`MAX_DOMAINS_PER_ACCOUNT`) bound how many the bursts can add.
const DOMAINS_IN_ALL: usize = 400;

/// Runs `rounds` rounds of burst, kill and restart, checking after each. Answers the problems found.
pub async fn run(
    server: &mut Server,
    account: Arc<Account>,
    database_url: &str,
    rounds: usize,
    burst: Duration,
) -> Vec<String> {
    let mut problems = Vec::new();
    // Versions run on across rounds; what a round found stored is the least the next one may find.
    let mut stored = Stored::default();
    for round in 0..rounds {
        let acknowledged = Arc::new(Acknowledged::after(&stored));
        let killed = Arc::new(AtomicBool::new(false));
        let writer = Writer {
            client: flows::client(),
            base: server.base.clone(),
            account: account.clone(),
            acknowledged: acknowledged.clone(),
            killed: killed.clone(),
        };
        // Two sign-in loops, and one of each configuration change.
        let mut writers = JoinSet::new();
        writers.spawn(writer.clone().sign_ins());
        writers.spawn(writer.clone().sign_ins());
        writers.spawn(writer.clone().domain_additions(round, DOMAINS_IN_ALL / rounds.max(1)));
        writers.spawn(writer.clone().role_mapping_saves());
        writers.spawn(writer.renames());
        // The kill lands at a random moment of the burst, while every writer has requests in flight.
        let at = burst.mul_f64(rand::rng().random_range(0.5..1.0));
        tokio::time::sleep(at).await;
        killed.store(true, Ordering::SeqCst);
        if let Err(e) = server.kill().await {
            problems.push(e);
            return problems;
        }
        while writers.join_next().await.is_some() {}
        let acknowledged = Arc::try_unwrap(acknowledged).ok().expect("every writer has stopped");
        println!(
            "round {}: SIGKILL after {:.2} s; answered by then: {} sign-ins, {} domains added, {} role mapping saves, \
             {} renames",
            round + 1,
            at.as_secs_f64(),
            acknowledged.sessions.lock().unwrap().len(),
            acknowledged.domains.lock().unwrap().len(),
            acknowledged.mappings_answered.load(Ordering::SeqCst),
            acknowledged.names_answered.load(Ordering::SeqCst),
        );
        problems.extend(acknowledged.early_failures.lock().unwrap().drain(..));
        if let Err(e) = server.restart().await {
            problems.push(format!("round {}: the server did not start again: {e}", round + 1));
            return problems;
        }
        // A new client: the old one's pooled connections went down with the server.
        let client = flows::client();
        let (found, round_problems) = check(&client, &server.base, &account, database_url, &acknowledged).await;
        stored = found;
        for problem in round_problems {
            problems.push(format!("round {}: {problem}", round + 1));
        }
    }
    problems
}

/// What each writer of the burst holds.
#[derive(Clone)]
struct Writer {
    client: reqwest::Client,
    base: String,
    account: Arc<Account>,
    acknowledged: Arc<Acknowledged>,
    killed: Arc<AtomicBool>,
}

impl Writer {
    fn running(&self) -> bool {
        !self.killed.load(Ordering::SeqCst)
    }

    /// Keeps an answered request as acknowledged. A failure after the kill is expected (the server is gone); one
    /// before it is a problem.
    fn record<T>(&self, outcome: Result<T, String>, keep: impl FnOnce(T)) {
        match outcome {
            Ok(value) => keep(value),
            Err(e) if self.running() => self.acknowledged.early_failures.lock().unwrap().push(e),
            Err(_) => {}
        }
    }

    async fn sign_ins(self) {
        while self.running() {
            let outcome = flows::sign_in(&self.client, &self.base, &self.account, 0.5).await;
            self.record(outcome, |(_, session)| {
                self.acknowledged.sessions.lock().unwrap().push(session)
            });
        }
    }

    async fn domain_additions(self, round: usize, most: usize) {
        let owner = self.account.owner(&self.client, &self.base);
        for n in 0..most {
            if !self.running() {
                break;
            }
            let name = format!("r{round}-{n}.crash.{}", self.account.domain);
            let outcome = owner
                .call(
                    "/api/domains/add",
                    &[("account_id", &self.account.id), ("domain", &name)],
                )
                .await;
            self.record(outcome, |_| self.acknowledged.domains.lock().unwrap().push(name));
        }
    }

    async fn role_mapping_saves(self) {
        let owner = self.account.owner(&self.client, &self.base);
        while self.running() {
            let v = self.acknowledged.mappings_sent.fetch_add(1, Ordering::SeqCst) + 1;
            let form = mapping_form(&self.account, v);
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let outcome = owner.call("/api/sso/role-mappings", &form).await;
            self.record(outcome, |_| {
                self.acknowledged.mappings_answered.store(v, Ordering::SeqCst)
            });
        }
    }

    async fn renames(self) {
        let owner = self.account.owner(&self.client, &self.base);
        while self.running() {
            let v = self.acknowledged.names_sent.fetch_add(1, Ordering::SeqCst) + 1;
            let name = format!("Crash test {v}");
            let outcome = owner
                .call(
                    "/api/accounts/rename",
                    &[("account_id", &self.account.id), ("name", &name)],
                )
                .await;
            self.record(outcome, |_| self.acknowledged.names_answered.store(v, Ordering::SeqCst));
        }
    }
}

/// Checks that `stored` (0: none) lies between the highest version acknowledged and the highest sent (or is
/// the one acknowledged, when nothing new was sent): a change the server answered must be there, and only one
/// that was sent can be.
fn within(what: &str, stored: u64, answered: &AtomicU64, sent: &AtomicU64) -> Option<String> {
    let (answered, sent) = (answered.load(Ordering::SeqCst), sent.load(Ordering::SeqCst));
    if stored == answered || (stored > answered && stored <= sent) {
        None
    } else {
        Some(format!(
            "{what}: version {stored} is stored, but {answered} was acknowledged and up to {sent} sent"
        ))
    }
}

/// After the restart: everything acknowledged is there, the database is whole, and sign-in works again.
async fn check(
    client: &reqwest::Client,
    base: &str,
    account: &Account,
    database_url: &str,
    acknowledged: &Acknowledged,
) -> (Stored, Vec<String>) {
    let mut problems = Vec::new();
    let mut stored = Stored::default();
    let owner = account.owner(client, base);
    match owner.call("/api/domains/list", &[("account_id", &account.id)]).await {
        Ok(page) => {
            let listed: Vec<&str> = page["domains"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d["name"].as_str())
                .collect();
            for domain in acknowledged.domains.lock().unwrap().iter() {
                if !listed.contains(&domain.as_str()) {
                    problems.push(format!("the acknowledged domain {domain} is missing"));
                }
            }
        }
        Err(e) => problems.push(format!("listing the domains: {e}")),
    }
    match owner.call("/api/sso/connections", &[("account_id", &account.id)]).await {
        Ok(page) => {
            let rules = &page["connections"][0]["mappings"]["rules"];
            let values: Vec<&str> = rules
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["value"].as_str())
                .collect();
            let versions: Vec<Option<u64>> = values
                .iter()
                .map(|v| v.strip_prefix("crash-v")?.split('-').next()?.parse().ok())
                .collect();
            stored.mappings = versions.first().copied().flatten().unwrap_or(0);
            if values.len() > 2 || versions.iter().any(|v| *v != Some(stored.mappings)) {
                problems.push(format!("the role mappings are a mix of saves: {values:?}"));
            }
            problems.extend(within(
                "role mappings",
                stored.mappings,
                &acknowledged.mappings_answered,
                &acknowledged.mappings_sent,
            ));
        }
        Err(e) => problems.push(format!("listing the connections: {e}")),
    }
    match owner
        .call("/api/accounts/overview", &[("account_id", &account.id)])
        .await
    {
        Ok(overview) => {
            stored.name = overview["name"]
                .as_str()
                .and_then(|n| n.strip_prefix("Crash test "))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            problems.extend(within(
                "account name",
                stored.name,
                &acknowledged.names_answered,
                &acknowledged.names_sent,
            ));
        }
        Err(e) => problems.push(format!("reading the account: {e}")),
    }
    let sessions = acknowledged.sessions.lock().unwrap().clone();
    for session in &sessions {
        if let Err(e) = flows::check_session(client, base, account, session).await {
            problems.push(format!("a session an acknowledged sign-in opened no longer works: {e}"));
        }
    }
    problems.extend(check_database(database_url).await);
    for _ in 0..3 {
        if let Err(e) = flows::sign_in(client, base, account, 0.5).await {
            problems.push(format!("sign-in after the restart: {e}"));
        }
    }
    (stored, problems)
}

/// The database itself: SQLite's own integrity check, and rows that only make sense together are together
/// (each change was written with its audit entry, each SSO link with its user's membership).
async fn check_database(url: &str) -> Vec<String> {
    let db = match Database::connect(url).await {
        Ok(db) => db,
        Err(e) => return vec![format!("opening the database: {e}")],
    };
    let backend = db.get_database_backend();
    let queries = [
        (
            "domains without their \"Domain added\" audit entry",
            "SELECT COUNT(*) AS n FROM domains d WHERE NOT EXISTS (SELECT 1 FROM audit_events a \
             WHERE a.account_id = d.account_id AND a.action = 'Domain added' AND a.detail = d.name)",
        ),
        (
            "\"Domain added\" audit entries without their domain",
            "SELECT COUNT(*) AS n FROM audit_events a WHERE a.action = 'Domain added' AND NOT EXISTS \
             (SELECT 1 FROM domains d WHERE d.account_id = a.account_id AND d.name = a.detail)",
        ),
        (
            "SSO links whose user is not a member of the connection's account",
            "SELECT COUNT(*) AS n FROM sso_links l JOIN sso_connections c ON c.id = l.connection_id \
             WHERE NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = l.user_id AND m.account_id = c.account_id)",
        ),
        (
            "SSO-provisioned users without an SSO link",
            "SELECT COUNT(*) AS n FROM users u WHERE u.sso_account_id IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM sso_links l WHERE l.user_id = u.id)",
        ),
    ];
    let mut problems = Vec::new();
    if backend == DbBackend::Sqlite {
        let integrity = db
            .query_one_raw(Statement::from_string(backend, "PRAGMA integrity_check"))
            .await;
        match integrity.map(|row| row.and_then(|r| r.try_get_by_index::<String>(0).ok())) {
            Ok(Some(answer)) if answer == "ok" => {}
            other => problems.push(format!("SQLite's integrity check answered {other:?}")),
        }
    }
    for (what, sql) in queries {
        let count = db
            .query_one_raw(Statement::from_string(backend, sql))
            .await
            .map(|row| row.and_then(|r| r.try_get::<i64>("", "n").ok()));
        match count {
            Ok(Some(0)) => {}
            Ok(Some(n)) => problems.push(format!("{n} {what}")),
            other => problems.push(format!("counting {what}: {other:?}")),
        }
    }
    let _ = db.close().await;
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use uuid::Uuid;

    #[test]
    fn a_stored_version_must_be_the_acknowledged_one_or_a_later_one_that_was_sent() {
        let (answered, sent) = (AtomicU64::new(5), AtomicU64::new(7));
        assert_eq!(within("x", 5, &answered, &sent), None);
        assert_eq!(
            within("x", 7, &answered, &sent),
            None,
            "sent, committed, not yet answered"
        );
        assert!(
            within("x", 4, &answered, &sent).is_some(),
            "an acknowledged change was lost"
        );
        assert!(within("x", 8, &answered, &sent).is_some(), "never sent");
        assert!(within("x", 0, &answered, &sent).is_some());
        assert_eq!(within("x", 0, &AtomicU64::new(0), &AtomicU64::new(0)), None);
    }

    #[tokio::test]
    async fn the_database_check_finds_a_change_written_without_its_audit_entry() {
        let dir = std::env::temp_dir().join(format!("gatehouse-fault-{}", Uuid::new_v4().simple()));
        let url = format!("sqlite://{}", dir.join("gatehouse.sqlite").display());
        gatehouse_core::Store::open(&url).await.unwrap();
        assert_eq!(check_database(&url).await, Vec::<String>::new());

        let db = Database::connect(&url).await.unwrap();
        let (account, now) = (Uuid::new_v4(), Utc::now());
        for (sql, values) in [
            (
                "INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)",
                vec![account.into(), "Half-written".into(), now.into()],
            ),
            (
                "INSERT INTO domains (id, account_id, name, token, status, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                vec![
                    Uuid::new_v4().into(),
                    account.into(),
                    "lonely.example".into(),
                    "gatehouse-verification=x".into(),
                    "pending".into(),
                    now.into(),
                ],
            ),
        ] {
            db.execute_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, values))
                .await
                .unwrap();
        }
        db.close().await.unwrap();
        assert_eq!(
            check_database(&url).await,
            ["1 domains without their \"Domain added\" audit entry"]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
