//! `context ls|inspect|show|use`: kiste has one context, "default", which is the local
//! store (its root and runroot); the verbs that would make or change another are refused.

use super::format::{cells, table};
use super::refused::{refuse, CONTEXT};
use super::template::{Formatter, OutputFormat};
use super::Exit;
use crate::cli::ContextCommand;
use crate::paths::Paths;
use serde_json::{json, Value};

const DEFAULT: &str = "default";
const DESCRIPTION: &str = "The local store (kiste has no daemon)";

pub fn context_command(paths: &Paths, cmd: ContextCommand) -> anyhow::Result<()> {
    match cmd {
        ContextCommand::Ls(a) => {
            if a.quiet {
                println!("{DEFAULT}");
                return Ok(());
            }
            let row = json!({
                "Name": DEFAULT,
                "Description": DESCRIPTION,
                "DockerEndpoint": endpoint(paths),
                "Current": true,
                "Error": "",
            });
            match OutputFormat::parse(a.format.as_deref()) {
                OutputFormat::Json => println!("{}", serde_json::to_string(&row)?),
                OutputFormat::Template { source, table } => {
                    let f = Formatter::new(&source, table, true)?;
                    print!(
                        "{}",
                        f.render_all(&[("Name", "NAME"), ("Description", "DESCRIPTION")], &[row])?
                    );
                }
                OutputFormat::Default => {
                    let mut r = cells(&[row], &["Name", "Description", "DockerEndpoint", "Error"]);
                    r[0][0].push_str(" *");
                    print!(
                        "{}",
                        table(&["NAME", "DESCRIPTION", "DOCKER ENDPOINT", "ERROR"], &r)
                    );
                }
            }
            Ok(())
        }
        ContextCommand::Inspect(a) => {
            let names = if a.contexts.is_empty() {
                vec![DEFAULT.to_string()]
            } else {
                a.contexts
            };
            let mut out = Vec::new();
            for name in &names {
                if name != DEFAULT {
                    return Err(not_found(name));
                }
                out.push(inspect(paths));
            }
            super::inspect::print_inspected(out, a.format.as_deref())
        }
        ContextCommand::Show => {
            println!("{DEFAULT}");
            Ok(())
        }
        ContextCommand::Use(a) => {
            if a.context != DEFAULT {
                return Err(not_found(&a.context));
            }
            println!("{DEFAULT}");
            eprintln!("Current context is now \"{DEFAULT}\"");
            Ok(())
        }
        ContextCommand::Create(_) => Err(refuse("context create", CONTEXT)),
        ContextCommand::Rm(_) => Err(refuse("context rm", CONTEXT)),
        ContextCommand::Update(_) => Err(refuse("context update", CONTEXT)),
        ContextCommand::Export(_) => Err(refuse("context export", CONTEXT)),
        ContextCommand::Import(_) => Err(refuse("context import", CONTEXT)),
    }
}

/// Where the store is, in docker's endpoint column.
fn endpoint(paths: &Paths) -> String {
    format!("file://{}", paths.root.display())
}

fn inspect(paths: &Paths) -> Value {
    json!({
        "Name": DEFAULT,
        "Metadata": {"Description": DESCRIPTION},
        "Endpoints": {
            "kiste": {
                "Root": paths.root,
                "RunRoot": paths.runroot,
                "Rootless": paths.rootless,
            }
        },
        "TLSMaterial": {},
        "Storage": {"MetadataPath": "<IN MEMORY>", "TLSPath": "<IN MEMORY>"},
    })
}

/// docker's message and code (1) for a context that does not exist.
fn not_found(name: &str) -> anyhow::Error {
    Exit {
        code: 1,
        message: format!("context \"{name}\": context not found"),
    }
    .into()
}
