//! The process's memory allocator: dlmalloc, which keeps the memory a command frees in
//! its own pools for the next allocation. musl's malloc hands most freed regions straight
//! back to the kernel, so a short command such as `run --rm` spent ~220 of its system
//! calls on mmap/munmap pairs for the same few pages. A process that outlives its command
//! (the detached monitor, forked from the CLI with the CLI's freed heap) gives the free
//! memory back with `release_free_memory`: dlmalloc's trim returns whole free segments,
//! and the pages inside free chunks are dropped (`MADV_DONTNEED`) by a walk over the
//! segments, whose mappings `Pages` records. The lock is musl's futex mutex: no system
//! call unless threads collide.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use dlmalloc::Dlmalloc;

/// The global allocator (see the module doc).
pub struct Allocator;

/// The most mappings recorded; past it free pages are no longer released (trim still is).
const MAX_MAPS: usize = 128;

/// The mappings dlmalloc asked for, as (base, size); only touched with the heap's lock
/// held (every `Pages` call comes from a `Dlmalloc` call made under it).
struct Maps {
    list: [(usize, usize); MAX_MAPS],
    len: usize,
    overflowed: bool,
}

struct Heap {
    lock: UnsafeCell<libc::pthread_mutex_t>,
    pools: UnsafeCell<Dlmalloc<Pages>>,
    maps: UnsafeCell<Maps>,
}

// SAFETY: `pools` and `maps` are only reached with `lock` held.
unsafe impl Sync for Heap {}

/// Pools grow 256 KiB at a time: a CLI command's whole heap is then a handful of mmaps.
/// Untouched pages of a pool cost no memory.
const GRANULARITY: usize = 256 * 1024;

static HEAP: Heap = Heap {
    lock: UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER),
    pools: UnsafeCell::new({
        let mut d = Dlmalloc::new_with_allocator(Pages);
        assert!(d.set_granularity(GRANULARITY));
        d
    }),
    maps: UnsafeCell::new(Maps {
        list: [(0, 0); MAX_MAPS],
        len: 0,
        overflowed: false,
    }),
};

/// dlmalloc's source of memory: anonymous mappings, recorded in `HEAP.maps`.
struct Pages;

fn maps() -> &'static mut Maps {
    // SAFETY: only called from `Pages` methods and `release_free_memory`, all under the
    // heap's lock, and no reference outlives the call.
    unsafe { &mut *HEAP.maps.get() }
}

// SAFETY: the mappings returned are fresh, private, zero-filled and page-aligned.
unsafe impl dlmalloc::Allocator for Pages {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        // SAFETY: an anonymous mapping, no address hint.
        let addr = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_ANONYMOUS | libc::MAP_PRIVATE,
                -1,
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return (core::ptr::null_mut(), 0, 0);
        }
        let m = maps();
        if m.len < MAX_MAPS {
            m.list[m.len] = (addr as usize, size);
            m.len += 1;
        } else {
            m.overflowed = true;
        }
        (addr.cast(), size, 0)
    }

    fn remap(&self, _ptr: *mut u8, _old: usize, _new: usize, _can_move: bool) -> *mut u8 {
        // Only asked for chunks mapped on their own, which this heap never makes.
        core::ptr::null_mut()
    }

    fn free_part(&self, ptr: *mut u8, oldsize: usize, newsize: usize) -> bool {
        // SAFETY: the tail of a mapping dlmalloc no longer uses.
        let ok = unsafe { libc::munmap(ptr.add(newsize).cast(), oldsize - newsize) } == 0;
        if ok {
            let m = maps();
            if let Some(e) = m.list[..m.len].iter_mut().find(|e| e.0 == ptr as usize) {
                e.1 = newsize;
            }
        }
        ok
    }

    fn free(&self, ptr: *mut u8, size: usize) -> bool {
        // SAFETY: a whole mapping dlmalloc no longer uses.
        let ok = unsafe { libc::munmap(ptr.cast(), size) } == 0;
        if ok {
            let m = maps();
            if let Some(i) = m.list[..m.len].iter().position(|e| e.0 == ptr as usize) {
                m.list[i] = m.list[m.len - 1];
                m.len -= 1;
            }
        }
        ok
    }

    fn can_release_part(&self, _flags: u32) -> bool {
        true
    }

    fn allocates_zeros(&self) -> bool {
        true
    }

    fn page_size(&self) -> usize {
        4096
    }
}

/// Runs `f` on the pools with the lock held.
fn with_pools<T>(f: impl FnOnce(&mut Dlmalloc<Pages>) -> T) -> T {
    struct Unlock;
    impl Drop for Unlock {
        fn drop(&mut self) {
            // SAFETY: this thread holds the lock (taken below).
            unsafe { libc::pthread_mutex_unlock(HEAP.lock.get()) };
        }
    }
    // SAFETY: a statically initialised mutex; the guard unlocks it on every path.
    unsafe { libc::pthread_mutex_lock(HEAP.lock.get()) };
    let _unlock = Unlock;
    // SAFETY: the lock is held, so no other reference to the pools exists.
    f(unsafe { &mut *HEAP.pools.get() })
}

// SAFETY: dlmalloc returns memory of the requested size and alignment (or null), and
// every call is serialised by the heap's lock.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        with_pools(|d| unsafe { d.malloc(layout.size(), layout.align()) })
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        with_pools(|d| unsafe { d.calloc(layout.size(), layout.align()) })
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        with_pools(|d| unsafe { d.free(ptr, layout.size(), layout.align()) })
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        with_pools(|d| unsafe { d.realloc(ptr, layout.size(), layout.align(), new_size) })
    }
}

/// Gives the pools' free memory back to the kernel: for a process that idles after its
/// work (the detached monitor inherits the command's freed heap when it forks).
pub fn release_free_memory() {
    with_pools(|d| {
        // SAFETY: trimming only unmaps memory no allocation holds.
        unsafe { d.trim(0) };
        let m = maps();
        if m.overflowed {
            return;
        }
        // A copy on the stack: nothing may be allocated with the lock held.
        let mut list = m.list;
        let runs = &mut list[..m.len];
        runs.sort_unstable();
        // Adjacent mappings may be one segment (dlmalloc extends a segment into the
        // mapping after or before it): walk each run of adjacent mappings from its start,
        // which is always a segment's first chunk.
        let mut i = 0;
        while i < runs.len() {
            let (start, mut end) = (runs[i].0, runs[i].0 + runs[i].1);
            i += 1;
            while i < runs.len() && runs[i].0 == end {
                end += runs[i].1;
                i += 1;
            }
            // SAFETY: the lock is held and the range is dlmalloc's own memory.
            unsafe { drop_free_pages(start, end) };
        }
    });
}
/// Drops the pages inside the free chunks laid out from `start` (a segment's first
/// chunk) up to `end`, stopping at the first thing that is not a chunk: the fence posts
/// and footer at a segment's end. dlmalloc 0.2's chunk is (prev_foot, head, ...): the
/// size in head's high bits, bit 0 "the previous chunk is in use", bit 1 "this one is";
/// a free chunk keeps its list links in its first 8 words and its size in the next
/// chunk's first word, so only whole pages beyond its first 8 words are dropped (they
/// read as zeros when reused, which dlmalloc never relies on either way).
///
/// SAFETY: the heap's lock is held and `start..end` is a run of dlmalloc's mappings.
unsafe fn drop_free_pages(start: usize, end: usize) {
    const WORD: usize = core::mem::size_of::<usize>();
    const PAGE: usize = 4096;
    let mut p = start;
    while p + 2 * WORD <= end {
        // SAFETY: p is a chunk start inside the run (checked against `end`).
        let head = unsafe { *((p + WORD) as *const usize) };
        let size = head & !7;
        if head & 3 == 0 || size < 4 * WORD || size > end - p {
            break;
        }
        if head & 3 == 1 {
            let from = (p + 8 * WORD + PAGE - 1) & !(PAGE - 1);
            let to = (p + size) & !(PAGE - 1);
            if from < to {
                // SAFETY: whole pages inside a free chunk, past its bookkeeping.
                unsafe { libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_DONTNEED) };
            }
        }
        p += size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_freed_and_trimmed_is_given_out_again_intact() {
        // The test binary's own allocator is the system's: call this one directly.
        let layout = Layout::from_size_align(40_000, 16).unwrap();
        let fill = |p: *mut u8, b: u8| unsafe { p.write_bytes(b, layout.size()) };
        let holds = |p: *mut u8, b: u8| unsafe {
            std::slice::from_raw_parts(p, layout.size())
                .iter()
                .all(|&x| x == b)
        };
        let keep = unsafe { Allocator.alloc(layout) };
        fill(keep, 7);
        let big: Vec<*mut u8> = (0..64)
            .map(|_| unsafe { Allocator.alloc(layout) })
            .collect();
        for (i, &p) in big.iter().enumerate() {
            assert!(!p.is_null());
            fill(p, i as u8);
        }
        // Every other block freed: the free chunks between live ones lose their pages.
        for &p in big.iter().step_by(2) {
            unsafe { Allocator.dealloc(p, layout) };
        }
        release_free_memory();
        for (i, &p) in big.iter().enumerate().skip(1).step_by(2) {
            assert!(holds(p, i as u8), "block {i} changed");
            unsafe { Allocator.dealloc(p, layout) };
        }
        release_free_memory();
        let again: Vec<*mut u8> = (0..64)
            .map(|_| unsafe { Allocator.alloc_zeroed(layout) })
            .collect();
        assert!(again.iter().all(|&p| !p.is_null() && holds(p, 0)));
        assert!(holds(keep, 7));
        for p in again.into_iter().chain([keep]) {
            unsafe { Allocator.dealloc(p, layout) };
        }
    }
}
