//! A bounded map of values that are costly to read (keys parsed by OpenSSL or xmlsec), each read once and kept,
//! the least recently used one out first when it is full.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

struct Entry<V> {
    value: V,
    last_used: u64,
}

pub(super) struct Kept<K, V> {
    entries: HashMap<K, Entry<V>>,
    capacity: usize,
    uses: u64,
}

impl<K: Hash + Eq + Clone, V: Clone> Kept<K, V> {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            capacity,
            uses: 0,
        }
    }

    /// The value kept for `key`, or the one `read` gives, kept from now on. Nothing is kept when `read` fails, so
    /// what does not read costs a read on each use.
    pub(super) fn get_or_read<Q, E>(&mut self, key: &Q, read: impl FnOnce() -> Result<V, E>) -> Result<V, E>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.uses += 1;
        if let Some(kept) = self.entries.get_mut(key) {
            kept.last_used = self.uses;
            return Ok(kept.value.clone());
        }
        let value = read()?;
        if self.entries.len() >= self.capacity {
            // A linear scan: it runs only when a new value arrives in a full map, which a working instance,
            // reading a few keys per connection, almost never does.
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, kept)| kept.last_used)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                self.entries.remove::<K>(&oldest);
            }
        }
        self.entries.insert(
            key.to_owned(),
            Entry {
                value: value.clone(),
                last_used: self.uses,
            },
        );
        Ok(value)
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    pub(super) fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(value: u32) -> impl FnOnce() -> Result<u32, ()> {
        move || Ok(value)
    }

    #[test]
    fn a_value_is_read_once_and_a_failed_read_keeps_nothing() {
        let mut kept: Kept<String, u32> = Kept::new(4);
        assert_eq!(kept.get_or_read("a", read(1)), Ok(1));
        assert_eq!(
            kept.get_or_read("a", || -> Result<u32, ()> { panic!("read again") }),
            Ok(1)
        );
        assert_eq!(kept.get_or_read("b", || Err("unreadable")), Err("unreadable"));
        assert!(!kept.contains("b"));
        assert_eq!(kept.get_or_read("b", read(2)), Ok(2));
        assert_eq!(kept.len(), 2);
    }

    #[test]
    fn past_its_capacity_the_least_recently_used_value_goes() {
        let mut kept: Kept<String, u32> = Kept::new(2);
        kept.get_or_read("a", read(1)).unwrap();
        kept.get_or_read("b", read(2)).unwrap();
        kept.get_or_read("a", read(1)).unwrap();
        kept.get_or_read("c", read(3)).unwrap();
        assert_eq!(kept.len(), 2);
        assert!(kept.contains("a") && kept.contains("c") && !kept.contains("b"));
    }
}
