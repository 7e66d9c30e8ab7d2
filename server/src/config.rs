//! Command-line flags and environment variables: the server's whole configuration (`gatehouse --help`).

use chrono::Duration;
use clap::{Parser, ValueEnum};
use std::net::SocketAddr;
use url::Url;

#[derive(Clone, Debug, Parser)]
#[command(name = "gatehouse", version, about = "Gatehouse: the SAML single sign-on console.")]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "GATEHOUSE_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// The URL people and identity providers use to reach Gatehouse (scheme, host, optional port and path).
    /// Links in invitations and, later, SAML service-provider URLs are built from it.
    #[arg(long, env = "GATEHOUSE_PUBLIC_URL", default_value = "http://127.0.0.1:3000", value_parser = parse_public_url)]
    pub public_url: Url,

    /// Database: `sqlite://path/to/file.sqlite` (created on first start) or `postgres://user:pass@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/gatehouse.sqlite")]
    pub database_url: String,

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

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "GATEHOUSE_MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub max_body_bytes: usize,
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

impl Config {
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
    fn cookies_are_secure_for_https_by_default() {
        let config = Config::parse_from(["gatehouse", "--public-url", "https://sso.example.com"]);
        assert!(config.secure_cookies());
        let config = Config::parse_from(["gatehouse"]);
        assert!(!config.secure_cookies());
    }
}
