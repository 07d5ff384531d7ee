//! Build facts for `kiste version`: the git commit, the compiler and the build time
//! (SOURCE_DATE_EPOCH when set, for reproducible builds).

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
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
}
