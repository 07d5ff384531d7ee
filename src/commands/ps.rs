//! `ps`: docker's container table.

use super::format::{ellipsis, go_quote, human_duration, since, table};
use crate::cli::PsArgs;
use crate::container::Containers;
use crate::paths::Paths;
use crate::state::{ContainerRecord, Status};

/// docker's STATUS column.
pub fn status_text(rec: &ContainerRecord) -> String {
    if rec.is_running() {
        let up = rec.state.started_at.as_deref().map(since).unwrap_or(0.0);
        return format!("Up {}", human_duration(up));
    }
    match rec.state.status {
        Status::Created => "Created".into(),
        // Recorded as running, but its monitor died after this command repaired the store
        // (see `container::repair`): the exit is unknown, docker's 255, and it happened
        // no earlier than the start.
        Status::Running => format!(
            "Exited (255) {} ago",
            human_duration(rec.state.started_at.as_deref().map(since).unwrap_or(0.0))
        ),
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
    let mut list = Containers::open(paths)?.all()?;
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
