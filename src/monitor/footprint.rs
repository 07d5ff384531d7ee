//! A detached monitor idles for as long as its container runs, and most of its resident
//! memory is not its own: it is the kiste binary's code and constant data, faulted in
//! from the page cache while the monitor set the container up, and the stack pages the
//! CLI it was forked from touched at its deepest. Just before it first blocks in its poll
//! loop those pages are dropped (`madvise(MADV_DONTNEED)`): read-only, file-backed
//! mappings that hold no private (copied-on-write) page, so no content can be lost (the
//! page cache keeps them for the next kiste command), and the part of the stack below the
//! current frame, which holds nothing live. What the loop runs faults back in as used.
//!
//! Every fault on a file mapping maps a whole 64 KB fault-around window, so what runs
//! after the release is kept to a minimum: the ranges are found first and the madvise
//! calls come last, with no allocation or free after them.

/// At most this many mappings are released (kiste is one static binary: a handful).
const MAX_RANGES: usize = 32;

/// Stack kept below this function's frame for the calls it makes (madvise's wrapper).
const STACK_MARGIN: usize = 16 * 1024;

/// Drops the resident pages of the process's read-only file mappings and of its stack
/// below the caller's frame.
#[inline(never)]
pub fn release_idle_pages() {
    let marker = 0u8;
    let sp = std::hint::black_box(&marker) as *const u8 as usize;
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    let mut ranges = [(0usize, 0usize); MAX_RANGES];
    let n = ranges_to_release(&smaps, sp, &mut ranges);
    // Freed now: nothing after the madvise calls below may run the allocator's code.
    drop(smaps);
    for &(start, end) in &ranges[..n] {
        // SAFETY: each range is either a private, read-only file mapping of this process
        // with no anonymous page (dropping its pages only makes them fault in again from
        // the file when used), or the part of the main stack more than STACK_MARGIN below
        // this frame, which no live frame uses (it reads back as zeros when it grows).
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}

/// Fills `out` from the text of /proc/self/smaps: the read-only private file mappings
/// without anonymous pages, and the stack below `sp - STACK_MARGIN`. Returns how many.
fn ranges_to_release(smaps: &str, sp: usize, out: &mut [(usize, usize)]) -> usize {
    let mut n = 0;
    let mut push = |range: (usize, usize)| {
        if n < out.len() {
            out[n] = range;
            n += 1;
        }
    };
    // A header line per mapping, then its "Key: value" lines (Anonymous among them).
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        let Some(first) = line.split_whitespace().next() else {
            continue;
        };
        if !first.ends_with(':') {
            current = mapping_to_release(line);
            if let Some(stack) = unused_stack(line, sp) {
                push(stack);
            }
            continue;
        }
        if first != "Anonymous:" {
            continue;
        }
        if let Some(range) = current.take() {
            if line.split_whitespace().nth(1) == Some("0") {
                push(range);
            }
        }
    }
    n
}

/// The address range of an smaps header line that names a read-only, private mapping of
/// a file (`55e0-55f0 r-xp 00001000 fd:01 123 /usr/bin/kiste`).
fn mapping_to_release(line: &str) -> Option<(usize, usize)> {
    let mut f = line.split_whitespace();
    let (range, perms) = (f.next()?, f.next()?);
    let path = f.nth(3)?;
    let (start, end) = parse_range(range)?;
    let p = perms.as_bytes();
    let read_only_private = p.len() == 4 && p[0] == b'r' && p[1] == b'-' && p[3] == b'p';
    (read_only_private && path.starts_with('/')).then_some((start, end))
}

/// The part of the `[stack]` mapping (whose header `line` is) that lies more than
/// STACK_MARGIN below `sp`, page-aligned; None for other mappings or when it is empty.
fn unused_stack(line: &str, sp: usize) -> Option<(usize, usize)> {
    let mut f = line.split_whitespace();
    let range = f.next()?;
    if f.nth(4)? != "[stack]" {
        return None;
    }
    let (start, end) = parse_range(range)?;
    if sp < start || sp >= end {
        return None;
    }
    let below = sp.checked_sub(STACK_MARGIN)? & !(page_size() - 1);
    (below > start).then_some((start, below))
}

fn parse_range(range: &str) -> Option<(usize, usize)> {
    let (start, end) = range.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    (end > start).then_some((start, end))
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096).max(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_read_only_private_file_mappings_are_released() {
        let text = "55e0a000-55e0b000 r-xp 00001000 fd:01 123 /usr/bin/kiste";
        assert_eq!(mapping_to_release(text), Some((0x55e0a000, 0x55e0b000)));
        assert!(
            mapping_to_release("55e0a000-55e0b000 rw-p 00001000 fd:01 123 /usr/bin/kiste")
                .is_none()
        );
        assert!(
            mapping_to_release("55e0a000-55e0b000 r--s 00001000 fd:01 123 /dev/shm/x").is_none()
        );
        assert!(mapping_to_release("7ffd0000-7ffd2000 r-xp 00000000 00:00 0 [vdso]").is_none());
        assert!(mapping_to_release("7ffd0000-7ffd2000 rw-p 00000000 00:00 0").is_none());
        assert!(mapping_to_release("Rss:                 148 kB").is_none());
    }

    #[test]
    fn the_stack_is_released_only_well_below_the_current_frame() {
        let line = "7ffd00000000-7ffd00040000 rw-p 00000000 00:00 0 [stack]";
        let sp = 0x7ffd0003a123;
        assert_eq!(
            unused_stack(line, sp),
            Some((0x7ffd00000000, (sp - STACK_MARGIN) & !0xfff))
        );
        // Too close to the bottom, or the frame is not on this mapping: nothing.
        assert_eq!(unused_stack(line, 0x7ffd00001000), None);
        assert_eq!(unused_stack(line, 0x1000), None);
        let heap = "55e0a000-55e0b000 rw-p 00000000 00:00 0 [heap]";
        assert_eq!(unused_stack(heap, 0x55e0a800), None);
    }

    #[test]
    fn a_mapping_with_private_pages_is_kept() {
        let smaps = "\
55e0a000-55e0b000 r-xp 00001000 fd:01 123 /usr/bin/kiste
Rss:                   4 kB
Anonymous:             0 kB
55e0b000-55e0c000 r--p 00002000 fd:01 123 /usr/bin/kiste
Anonymous:             4 kB
7ffd00000000-7ffd00040000 rw-p 00000000 00:00 0                          [stack]
Anonymous:           256 kB
";
        let mut out = [(0, 0); MAX_RANGES];
        let n = ranges_to_release(smaps, 0x7ffd0003f000, &mut out);
        assert_eq!(
            &out[..n],
            &[
                (0x55e0a000, 0x55e0b000),
                (0x7ffd00000000, 0x7ffd0003f000 - STACK_MARGIN)
            ]
        );
    }

    #[test]
    fn code_and_stack_still_work_after_their_pages_are_released() {
        // Deep frames first, so that the stack has pages below this one to release.
        fn deep(n: u32) -> u64 {
            let pad = std::hint::black_box([n as u8; 512]);
            if n == 0 {
                pad[0] as u64
            } else {
                deep(n - 1) + pad[1] as u64
            }
        }
        assert_eq!(deep(100), (1..=100).sum::<u64>());
        release_idle_pages();
        // Code, constants, the allocator and the stack work as before.
        let v: Vec<String> = (0..100).map(|i| format!("{i}")).collect();
        assert_eq!(v[42], "42");
        assert_eq!(deep(100), (1..=100).sum::<u64>());
    }
}
