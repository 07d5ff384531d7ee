//! Running a build and reading its output and cache hits.

use super::Kiste;

use std::path::Path;
use std::process::Output;

pub fn kiste() -> Kiste {
    Kiste::new()
}

/// `kiste build EXTRA… CTX`, whatever the outcome.
pub fn build(k: &Kiste, ctx: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["build"];
    args.extend_from_slice(extra);
    args.push(ctx.to_str().unwrap());
    k.cmd(&args).output().expect("run kiste")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Lines " ---> Using cache" in a build's output.
pub fn cache_hits(o: &Output) -> usize {
    stdout(o)
        .lines()
        .filter(|l| l.trim() == "---> Using cache")
        .count()
}
