//! Downloads IdP metadata from a URL the owner gave, without letting that URL reach the server's own network:
//! https only, public addresses only (checked on the addresses the name resolves to and on the address actually
//! connected to, for every redirect too), bounded in time and size.

use crate::saml::metadata::MAX_METADATA_BYTES;
use futures::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;
use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use url::{Host, Url};

pub const MAX_REDIRECTS: usize = 3;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the fetch may reach, and how long it may take. Both relaxations exist for tests and private deployments;
/// production keeps both off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchPolicy {
    /// Allow plain `http://` URLs.
    pub allow_http: bool,
    /// Allow loopback, private, link-local and other non-public addresses.
    pub allow_private_addresses: bool,
    /// The whole download, from connecting to the last byte: an IdP that answers slowly or never is given up on
    /// then (the connection's saved settings stay as they are).
    pub timeout: Duration,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            allow_http: false,
            allow_private_addresses: false,
            timeout: Duration::from_secs(20),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("Enter the metadata URL as a full https:// address.")]
    InvalidUrl,
    #[error("The metadata URL must use https:// so the download cannot be altered on the way.")]
    NotHttps,
    #[error("The URL must not contain a user name or password.")]
    Credentials,
    #[error(
        "{0} is a private, loopback or otherwise non-public address; Gatehouse fetches metadata only from public addresses."
    )]
    PrivateAddress(String),
    #[error("The host name {0} could not be resolved: {1}.")]
    Resolve(String, String),
    #[error("The IdP did not answer within {0} seconds; it may be down or overloaded.")]
    Timeout(u64),
    #[error("The download was redirected more than {MAX_REDIRECTS} times.")]
    TooManyRedirects,
    #[error("The server answered HTTP {0}; check the URL in your IdP's console.")]
    Status(u16),
    #[error("The document is larger than {MAX_METADATA_BYTES} bytes; this is not an IdP metadata URL.")]
    TooLarge,
    #[error("The download failed: {0}.")]
    Network(String),
}

/// Whether an address is on the public internet: not loopback, private, link-local (cloud metadata services
/// live there), shared (carrier-grade NAT), documentation, multicast, unspecified or broadcast.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            // IPv4-mapped and NAT64 addresses reach the IPv4 address they embed.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return is_public_v4(Ipv4Addr::from_bits(v6.to_bits() as u32));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local
                || (segments[0] & 0xffc0) == 0xfe80 // link-local
                || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
                || segments[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
        }
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    !(v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space
        || (a == 192 && b == 0 && v4.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240)
}

/// Refuses the addresses the policy does not allow; also the error the resolver hands to reqwest.
fn check_address(policy: FetchPolicy, ip: IpAddr) -> Result<(), FetchError> {
    if policy.allow_private_addresses || is_public(ip) {
        Ok(())
    } else {
        Err(FetchError::PrivateAddress(ip.to_string()))
    }
}

/// The rules a URL must pass before anything is sent to it, for the first request and every redirect alike.
pub fn check_url(policy: FetchPolicy, url: &Url) -> Result<(), FetchError> {
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        "http" => return Err(FetchError::NotHttps),
        _ => return Err(FetchError::InvalidUrl),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FetchError::Credentials);
    }
    match url.host() {
        None => Err(FetchError::InvalidUrl),
        Some(Host::Ipv4(ip)) => check_address(policy, IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => check_address(policy, IpAddr::V6(ip)),
        Some(Host::Domain(_)) => Ok(()),
    }
}

/// Parses a URL as typed and applies [`check_url`].
pub fn parse_url(policy: FetchPolicy, text: &str) -> Result<Url, FetchError> {
    let url = Url::parse(text.trim()).map_err(|_| FetchError::InvalidUrl)?;
    check_url(policy, &url)?;
    Ok(url)
}

/// Resolves with the system resolver and refuses the whole name when any of its addresses is not allowed, so
/// reqwest can only ever connect to checked addresses.
struct GuardedResolver {
    policy: FetchPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| {
                    Box::new(FetchError::Resolve(host.clone(), e.to_string())) as Box<dyn StdError + Send + Sync>
                })?
                .collect();
            for addr in &addrs {
                check_address(policy, addr.ip()).map_err(|e| Box::new(e) as Box<dyn StdError + Send + Sync>)?;
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[derive(Clone)]
pub struct MetadataFetcher {
    client: reqwest::Client,
    policy: FetchPolicy,
}

impl MetadataFetcher {
    pub fn new(policy: FetchPolicy) -> Self {
        let redirects = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(FetchError::TooManyRedirects);
            }
            match check_url(policy, attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(e),
            }
        });
        let client = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            .redirect(redirects)
            .connect_timeout(CONNECT_TIMEOUT.min(policy.timeout))
            .timeout(policy.timeout)
            .user_agent(concat!("Gatehouse/", env!("CARGO_PKG_VERSION"), " metadata"))
            .build()
            .expect("a client with these settings always builds");
        Self { client, policy }
    }

    pub fn policy(&self) -> FetchPolicy {
        self.policy
    }

    /// Downloads the document at `url` (checked with [`check_url`] first).
    pub async fn fetch(&self, url: &Url) -> Result<Vec<u8>, FetchError> {
        check_url(self.policy, url)?;
        let response = self
            .client
            .get(url.clone())
            .header(
                reqwest::header::ACCEPT,
                "application/samlmetadata+xml, application/xml, text/xml",
            )
            .send()
            .await
            .map_err(|e| fetch_error(e, self.policy.timeout))?;
        // Belt and braces: the resolver only hands out checked addresses, but the connection is what counts.
        if let Some(remote) = response.remote_addr() {
            check_address(self.policy, remote.ip())?;
        }
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        if response.content_length().is_some_and(|n| n > MAX_METADATA_BYTES as u64) {
            return Err(FetchError::TooLarge);
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| fetch_error(e, self.policy.timeout))?;
            if body.len() + chunk.len() > MAX_METADATA_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// The most specific reason in reqwest's error chain: a guard refusal, a timeout, or the network error.
fn fetch_error(error: reqwest::Error, timeout: Duration) -> FetchError {
    let mut source: Option<&(dyn StdError + 'static)> = Some(&error);
    while let Some(e) = source {
        if let Some(guard) = e.downcast_ref::<FetchError>() {
            return guard.clone();
        }
        source = e.source();
    }
    if error.is_timeout() {
        return FetchError::Timeout(timeout.as_secs());
    }
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        message = format!("{message}: {e}");
        source = e.source();
    }
    FetchError::Network(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.10",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2001:db8::1",
            "ff02::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "20.190.128.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_are_checked_before_any_request() {
        let strict = FetchPolicy::default();
        let url = |text: &str| Url::parse(text).unwrap();
        assert_eq!(
            check_url(strict, &url("https://login.microsoftonline.com/x/metadata")),
            Ok(())
        );
        assert_eq!(
            check_url(strict, &url("http://idp.example.com/metadata")),
            Err(FetchError::NotHttps)
        );
        assert_eq!(
            check_url(strict, &url("ftp://idp.example.com/metadata")),
            Err(FetchError::InvalidUrl)
        );
        assert_eq!(
            check_url(strict, &url("file:///etc/passwd")),
            Err(FetchError::InvalidUrl)
        );
        assert_eq!(
            check_url(strict, &url("https://user:pw@idp.example.com/")),
            Err(FetchError::Credentials)
        );
        assert_eq!(
            check_url(strict, &url("https://169.254.169.254/latest/meta-data")),
            Err(FetchError::PrivateAddress("169.254.169.254".into()))
        );
        assert_eq!(
            check_url(strict, &url("https://[::1]:8443/")),
            Err(FetchError::PrivateAddress("::1".into()))
        );
        // Other spellings of loopback normalise to the same address.
        assert_eq!(
            check_url(strict, &url("https://2130706433/")),
            Err(FetchError::PrivateAddress("127.0.0.1".into()))
        );
        assert_eq!(
            check_url(strict, &url("https://0x7f.1/")),
            Err(FetchError::PrivateAddress("127.0.0.1".into()))
        );
        let relaxed = FetchPolicy {
            allow_http: true,
            allow_private_addresses: true,
            ..FetchPolicy::default()
        };
        assert_eq!(check_url(relaxed, &url("http://127.0.0.1:8080/metadata")), Ok(()));
        assert_eq!(parse_url(strict, " not a url "), Err(FetchError::InvalidUrl));
    }
}
