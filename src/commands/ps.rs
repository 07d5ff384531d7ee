//! `ps`: docker's container table.

use super::format::{ellipsis, go_quote, human_duration, since, table};
use crate::cli::PsArgs;
use crate::paths::Paths;
use crate::state::{ContainerRecord, ContainerStore, Status};

/// docker's STATUS column.
pub fn status_text(rec: &ContainerRecord) -> String {
    if rec.is_running() {
        let up = rec.state.started_at.as_deref().map(since).unwrap_or(0.0);
        return format!("Up {}", human_duration(up));
    }
    match rec.state.status {
        Status::Created => "Created".into(),
        // Recorded as running but the process is gone and nobody recorded how: the monitor
        // was killed. docker shows such containers as exited with 255.
        Status::Running => "Exited (255) Less than a second ago".into(),
        Status::Exited => {
            let ago = rec.state.finished_at.as_deref().map(since).unwrap_or(0.0);
            format!(
                "Exited ({}) {} ago",
                rec.state.exit_code,
                human_duration(ago)
            )
        }
    }
}

pub fn ps(paths: &Paths, args: PsArgs) -> anyhow::Result<()> {
    let store = ContainerStore::open(&paths.containers())?;
    let mut list = store.list()?;
    list.reverse(); // newest first, as docker lists them
    list.retain(|r| args.all || r.is_running());
    if args.quiet {
        for r in &list {
            println!(
                "{}",
                if args.no_trunc {
                    r.id.as_str()
                } else {
                    r.short_id()
                }
            );
        }
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|r| {
            let command = r.args().join(" ");
            let ports = if r.is_running() {
                r.state
                    .ports
                    .iter()
                    .map(|p| p.display())
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                String::new()
            };
            vec![
                if args.no_trunc {
                    r.id.clone()
                } else {
                    r.short_id().to_string()
                },
                r.config.image.clone(),
                go_quote(&if args.no_trunc {
                    command
                } else {
                    ellipsis(&command, 20)
                }),
                format!("{} ago", human_duration(since(&r.created))),
                status_text(r),
                ports,
                r.name.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "CONTAINER ID",
                "IMAGE",
                "COMMAND",
                "CREATED",
                "STATUS",
                "PORTS",
                "NAMES"
            ],
            &rows
        )
    );
    Ok(())
}
