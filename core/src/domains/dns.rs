//! TXT lookups through hickory-resolver: the only place Gatehouse talks DNS.

use super::name::DomainName;
use super::verification::LookupOutcome;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{Resolver, TokioResolver};
use std::net::SocketAddr;
use std::time::Duration;

/// Where TXT lookups go and how long they may take.
#[derive(Clone, Debug)]
pub struct DnsSettings {
    /// Nameservers to ask (UDP, with TCP for long answers); empty: the system's (`/etc/resolv.conf`).
    pub nameservers: Vec<SocketAddr>,
    /// How long to wait for one answer.
    pub timeout: Duration,
    /// How many times each query is tried.
    pub attempts: usize,
}

impl Default for DnsSettings {
    fn default() -> Self {
        Self {
            nameservers: Vec::new(),
            timeout: Duration::from_secs(5),
            attempts: 2,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot set up DNS lookups: {0}")]
pub struct DnsSetupError(String);

/// Looks up TXT records; cheap to clone (it shares one resolver).
#[derive(Clone)]
pub struct TxtResolver {
    resolver: TokioResolver,
}

impl TxtResolver {
    pub fn new(settings: &DnsSettings) -> Result<Self, DnsSetupError> {
        let mut builder = if settings.nameservers.is_empty() {
            Resolver::builder_tokio().map_err(|e| DnsSetupError(format!("the system DNS configuration: {e}")))?
        } else {
            let servers = settings
                .nameservers
                .iter()
                .map(|addr| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = addr.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = addr.port();
                    NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
                })
                .collect();
            Resolver::builder_with_config(
                ResolverConfig::from_parts(None, vec![], servers),
                TokioRuntimeProvider::default(),
            )
        };
        let options = builder.options_mut();
        options.timeout = settings.timeout;
        options.attempts = settings.attempts;
        // Every check must see the DNS as it is now: a record the owner just published, or one just removed.
        options.positive_max_ttl = Some(Duration::ZERO);
        options.negative_max_ttl = Some(Duration::ZERO);
        let resolver = builder.build().map_err(|e| DnsSetupError(e.to_string()))?;
        Ok(Self { resolver })
    }

    /// The TXT records at `domain`, following CNAMEs; a record split into several strings is joined.
    pub async fn lookup_txt(&self, domain: &DomainName) -> LookupOutcome {
        // The trailing dot makes the name absolute, so no search domain is ever appended.
        match self.resolver.txt_lookup(format!("{domain}.")).await {
            Ok(lookup) => LookupOutcome::Records(
                lookup
                    .answers()
                    .iter()
                    .filter_map(|record| match &record.data {
                        RData::TXT(txt) => Some(
                            txt.txt_data
                                .iter()
                                .map(|part| String::from_utf8_lossy(part))
                                .collect::<String>(),
                        ),
                        _ => None,
                    })
                    .collect(),
            ),
            Err(e) => outcome_of_error(&e),
        }
    }
}

fn outcome_of_error(error: &NetError) -> LookupOutcome {
    if error.is_nx_domain() {
        return LookupOutcome::NxDomain;
    }
    if error.is_no_records_found() {
        return LookupOutcome::NoRecords;
    }
    match error {
        NetError::Timeout => LookupOutcome::Timeout,
        NetError::Dns(DnsError::ResponseCode(code)) => {
            LookupOutcome::ServerFailure(format!("the DNS server answered {code}"))
        }
        NetError::NoConnections | NetError::Io(_) => {
            LookupOutcome::ServerFailure(format!("no DNS server could be reached ({error})"))
        }
        other => LookupOutcome::ServerFailure(other.to_string()),
    }
}
