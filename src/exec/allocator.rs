//! The process's allocator: glibc's, except that blocks of 16 MiB and more
//! are mapped on their own and asked to be backed by 2 MiB pages.
//!
//! Why: glibc maps every block above its mmap threshold (and, on the worker
//! threads' arenas, every block above 64 MiB whatever the threshold) fresh
//! from the kernel and unmaps it when freed. A large group-by or sort
//! allocates such blocks again and again (hash tables, group ids, gathered
//! columns), and each 4 KiB page of each is faulted in and cleared: 7 s of
//! the 16 s of CPU of h2o q10 were in the kernel. With transparent huge
//! pages (which this machine, like most distributions, grants to regions
//! that ask with `madvise`) a fault brings in 2 MiB at once: q10 9.0 ->
//! 7.6 s, s1 9.2 -> 7.2 s (`benches/results.md`). Small blocks, where
//! glibc reuses freed memory, are left to it.
//!
//! Peak RSS does not grow: only blocks of at least 16 MiB are affected, and
//! a huge page is faulted in only where the block is written.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks at least this large are mapped on their own with huge pages. At
/// or below glibc's mmap threshold as `store::tune_allocator` sets it for a
/// memory limit of 1 GB and more (limit / 64, at most 32 MiB), so that the
/// blocks glibc would map fresh each time get huge pages too: 100M-row q3
/// under 1 GB 42-47 s -> 36-38 s against a 32 MiB threshold.
const LARGE: usize = 16 << 20;

/// Alignment every fresh mapping has.
const PAGE: usize = 4096;

/// glibc's allocator with large blocks on huge pages (see the module docs).
pub struct LargeBlocksOnHugePages;

fn is_large(size: usize, align: usize) -> bool {
    cfg!(target_os = "linux") && size >= LARGE && align <= PAGE
}

fn mapped_len(size: usize) -> usize {
    size.div_ceil(PAGE) * PAGE
}

#[cfg(target_os = "linux")]
unsafe fn map(size: usize) -> *mut u8 {
    let len = mapped_len(size);
    // SAFETY: a fresh private anonymous mapping; nothing else refers to it.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        // Advice only: without huge pages the block still works.
        libc::madvise(p, len, libc::MADV_HUGEPAGE);
        p.cast()
    }
}

#[cfg(not(target_os = "linux"))]
unsafe fn map(_size: usize) -> *mut u8 {
    unreachable!("large blocks are mapped on Linux only")
}

#[cfg(target_os = "linux")]
unsafe fn unmap(ptr: *mut u8, size: usize) {
    // SAFETY: `ptr` came from `map` (or `remap`) with this size.
    unsafe {
        libc::munmap(ptr.cast(), mapped_len(size));
    }
}

#[cfg(target_os = "linux")]
unsafe fn remap(ptr: *mut u8, old: usize, new: usize) -> *mut u8 {
    // SAFETY: `ptr` came from `map` (or `remap`) with size `old`; the
    // kernel may move it, and the caller uses only the returned address.
    unsafe {
        let p = libc::mremap(ptr.cast(), mapped_len(old), mapped_len(new), libc::MREMAP_MAYMOVE);
        if p == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        libc::madvise(p, mapped_len(new), libc::MADV_HUGEPAGE);
        p.cast()
    }
}

#[cfg(not(target_os = "linux"))]
unsafe fn remap(_ptr: *mut u8, _old: usize, _new: usize) -> *mut u8 {
    unreachable!("large blocks are mapped on Linux only")
}

#[cfg(not(target_os = "linux"))]
unsafe fn unmap(_ptr: *mut u8, _size: usize) {}

// SAFETY: every block is either glibc's (small) or a mapping of its own
// (large); which one follows from its size and alignment alone, which the
// caller passes back unchanged, so each is freed by the side that made it.
unsafe impl GlobalAlloc for LargeBlocksOnHugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_large(layout.size(), layout.align()) {
            unsafe { map(layout.size()) }
        } else {
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_large(layout.size(), layout.align()) {
            // Fresh anonymous pages are zero.
            unsafe { map(layout.size()) }
        } else {
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_large(layout.size(), layout.align()) {
            unsafe { unmap(ptr, layout.size()) }
        } else {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (was, will) = (is_large(layout.size(), layout.align()), is_large(new_size, layout.align()));
        if !was && !will {
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        if was && will {
            // Moves the pages, not the bytes (as glibc does for its own
            // mappings): a growing vector's written pages stay in place.
            return unsafe { remap(ptr, layout.size(), new_size) };
        }
        // Between glibc and a mapping: copy, once per crossing.
        // SAFETY: `new_layout` is valid (the caller guarantees the size
        // does not overflow when rounded to the alignment).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are at least this long and distinct.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_their_bytes_across_sizes_on_both_sides_of_the_threshold() {
        let a = LargeBlocksOnHugePages;
        let small = Layout::from_size_align(1 << 20, 8).unwrap();
        unsafe {
            let p = a.alloc(small);
            for i in 0..(1 << 20) {
                *p.add(i) = (i % 251) as u8;
            }
            // Small -> large -> larger -> small again: the first MiB survives.
            let p = a.realloc(p, small, LARGE + 5);
            let large = Layout::from_size_align(LARGE + 5, 8).unwrap();
            let p = a.realloc(p, large, 2 * LARGE);
            let larger = Layout::from_size_align(2 * LARGE, 8).unwrap();
            *p.add(2 * LARGE - 1) = 7;
            let p = a.realloc(p, larger, 1 << 20);
            assert!((0..(1 << 20)).all(|i| *p.add(i) == (i % 251) as u8));
            a.dealloc(p, small);
            // Zeroed large blocks are zero.
            let z = a.alloc_zeroed(large);
            assert!((0..LARGE + 5).step_by(4093).all(|i| *z.add(i) == 0));
            a.dealloc(z, large);
        }
    }
}
