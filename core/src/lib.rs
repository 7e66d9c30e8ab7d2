//! Gatehouse's rules (accounts, members, roles, passwords, sessions, email domains, single sign-on), free of HTTP
//! and UI. Single sign-on is two layers: the SAML protocol in plain Rust ([`saml`]), and the services that use it
//! with the store ([`sso`]).
//!
//! Adapters (server functions, HTTP routes) call one service with the caller; the service decides and
//! talks to the store. Time is passed in as `now` so every rule can be tested with a fixed clock.

pub mod audit;
pub mod auth;
pub mod domains;
pub mod ids;
pub mod mail;
pub mod metrics;
pub mod saml;
pub mod setup_link;
pub mod sso;
pub mod store;
pub mod tenancy;
pub mod token;

pub use auth::{AuthError, AuthService, Caller, SessionPolicy};
pub use domains::{DomainError, DomainService};
pub use ids::{AccountId, ConnectionId, DomainId, InvitationId, SetupLinkId, UserId};
pub use store::{PoolSettings, Store, StoreError};
pub use tenancy::{Role, TenancyError, TenancyService};
