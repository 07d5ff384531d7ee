//! `top` and `stats`: what runs in a container and what it uses, read from its cgroup
//! (processes, CPU, memory, block I/O, pids) and its network namespace (/proc/PID/net/dev),
//! printed as docker prints them.

use super::format::human_size;
use super::template::{Formatter, OutputFormat};
use super::Exit;
use crate::cli::{StatsArgs, TopArgs};
use crate::container::Containers;
use crate::monitor::cgroup_of;
use crate::paths::Paths;
use crate::state::ContainerRecord;
use anyhow::Context;
use serde_json::{json, Value};
use std::io::Write;
use std::time::{Duration, Instant};

/// `top`: the host's `ps` with the options given (docker's default `-ef`), keeping the
/// header and the rows of the container's processes.
pub fn top(paths: &Paths, args: TopArgs) -> anyhow::Result<()> {
    let containers = Containers::open(paths)?;
    let c = containers.get(&args.container)?;
    if !c.is_running() {
        return Err(Exit {
            code: 1,
            message: format!("container {} is not running", c.rec.id),
        }
        .into());
    }
    let pids = crate::cgroups::pids(&cgroup_of(&c.rec));
    let ps_args = if args.ps_args.is_empty() {
        vec!["-ef".to_string()]
    } else {
        args.ps_args
    };
    let out = std::process::Command::new("ps")
        .args(&ps_args)
        .output()
        .context("cannot run ps")?;
    if !out.status.success() {
        return Err(Exit {
            code: 1,
            message: format!(
                "ps: {}",
                String::from_utf8_lossy(&out.stderr)
                    .trim()
                    .replace('\n', " ")
            ),
        }
        .into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let rows = ps_rows(&text, &pids).map_err(|message| Exit { code: 1, message })?;
    print!("{}", layout(&rows, 20));
    Ok(())
}

/// The header and the rows of `pids` in `ps` output, each split into the header's
/// columns (the last column keeps its spaces), as docker does.
fn ps_rows(text: &str, pids: &[i32]) -> Result<Vec<Vec<String>>, String> {
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let pid_col = header
        .iter()
        .position(|h| h == "PID")
        .ok_or_else(|| "couldn't find PID field in ps output".to_string())?;
    let n = header.len();
    let mut rows = vec![header];
    for line in lines {
        let mut fields: Vec<String> = Vec::with_capacity(n);
        let mut rest = line.trim_start();
        while fields.len() + 1 < n {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            fields.push(rest[..end].to_string());
            rest = rest[end..].trim_start();
        }
        fields.push(rest.trim_end().to_string());
        if fields[pid_col]
            .parse::<i32>()
            .is_ok_and(|p| pids.contains(&p))
        {
            rows.push(fields);
        }
    }
    Ok(rows)
}

/// Go's tabwriter with `minwidth` and padding 3, as docker lays out `top` (20) and
/// `stats` (10).
fn layout(rows: &[Vec<String>], minwidth: usize) -> String {
    let ncol = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![minwidth; ncol];
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count() + 3);
        }
    }
    let mut out = String::new();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < r.len() {
                out.extend(std::iter::repeat_n(' ', widths[i] - cell.chars().count()));
            }
        }
        out.push('\n');
    }
    out
}

/// One reading of a container's counters.
struct Sample {
    at: Instant,
    cgroup: crate::cgroups::stats::CgroupStats,
    net_rx: u64,
    net_tx: u64,
}

fn sample(rec: &ContainerRecord) -> Sample {
    let (net_rx, net_tx) = if rec.is_running() {
        net_dev(rec.state.pid)
    } else {
        (0, 0)
    };
    Sample {
        at: Instant::now(),
        cgroup: if rec.is_running() {
            crate::cgroups::stats::stats(&cgroup_of(rec))
        } else {
            crate::cgroups::stats::CgroupStats::default()
        },
        net_rx,
        net_tx,
    }
}

/// Received and sent bytes over the container's interfaces but loopback, from its
/// network namespace's /proc/PID/net/dev.
fn net_dev(pid: i32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default();
    let (mut rx, mut tx) = (0, 0);
    for line in text.lines().skip(2) {
        let Some((name, counters)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = counters
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        if f.len() >= 9 {
            rx += f[0];
            tx += f[8];
        }
    }
    (rx, tx)
}

/// The host's memory, the limit docker shows for a container without one.
fn host_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Go's `%.{prec}g`.
fn go_g(v: f64, prec: usize) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let exp = v.abs().log10().floor() as i32;
    let sci = format!("{:.*e}", prec - 1, v);
    // Rounding may carry the exponent up (999.96 → 1.000e3).
    let exp = sci
        .split_once('e')
        .and_then(|(_, e)| e.parse::<i32>().ok())
        .unwrap_or(exp);
    if exp < -4 || exp >= prec as i32 {
        let (m, _) = sci.split_once('e').unwrap_or((&sci, ""));
        let m = if m.contains('.') {
            m.trim_end_matches('0').trim_end_matches('.')
        } else {
            m
        };
        return format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    let decimals = (prec as i32 - 1 - exp).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// go-units BytesSize: binary units, 4 significant digits ("672KiB", "23.54GiB").
fn bytes_size(size: u64) -> String {
    const UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    let mut v = size as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    format!("{}{}", go_g(v, 4), UNITS[i])
}

/// docker's row for one container, from two samples (`before` None: no CPU figure yet).
fn stats_row(
    rec: &ContainerRecord,
    given: &str,
    before: Option<&Sample>,
    now: &Sample,
    host_mem: u64,
    no_trunc: bool,
) -> Value {
    let running = rec.is_running();
    let cpu = match before {
        Some(b) if running => {
            let wall = now.at.duration_since(b.at).as_nanos() as f64;
            let used = now.cgroup.cpu_ns.saturating_sub(b.cgroup.cpu_ns) as f64;
            if wall > 0.0 {
                used / wall * 100.0
            } else {
                0.0
            }
        }
        _ => 0.0,
    };
    let limit = match (running, now.cgroup.memory_limit) {
        (false, _) => 0,
        (true, Some(l)) => l.min(host_mem.max(1)),
        (true, None) => host_mem,
    };
    let mem_pct = if limit > 0 {
        now.cgroup.memory as f64 / limit as f64 * 100.0
    } else {
        0.0
    };
    json!({
        "Container": given,
        "Name": rec.name,
        "ID": if no_trunc { rec.id.as_str() } else { rec.short_id() },
        "CPUPerc": format!("{cpu:.2}%"),
        "MemUsage": format!("{} / {}", bytes_size(now.cgroup.memory), bytes_size(limit)),
        "MemPerc": format!("{mem_pct:.2}%"),
        "NetIO": format!("{} / {}", human_size(now.net_rx), human_size(now.net_tx)),
        "BlockIO": format!("{} / {}", human_size(now.cgroup.read_bytes), human_size(now.cgroup.write_bytes)),
        "PIDs": now.cgroup.pids.to_string(),
    })
}

const STATS_HEADERS: &[(&str, &str)] = &[
    ("Container", "CONTAINER"),
    ("Name", "NAME"),
    ("ID", "CONTAINER ID"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET I/O"),
    ("BlockIO", "BLOCK I/O"),
    ("PIDs", "PIDS"),
];

const DEFAULT_STATS: &str =
    "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

/// How long the CPU figure is measured over (docker samples each second).
const WINDOW: Duration = Duration::from_millis(500);

/// `stats`: CPU %, memory, network and block I/O and pids of running containers (all
/// with -a, or those named); once with --no-stream, else refreshed each second.
pub fn stats(paths: &Paths, args: StatsArgs) -> anyhow::Result<()> {
    let containers = Containers::open(paths)?;
    let mut chosen: Vec<(String, ContainerRecord)> = Vec::new();
    if args.containers.is_empty() {
        for r in containers.all()? {
            if args.all || r.is_running() {
                chosen.push((r.short_id().to_string(), r));
            }
        }
    } else {
        for a in &args.containers {
            chosen.push((a.clone(), containers.get(a)?.rec));
        }
    }
    let (source, table) = match OutputFormat::parse(args.format.as_deref()) {
        OutputFormat::Default => (DEFAULT_STATS.to_string(), true),
        OutputFormat::Json => ("{{json .}}".to_string(), false),
        OutputFormat::Template { source, table } => (source, table),
    };
    let formatter = Formatter::new(&source, table, true)?;
    let host_mem = host_memory();
    let mut before: Vec<Sample> = chosen.iter().map(|(_, r)| sample(r)).collect();
    let mut out = std::io::stdout();
    loop {
        std::thread::sleep(if args.no_stream {
            WINDOW
        } else {
            Duration::from_secs(1)
        });
        let now: Vec<Sample> = chosen.iter().map(|(_, r)| sample(r)).collect();
        let rows: Vec<Value> = chosen
            .iter()
            .zip(before.iter().zip(&now))
            .map(|((given, r), (b, n))| stats_row(r, given, Some(b), n, host_mem, args.no_trunc))
            .collect();
        let text = formatter.render_all(STATS_HEADERS, &rows)?;
        if args.no_stream {
            print!("{text}");
            return Ok(());
        }
        // docker's live view: the screen cleared and drawn again.
        write!(out, "\x1b[2J\x1b[H{text}")?;
        out.flush()?;
        before = now;
        // Records change (a container stops): read them again.
        for (given, r) in chosen.iter_mut() {
            if let Ok(c) = containers.get(&r.id) {
                *r = c.rec;
            } else {
                given.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_go_units_prints_them() {
        assert_eq!(bytes_size(0), "0B");
        assert_eq!(bytes_size(672 * 1024), "672KiB");
        assert_eq!(bytes_size(25_275_000_000), "23.54GiB");
        assert_eq!(bytes_size(1023), "1023B");
        assert_eq!(go_g(1.0, 4), "1");
        assert_eq!(go_g(12345.0, 4), "1.234e+04");
    }

    #[test]
    fn top_keeps_the_header_and_the_containers_rows() {
        let ps = "UID   PID  PPID C STIME TTY TIME CMD\nroot 1 0 0 01:56 ? 00:00:00 /sbin/init splash\nroot 42 1 0 01:56 ? 00:00:00 sleep 100\n";
        let rows = ps_rows(ps, &[42]).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1][7], "sleep 100");
        assert!(ps_rows("USER COMMAND\n", &[1]).is_err());
    }
}
