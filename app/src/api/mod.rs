//! Server functions, one file per area, each with the DTOs its pages use. URLs are stable: `/api/<area>/<action>`.

pub mod accounts;
pub mod auth;
#[cfg(feature = "ssr")]
pub mod context;
pub mod domains;
pub mod setup_links;
pub mod sso;
