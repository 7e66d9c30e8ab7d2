//! Command-line flags and environment variables: the server's whole configuration (`gatehouse --help`).

use chrono::Duration;
use clap::{Parser, Subcommand, ValueEnum};
use gatehouse_core::PoolSettings;
use gatehouse_core::saml::KeyEncryptionKey;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use url::Url;

#[derive(Clone, Debug, Parser)]
#[command(name = "gatehouse", version, about = "Gatehouse: the SAML single sign-on console.")]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "GATEHOUSE_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Serve Prometheus metrics at `http://<this address>/metrics` (docs/metrics.md); off when unset. The
    /// endpoint has no sign-in of its own: bind it to an address only the operator's scraper reaches.
    #[arg(long, env = "GATEHOUSE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// The URL people and identity providers use to reach Gatehouse (scheme, host, optional port and path).
    /// Links in invitations and, later, SAML service-provider URLs are built from it.
    #[arg(long, env = "GATEHOUSE_PUBLIC_URL", default_value = "http://127.0.0.1:3000", value_parser = parse_public_url)]
    pub public_url: Url,

    /// Database: `sqlite://path/to/file.sqlite` (created on first start) or `postgres://user:pass@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/gatehouse.sqlite")]
    pub database_url: String,

    /// On PostgreSQL, a pooled connection idle for this many seconds is checked (one round trip) before it is used
    /// again; one in steady use is not (docs/deployment.md). Set it below the idle timeout of any proxy or firewall
    /// between the server and PostgreSQL; 0 checks every connection before every use.
    #[arg(long, env = "GATEHOUSE_POSTGRES_PING_AFTER_IDLE_SECONDS", default_value_t = 30)]
    pub postgres_ping_after_idle_seconds: u64,

    /// Log format: human-readable lines, or one JSON object per line.
    #[arg(long, env = "GATEHOUSE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,

    /// When to mark cookies `Secure`: `auto` does so whenever the public URL is https.
    #[arg(long, env = "GATEHOUSE_SECURE_COOKIES", value_enum, default_value_t = SecureCookies::Auto)]
    pub secure_cookies: SecureCookies,

    /// A session unused for this many minutes ends.
    #[arg(long, env = "GATEHOUSE_SESSION_IDLE_MINUTES", default_value_t = 720, value_parser = clap::value_parser!(u32).range(1..))]
    pub session_idle_minutes: u32,

    /// A session ends this many hours after sign-in, however active.
    #[arg(long, env = "GATEHOUSE_SESSION_LIFETIME_HOURS", default_value_t = 168, value_parser = clap::value_parser!(u32).range(1..))]
    pub session_lifetime_hours: u32,

    /// How long an invitation link stays valid, in hours.
    #[arg(long, env = "GATEHOUSE_INVITATION_LIFETIME_HOURS", default_value_t = 168, value_parser = clap::value_parser!(u32).range(1..))]
    pub invitation_lifetime_hours: u32,

    /// SMTP relay for invitation mail, e.g. `smtp://mail.internal:25` or `smtps://user:pass@mail.example.com`.
    /// Without it, owners copy invitation links themselves.
    #[arg(long, env = "GATEHOUSE_SMTP_URL")]
    pub smtp_url: Option<String>,

    /// Sender of outgoing mail.
    #[arg(long, env = "GATEHOUSE_MAIL_FROM", default_value = "Gatehouse <no-reply@localhost>")]
    pub mail_from: String,

    /// Take the client address from the last `X-Forwarded-For` entry. Turn on only behind a reverse proxy
    /// that sets it, or clients could choose their own address for the brute-force guard.
    #[arg(long, env = "GATEHOUSE_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,

    /// Largest request body accepted, in bytes. The default leaves room for a 2 MB IdP metadata document
    /// sent form-encoded.
    #[arg(long, env = "GATEHOUSE_MAX_BODY_BYTES", default_value_t = 6 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// DNS servers for domain verification, comma-separated, each `IP` or `IP:port` (port 53 when omitted).
    /// Without it, the system's resolvers from /etc/resolv.conf are used.
    #[arg(long = "dns-server", env = "GATEHOUSE_DNS_SERVERS", value_delimiter = ',', value_parser = parse_nameserver)]
    pub dns_servers: Vec<SocketAddr>,

    /// How long to wait for a DNS answer, in seconds (each lookup is tried twice).
    #[arg(long, env = "GATEHOUSE_DNS_TIMEOUT_SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub dns_timeout_seconds: u64,

    /// Active domains are checked again this often, in hours (plus up to a tenth of it at random, to spread load).
    #[arg(long, env = "GATEHOUSE_DOMAIN_RECHECK_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..))]
    pub domain_recheck_hours: u32,

    /// A verified domain whose record disappeared keeps counting as verified for this many days.
    #[arg(long, env = "GATEHOUSE_DOMAIN_GRACE_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(0..=365))]
    pub domain_grace_days: u32,

    /// A domain not verified yet is checked automatically, with growing gaps, for this many hours after it
    /// was added or Verify was pressed.
    #[arg(long, env = "GATEHOUSE_DOMAIN_PENDING_HOURS", default_value_t = 72, value_parser = clap::value_parser!(u32).range(0..=720))]
    pub domain_pending_hours: u32,

    /// At most this many domain lookups run at once in the background re-check.
    #[arg(long, env = "GATEHOUSE_DOMAIN_CHECK_CONCURRENCY", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub domain_check_concurrency: u32,

    /// How often the background task looks for domains that are due, in seconds.
    #[arg(long, env = "GATEHOUSE_DOMAIN_CHECK_TICK_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub domain_check_tick_seconds: u64,

    /// Connections imported from a metadata URL with monitoring on are fetched again this often, in hours.
    #[arg(long, env = "GATEHOUSE_METADATA_REFRESH_HOURS", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=720))]
    pub metadata_refresh_hours: u32,

    /// How often the background task looks for metadata refreshes that are due, in seconds.
    #[arg(long, env = "GATEHOUSE_METADATA_REFRESH_TICK_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub metadata_refresh_tick_seconds: u64,

    /// How often the background task looks for signing certificates near their end (notices 30, 7 and 1 days
    /// before the last one of a connection expires, and when it has), in seconds.
    #[arg(long, env = "GATEHOUSE_CERTIFICATE_NOTICE_TICK_SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub certificate_notice_tick_seconds: u64,

    /// How long one metadata URL download may take, in seconds, from connecting to the last byte; an IdP that is
    /// slower is given up on and the connection's saved settings stay as they are.
    #[arg(long, env = "GATEHOUSE_METADATA_FETCH_TIMEOUT_SECONDS", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=120))]
    pub metadata_fetch_timeout_seconds: u32,

    /// How long each SSO event keeps the raw SAML response for support, in hours; 0 keeps none. Only messages
    /// whose signature verified are kept at all.
    #[arg(long, env = "GATEHOUSE_SSO_RAW_RESPONSE_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u32).range(0..=720))]
    pub sso_raw_response_hours: u32,

    /// How long SSO events are kept, in days.
    #[arg(long, env = "GATEHOUSE_SSO_EVENT_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub sso_event_retention_days: u32,

    /// The most SSO events one account keeps; the oldest are deleted first.
    #[arg(long, env = "GATEHOUSE_SSO_EVENTS_PER_ACCOUNT", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub sso_events_per_account: u64,

    /// Posts to one connection's ACS refused within a minute without a verified signature before further posts
    /// are refused unchecked (one summarising SSO event records them).
    #[arg(long, env = "GATEHOUSE_SSO_REFUSALS_PER_CONNECTION", default_value_t = 120, value_parser = clap::value_parser!(u32).range(1..))]
    pub sso_refusals_per_connection: u32,

    /// The same limit for one client address (an IPv6 client's /64 network), across connections.
    #[arg(long, env = "GATEHOUSE_SSO_REFUSALS_PER_CLIENT", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub sso_refusals_per_client: u32,

    /// Sign-ins one client address (an IPv6 client's /64 network) may start a minute, at login URLs and by
    /// email domain: each stores a pending request. Many users behind one NAT share an address.
    #[arg(long, env = "GATEHOUSE_SSO_STARTS_PER_CLIENT", default_value_t = 600, value_parser = clap::value_parser!(u32).range(1..))]
    pub sso_starts_per_client: u32,

    /// Largest request body the SAML endpoints (ACS, SLO) accept, in bytes: far below the general limit, as a
    /// SAML response is at most 256 KB decoded.
    #[arg(long, env = "GATEHOUSE_SAML_MAX_BODY_BYTES", default_value_t = 1024 * 1024, value_parser = clap::value_parser!(u64).range(4096..=16_777_216))]
    pub saml_max_body_bytes: u64,

    /// Allow metadata URLs with plain http:// (for tests and closed networks only).
    #[arg(long, env = "GATEHOUSE_METADATA_ALLOW_HTTP", default_value_t = false)]
    pub metadata_allow_http: bool,

    /// Allow metadata URLs that reach loopback, private or link-local addresses (for tests and IdPs inside
    /// your own network only: it lets account admins make the server fetch from those addresses).
    #[arg(long, env = "GATEHOUSE_METADATA_ALLOW_PRIVATE_ADDRESSES", default_value_t = false)]
    pub metadata_allow_private_addresses: bool,

    /// The key that encrypts the connections' SP private keys in the database: 32 random bytes in Base64
    /// (`openssl rand -base64 32`). Without it or `--key-encryption-key-file`, a public development key is used.
    #[arg(long, env = "GATEHOUSE_KEY_ENCRYPTION_KEY", hide_env_values = true, value_parser = parse_key_encryption_key)]
    pub key_encryption_key: Option<KeyEncryptionKey>,

    /// A file holding the key-encryption key in Base64, instead of `--key-encryption-key`.
    #[arg(
        long,
        env = "GATEHOUSE_KEY_ENCRYPTION_KEY_FILE",
        conflicts_with = "key_encryption_key"
    )]
    pub key_encryption_key_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do instead of serving.
#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Re-encrypts every stored SP private key from one key-encryption key to another, in one transaction. Stop
    /// every Gatehouse instance first, then start them with the new key.
    RotateKeyEncryptionKey {
        /// File holding the key the SP private keys are encrypted with now; without it, the development key.
        #[arg(long)]
        old_key_file: Option<PathBuf>,
        /// File holding the key to encrypt them with from now on.
        #[arg(long)]
        new_key_file: PathBuf,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SecureCookies {
    Auto,
    Always,
    Never,
}

/// A nameserver as `IP`, `IP:port` or `[IPv6]:port`.
fn parse_nameserver(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    text.parse().map_err(|_| {
        format!("\"{text}\" is not an IP address or IP:port (host names cannot be used for the DNS server)")
    })
}

fn parse_public_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the public URL must start with http:// or https://".into());
    }
    if url.host_str().is_none() || url.query().is_some() || url.fragment().is_some() {
        return Err("the public URL is a scheme, host, optional port and path, without query or fragment".into());
    }
    Ok(url)
}

fn parse_key_encryption_key(text: &str) -> Result<KeyEncryptionKey, String> {
    KeyEncryptionKey::from_base64(text).map_err(|e| e.to_string())
}

/// A key-encryption key from a file holding it in Base64.
pub fn read_key_encryption_key(path: &Path) -> Result<KeyEncryptionKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    KeyEncryptionKey::from_base64(&text).map_err(|e| format!("{}: {e}", path.display()))
}

impl Config {
    /// How the store's connection pools treat their connections.
    pub fn pool_settings(&self) -> PoolSettings {
        PoolSettings {
            postgres_ping_after_idle: std::time::Duration::from_secs(self.postgres_ping_after_idle_seconds),
        }
    }

    /// The configured key-encryption key, `None` when neither the key nor its file is given.
    pub fn configured_key_encryption_key(&self) -> Result<Option<KeyEncryptionKey>, String> {
        match (&self.key_encryption_key, &self.key_encryption_key_file) {
            (Some(key), _) => Ok(Some(key.clone())),
            (None, Some(path)) => read_key_encryption_key(path).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// Served only on this machine (a loopback public URL): a development instance, not a deployment.
    pub fn is_development(&self) -> bool {
        match self.public_url.host() {
            Some(url::Host::Domain(name)) => name == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
    }

    pub fn secure_cookies(&self) -> bool {
        match self.secure_cookies {
            SecureCookies::Auto => self.public_url.scheme() == "https",
            SecureCookies::Always => true,
            SecureCookies::Never => false,
        }
    }

    pub fn session_policy(&self) -> gatehouse_core::SessionPolicy {
        gatehouse_core::SessionPolicy {
            idle: Duration::minutes(self.session_idle_minutes.into()),
            absolute: Duration::hours(self.session_lifetime_hours.into()),
        }
    }

    pub fn invitation_lifetime(&self) -> Duration {
        Duration::hours(self.invitation_lifetime_hours.into())
    }

    pub fn dns_settings(&self) -> gatehouse_core::domains::DnsSettings {
        gatehouse_core::domains::DnsSettings {
            nameservers: self.dns_servers.clone(),
            timeout: std::time::Duration::from_secs(self.dns_timeout_seconds),
            ..Default::default()
        }
    }

    pub fn verification_policy(&self) -> gatehouse_core::domains::VerificationPolicy {
        gatehouse_core::domains::VerificationPolicy {
            recheck_interval: Duration::hours(self.domain_recheck_hours.into()),
            grace_period: Duration::days(self.domain_grace_days.into()),
            pending_window: Duration::hours(self.domain_pending_hours.into()),
            ..Default::default()
        }
    }

    pub fn metadata_fetch_policy(&self) -> gatehouse_core::sso::FetchPolicy {
        gatehouse_core::sso::FetchPolicy {
            allow_http: self.metadata_allow_http,
            allow_private_addresses: self.metadata_allow_private_addresses,
            timeout: std::time::Duration::from_secs(self.metadata_fetch_timeout_seconds.into()),
        }
    }

    pub fn junk_policy(&self) -> gatehouse_core::sso::junk::JunkPolicy {
        gatehouse_core::sso::junk::JunkPolicy {
            raw_retention: Duration::hours(self.sso_raw_response_hours.into()),
            event_retention: Duration::days(self.sso_event_retention_days.into()),
            events_per_account: self.sso_events_per_account,
            refusals_per_connection: self.sso_refusals_per_connection,
            refusals_per_client: self.sso_refusals_per_client,
            starts_per_client: self.sso_starts_per_client,
        }
    }

    pub fn metadata_refresh_interval(&self) -> Duration {
        Duration::hours(self.metadata_refresh_hours.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_url_must_be_http_or_https() {
        assert!(parse_public_url("https://sso.example.com").is_ok());
        assert!(parse_public_url("http://127.0.0.1:3000/gatehouse/").is_ok());
        assert!(parse_public_url("ftp://example.com").is_err());
        assert!(parse_public_url("example.com").is_err());
        assert!(parse_public_url("https://example.com/?a=b").is_err());
    }

    #[test]
    fn nameservers_take_an_ip_with_an_optional_port() {
        assert_eq!(
            parse_nameserver("192.0.2.53").unwrap(),
            "192.0.2.53:53".parse().unwrap()
        );
        assert_eq!(
            parse_nameserver("127.0.0.1:5399").unwrap(),
            "127.0.0.1:5399".parse().unwrap()
        );
        assert_eq!(
            parse_nameserver("2001:db8::53").unwrap(),
            "[2001:db8::53]:53".parse().unwrap()
        );
        assert_eq!(parse_nameserver("[::1]:5399").unwrap(), "[::1]:5399".parse().unwrap());
        assert!(parse_nameserver("dns.example.com").is_err());
        let config = Config::parse_from(["gatehouse", "--dns-server", "127.0.0.1:5399,192.0.2.53"]);
        assert_eq!(config.dns_servers.len(), 2);
    }

    #[test]
    fn the_key_encryption_key_comes_from_the_flag_or_a_file() {
        let key = "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=";
        let config = Config::parse_from(["gatehouse", "--key-encryption-key", key]);
        let configured = config.configured_key_encryption_key().unwrap().unwrap();
        assert_eq!(configured, KeyEncryptionKey::from_bytes([9; 32]));
        assert!(!format!("{config:?}").contains(key), "never printed");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kek");
        std::fs::write(&file, format!("{key}\n")).unwrap();
        let config = Config::parse_from(["gatehouse", "--key-encryption-key-file", file.to_str().unwrap()]);
        assert_eq!(config.configured_key_encryption_key().unwrap(), Some(configured));
        std::fs::write(&file, "c2hvcnQ=").unwrap();
        let error = config.configured_key_encryption_key().unwrap_err();
        assert!(
            error.contains("32 random bytes") && error.contains("5 bytes long"),
            "{error}"
        );
        assert!(Config::try_parse_from(["gatehouse", "--key-encryption-key", "c2hvcnQ="]).is_err());
        assert_eq!(
            Config::parse_from(["gatehouse"])
                .configured_key_encryption_key()
                .unwrap(),
            None
        );
    }

    #[test]
    fn only_a_loopback_public_url_is_development() {
        for url in ["http://127.0.0.1:3000", "http://localhost:3000", "http://[::1]:3000"] {
            assert!(
                Config::parse_from(["gatehouse", "--public-url", url]).is_development(),
                "{url}"
            );
        }
        for url in ["https://sso.example.com", "http://10.0.0.5:3000"] {
            assert!(
                !Config::parse_from(["gatehouse", "--public-url", url]).is_development(),
                "{url}"
            );
        }
    }

    #[test]
    fn rotating_the_key_encryption_key_is_a_subcommand() {
        let config = Config::parse_from([
            "gatehouse",
            "rotate-key-encryption-key",
            "--old-key-file",
            "old",
            "--new-key-file",
            "new",
        ]);
        let Some(Command::RotateKeyEncryptionKey {
            old_key_file,
            new_key_file,
        }) = config.command
        else {
            panic!("a subcommand");
        };
        assert_eq!((old_key_file, new_key_file), (Some("old".into()), "new".into()));
    }

    #[test]
    fn cookies_are_secure_for_https_by_default() {
        let config = Config::parse_from(["gatehouse", "--public-url", "https://sso.example.com"]);
        assert!(config.secure_cookies());
        let config = Config::parse_from(["gatehouse"]);
        assert!(!config.secure_cookies());
    }
}
