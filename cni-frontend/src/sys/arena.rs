//! A bump allocator over a fixed arena: the whole heap of one short plugin run.
//!
//! A run allocates a few KiB (environment strings, the stdin buffer, the result) and exits.
//! musl's allocator spends five syscalls (brk twice, an mmap for its metadata and one per size
//! class, munmaps) and their page faults on that: ~25 µs of a 320 µs ADD, measured. The arena
//! lives in `.bss`, so a page costs only its first touch. Freed memory is reused only when it
//! was the latest block (a growing `Vec`); the rest waits for exit. Past the arena's end, the
//! system allocator takes over, so a 4 MiB config still fits.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A bump allocator over `N` bytes of its own; use as a `static` `#[global_allocator]`.
///
/// `repr(C)` keeps `used` before `space`, on the page the first blocks take. Left to rustc, it
/// went after the 256 KiB, onto a page of its own: one more page fault per run, two when the
/// first touch of that zero page was the read of `used`.
#[repr(C)]
pub struct Arena<const N: usize> {
    /// Bytes handed out from the start of `space`.
    used: AtomicUsize,
    space: UnsafeCell<[u8; N]>,
}

// SAFETY: `space` is only reached through blocks that `used` hands out: each byte belongs to at
// most one live block, and a thread moves `used` with compare-exchange, so no two threads ever
// get overlapping blocks.
unsafe impl<const N: usize> Sync for Arena<N> {}

impl<const N: usize> Arena<N> {
    /// An empty arena. All zeros, so a `static` one lands in `.bss` and costs no file bytes.
    pub const fn new() -> Self {
        Arena { used: AtomicUsize::new(0), space: UnsafeCell::new([0; N]) }
    }

    fn base(&self) -> usize {
        self.space.get() as usize
    }

    /// Reserves `layout` in the arena: the block's offset, or `None` when it does not fit.
    fn reserve(&self, layout: Layout) -> Option<usize> {
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            // Align the address, not the offset: `space` itself is only byte-aligned.
            let start = (self.base() + used).checked_next_multiple_of(layout.align())? - self.base();
            let end = start.checked_add(layout.size()).filter(|&end| end <= N)?;
            match self.used.compare_exchange_weak(used, end, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Some(start),
                Err(now) => used = now,
            }
        }
    }

    /// The offset of `ptr` in the arena, if it points into it.
    fn offset_of(&self, ptr: *mut u8) -> Option<usize> {
        (ptr as usize).checked_sub(self.base()).filter(|&offset| offset < N)
    }

    /// Moves the end of the latest block from `old_end` to `new_end`; fails if a later block
    /// exists or `new_end` is past the arena.
    fn move_end(&self, old_end: usize, new_end: usize) -> bool {
        new_end <= N && self.used.compare_exchange(old_end, new_end, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    }
}

impl<const N: usize> Default for Arena<N> {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: blocks come from `reserve` (disjoint, in bounds, aligned to the layout) or from
// `System`; each call below routes a pointer back to whichever of the two made it.
unsafe impl<const N: usize> GlobalAlloc for Arena<N> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.reserve(layout) {
            Some(offset) => self.space.get().cast::<u8>().wrapping_add(offset),
            // SAFETY: the caller's `layout` contract is passed on unchanged.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match self.offset_of(ptr) {
            // Give the space back only if this was the latest block; otherwise it waits for exit.
            Some(offset) => {
                self.move_end(offset + layout.size(), offset);
            }
            // SAFETY: not ours, so `System` allocated it, with this `layout` (caller's contract).
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if let Some(offset) = self.offset_of(ptr) {
            // The latest block grows or shrinks in place.
            if self.move_end(offset + layout.size(), offset + new_size) {
                return ptr;
            }
        }
        // SAFETY: the caller guarantees `layout.align()` with `new_size` is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as in `alloc`; `new_size` is non-zero by the caller's contract.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are live and distinct, and each is at least the smaller size.
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
            // SAFETY: `ptr` was allocated by `self` with `layout`, and is not used again.
            unsafe { self.dealloc(ptr, layout) };
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn hands_out_disjoint_aligned_blocks_then_falls_back() {
        let arena = Box::new(Arena::<256>::new());
        // SAFETY: non-zero sizes; every block is freed with the layout it was made with.
        unsafe {
            let a = arena.alloc(layout(3, 1));
            let b = arena.alloc(layout(8, 8));
            assert!(arena.offset_of(a).is_some() && arena.offset_of(b).is_some());
            assert_eq!(b as usize % 8, 0);
            assert!(b as usize >= a as usize + 3);
            let big = arena.alloc(layout(1024, 8));
            assert!(arena.offset_of(big).is_none(), "too big for the arena: the system allocator's");
            big.write_bytes(0xAB, 1024);
            arena.dealloc(big, layout(1024, 8));
            arena.dealloc(b, layout(8, 8));
            assert_eq!(arena.alloc(layout(8, 8)), b, "the latest block's space is reused");
            arena.dealloc(a, layout(3, 1));
            let c = arena.alloc(layout(1, 1));
            assert!(c as usize >= b as usize + 8, "an earlier block's space waits for exit");
        }
    }

    #[test]
    fn the_latest_block_grows_in_place_and_others_move() {
        let arena = Box::new(Arena::<256>::new());
        // SAFETY: as above; realloc'd pointers replace the old ones.
        unsafe {
            let a = arena.alloc(layout(16, 1));
            a.write_bytes(7, 16);
            let grown = arena.realloc(a, layout(16, 1), 64);
            assert_eq!(grown, a, "latest block grows in place");
            let b = arena.alloc(layout(8, 1));
            let moved = arena.realloc(grown, layout(64, 1), 128);
            assert_ne!(moved, grown, "a block with a later one behind it moves");
            assert_eq!(std::slice::from_raw_parts(moved, 16), [7; 16]);
            let spilled = arena.realloc(moved, layout(128, 1), 4096);
            assert!(arena.offset_of(spilled).is_none());
            assert_eq!(std::slice::from_raw_parts(spilled, 16), [7; 16]);
            arena.dealloc(spilled, layout(4096, 1));
            arena.dealloc(b, layout(8, 1));
        }
    }

    #[test]
    fn threads_never_share_a_block() {
        let arena = Box::new(Arena::<{ 64 << 10 }>::new());
        let arena = &*arena;
        let blocks: Vec<Vec<usize>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        // SAFETY: 16-byte blocks, never freed.
                        (0..512).map(|_| unsafe { arena.alloc(layout(16, 8)) } as usize).collect()
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let mut all: Vec<usize> = blocks.concat();
        all.sort_unstable();
        assert!(all.windows(2).all(|w| w[1] - w[0] >= 16), "blocks overlap");
    }
}
