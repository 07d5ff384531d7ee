//! Reading a whole file of kiste's own (the store's JSON, blobs) in the fewest calls.

use std::io::{self, Read};
use std::path::Path;

/// The bytes of the regular file at `path`: open, fstat, one read of the size fstat gave
/// (with a byte to spare), close. `std::fs::read` adds the read that returns 0; here a read
/// that returns less than asked after the whole reported size is the end (a regular file's
/// reads are short only there). A file that grew meanwhile is read on to its end.
pub fn read_whole(path: &Path) -> io::Result<Vec<u8>> {
    let mut f = std::fs::File::open(path)?;
    let size = f.metadata()?.len() as usize;
    let mut buf = vec![0u8; size + 1];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(2 * len.max(32), 0);
        }
        let want = buf.len() - len;
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => {
                len += n;
                if n < want && len >= size {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_reads_whole_empty_small_and_large() {
        let tmp = tempfile::tempdir().unwrap();
        for size in [0usize, 1, 803, 4096, 70_000] {
            let p = tmp.path().join(format!("f{size}"));
            let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            std::fs::write(&p, &data).unwrap();
            assert_eq!(read_whole(&p).unwrap(), data, "size {size}");
        }
        let e = read_whole(&tmp.path().join("missing")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }
}
