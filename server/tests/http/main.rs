//! The real router on a free port with a fresh database: health, pages, the session cookie, the guards,
//! and server functions called directly as each role and across accounts.

mod support;

mod accounts;
mod basics;
mod canonical_emails;
mod connection_settings;
mod connections;
mod domains;
mod email_proof;
mod key_encryption;
mod parallel_servers;
mod policy;
mod saml_junk;
mod session_origin;
mod setup_link;
mod sso_logout;
mod sso_sign_in;
mod sso_world;
mod trust;
