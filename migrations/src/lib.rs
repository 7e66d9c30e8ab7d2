//! Gatehouse's database schema as an ordered list of migrations, applied at start-up.

pub use sea_orm_migration::prelude::*;

use std::marker::PhantomData;

mod m20261123_000001_create_accounts_and_users;
mod m20261123_000002_create_domains;
mod m20261123_000003_create_sso_connections;
mod m20261123_000004_create_sso_settings_and_audit;
mod m20261123_000005_create_role_mappings;
mod m20261123_000006_add_domain_routing;
mod m20261123_000007_add_connection_options_and_keys;
mod m20261123_000008_create_sso_requests_replay_and_events;
mod m20261123_000009_create_sso_links;
mod m20261123_000010_add_sso_event_raw_response;
mod m20261123_000011_create_sso_test_requests;
mod m20261124_000012_add_single_logout;
mod m20261205_000013_canonical_emails;
mod m20261205_000015_add_owner_link_requests;
mod m20261205_000016_add_email_proofs;
mod m20261205_000017_add_domain_route_choice;
mod m20261205_000018_create_setup_links;
mod m20261205_000019_add_last_tests;
mod m20261206_000020_add_connection_revisions;
mod m20261206_000021_add_event_fixes;
mod m20261206_000022_add_certificate_lifecycle;
mod m20261207_000023_add_event_refusals;

/// How an email address is brought to its canonical form. The rule lives with the rest of the email rules in
/// gatehouse-core, which passes it in: a migration that stored keys by a copy of the rule would drift from what the
/// running code looks up.
pub trait EmailCanon: Send + Sync + 'static {
    /// The canonical form, or `None` for an address the rule no longer accepts.
    fn key(address: &str) -> Option<String>;
}

/// The migrations in order, with `C` the canonical form of email addresses.
pub struct Migrator<C>(PhantomData<fn() -> C>);

#[async_trait::async_trait]
impl<C: EmailCanon> MigratorTrait for Migrator<C> {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_accounts_and_users::Migration),
            Box::new(m20261123_000002_create_domains::Migration),
            Box::new(m20261123_000003_create_sso_connections::Migration),
            Box::new(m20261123_000004_create_sso_settings_and_audit::Migration),
            Box::new(m20261123_000005_create_role_mappings::Migration),
            Box::new(m20261123_000006_add_domain_routing::Migration),
            Box::new(m20261123_000007_add_connection_options_and_keys::Migration),
            Box::new(m20261123_000008_create_sso_requests_replay_and_events::Migration),
            Box::new(m20261123_000009_create_sso_links::Migration),
            Box::new(m20261123_000010_add_sso_event_raw_response::Migration),
            Box::new(m20261123_000011_create_sso_test_requests::Migration),
            Box::new(m20261124_000012_add_single_logout::Migration),
            Box::new(m20261205_000013_canonical_emails::Migration::<C>::new()),
            Box::new(m20261205_000015_add_owner_link_requests::Migration),
            Box::new(m20261205_000016_add_email_proofs::Migration),
            Box::new(m20261205_000017_add_domain_route_choice::Migration),
            Box::new(m20261205_000018_create_setup_links::Migration),
            Box::new(m20261205_000019_add_last_tests::Migration),
            Box::new(m20261206_000020_add_connection_revisions::Migration),
            Box::new(m20261206_000021_add_event_fixes::Migration),
            Box::new(m20261206_000022_add_certificate_lifecycle::Migration),
            Box::new(m20261207_000023_add_event_refusals::Migration),
        ]
    }
}
