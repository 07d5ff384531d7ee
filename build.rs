//! Build facts for `kiste version`: the git commit, the compiler and the build time
//! (SOURCE_DATE_EPOCH when set, for reproducible builds); and, for the static binary
//! whose panics abort, the link step that leaves the unwind tables out.

use std::process::Command;

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let commit =
        output("git", &["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = output(&rustc, &["--version"])
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    let built = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
    println!("cargo:rustc-env=KISTE_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=KISTE_RUSTC_VERSION={rustc_version}");
    println!("cargo:rustc-env=KISTE_BUILD_UNIX={built}");
    // A new commit changes HEAD (or the branch it names); nothing else reruns this.
    // (`--git-path` finds a worktree's HEAD and the shared refs.)
    if let Some(head) = output("git", &["rev-parse", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={head}");
    }
    if let Some(branch) = output("git", &["symbolic-ref", "-q", "HEAD"]) {
        if let Some(r) = output("git", &["rev-parse", "--git-path", &branch]) {
            println!("cargo:rerun-if-changed={r}");
        }
    }
    discard_unwind_tables();
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
}

/// Leaves `.eh_frame` out of the static binary, whose panics abort (the release profile):
/// 733 KB of the 8.58 MB binary were unwind tables (and their `.eh_frame_hdr` index) that
/// nothing needs. No panic unwinds; the binary is stripped, so a crash backtrace was only
/// `<unknown>` frames at randomised addresses; a panic still prints its message and
/// location, then aborts. rustc's `-C force-unwind-tables=no` does not drop them (LLVM
/// still emits CFI for x86-64), hence the linker. crtbeginS.o's own frame table stays:
/// its `__do_init` refers to it. Debug builds and the tests keep them all, and so does a
/// release build with KISTE_KEEP_UNWIND_TABLES=1 (perf's DWARF call graphs need them).
fn discard_unwind_tables() {
    println!("cargo:rerun-if-env-changed=KISTE_KEEP_UNWIND_TABLES");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    // The release profile aborts on panic (Cargo.toml); cargo gives build scripts the
    // profile's name, not its panic setting (CARGO_CFG_PANIC is the target's default).
    if var("PROFILE") != "release"
        || var("CARGO_CFG_TARGET_ENV") != "musl"
        || !var("KISTE_KEEP_UNWIND_TABLES").is_empty()
    {
        return;
    }
    let script = std::path::Path::new(&var("OUT_DIR")).join("discard-unwind-tables.ld");
    let text = "SECTIONS { /DISCARD/ : { EXCLUDE_FILE(*crtbeginS.o *crtendS.o) *(.eh_frame) } }\n\
                INSERT AFTER .text;\n";
    if let Err(e) = std::fs::write(&script, text) {
        panic!("cannot write {}: {e}", script.display());
    }
    println!(
        "cargo:rustc-link-arg-bins=-Wl,--script={}",
        script.display()
    );
}
