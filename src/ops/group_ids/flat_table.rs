//! An open-addressing table for keys compared by their bits (integers, and
//! short text held whole in its 16-byte view): each slot holds a key and its
//! group, probed linearly and kept at most half full, so a lookup is nearly
//! always one slot, one comparison and no branch on hash fragments. For a
//! hundred groups this is about twice as fast as a general SIMD-probed
//! table, whose fragment matches mispredict.

use super::Groups;
use polars::prelude::IdxSize;

/// Groups rows by `key(row)` (the rows not `valid` share one group), `hash`
/// spreading keys over the table's high bits.
pub(super) fn group_by_bits<K: Copy + Eq + Default>(
    rows: usize,
    valid: Option<&[bool]>,
    key: impl Fn(usize) -> K,
    hash: impl Fn(K) -> u64,
) -> Option<Groups> {
    // Sized for as many groups as this thread's previous table held: the
    // chunks of one scan hold alike keys, and a table grown from 1,024
    // slots to 100k groups rehashes every entry about twice on the way.
    let mut table = FlatTable::for_groups(GROUPS_BEFORE.get());
    let mut first: Vec<IdxSize> = Vec::new();
    let mut null_group = None;
    let mut new_group = |row: usize| {
        let g = u32::try_from(first.len()).ok()?;
        first.push(row as IdxSize);
        Some(g)
    };
    let mut ids = Vec::with_capacity(rows);
    table.lookup_rows(0..rows, &key, &hash, |row, found| {
        let id = match found {
            _ if valid.is_some_and(|m| !m[row]) => match null_group {
                Some(g) => g,
                None => *null_group.insert(new_group(row)?),
            },
            Lookup::Found(g) => g,
            Lookup::Vacant(slot) => slot.insert(new_group(row)?, &hash),
        };
        ids.push(id);
        Some(())
    })?;
    GROUPS_BEFORE.set(first.len());
    Some(Groups { ids, first })
}

/// An open-addressing table from keys to group ids, kept as long as its
/// owner likes: one chunk's grouping ([`group_by_bits`]) or a thread's
/// groups across all its chunks ([`super::across_chunks`]).
pub(super) struct FlatTable<K> {
    slots: Vec<(K, u32)>,
    bits: u32,
    len: usize,
}

/// A free slot's group.
const EMPTY: u32 = u32::MAX;

/// What a key's lookup found.
pub(super) enum Lookup<'t, K> {
    /// The key's group.
    Found(u32),
    /// The key is not in the table: [`Vacant::insert`] adds it.
    Vacant(Vacant<'t, K>),
}

/// Where a missing key goes.
pub(super) struct Vacant<'t, K> {
    table: &'t mut FlatTable<K>,
    at: usize,
    key: K,
}

impl<K: Copy + Default> Vacant<'_, K> {
    /// Puts the key in with group `g` (growing the table when it gets full)
    /// and gives `g` back.
    pub(super) fn insert<H: Fn(K) -> u64>(self, g: u32, hash: &H) -> u32 {
        let t = self.table;
        t.slots[self.at] = (self.key, g);
        t.len += 1;
        if too_full(t.len, t.slots.len()) {
            t.bits += 1;
            t.slots = grown(&t.slots, t.bits, hash);
        }
        g
    }
}

impl<K: Copy + Eq + Default> FlatTable<K> {
    /// An empty table with room for about `groups` keys.
    pub(super) fn for_groups(groups: usize) -> Self {
        let mut bits = 10u32;
        while too_full(groups, 1 << bits) && bits < 26 {
            bits += 1;
        }
        FlatTable { slots: vec![(K::default(), EMPTY); 1 << bits], bits, len: 0 }
    }

    /// Bytes the table holds.
    pub(super) fn bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<(K, u32)>()
    }

    /// Looks up `key(row)` for every row of `rows` in order and hands each
    /// row and what its lookup found to `visit` (which inserts the missing
    /// ones); stops at the first `None` from `visit`.
    pub(super) fn lookup_rows<H: Fn(K) -> u64>(
        &mut self,
        rows: impl Iterator<Item = usize>,
        key: &impl Fn(usize) -> K,
        hash: &H,
        mut visit: impl FnMut(usize, Lookup<'_, K>) -> Option<()>,
    ) -> Option<()> {
        let mut rows = rows.peekable();
        let mut block = [(0usize, 0u64); AHEAD];
        while rows.peek().is_some() {
            // Hash a few rows ahead and ask for their slots before probing: a
            // table larger than the core's cache (100k groups) misses on most
            // probes, and the misses of a block then overlap.
            let mut n = 0;
            for (slot, row) in block.iter_mut().zip(rows.by_ref()) {
                let h = hash(key(row));
                if self.slots.len() > 1 << 14 {
                    prefetch(&self.slots, (h >> (64 - self.bits)) as usize);
                }
                *slot = (row, h);
                n += 1;
            }
            for &(row, h) in &block[..n] {
                let found = self.find(key(row), h);
                visit(row, found)?;
            }
        }
        Some(())
    }

    /// Every key and its group.
    pub(super) fn entries(&self) -> impl Iterator<Item = (K, u32)> + '_ {
        self.slots.iter().copied().filter(|e| e.1 != EMPTY)
    }

    /// The group of `k`, or `new()`'s, put in (one key: no look-ahead).
    pub(super) fn get_or_insert<H: Fn(K) -> u64>(
        &mut self,
        k: K,
        hash: &H,
        new: impl FnOnce() -> Option<u32>,
    ) -> Option<u32> {
        match self.find(k, hash(k)) {
            Lookup::Found(g) => Some(g),
            Lookup::Vacant(slot) => Some(slot.insert(new()?, hash)),
        }
    }

    /// The group of `k` (whose hash is `h`), or where it goes.
    #[inline]
    fn find(&mut self, k: K, h: u64) -> Lookup<'_, K> {
        let mask = self.slots.len() - 1;
        let mut at = (h >> (64 - self.bits)) as usize;
        loop {
            let (sk, sg) = self.slots[at];
            if sg == EMPTY {
                return Lookup::Vacant(Vacant { table: self, at, key: k });
            }
            if sk == k {
                return Lookup::Found(sg);
            }
            at = (at + 1) & mask;
        }
    }
}

thread_local! {
    /// Groups in the last table this thread built (a size hint only).
    static GROUPS_BEFORE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Rows hashed (and their slots prefetched) ahead of probing.
pub(super) const AHEAD: usize = 16;

/// Asks the CPU to bring `slots[at]` into the cache (a hint; no effect on
/// results).
#[inline]
pub(super) fn prefetch<T>(slots: &[T], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(slot) = slots.get(at) {
        // SAFETY: a prefetch of a valid reference's address; it reads nothing
        // the program sees and cannot fault.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>((slot as *const T).cast()) };
    }
}

/// Whether a table of `slots` holding `groups` must grow: past a quarter
/// full while it fits in a core's cache (so a lookup rarely probes a second
/// slot and mispredicts), past half full beyond.
fn too_full(groups: usize, slots: usize) -> bool {
    let load = if slots <= 1 << 16 { 4 } else { 2 };
    groups * load > slots
}

/// The same entries in a table of `1 << bits` slots.
fn grown<K: Copy + Default>(old: &[(K, u32)], bits: u32, hash: &impl Fn(K) -> u64) -> Vec<(K, u32)> {
    let mut slots = vec![(K::default(), EMPTY); 1 << bits];
    let mask = slots.len() - 1;
    for &(k, g) in old.iter().filter(|e| e.1 != EMPTY) {
        let mut at = (hash(k) >> (64 - bits)) as usize;
        while slots[at].1 != EMPTY {
            at = (at + 1) & mask;
        }
        slots[at] = (k, g);
    }
    slots
}
