//! `kiste oci state` and `list`: what a container is now, read from its record and its
//! process (never stored), printed as runc prints it.

use super::state::check_id;
use super::{Global, OciError};
use crate::cli::oci::{ListArgs, ListFormat};

/// `state ID`: the OCI state JSON, indented as runc prints it.
pub fn state(g: &Global, id: &str) -> Result<(), OciError> {
    check_id(id)?;
    let rec = g.root.load(id)?;
    let json = rec.state_json(&g.root);
    println!(
        "{}",
        serde_json::to_string_pretty(&json).unwrap_or_default()
    );
    Ok(())
}

/// `list`: a table (ID PID STATUS BUNDLE CREATED OWNER), JSON, or the ids.
pub fn list(g: &Global, a: &ListArgs) -> Result<(), OciError> {
    let mut states = Vec::new();
    for id in g.root.ids() {
        let Ok(rec) = g.root.load(&id) else {
            continue;
        };
        let mut json = rec.state_json(&g.root);
        json.owner = owner_of(&g.root.dir(&id));
        states.push(json);
    }
    if a.quiet {
        for s in &states {
            println!("{}", s.id);
        }
        return Ok(());
    }
    if a.format == ListFormat::Json {
        println!("{}", serde_json::to_string(&states).unwrap_or_default());
        return Ok(());
    }
    let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
    for s in &states {
        rows.push([
            s.id.clone(),
            s.pid.to_string(),
            s.status.to_string(),
            s.bundle.display().to_string(),
            s.created.clone(),
            s.owner.clone(),
        ]);
    }
    print!("{}", table(&rows));
    Ok(())
}

/// Columns as Go's tabwriter makes them for runc (minimum width 12, padding 3).
fn table(rows: &[[String; 6]]) -> String {
    let mut widths = [0usize; 6];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max((c.chars().count() + 3).max(12));
        }
    }
    let mut out = String::new();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}", w = widths[i]));
            }
        }
        out.push('\n');
    }
    out
}

/// The user name owning a state dir ("root"), or its uid.
fn owner_of(dir: &std::path::Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(uid) = std::fs::metadata(dir).map(|m| m.uid()) else {
        return String::new();
    };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[2] == uid.to_string())
        .map_or_else(|| uid.to_string(), |f| f[0].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_pads_columns_like_runc() {
        let rows = vec![
            ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from),
            ["a", "12", "running", "/b", "t", "root"].map(String::from),
        ];
        let t = table(&rows);
        assert_eq!(
            t.lines().next().unwrap(),
            "ID          PID         STATUS      BUNDLE      CREATED     OWNER"
        );
        assert!(t
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("a           12          running     /b"));
    }
}
