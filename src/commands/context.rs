//! `context ls|inspect|show|use|create|update|rm|export|import`: named kiste stores (see
//! `crate::context`), with docker's output, messages and exit codes (1 for a context
//! error, as docker's CLI). "default" is the store kiste uses without a context.

use super::failures::Failures;
use super::format::{cells, table};
use super::template::{Formatter, OutputFormat};
use super::Exit;
use crate::cli::{
    ContextCommand, ContextCreateArgs, ContextExportArgs, ContextImportArgs, ContextRmArgs,
    ContextUpdateArgs,
};
use crate::context::{
    check_name, chosen_name, export_tar, forwarded_args, import_tar, merge_endpoints, ContextError,
    ContextMeta, ContextStore, Metadata, Remote, Selection, Store, StoreEndpoint, DEFAULT,
};
use crate::paths::Paths;
use serde_json::{json, Value};

const DESCRIPTION: &str = "The local store (kiste has no daemon)";

/// The store a verb works on; a context that cannot be used ends kiste as docker's CLI
/// ends when it cannot resolve its endpoint (exit 1). A remote context runs the whole
/// command on its machine instead (`crate::context::SshHost`) and never comes back.
pub fn store_paths(sel: Selection) -> anyhow::Result<Paths> {
    match crate::context::store(sel) {
        Ok(Store::Local(paths)) => Ok(paths),
        Ok(Store::Remote(remote)) => Err(run_remote(&remote)),
        Err(e) => {
            eprintln!("Failed to initialize: unable to resolve docker endpoint: {e}");
            Err(Exit::silent(1).into())
        }
    }
}

/// Replaces kiste with `ssh … kiste ARGS` (stdio is inherited: streamed as it is, and
/// ssh's exit code, the remote kiste's, becomes ours); comes back only if ssh cannot run.
fn run_remote(remote: &Remote) -> anyhow::Error {
    use std::os::unix::process::CommandExt;
    let args = forwarded_args(std::env::args_os().skip(1));
    let mut ssh = remote
        .ssh
        .command(remote.root.as_ref(), remote.runroot.as_ref(), &args);
    let err = ssh.exec();
    eprintln!("cannot run ssh to reach {}: {err}", remote.ssh);
    Exit::silent(1).into()
}

/// docker prints a context error as its bare line and exits 1.
fn fail(e: ContextError) -> anyhow::Error {
    eprintln!("{e}");
    Exit::silent(1).into()
}

pub fn context_command(sel: Selection, cmd: ContextCommand) -> anyhow::Result<()> {
    let store = ContextStore::open();
    let current = chosen_name(&store, sel.context.as_deref()).map_err(fail)?;
    match cmd {
        ContextCommand::Ls(a) => ls(&store, &sel, &current, a.format.as_deref(), a.quiet),
        ContextCommand::Inspect(a) => {
            let names = if a.contexts.is_empty() {
                vec![current.clone()]
            } else {
                a.contexts
            };
            let mut out = Vec::new();
            for name in &names {
                out.push(inspect(&store, &sel, name).map_err(fail)?);
            }
            print_inspected(out, a.format.as_deref())
        }
        ContextCommand::Show => {
            println!("{current}");
            Ok(())
        }
        ContextCommand::Use(a) => {
            if a.context != DEFAULT {
                store.get(&a.context).map_err(fail)?;
            }
            store.set_current(&a.context).map_err(fail)?;
            println!("{}", a.context);
            eprintln!("Current context is now \"{}\"", a.context);
            Ok(())
        }
        ContextCommand::Create(a) => create(&store, &sel, &current, a).map_err(fail),
        ContextCommand::Update(a) => update(&store, a).map_err(fail),
        ContextCommand::Rm(a) => rm(&store, &current, a),
        ContextCommand::Export(a) => export(&store, &sel, a),
        ContextCommand::Import(a) => import(&store, a).map_err(fail),
    }
}

/// The default context's store: the explicit `--root`/`--runroot`, else kiste's defaults.
fn default_endpoint(sel: &Selection) -> StoreEndpoint {
    StoreEndpoint {
        host: None,
        root: sel.root.clone(),
        runroot: sel.runroot.clone(),
    }
}

/// A context's metadata ("default" is not stored: it is made here).
fn lookup(store: &ContextStore, sel: &Selection, name: &str) -> Result<ContextMeta, ContextError> {
    if name != DEFAULT {
        return store.get(name);
    }
    let mut meta = ContextMeta {
        name: DEFAULT.into(),
        metadata: Metadata {
            description: DESCRIPTION.into(),
        },
        ..ContextMeta::default()
    };
    meta.endpoints.kiste = Some(default_endpoint(sel));
    Ok(meta)
}

/// Where the store is, in docker's endpoint column: its ssh host, or its root here.
fn endpoint_column(store: &StoreEndpoint) -> String {
    match &store.host {
        Some(h) => h.to_string(),
        None => format!("file://{}", store.paths().root.display()),
    }
}

fn ls(
    store: &ContextStore,
    sel: &Selection,
    current: &str,
    format: Option<&str>,
    quiet: bool,
) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    let mut listed = store.list().map_err(fail)?;
    listed.push(lookup(store, sel, DEFAULT).map_err(|e| (DEFAULT.to_string(), e)));
    for entry in listed {
        let row = match entry {
            Ok(meta) => {
                let (endpoint, error) = match meta.store() {
                    Ok(e) => (endpoint_column(e), String::new()),
                    Err(e) => (String::new(), e.to_string()),
                };
                json!({
                    "Name": meta.name,
                    "Description": meta.metadata.description,
                    "DockerEndpoint": endpoint,
                    "Current": meta.name == current,
                    "Error": error,
                })
            }
            Err((name, e)) => json!({
                "Name": name, "Description": "", "DockerEndpoint": "",
                "Current": false, "Error": e.to_string(),
            }),
        };
        rows.push(row);
    }
    crate::sort::sort_by(&mut rows, |a, b| {
        a["Name"].as_str().cmp(&b["Name"].as_str())
    });
    if quiet {
        for r in &rows {
            println!("{}", r["Name"].as_str().unwrap_or_default());
        }
        return Ok(());
    }
    match OutputFormat::parse(format) {
        OutputFormat::Json => {
            for r in &rows {
                println!("{}", serde_json::to_string(r)?);
            }
        }
        OutputFormat::Template { source, table } => {
            let f = Formatter::new(&source, table, true)?;
            let headers = [
                ("Name", "NAME"),
                ("Description", "DESCRIPTION"),
                ("DockerEndpoint", "DOCKER ENDPOINT"),
                ("Current", "CURRENT"),
                ("Error", "ERROR"),
            ];
            print!("{}", f.render_all(&headers, &rows)?);
        }
        OutputFormat::Default => {
            let mut r = cells(&rows, &["Name", "Description", "DockerEndpoint", "Error"]);
            for (cells, row) in r.iter_mut().zip(&rows) {
                if row["Current"] == true {
                    cells[0].push_str(" *");
                }
            }
            print!(
                "{}",
                table(&["NAME", "DESCRIPTION", "DOCKER ENDPOINT", "ERROR"], &r)
            );
        }
    }
    Ok(())
}

/// One context as `context inspect` shows it, in docker's field order.
#[derive(serde::Serialize)]
struct Inspected {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Metadata")]
    metadata: Value,
    #[serde(rename = "Endpoints")]
    endpoints: InspectedEndpoints,
    #[serde(rename = "TLSMaterial")]
    tls_material: Value,
    #[serde(rename = "Storage")]
    storage: InspectedStorage,
}

#[derive(serde::Serialize)]
struct InspectedEndpoints {
    kiste: InspectedStore,
}

/// The store as it is used: a local one with its defaults filled in, a remote one as the
/// context gives it (the remote machine fills in the rest).
#[derive(serde::Serialize)]
struct InspectedStore {
    #[serde(rename = "Host", skip_serializing_if = "Option::is_none")]
    host: Option<String>,
    #[serde(rename = "Root", skip_serializing_if = "Option::is_none")]
    root: Option<std::path::PathBuf>,
    #[serde(rename = "RunRoot", skip_serializing_if = "Option::is_none")]
    runroot: Option<std::path::PathBuf>,
    #[serde(rename = "Rootless", skip_serializing_if = "Option::is_none")]
    rootless: Option<bool>,
}

impl InspectedStore {
    fn of(store: &StoreEndpoint) -> InspectedStore {
        match &store.host {
            Some(h) => InspectedStore {
                host: Some(h.to_string()),
                root: store.root.clone(),
                runroot: store.runroot.clone(),
                rootless: None,
            },
            None => {
                let paths = store.paths();
                InspectedStore {
                    host: None,
                    root: Some(paths.root),
                    runroot: Some(paths.runroot),
                    rootless: Some(paths.rootless),
                }
            }
        }
    }
}

#[derive(serde::Serialize)]
struct InspectedStorage {
    #[serde(rename = "MetadataPath")]
    metadata_path: String,
    #[serde(rename = "TLSPath")]
    tls_path: String,
}

fn inspect(store: &ContextStore, sel: &Selection, name: &str) -> Result<Inspected, ContextError> {
    let meta = lookup(store, sel, name)?;
    let kiste = InspectedStore::of(meta.store()?);
    let metadata = if meta.metadata.description.is_empty() {
        json!({})
    } else {
        json!({"Description": meta.metadata.description})
    };
    let (metadata_path, tls_path) = if name == DEFAULT {
        ("<IN MEMORY>".to_string(), "<IN MEMORY>".to_string())
    } else {
        (
            store.meta_dir(name).display().to_string(),
            store.tls_dir(name).display().to_string(),
        )
    };
    Ok(Inspected {
        name: meta.name,
        metadata,
        endpoints: InspectedEndpoints { kiste },
        tls_material: json!({}),
        storage: InspectedStorage {
            metadata_path,
            tls_path,
        },
    })
}

/// docker's layout for the default and `json` formats (fields in its order), a Go
/// template per context otherwise.
fn print_inspected(out: Vec<Inspected>, format: Option<&str>) -> anyhow::Result<()> {
    match OutputFormat::parse(format) {
        OutputFormat::Default | OutputFormat::Json => {
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
        OutputFormat::Template { .. } => {
            let values = out
                .iter()
                .map(serde_json::to_value)
                .collect::<Result<Vec<_>, _>>()?;
            super::inspect::print_inspected(values, format)
        }
    }
}

/// A name a new context may take.
fn check_new(store: &ContextStore, name: &str) -> Result<(), ContextError> {
    check_name(name)?;
    if name == DEFAULT {
        return Err(ContextError::Reserved);
    }
    if store.exists(name) {
        return Err(ContextError::Exists(name.into()));
    }
    Ok(())
}

/// Without `--docker`, the new context copies `--from`'s (else the current context's)
/// store and description, as docker does.
fn create(
    store: &ContextStore,
    sel: &Selection,
    current: &str,
    a: ContextCreateArgs,
) -> Result<(), ContextError> {
    check_new(store, &a.name)?;
    if a.from.is_some() && !a.docker.is_empty() {
        return Err(ContextError::FromAndDocker);
    }
    let mut meta = if a.docker.is_empty() {
        let source = lookup(store, sel, a.from.as_deref().unwrap_or(current))?;
        let mut meta = ContextMeta {
            metadata: source.metadata.clone(),
            ..ContextMeta::default()
        };
        if source.name == DEFAULT {
            meta.metadata = Metadata::default();
        }
        meta.endpoints.kiste = Some(source.store()?.clone());
        meta
    } else {
        let mut meta = ContextMeta::default();
        meta.endpoints.kiste = Some(merge_endpoints(&a.docker)?);
        meta
    };
    meta.name = a.name.clone();
    if let Some(d) = a.description.filter(|d| !d.is_empty()) {
        meta.metadata.description = d;
    }
    store.save(&meta)?;
    println!("{}", a.name);
    eprintln!("Successfully created context \"{}\"", a.name);
    Ok(())
}

fn update(store: &ContextStore, a: ContextUpdateArgs) -> Result<(), ContextError> {
    check_name(&a.name)?;
    if a.name == DEFAULT {
        return Err(ContextError::Reserved);
    }
    let mut meta = store.get(&a.name)?;
    if let Some(d) = a.description.filter(|d| !d.is_empty()) {
        meta.metadata.description = d;
    }
    if !a.docker.is_empty() {
        meta.endpoints.kiste = Some(merge_endpoints(&a.docker)?);
    }
    store.save(&meta)?;
    println!("{}", a.name);
    eprintln!("Successfully updated context \"{}\"", a.name);
    Ok(())
}

/// Each context in turn; a failure is printed and the rest still go (exit 1 at the end).
/// Removing the current context needs `-f`, and then "default" becomes current.
fn rm(store: &ContextStore, current: &str, a: ContextRmArgs) -> anyhow::Result<()> {
    let configured = store.current().map_err(fail)?;
    let mut failed = Failures::default();
    for name in &a.names {
        let removed = if name == DEFAULT {
            Err(ContextError::RemoveDefault)
        } else if !store.exists(name) {
            Err(ContextError::DoesNotExist(name.clone()))
        } else if name == current && !a.force {
            Err(ContextError::InUse(name.clone()))
        } else {
            store.remove(name).and_then(|()| {
                if configured.as_deref() == Some(name) {
                    store.set_current(DEFAULT)
                } else {
                    Ok(())
                }
            })
        };
        match removed {
            Ok(()) => println!("{name}"),
            Err(e) => failed.report(e),
        }
    }
    failed.finish()
}

fn export(store: &ContextStore, sel: &Selection, a: ContextExportArgs) -> anyhow::Result<()> {
    let meta = lookup(store, sel, &a.name).map_err(fail)?;
    match a.file.as_deref() {
        Some("-") => export_tar(&meta, std::io::stdout().lock())?,
        file => {
            let file = file.map_or_else(|| format!("{}.dockercontext", a.name), str::to_string);
            let out = std::fs::File::create(&file).map_err(|e| {
                eprintln!("open {file}: {e}");
                Exit::silent(1)
            })?;
            export_tar(&meta, std::io::BufWriter::new(out))?;
            eprintln!("Written file \"{file}\"");
        }
    }
    Ok(())
}

fn import(store: &ContextStore, a: ContextImportArgs) -> Result<(), ContextError> {
    check_new(store, &a.name)?;
    let meta = if a.file == "-" {
        import_tar(&a.name, std::io::stdin().lock())?
    } else {
        let path = std::path::PathBuf::from(&a.file);
        let file = std::fs::File::open(&path).map_err(|source| ContextError::Io {
            action: "open",
            path,
            source,
        })?;
        import_tar(&a.name, std::io::BufReader::new(file))?
    };
    store.save(&meta)?;
    println!("{}", a.name);
    eprintln!("Successfully imported context \"{}\"", a.name);
    Ok(())
}
