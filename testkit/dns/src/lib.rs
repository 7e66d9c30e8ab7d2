//! An authoritative DNS server on loopback whose records tests change while it runs.
//!
//! One zone at the root (`.`) makes the server authoritative for every name, so a test can serve records for
//! any domain: a name with no records answers NXDOMAIN, a name with other records answers "no TXT record",
//! and an in-zone CNAME is followed the way real authoritative servers do.

use hickory_proto::rr::rdata::{A, CNAME, SOA, TXT};
use hickory_proto::rr::{LowerName, Name, RData, Record};
use hickory_server::Server;
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket};

type Zone = InMemoryZoneHandler<TokioRuntimeProvider>;

/// Zero, so a resolver that caches still sees every change at once.
const TTL: u32 = 0;
const SERIAL: u32 = 1;

/// The records served for one name, as the records file describes them.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NameRecords {
    /// Each TXT record is a list of character-strings (one, or several for a split value).
    #[serde(default)]
    pub txt: Vec<Vec<String>>,
    #[serde(default)]
    pub cname: Option<String>,
    /// IPv4 addresses, for a name that exists without holding TXT records.
    #[serde(default)]
    pub a: Vec<Ipv4Addr>,
}

/// Every name the server answers for, keyed by domain name.
pub type Records = BTreeMap<String, NameRecords>;

/// A running server; it stops when dropped.
pub struct TestDns {
    addr: SocketAddr,
    zone: Arc<Zone>,
    server: Server<Catalog>,
}

impl TestDns {
    /// Starts serving on a free port of 127.0.0.1, over UDP and TCP on the same port.
    pub async fn start() -> io::Result<Self> {
        Self::start_on("127.0.0.1:0".parse().expect("loopback address")).await
    }

    pub async fn start_on(addr: SocketAddr) -> io::Result<Self> {
        let (udp, tcp) = bind_pair(addr).await?;
        let addr = udp.local_addr()?;
        let zone = Arc::new(root_zone());
        let mut catalog = Catalog::new();
        catalog.upsert(
            LowerName::from(Name::root()),
            vec![zone.clone() as Arc<dyn ZoneHandler>],
        );
        let mut server = Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5), 4096);
        Ok(Self { addr, zone, server })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the TXT records of `name`; each inner slice is one record's character-strings.
    pub async fn set_txt(&self, name: &str, records: &[&[&str]]) {
        let txt = records
            .iter()
            .map(|strings| strings.iter().map(|s| s.to_string()).collect())
            .collect();
        self.set(
            name,
            NameRecords {
                txt,
                ..NameRecords::default()
            },
        )
        .await;
    }

    /// Makes `name` an alias of `target`.
    pub async fn set_cname(&self, name: &str, target: &str) {
        self.set(
            name,
            NameRecords {
                cname: Some(target.into()),
                ..NameRecords::default()
            },
        )
        .await;
    }

    /// Removes every record of `name`, so it no longer exists.
    pub async fn remove(&self, name: &str) {
        let lower = LowerName::from(fqdn(name));
        self.zone.records_mut().await.retain(|key, _| key.name != lower);
    }

    /// Replaces the records of one name.
    pub async fn set(&self, name: &str, records: NameRecords) {
        self.remove(name).await;
        for record in build_records(name, &records) {
            self.zone.upsert(record, SERIAL).await;
        }
    }

    /// Replaces everything served, except the zone's own SOA record.
    pub async fn replace_all(&self, records: &Records) {
        let root = LowerName::from(Name::root());
        self.zone.records_mut().await.retain(|key, _| key.name == root);
        for (name, name_records) in records {
            for record in build_records(name, name_records) {
                self.zone.upsert(record, SERIAL).await;
            }
        }
    }

    /// Stops answering and releases the port.
    pub async fn stop(mut self) {
        let _ = self.server.shutdown_gracefully().await;
    }
}

/// A UDP and a TCP socket that accept queries and never answer: a DNS server that is down or filtered.
pub struct SilentDns {
    addr: SocketAddr,
    _udp: UdpSocket,
    _tcp: TcpListener,
}

impl SilentDns {
    pub async fn start() -> io::Result<Self> {
        let (udp, tcp) = bind_pair("127.0.0.1:0".parse().expect("loopback address")).await?;
        Ok(Self {
            addr: udp.local_addr()?,
            _udp: udp,
            _tcp: tcp,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Binds UDP first (port 0 picks a free one), then TCP on the same port; retries when TCP's is taken.
async fn bind_pair(addr: SocketAddr) -> io::Result<(UdpSocket, TcpListener)> {
    let mut last_error = None;
    for _ in 0..20 {
        let udp = UdpSocket::bind(addr).await?;
        match TcpListener::bind(udp.local_addr()?).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if addr.port() == 0 => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no free port")))
}

fn root_zone() -> Zone {
    let root = Name::root();
    let soa = SOA::new(fqdn("ns.test"), fqdn("hostmaster.test"), SERIAL, 3600, 600, 86400, TTL);
    let mut zone = Zone::empty(root.clone(), ZoneType::Primary, AxfrPolicy::Deny);
    zone.upsert_mut(Record::from_rdata(root, TTL, RData::SOA(soa)), SERIAL);
    zone
}

fn build_records(name: &str, records: &NameRecords) -> Vec<Record> {
    let owner = fqdn(name);
    let mut built: Vec<Record> = records
        .txt
        .iter()
        .map(|strings| Record::from_rdata(owner.clone(), TTL, RData::TXT(TXT::new(strings.clone()))))
        .collect();
    built.extend(
        records
            .a
            .iter()
            .map(|ip| Record::from_rdata(owner.clone(), TTL, RData::A(A(*ip)))),
    );
    if let Some(target) = &records.cname {
        built.push(Record::from_rdata(owner, TTL, RData::CNAME(CNAME(fqdn(target)))));
    }
    built
}

fn fqdn(name: &str) -> Name {
    let mut name = Name::from_ascii(name).unwrap_or_else(|e| panic!("{name} is not a DNS name: {e}"));
    name.set_fqdn(true);
    name
}
