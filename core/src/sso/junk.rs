//! What a stranger's junk may cost: how long SSO events are kept, how many an account keeps, how many unverified
//! refusals a connection and a client address may cause a minute at the ACS before further posts are refused
//! unchecked, with one summarising event in place of the posts not recorded one by one, and how many sign-ins a
//! client address may start a minute (each stores a pending request and signs an AuthnRequest).

use crate::ids::ConnectionId;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// The operator's limits (server flags).
#[derive(Clone, Copy, Debug)]
pub struct JunkPolicy {
    /// How long each event keeps the raw response of a message whose signature verified; zero keeps none.
    pub raw_retention: Duration,
    /// How long SSO events are kept at all.
    pub event_retention: Duration,
    /// The most SSO events one account keeps; the oldest go first.
    pub events_per_account: u64,
    /// Unverified refusals a connection may see in [`WINDOW`] before further posts are refused unchecked.
    pub refusals_per_connection: u32,
    /// The same for one client address (an IPv6 client's /64 network).
    pub refusals_per_client: u32,
    /// Sign-ins one client address (an IPv6 client's /64 network) may start in [`WINDOW`].
    pub starts_per_client: u32,
}

impl Default for JunkPolicy {
    fn default() -> Self {
        Self {
            raw_retention: Duration::hours(24),
            event_retention: Duration::days(90),
            events_per_account: 10_000,
            refusals_per_connection: 120,
            refusals_per_client: 20,
            starts_per_client: 600,
        }
    }
}

/// The period refusals are counted over.
pub const WINDOW: Duration = Duration::minutes(1);
/// Client addresses tracked at once: past it, windows that have ended are dropped, and if none has, new
/// addresses share one count, so that a flood of addresses cannot grow memory.
const MAX_TRACKED_CLIENTS: usize = 10_000;
/// The same for sign-ins started, which every user does: room for a large deployment's minute of distinct
/// addresses, about 5 MB at most.
const MAX_TRACKED_STARTING_CLIENTS: usize = 100_000;

/// What to do with a post to the ACS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Check it as usual.
    Check,
    /// Refuse it unchecked and record nothing of it.
    Refuse,
    /// Refuse it unchecked, recording this once for the window that just filled up.
    RefuseAndSummarise(String),
}

/// Counts of one key in its current window.
#[derive(Clone, Copy, Debug)]
struct Window {
    started: DateTime<Utc>,
    refused: u32,
    unchecked: u32,
}

impl Window {
    fn new(now: DateTime<Utc>) -> Self {
        Self {
            started: now,
            refused: 0,
            unchecked: 0,
        }
    }

    fn is_over(&self, now: DateTime<Utc>) -> bool {
        now - self.started >= WINDOW
    }

    /// Starts a new window once this one is over, first telling `on_ended` how many posts `whose` it refused
    /// unchecked, if any.
    fn roll(&mut self, now: DateTime<Utc>, whose: &str, on_ended: &mut impl FnMut(String)) {
        if !self.is_over(now) {
            return;
        }
        if self.unchecked > 0 {
            on_ended(format!(
                "{} posts {whose} were refused without being checked or recorded one by one ({} to {})",
                self.unchecked,
                self.started.format("%H:%M:%S"),
                (self.started + WINDOW).format("%H:%M:%S UTC"),
            ));
        }
        *self = Window::new(now);
    }
}

/// Where a refusal comes from, as counted: an IPv4 address, an IPv6 /64 network (one host's usual share), or
/// no known address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Client {
    V4([u8; 4]),
    V6Network([u8; 8]),
    Unknown,
    /// Every address that arrived while the table was full.
    Overflow,
}

impl Client {
    fn of(address: Option<IpAddr>) -> Self {
        match address {
            Some(IpAddr::V4(v4)) => Client::V4(v4.octets()),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => Client::V4(v4.octets()),
                None => Client::V6Network(v6.octets()[..8].try_into().expect("eight bytes")),
            },
            None => Client::Unknown,
        }
    }

    fn describe(self, address: Option<IpAddr>) -> String {
        match (self, address) {
            (Client::V6Network(_), Some(a)) => format!("the network of {a} (/64)"),
            (Client::Overflow, _) => "many client addresses".to_owned(),
            (_, Some(a)) => a.to_string(),
            (_, None) => "an unknown client address".to_owned(),
        }
    }
}

#[derive(Default)]
struct Counts {
    connections: HashMap<ConnectionId, Window>,
    clients: HashMap<Client, Window>,
    /// When the client table was last swept of ended windows.
    swept: Option<DateTime<Utc>>,
}

/// The per-process count of unverified refusals (each server instance counts its own).
pub struct RefusalLimiter {
    policy: JunkPolicy,
    counts: Mutex<Counts>,
}

impl RefusalLimiter {
    pub fn new(policy: JunkPolicy) -> Self {
        Self {
            policy,
            counts: Mutex::new(Counts::default()),
        }
    }

    /// Whether a post from `address` to `connection` is checked. Returns what to record when the post is the
    /// first one refused unchecked in its window; a window that ended with posts refused unchecked is summarised
    /// through `on_ended` with their number. Only [`Self::refused`] adds keys, so posts alone grow nothing.
    pub fn admit(
        &self,
        connection: ConnectionId,
        address: Option<IpAddr>,
        now: DateTime<Utc>,
        mut on_ended: impl FnMut(String),
    ) -> Admission {
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Counts {
            connections, clients, ..
        } = &mut *counts;
        let client = Client::of(address);
        let by_client = format!("from {}", client.describe(address));
        let mut connection_window = connections.get_mut(&connection);
        if let Some(window) = connection_window.as_deref_mut() {
            window.roll(now, "to this connection", &mut on_ended);
        }
        let mut client_window = clients.get_mut(&client);
        if let Some(window) = client_window.as_deref_mut() {
            window.roll(now, &by_client, &mut on_ended);
        }
        let over = |window: &Option<&mut Window>, limit: u32| window.as_ref().is_some_and(|w| w.refused >= limit);
        let (window, limit, whose) = if over(&client_window, self.policy.refusals_per_client) {
            (client_window, self.policy.refusals_per_client, by_client)
        } else if over(&connection_window, self.policy.refusals_per_connection) {
            (
                connection_window,
                self.policy.refusals_per_connection,
                "to this connection".to_owned(),
            )
        } else {
            return Admission::Check;
        };
        let window = window.expect("over its limit, so counted");
        window.unchecked += 1;
        if window.unchecked > 1 {
            return Admission::Refuse;
        }
        Admission::RefuseAndSummarise(format!(
            "more than {limit} posts {whose} were refused within a minute without a verified signature: further posts are refused without being checked or recorded until {}",
            (window.started + WINDOW).format("%H:%M:%S UTC"),
        ))
    }

    /// Counts a post that was checked and refused before any signature of it verified. A post to an ID that is no
    /// connection (`None`) counts against its client only: a key for each made-up ID would let a stranger's posts
    /// grow the table.
    pub fn refused(&self, connection: Option<ConnectionId>, address: Option<IpAddr>, now: DateTime<Utc>) {
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let client = counts.client_key(Client::of(address), now);
        let Counts {
            connections, clients, ..
        } = &mut *counts;
        let connection_window = connection.map(|c| connections.entry(c).or_insert_with(|| Window::new(now)));
        let client_window = clients.entry(client).or_insert_with(|| Window::new(now));
        for window in connection_window.into_iter().chain([client_window]) {
            if window.is_over(now) && window.unchecked == 0 {
                *window = Window::new(now);
            }
            window.refused += 1;
        }
    }
}

impl Counts {
    fn client_key(&mut self, client: Client, now: DateTime<Utc>) -> Client {
        let table = (&mut self.clients, &mut self.swept);
        tracked_key(table, MAX_TRACKED_CLIENTS, client, now, |window| window.is_over(now))
    }
}

/// `client`, or the shared overflow key when the table holds `most` clients whose windows have not `ended`. A
/// full table is swept of ended windows at most once a second, so that a flood of new addresses costs no scan of
/// it per request.
fn tracked_key<W>(
    (table, swept): (&mut HashMap<Client, W>, &mut Option<DateTime<Utc>>),
    most: usize,
    client: Client,
    now: DateTime<Utc>,
    ended: impl Fn(&W) -> bool,
) -> Client {
    if table.contains_key(&client) || table.len() < most {
        return client;
    }
    if swept.is_none_or(|at| now - at >= Duration::seconds(1)) {
        *swept = Some(now);
        table.retain(|_, window| !ended(window));
    }
    if table.len() < most { client } else { Client::Overflow }
}

/// The per-process count of sign-ins started by each client address in its current window (each server instance
/// counts its own): past the policy's allowance a client starts none until its window ends.
pub struct StartLimiter {
    per_client: u32,
    starts: Mutex<Starts>,
}

#[derive(Default)]
struct Starts {
    /// When each client's window started, and how many sign-ins it started in it.
    windows: HashMap<Client, (DateTime<Utc>, u32)>,
    /// When the table was last swept of ended windows.
    swept: Option<DateTime<Utc>>,
}

impl StartLimiter {
    pub fn new(policy: JunkPolicy) -> Self {
        Self {
            per_client: policy.starts_per_client,
            starts: Mutex::default(),
        }
    }

    /// Counts a sign-in `address` starts; `false` when it is past its allowance and must not start it.
    pub fn admit(&self, address: Option<IpAddr>, now: DateTime<Utc>) -> bool {
        let mut starts = self.starts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Starts { windows, swept } = &mut *starts;
        let ended = |(started, _): &(DateTime<Utc>, u32)| now - *started >= WINDOW;
        let client = tracked_key(
            (windows, swept),
            MAX_TRACKED_STARTING_CLIENTS,
            Client::of(address),
            now,
            ended,
        );
        let window = windows.entry(client).or_insert((now, 0));
        if ended(window) {
            *window = (now, 0);
        }
        window.1 = window.1.saturating_add(1);
        window.1 <= self.per_client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> RefusalLimiter {
        RefusalLimiter::new(JunkPolicy {
            refusals_per_connection: 5,
            refusals_per_client: 3,
            ..JunkPolicy::default()
        })
    }

    fn t0() -> DateTime<Utc> {
        "2026-12-01T12:00:00Z".parse().unwrap()
    }

    fn admit(l: &RefusalLimiter, c: ConnectionId, ip: &str, now: DateTime<Utc>) -> (Admission, Vec<String>) {
        let mut ended = Vec::new();
        let admission = l.admit(c, Some(ip.parse().unwrap()), now, |s| ended.push(s));
        (admission, ended)
    }

    #[test]
    fn a_client_over_its_allowance_is_refused_unchecked_with_one_summary_then_a_count() {
        let l = limiter();
        let c = ConnectionId::new();
        for _ in 0..3 {
            assert_eq!(admit(&l, c, "192.0.2.7", t0()).0, Admission::Check);
            l.refused(Some(c), Some("192.0.2.7".parse().unwrap()), t0());
        }
        let (first, _) = admit(&l, c, "192.0.2.7", t0());
        assert!(matches!(first, Admission::RefuseAndSummarise(ref s) if s.contains("from 192.0.2.7")));
        for _ in 0..1000 {
            assert_eq!(admit(&l, c, "192.0.2.7", t0()).0, Admission::Refuse);
        }
        // Another client is still checked.
        assert_eq!(admit(&l, c, "192.0.2.8", t0()).0, Admission::Check);
        // The next window starts afresh and tells how many went unrecorded.
        let (next, ended) = admit(&l, c, "192.0.2.7", t0() + WINDOW);
        assert_eq!(next, Admission::Check);
        assert_eq!(ended.len(), 1);
        assert!(ended[0].starts_with("1001 posts from 192.0.2.7"), "{ended:?}");
    }

    #[test]
    fn a_connection_over_its_allowance_is_refused_for_every_client() {
        let l = limiter();
        let c = ConnectionId::new();
        for i in 0..5 {
            let ip = format!("198.51.100.{i}");
            assert_eq!(admit(&l, c, &ip, t0()).0, Admission::Check);
            l.refused(Some(c), Some(ip.parse().unwrap()), t0());
        }
        assert!(matches!(
            admit(&l, c, "203.0.113.1", t0()).0,
            Admission::RefuseAndSummarise(ref s) if s.contains("to this connection")
        ));
        assert_eq!(admit(&l, ConnectionId::new(), "203.0.113.1", t0()).0, Admission::Check);
    }

    #[test]
    fn an_ipv6_network_counts_as_one_client_and_the_table_stays_bounded() {
        let l = limiter();
        let c = ConnectionId::new();
        for i in 0..3 {
            let ip: IpAddr = format!("2001:db8::{i}").parse().unwrap();
            l.refused(Some(c), Some(ip), t0());
        }
        assert!(matches!(
            admit(&l, c, "2001:db8::ffff", t0()).0,
            Admission::RefuseAndSummarise(_)
        ));
        let l = limiter();
        for i in 0..(MAX_TRACKED_CLIENTS as u32 + 50) {
            l.refused(Some(ConnectionId::new()), Some(IpAddr::from(i.to_be_bytes())), t0());
        }
        assert!(l.counts.lock().unwrap().clients.len() <= MAX_TRACKED_CLIENTS + 1);
    }

    #[test]
    fn a_client_starts_its_allowance_a_minute_and_others_are_unaffected() {
        let l = StartLimiter::new(JunkPolicy {
            starts_per_client: 3,
            ..JunkPolicy::default()
        });
        let from = |ip: &str| Some(ip.parse().unwrap());
        assert!((0..3).all(|_| l.admit(from("192.0.2.7"), t0())));
        assert!(!l.admit(from("192.0.2.7"), t0() + Duration::seconds(59)));
        // One host's IPv6 addresses are one client; another client, and the next window, start afresh.
        assert!((0..3).all(|i| l.admit(from(&format!("2001:db8::{i}")), t0())));
        assert!(!l.admit(from("2001:db8::ffff"), t0()));
        assert!(l.admit(from("192.0.2.8"), t0()));
        assert!(l.admit(from("192.0.2.7"), t0() + WINDOW));
    }

    #[test]
    fn a_flood_of_starting_addresses_shares_one_allowance_past_the_table_and_memory_stays_bounded() {
        let l = StartLimiter::new(JunkPolicy {
            starts_per_client: 2,
            ..JunkPolicy::default()
        });
        for i in 0..(MAX_TRACKED_STARTING_CLIENTS as u32) {
            assert!(l.admit(Some(IpAddr::from(i.to_be_bytes())), t0()));
        }
        let newcomers = (0..10u32).map(|i| l.admit(Some(IpAddr::from((u32::MAX - i).to_be_bytes())), t0()));
        assert_eq!(newcomers.filter(|admitted| *admitted).count(), 2);
        assert_eq!(l.starts.lock().unwrap().windows.len(), MAX_TRACKED_STARTING_CLIENTS + 1);
        // Once their windows have ended, the table makes room again.
        assert!(l.admit(Some("198.51.100.1".parse().unwrap()), t0() + WINDOW));
        assert!(l.starts.lock().unwrap().windows.len() <= 2);
    }

    #[test]
    fn posts_to_ids_that_are_no_connection_use_up_the_clients_allowance_and_add_no_connection() {
        let l = limiter();
        for _ in 0..3 {
            assert_eq!(admit(&l, ConnectionId::new(), "192.0.2.7", t0()).0, Admission::Check);
            l.refused(None, Some("192.0.2.7".parse().unwrap()), t0());
        }
        assert!(l.counts.lock().unwrap().connections.is_empty());
        // Past it, the client is refused unchecked at any ID, a real connection's included.
        assert!(matches!(
            admit(&l, ConnectionId::new(), "192.0.2.7", t0()).0,
            Admission::RefuseAndSummarise(_)
        ));
        assert_eq!(admit(&l, ConnectionId::new(), "192.0.2.7", t0()).0, Admission::Refuse);
        assert_eq!(admit(&l, ConnectionId::new(), "192.0.2.8", t0()).0, Admission::Check);
    }
}
