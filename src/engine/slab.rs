//! A slab: items addressed by a small integer key, with freed keys reused.
//!
//! Models keep the requests they hold in a slab and put the key in a timer or a call's `tag`;
//! the answer or the timer finds the item again in O(1) without a hash map, and memory follows
//! the number of items held at once, not the number ever held.

/// Items by `u32` key; removed keys are reused (most recently freed first).
#[derive(Clone, Debug)]
pub struct Slab<T> {
    items: Vec<T>,
    live: Vec<bool>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            items: Vec::new(),
            live: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    /// An empty slab with room for `n` items.
    pub fn with_capacity(n: usize) -> Self {
        Slab {
            items: Vec::with_capacity(n),
            live: Vec::with_capacity(n),
            free: Vec::new(),
        }
    }

    /// Stores `item` and returns its key.
    #[inline]
    pub fn insert(&mut self, item: T) -> u32 {
        match self.free.pop() {
            Some(key) => {
                self.items[key as usize] = item;
                self.live[key as usize] = true;
                key
            }
            None => {
                self.items.push(item);
                self.live.push(true);
                u32::try_from(self.items.len() - 1).expect("fewer than 2^32 items held at once")
            }
        }
    }

    /// Frees `key` for reuse. The item stays readable until the key is reused, so a caller may
    /// still copy it out; callers must not free a key twice.
    #[inline]
    pub fn remove(&mut self, key: u32) {
        debug_assert!(self.is_live(key), "slab key {key} freed twice");
        self.live[key as usize] = false;
        self.free.push(key);
    }

    /// Asks the processor to start loading item `key` into the cache, so that reading it a
    /// little later does not wait for memory. Only a hint: it changes no state and cannot
    /// fail (a key out of range is ignored).
    #[inline]
    pub fn prefetch(&self, key: u32) {
        #[cfg(target_arch = "x86_64")]
        if let Some(item) = self.items.get(key as usize) {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            // SAFETY: a prefetch never faults and reads nothing into the program; the pointer
            // is to a live element of `items` anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(item).cast::<i8>()) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = key;
    }

    /// True when `key` holds an item (inserted and not removed).
    #[inline]
    pub fn is_live(&self, key: u32) -> bool {
        self.live.get(key as usize).copied().unwrap_or(false)
    }

    /// The items held, in key order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items
            .iter()
            .zip(&self.live)
            .filter_map(|(item, &live)| live.then_some(item))
    }

    /// Items held (inserted and not removed).
    #[inline]
    pub fn len(&self) -> usize {
        self.items.len() - self.free.len()
    }

    /// True when no item is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> std::ops::Index<u32> for Slab<T> {
    type Output = T;
    #[inline]
    fn index(&self, key: u32) -> &T {
        &self.items[key as usize]
    }
}

impl<T> std::ops::IndexMut<u32> for Slab<T> {
    #[inline]
    fn index_mut(&mut self, key: u32) -> &mut T {
        &mut self.items[key as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_reused_after_removal() {
        let mut slab = Slab::default();
        let a = slab.insert("a");
        let b = slab.insert("b");
        assert_eq!((a, b), (0, 1));
        slab.remove(a);
        assert!(!slab.is_live(a) && slab.is_live(b));
        assert_eq!(slab.len(), 1);
        let c = slab.insert("c");
        assert_eq!(c, a);
        assert_eq!(slab[c], "c");
        assert_eq!(slab[b], "b");
        assert_eq!(slab.len(), 2);
        slab.remove(b);
        assert_eq!(slab.iter().collect::<Vec<_>>(), [&"c"]);
    }
}
