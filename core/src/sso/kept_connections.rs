//! The connections that messages arrive for, kept in this server instance's memory under the revision they were
//! read at, so that a sign-in reads one number instead of the connection's rows, mappings, keys and policy.

use super::connection::Connection;
use crate::ids::{AccountId, ConnectionId};
use crate::store::PolicyRow;
use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

/// How many connections an instance keeps: each is a few kilobytes (certificates, sealed keys, mappings), and the
/// ones not used for longest go first.
const KEPT: NonZeroUsize = NonZeroUsize::new(4_096).unwrap();

/// A connection as SAML messages use it, with its account's policy, as stored at `revision`.
pub struct ConnectionInUse {
    pub revision: i64,
    pub account: AccountId,
    pub connection: Connection,
    pub policy: PolicyRow,
}

/// Connections by id. The store's revision of a connection moves with every change to it (database triggers), so
/// an entry kept at an older revision is never handed out: a change made through any instance reaches every
/// instance's next message.
pub struct KeptConnections(Mutex<LruCache<ConnectionId, Arc<ConnectionInUse>>>);

impl Default for KeptConnections {
    fn default() -> Self {
        Self(Mutex::new(LruCache::new(KEPT)))
    }
}

impl KeptConnections {
    /// The kept connection if it was read at `revision`, the stored one.
    pub fn at(&self, id: ConnectionId, revision: i64) -> Option<Arc<ConnectionInUse>> {
        let mut kept = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.get(&id).filter(|in_use| in_use.revision == revision).cloned()
    }

    /// The kept connection at whatever revision it was read: for a write made on the condition that the stored
    /// revision is still this one.
    pub fn latest(&self, id: ConnectionId) -> Option<Arc<ConnectionInUse>> {
        let mut kept = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.get(&id).cloned()
    }

    /// Keeps a connection just read. Its revision must have been read before its rows: a change that lands in
    /// between is then kept under the older number, and the next message reads it again.
    pub fn keep(&self, in_use: Arc<ConnectionInUse>) {
        let mut kept = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.put(in_use.connection.id, in_use);
    }
}
