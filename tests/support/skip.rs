//! The one way a test says "cannot run here": shared by every test crate in the workspace
//! (the parser's tests include this file by path).

/// Record that the running test was skipped, and why.
pub fn skip_log(reason: &str) {
    use std::io::Write;
    let test = std::thread::current()
        .name()
        .unwrap_or("unnamed test")
        .to_string();
    let bin = std::env::args()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    // Test binaries are named "<file>-<hash>"; keep the file.
    let bin = bin
        .rsplit_once('-')
        .map(|(b, _)| b.to_string())
        .unwrap_or(bin);
    let line = format!("{bin}::{test}: {reason}\n");
    eprint!("skipped: {line}");
    if let Ok(path) = std::env::var("KISTE_SKIP_LOG") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = f.write_all(line.as_bytes());
        }
    }
}
