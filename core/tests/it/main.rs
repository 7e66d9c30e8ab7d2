//! Integration tests of the rules against a real database: a fresh SQLite file per test, or a fresh
//! PostgreSQL database per test when `GATEHOUSE_TEST_POSTGRES_URL` names a server.

mod account_linking;
mod auth;
mod canonical_emails;
mod certificate_lifecycle;
mod connection_settings;
mod connections;
mod default_routing;
mod domains;
mod email_migration;
mod email_proof;
mod kept_connections;
mod keys_at_rest;
mod layout;
mod mail;
mod metadata_url;
mod policy;
mod saml_encrypted;
mod saml_hostile;
mod saml_response;
mod session_origin;
mod setup_link;
mod sso_encrypted_sign_in;
mod sso_logout;
mod sso_metadata;
mod sso_setup;
mod sso_sign_in;
mod store_pools;
mod support;
mod tenancy;
mod trust;
