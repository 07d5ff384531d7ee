//! A detached monitor idles for as long as its container runs, and most of its resident
//! memory is not its own: it is the kiste binary's code and constant data, faulted in
//! from the page cache while the monitor set the container up (~3 MB of a ~3.4 MB RSS).
//! Once it settles into its poll loop those pages are dropped from its page tables
//! (`madvise(MADV_DONTNEED)`). Only read-only, file-backed mappings that hold no private
//! (copied-on-write) page are touched, so no content can be lost: the page cache keeps
//! the pages for the next kiste command, and what the loop runs faults back in as used.

/// Drops the resident pages of the process's read-only file mappings.
pub fn release_file_pages() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    // A header line per mapping, then its "Key: value" lines (Anonymous among them).
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        let Some(first) = line.split_whitespace().next() else {
            continue;
        };
        if !first.ends_with(':') {
            current = mapping_to_release(line);
            continue;
        }
        if first != "Anonymous:" {
            continue;
        }
        if let Some((start, end)) = current.take() {
            if line.split_whitespace().nth(1) == Some("0") {
                // SAFETY: the range is a private, read-only file mapping of this process
                // with no anonymous page: dropping its pages only makes them fault in
                // again from the file when used.
                unsafe {
                    libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
                }
            }
        }
    }
}

/// The address range of an smaps header line that names a read-only, private mapping of
/// a file (`55e0-55f0 r-xp 00001000 fd:01 123 /usr/bin/kiste`).
fn mapping_to_release(line: &str) -> Option<(usize, usize)> {
    let mut f = line.split_whitespace();
    let (range, perms) = (f.next()?, f.next()?);
    let path = f.nth(3)?;
    let (start, end) = range.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    let p = perms.as_bytes();
    let read_only_private = p.len() == 4 && p[0] == b'r' && p[1] == b'-' && p[3] == b'p';
    (read_only_private && path.starts_with('/') && end > start).then_some((start, end))
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
    fn code_still_runs_after_its_pages_are_released() {
        release_file_pages();
        // Code, constants and the allocator work as before.
        let v: Vec<String> = (0..100).map(|i| format!("{i}")).collect();
        assert_eq!(v[42], "42");
    }
}
