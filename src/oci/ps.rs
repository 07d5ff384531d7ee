//! `kiste oci ps [--format table|json] ID [PS_ARGS...]`: the processes of a container's
//! cgroup. `json` prints the host pids as a JSON array (runc's format, which containerd
//! reads); `table` runs ps(1) with PS_ARGS (default `-ef`) and keeps its header and the
//! lines whose PID column is one of the container's, as runc does.

use std::collections::BTreeSet;

use crate::cli::oci::{ListFormat, OciPsArgs};

use super::state::{cgroup_spec, StateRoot, Status};
use super::OciError;

/// The host pids in container `id`'s cgroup.
pub fn pids(root: &StateRoot, id: &str) -> Result<Vec<i32>, OciError> {
    let rec = root.load(id)?;
    if rec.status(root) == Status::Stopped {
        return Err(OciError::Invalid {
            what: format!("container {id}"),
            reason: "container is not running".into(),
        });
    }
    Ok(match &rec.cgroup {
        Some(path) => crate::cgroups::pids(&cgroup_spec(path)),
        // No cgroup of its own: the first process is all kiste knows of.
        None => vec![rec.pid],
    })
}

/// Keeps the header of ps(1)'s `output` and the lines whose PID column is in `pids`.
pub fn filter_table(output: &str, pids: &BTreeSet<i32>) -> Result<String, OciError> {
    let mut lines = output.lines();
    let header = lines.next().unwrap_or_default();
    let column = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| OciError::Invalid {
            what: "ps output".into(),
            reason: "it has no PID column".into(),
        })?;
    let mut out = format!("{header}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(column)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

pub fn ps(root: &StateRoot, args: &OciPsArgs) -> Result<i32, OciError> {
    let pids = pids(root, &args.id)?;
    if args.format == ListFormat::Json {
        println!("{}", serde_json::json!(pids));
        return Ok(0);
    }
    let ps_args: Vec<&str> = if args.ps_args.is_empty() {
        vec!["-ef"]
    } else {
        args.ps_args.iter().map(String::as_str).collect()
    };
    let out = std::process::Command::new("ps")
        .args(&ps_args)
        .output()
        .map_err(|e| OciError::io("cannot run ps", e))?;
    if !out.status.success() {
        return Err(OciError::Invalid {
            what: format!("ps {}", ps_args.join(" ")),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    let set: BTreeSet<i32> = pids.into_iter().collect();
    print!(
        "{}",
        filter_table(&String::from_utf8_lossy(&out.stdout), &set)?
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_keeps_the_header_and_the_containers_lines() {
        let out = "UID   PID  PPID  C STIME TTY          TIME CMD\n\
                   root    1     0  0 04:00 ?        00:00:01 init\n\
                   root  420     1  0 04:00 ?        00:00:00 sleep 100\n\
                   root  421   420  0 04:00 ?        00:00:00 sh\n";
        let kept = filter_table(out, &BTreeSet::from([420, 421])).unwrap();
        let lines: Vec<&str> = kept.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].contains("PID"));
        assert!(lines[1].contains("sleep 100"));
        assert!(lines[2].ends_with("sh"));
    }

    #[test]
    fn table_without_a_pid_column_is_an_error() {
        assert!(filter_table("USER COMMAND\nroot x\n", &BTreeSet::new()).is_err());
    }
}
