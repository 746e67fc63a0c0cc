//! A value computed from what the control plane serves, kept until that
//! changes. The key is the generations (local catalog, peer data, extension
//! servers' APIServices):
//! every change bumps one of them, so the cache can never serve a value
//! built from older inputs.

use std::sync::{Arc, RwLock};

/// The generations a cached value was built from.
pub(crate) type Generations = (u64, u64, u64);

type Slot<T> = Option<(Generations, Arc<T>)>;

/// One cached value.
#[derive(Debug)]
pub(crate) struct GenerationCache<T> {
    slot: RwLock<Slot<T>>,
}

impl<T> Default for GenerationCache<T> {
    fn default() -> Self {
        Self {
            slot: RwLock::new(None),
        }
    }
}

impl<T> GenerationCache<T> {
    /// The value for `key`: cached (`hit` is true) or built now.
    pub(crate) fn get(&self, key: Generations, build: impl FnOnce() -> T) -> (Arc<T>, bool) {
        if let Ok(slot) = self.slot.read()
            && let Some((k, value)) = slot.as_ref()
            && *k == key
        {
            return (Arc::clone(value), true);
        }
        let value = Arc::new(build());
        if let Ok(mut slot) = self.slot.write() {
            *slot = Some((key, Arc::clone(&value)));
        }
        (value, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilds_only_when_a_generation_changes() {
        let cache = GenerationCache::default();
        let (v, hit) = cache.get((0, 0, 0), || 1);
        assert_eq!((*v, hit), (1, false));
        let (v, hit) = cache.get((0, 0, 0), || 2);
        assert_eq!((*v, hit), (1, true));
        let (v, hit) = cache.get((0, 1, 0), || 3);
        assert_eq!((*v, hit), (3, false));
    }
}
