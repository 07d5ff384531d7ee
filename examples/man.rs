//! Writes kiste's man pages from the clap definitions (`kiste.1`, `kiste-run.1`,
//! `kiste-image-ls.1`, …), each verb with its flags, its example and, on `kiste.1`, the
//! exit codes: `cargo run --example man -- DIR` (see scripts/man.sh). An example rather
//! than a hidden subcommand, so clap_mangen stays out of the shipped binary.

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/man"));
    std::fs::create_dir_all(&dir)?;
    let cmd = kiste::cli::command().version(env!("CARGO_PKG_VERSION"));
    clap_mangen::generate_to(cmd, &dir)?;
    let mut pages: Vec<_> = std::fs::read_dir(&dir)?
        .flatten()
        .map(|e| e.file_name())
        .collect();
    pages.sort();
    eprintln!("{} man pages in {}", pages.len(), dir.display());
    Ok(())
}
