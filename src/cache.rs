//! A small bounded in-process cache whose entries expire. Reads take a read lock only; the time-to-live
//! is decided at read time, so entries cached while invalidation worked expire quickly once it stops.

use std::{
    borrow::Borrow,
    collections::HashMap,
    hash::Hash,
    sync::{
        RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

pub struct TtlCache<K, V> {
    entries: RwLock<HashMap<K, (Instant, V)>>,
    capacity: usize,
    /// Bumped by every removal, so a value loaded before an invalidation is not stored after it.
    generation: AtomicU64,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(capacity: usize) -> Self {
        TtlCache {
            entries: RwLock::new(HashMap::new()),
            capacity: capacity.max(1),
            generation: AtomicU64::new(0),
        }
    }

    /// Take this before loading a value from its source; pass it to [`TtlCache::insert_loaded`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Stores a value loaded from its source, unless an invalidation happened since `generation` was
    /// taken (the value may then be stale; the next read loads it again).
    pub fn insert_loaded(&self, generation: u64, key: K, value: V) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if self.generation.load(Ordering::Acquire) == generation {
            self.insert_locked(&mut entries, key, value);
        }
    }

    /// The value for `key` if it was stored less than `ttl` ago.
    pub fn get<Q>(&self, key: &Q, ttl: Duration) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entries = self.entries.read().ok()?;
        entries
            .get(key)
            .filter(|(stored, _)| stored.elapsed() < ttl)
            .map(|(_, value)| value.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        if let Ok(mut entries) = self.entries.write() {
            self.insert_locked(&mut entries, key, value);
        }
    }

    fn insert_locked(&self, entries: &mut HashMap<K, (Instant, V)>, key: K, value: V) {
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            // Full: drop about a tenth of the entries (a HashMap iterates in no useful order, which is
            // as good as random here) rather than scanning for the oldest on every insert.
            let victims: Vec<K> = entries
                .keys()
                .take(self.capacity.div_ceil(10))
                .cloned()
                .collect();
            for victim in victims {
                entries.remove(&victim);
            }
        }
        entries.insert(key, (Instant::now(), value));
    }

    pub fn remove<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Ok(mut entries) = self.entries.write() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            entries.remove(key);
        }
    }

    /// Removes and returns the value for `key` if it was stored less than `ttl` ago: of two callers,
    /// one gets it.
    pub fn take<Q>(&self, key: &Q, ttl: Duration) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut entries = self.entries.write().ok()?;
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries
            .remove(key)
            .filter(|(stored, _)| stored.elapsed() < ttl)
            .map(|(_, value)| value)
    }

    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            entries.clear();
        }
    }

    pub fn len(&self) -> usize {
        self.entries.read().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_by_the_ttl_given_at_read_time() {
        let cache = TtlCache::new(10);
        cache.insert("a", 1);
        assert_eq!(cache.get("a", Duration::from_secs(60)), Some(1));
        assert_eq!(cache.get("a", Duration::ZERO), None);
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = TtlCache::new(20);
        for i in 0..1000 {
            cache.insert(i, i);
        }
        assert!(cache.len() <= 20);
        assert_eq!(cache.get(&999, Duration::from_secs(60)), Some(999));
    }

    #[test]
    fn a_value_loaded_before_an_invalidation_is_not_stored() {
        let cache = TtlCache::new(10);
        let generation = cache.generation();
        cache.remove("a");
        cache.insert_loaded(generation, "a", 1);
        assert_eq!(cache.get("a", Duration::from_secs(60)), None);
        let generation = cache.generation();
        cache.insert_loaded(generation, "a", 2);
        assert_eq!(cache.get("a", Duration::from_secs(60)), Some(2));
    }

    #[test]
    fn remove_and_clear_forget_entries() {
        let cache = TtlCache::new(10);
        cache.insert("a", 1);
        cache.insert("b", 2);
        cache.remove("a");
        assert_eq!(cache.get("a", Duration::from_secs(60)), None);
        cache.clear();
        assert!(cache.is_empty());
    }
}
