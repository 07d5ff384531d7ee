//! `version`: docker's client block (kiste has no server), as text, JSON or a template.

use super::template::{Formatter, OutputFormat};
use crate::cli::VersionArgs;
use serde_json::{json, Value};

/// Go's time.ANSIC in UTC, as docker's "Built": `Fri May 30 12:07:14 2025`.
fn ansic(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = crate::image::format_rfc3339(unix, 0); // YYYY-MM-DDTHH:MM:SSZ
    let month: usize = t[5..7].parse().unwrap_or(1);
    let day: u32 = t[8..10].parse().unwrap_or(1);
    format!(
        "{} {} {day:>2} {} {}",
        DAYS[unix.div_euclid(86_400).rem_euclid(7) as usize],
        MONTHS[month - 1],
        &t[11..19],
        &t[..4]
    )
}

fn info() -> Value {
    let built: i64 = env!("KISTE_BUILD_UNIX").parse().unwrap_or(0);
    json!({
        "Client": {
            "Version": env!("CARGO_PKG_VERSION"),
            "ApiVersion": "",
            "RustVersion": env!("KISTE_RUSTC_VERSION"),
            "GitCommit": env!("KISTE_GIT_COMMIT"),
            "BuildTime": ansic(built),
            "Os": std::env::consts::OS,
            "Arch": go_arch(std::env::consts::ARCH),
        },
        "Server": null,
    })
}

/// Go's GOARCH names, which docker prints.
fn go_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

pub fn version(args: VersionArgs) -> anyhow::Result<()> {
    let v = info();
    match OutputFormat::parse(args.format.as_deref()) {
        OutputFormat::Json => println!("{}", serde_json::to_string(&v)?),
        OutputFormat::Template { source, .. } => {
            println!("{}", Formatter::new(&source, false, false)?.render(&v)?)
        }
        OutputFormat::Default => {
            let c = &v["Client"];
            let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
            let rows = [
                ("Version:", s("Version")),
                ("API version:", "none (kiste has no daemon)".to_string()),
                ("Rust version:", s("RustVersion")),
                ("Git commit:", s("GitCommit")),
                ("Built:", s("BuildTime")),
                ("OS/Arch:", format!("{}/{}", s("Os"), s("Arch"))),
            ];
            println!("Client:");
            for (k, val) in rows {
                println!(" {k:<19}{val}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_reads_like_go_ansic() {
        assert_eq!(ansic(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(ansic(1_748_606_834), "Fri May 30 12:07:14 2025");
    }
}
