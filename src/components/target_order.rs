//! A load balancer's routable targets, in the order they became routable, with each one's load
//! (requests outstanding): the list a node takes turns over, or picks the least loaded from.
//!
//! A plain list made every registration search it and every least-outstanding pick scan it:
//! O(targets) per request, quadratic when a group of 100 000 instances registers. Here the
//! list is a segment tree over slots given out in order (a removed target leaves an empty slot;
//! the slots are compacted when they run out), which answers in O(log n) what the list did:
//! the target at a position, and the first position from a starting point, wrapping around,
//! whose load is at most a bound.

/// No target in a slot; no slot for a target.
const NONE: u32 = u32::MAX;

/// Routable targets in order, with their loads.
#[derive(Clone, Debug, Default)]
pub struct TargetOrder {
    /// Target in each slot (`NONE` if empty), in the order they were added.
    slots: Vec<u32>,
    /// Slot of each target, by target index (`NONE` when not in the list).
    slot_of: Vec<u32>,
    /// Segment tree over the slots, 1-based (node `i` has children `2i` and `2i + 1`, leaves
    /// from `slots.len()`): targets present below each node.
    count: Vec<u32>,
    /// The same: the least load below each node (`NONE` if no target).
    min: Vec<u32>,
    /// Slots used (the next target goes to this one).
    used: usize,
}

impl TargetOrder {
    /// Targets in the list.
    pub fn len(&self) -> usize {
        self.count.get(1).map_or(0, |&c| c as usize)
    }

    /// True when no target is in the list.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when `target` is in the list.
    pub fn contains(&self, target: u32) -> bool {
        self.slot_of
            .get(target as usize)
            .is_some_and(|&s| s != NONE)
    }

    /// The least load of the targets in the list (`u32::MAX` when empty).
    pub fn min_load(&self) -> u32 {
        self.min.get(1).copied().unwrap_or(NONE)
    }

    /// Adds `target` (not in the list) at the end, with `load`.
    pub fn push(&mut self, target: u32, load: u32) {
        debug_assert!(!self.contains(target));
        if self.used == self.slots.len() {
            self.rebuild();
        }
        let slot = self.used;
        self.used += 1;
        if self.slot_of.len() <= target as usize {
            self.slot_of.resize(target as usize + 1, NONE);
        }
        self.slot_of[target as usize] = slot as u32;
        self.slots[slot] = target;
        self.set_leaf(slot, 1, load);
    }

    /// Takes `target` out of the list, if it is there; the targets after it move up one place.
    pub fn remove(&mut self, target: u32) {
        if !self.contains(target) {
            return;
        }
        let slot = self.slot_of[target as usize] as usize;
        self.slot_of[target as usize] = NONE;
        self.slots[slot] = NONE;
        self.set_leaf(slot, 0, NONE);
    }

    /// Sets the load of `target`, if it is in the list.
    pub fn set_load(&mut self, target: u32, load: u32) {
        if !self.contains(target) {
            return;
        }
        // Only the least loads above it can change, and only up to where one does not.
        let mut node = self.slot_of[target as usize] as usize + self.slots.len();
        self.min[node] = load;
        while node > 1 {
            node /= 2;
            let least = self.min[2 * node].min(self.min[2 * node + 1]);
            if self.min[node] == least {
                break;
            }
            self.min[node] = least;
        }
    }

    /// The target at `position` (< [`TargetOrder::len`]).
    pub fn at(&self, position: usize) -> u32 {
        self.slots[self.slot_at(position)]
    }

    /// The first position at or after `start` (modulo the length) whose target's load is at
    /// most `bound`, else the first such position before it (a turn that wraps around), with
    /// its target; `None` if no target's load is at most `bound`.
    pub fn first_at_most(&self, start: usize, bound: u32) -> Option<(usize, u32)> {
        if self.is_empty() || self.min_load() > bound {
            return None;
        }
        let start = start % self.len();
        let from = self.slot_at(start);
        // (With `bound` = `u32::MAX` the target at `start` qualifies: empty slots, whose load
        // reads as `u32::MAX`, are never searched.)
        if self.min[from + self.slots.len()] <= bound {
            return Some((start, self.slots[from]));
        }
        let slot = self
            .first_slot_from(from, bound)
            .or_else(|| self.first_slot_from(0, bound))?;
        Some((self.rank(slot), self.slots[slot]))
    }

    /// The slot of the target at `position`.
    fn slot_at(&self, mut position: usize) -> usize {
        debug_assert!(position < self.len());
        let mut node = 1;
        while node < self.slots.len() {
            let left = self.count[2 * node] as usize;
            if position < left {
                node *= 2;
            } else {
                position -= left;
                node = 2 * node + 1;
            }
        }
        node - self.slots.len()
    }

    /// Targets in the slots before `slot`: its position.
    fn rank(&self, slot: usize) -> usize {
        let mut node = slot + self.slots.len();
        let mut before = 0;
        while node > 1 {
            if node % 2 == 1 {
                before += self.count[node - 1] as usize;
            }
            node /= 2;
        }
        before
    }

    /// The first slot at or after `from` whose load is at most `bound` (< `u32::MAX`: an empty
    /// slot's load reads as `u32::MAX`).
    fn first_slot_from(&self, from: usize, bound: u32) -> Option<usize> {
        let size = self.slots.len();
        if from >= size {
            return None;
        }
        let mut node = from + size;
        if self.min[node] <= bound {
            return Some(from);
        }
        // Up until a right sibling holds a match (none past the root's subtree)...
        loop {
            if node.is_multiple_of(2) && self.min[node + 1] <= bound {
                node += 1;
                break;
            }
            node /= 2;
            if node <= 1 {
                return None;
            }
        }
        // ...then down to its first matching leaf.
        while node < size {
            node *= 2;
            if self.min[node] > bound {
                node += 1;
            }
        }
        Some(node - size)
    }

    fn set_leaf(&mut self, slot: usize, count: u32, load: u32) {
        let mut node = slot + self.slots.len();
        self.count[node] = count;
        self.min[node] = load;
        while node > 1 {
            node /= 2;
            self.count[node] = self.count[2 * node] + self.count[2 * node + 1];
            self.min[node] = self.min[2 * node].min(self.min[2 * node + 1]);
        }
    }

    /// Packs the targets into the first slots, in order, with room for as many again.
    fn rebuild(&mut self) {
        let loads: Vec<(u32, u32)> = (0..self.used)
            .filter(|&s| self.slots[s] != NONE)
            .map(|s| (self.slots[s], self.min[s + self.slots.len()]))
            .collect();
        let size = (2 * loads.len()).max(8).next_power_of_two();
        self.slots = vec![NONE; size];
        self.count = vec![0; 2 * size];
        self.min = vec![NONE; 2 * size];
        for (slot, &(target, load)) in loads.iter().enumerate() {
            self.slots[slot] = target;
            self.slot_of[target as usize] = slot as u32;
            self.count[size + slot] = 1;
            self.min[size + slot] = load;
        }
        for node in (1..size).rev() {
            self.count[node] = self.count[2 * node] + self.count[2 * node + 1];
            self.min[node] = self.min[2 * node].min(self.min[2 * node + 1]);
        }
        self.used = loads.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The plain list it replaces: targets in order, and a scan from `start`.
    fn first_at_most(list: &[(u32, u32)], start: usize, bound: u32) -> Option<usize> {
        let n = list.len();
        (0..n)
            .map(|k| (start + k) % n)
            .find(|&k| list[k].1 <= bound)
    }

    #[derive(Clone, Debug)]
    enum Op {
        Push(u32, u32),
        Remove(u32),
        Load(u32, u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u32..40, 0u32..6).prop_map(|(t, l)| Op::Push(t, l)),
            2 => (0u32..40).prop_map(Op::Remove),
            3 => (0u32..40, 0u32..6).prop_map(|(t, l)| Op::Load(t, l)),
        ]
    }

    proptest! {
        /// After any sequence of changes, positions, lengths, least loads and wrapping scans
        /// agree with a plain list.
        #[test]
        fn matches_a_plain_list(ops in prop::collection::vec(op(), 0..400), start in 0usize..50) {
            let mut order = TargetOrder::default();
            let mut list: Vec<(u32, u32)> = Vec::new();
            for op in ops {
                match op {
                    Op::Push(t, l) => {
                        if !list.iter().any(|e| e.0 == t) {
                            list.push((t, l));
                            order.push(t, l);
                        }
                    }
                    Op::Remove(t) => {
                        list.retain(|e| e.0 != t);
                        order.remove(t);
                    }
                    Op::Load(t, l) => {
                        if let Some(e) = list.iter_mut().find(|e| e.0 == t) {
                            e.1 = l;
                        }
                        order.set_load(t, l);
                    }
                }
                prop_assert_eq!(order.len(), list.len());
                for (k, e) in list.iter().enumerate() {
                    prop_assert_eq!(order.at(k), e.0);
                    prop_assert!(order.contains(e.0));
                }
                let min = list.iter().map(|e| e.1).min().unwrap_or(u32::MAX);
                prop_assert_eq!(order.min_load(), min);
                for bound in (0..7).chain([u32::MAX]) {
                    let expected = if list.is_empty() {
                        None
                    } else {
                        first_at_most(&list, start, bound).map(|k| (k, list[k].0))
                    };
                    prop_assert_eq!(order.first_at_most(start, bound), expected);
                }
            }
        }
    }
}
