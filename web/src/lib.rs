//! What the dashboard's server functions (`app`) and the server's own routes (`server`) share: the running
//! services, the site's cookies and the client's address. Both answer HTTP requests; neither may keep its own copy.

pub mod cookies;

use gatehouse_core::audit::AuditService;
use gatehouse_core::setup_link::SetupLinkService;
use gatehouse_core::sso::sign_in::SsoService;
use gatehouse_core::sso::{ConnectionService, PolicyService};
use gatehouse_core::{AuthService, DomainService, TenancyService};
use http::HeaderMap;
use std::net::IpAddr;

/// The services of the running server and its edge settings; the server builds it once, server functions find it
/// in their Leptos context and the SAML routes in the router's state.
#[derive(Clone)]
pub struct Services {
    pub auth: AuthService,
    pub tenancy: TenancyService,
    pub domains: DomainService,
    pub connections: ConnectionService,
    pub policy: PolicyService,
    pub audit: AuditService,
    pub sso: SsoService,
    pub setup_links: SetupLinkService,
    /// Mark cookies `Secure`: on whenever the public URL is https.
    pub secure_cookies: bool,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted reverse proxy).
    pub trust_forwarded_for: bool,
}

/// The client's address: behind a trusted proxy the one it appended to `X-Forwarded-For` (entries further left
/// were written by the client), else the connection's peer.
pub fn client_address(trust_forwarded_for: bool, headers: &HeaderMap, peer: Option<IpAddr>) -> Option<IpAddr> {
    if trust_forwarded_for {
        let forwarded = headers.get("x-forwarded-for")?.to_str().ok()?;
        return forwarded.rsplit(',').next()?.trim().parse().ok();
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_trusted_proxys_own_entry_names_the_client() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9, 198.51.100.7".parse().unwrap());
        let peer = Some(IpAddr::from([127, 0, 0, 1]));
        assert_eq!(client_address(false, &headers, peer), peer);
        assert_eq!(
            client_address(true, &headers, peer),
            Some(IpAddr::from([198, 51, 100, 7]))
        );
        headers.insert("x-forwarded-for", "not an address".parse().unwrap());
        assert_eq!(client_address(true, &headers, peer), None);
    }
}
