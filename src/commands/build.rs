//! `build`: read the Dockerfile (a file, or stdin with `-f -`), get the context (a
//! directory, or a tar stream on stdin with `-`), validate flags, and hand everything to
//! the build executor. Nothing here knows how a step runs.

use super::Exit;
use crate::build::{self, BuildOptions};
use crate::cli::BuildArgs;
use crate::image::Reference;
use crate::paths::Paths;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

fn key_values(
    flag: &str,
    items: &[String],
    from_env: bool,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for i in items {
        match i.split_once('=') {
            Some((k, v)) => {
                out.insert(k.to_string(), v.to_string());
            }
            // docker: `--build-arg NAME` takes the value from the environment.
            None if from_env => {
                if let Ok(v) = std::env::var(i) {
                    out.insert(i.clone(), v);
                }
            }
            None => {
                anyhow::bail!("invalid argument \"{i}\" for \"{flag}\" flag: expected KEY=VALUE")
            }
        }
    }
    Ok(out)
}

/// `--secret id=ID,src=PATH` (also `source=`, `type=file`) or `id=ID,env=VAR`; a secret
/// from the environment is written to a private temp file under `tmp`.
fn secrets(items: &[String], tmp: &Path) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    for item in items {
        let mut id = None;
        let mut src = None;
        let mut env = None;
        for field in item.split(',') {
            match field.split_once('=') {
                Some(("id", v)) => id = Some(v.to_string()),
                Some(("src" | "source", v)) => src = Some(PathBuf::from(v)),
                Some(("env", v)) => env = Some(v.to_string()),
                Some(("type", "file" | "env")) => {}
                _ => anyhow::bail!(
                    "invalid --secret \"{item}\": expected id=ID,src=PATH or id=ID,env=VAR"
                ),
            }
        }
        let id = id
            .or_else(|| env.clone())
            .ok_or_else(|| anyhow::anyhow!("invalid --secret \"{item}\": missing id="))?;
        let path = match (src, env) {
            (Some(p), _) => {
                if !p.is_file() {
                    anyhow::bail!("--secret {id}: cannot read {}: no such file", p.display());
                }
                p
            }
            (None, Some(var)) => {
                let value = std::env::var(&var).map_err(|_| {
                    anyhow::anyhow!("--secret {id}: environment variable {var} is not set")
                })?;
                crate::paths::make_dir(tmp, crate::paths::PRIVATE)?;
                let p = tmp.join(format!("secret-{}-{}", std::process::id(), out.len()));
                std::fs::write(&p, value)?;
                p
            }
            (None, None) => anyhow::bail!("invalid --secret \"{item}\": missing src= or env="),
        };
        out.insert(id, path);
    }
    Ok(out)
}

/// Remove the environment secrets of builds that died without removing them (killed
/// with SIGKILL): their file names carry the build's pid.
pub(super) fn clean_dead_secrets(paths: &Paths) {
    let Ok(rd) = std::fs::read_dir(paths.build_secrets()) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let pid = name
            .to_str()
            .and_then(|n| n.strip_prefix("secret-"))
            .and_then(|n| n.split('-').next())
            .and_then(|p| p.parse::<i32>().ok());
        // SAFETY: kill with signal 0 only checks that the pid exists.
        if pid.is_some_and(|p| p > 0 && unsafe { libc::kill(p, 0) } != 0) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Unpacks a context tar read from stdin into `dir`, refusing entries that climb out.
fn unpack_context(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut archive = tar::Archive::new(std::io::stdin().lock());
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    for entry in archive.entries()? {
        let mut entry = entry?;
        // unpack_in refuses absolute paths and `..`.
        entry.unpack_in(dir)?;
    }
    Ok(())
}

pub fn build(paths: &Paths, args: BuildArgs) -> anyhow::Result<()> {
    let fail = |message: String| Exit { code: 1, message };
    let bad_flag = |message: String| Exit { code: 125, message };
    let host = args
        .host
        .to_build_host()
        .map_err(|e| bad_flag(e.to_string()))?;
    let platform = args
        .host
        .platform
        .as_deref()
        .map(crate::registry::Platform::parse)
        .transpose()
        .map_err(|e| bad_flag(format!("invalid argument for \"--platform\" flag: {e}")))?;
    if args.host.compress {
        // podman takes it as meaningless for a local build; kiste says so, once.
        eprintln!("--compress has no effect: kiste reads the build context in place and sends it to no daemon");
    }
    let stdin_context = args.context.as_os_str() == "-";
    if stdin_context && args.file.as_ref().is_some_and(|f| f.as_os_str() == "-") {
        return Err(fail(
            "invalid argument: can't use stdin for both build context and dockerfile".into(),
        )
        .into());
    }
    // SIGINT/SIGTERM end the build cleanly (see build::interrupt).
    build::interrupt::catch();
    // A context from stdin lives in a scratch dir of its own, removed when the build ends
    // (or by the next kiste command if this one is killed).
    let context_scratch = if stdin_context {
        Some(build::Scratch::create(&paths.build_dir()).map_err(|e| {
            fail(format!(
                "cannot create a build directory in {}: {e}",
                paths.build_dir().display()
            ))
        })?)
    } else {
        None
    };
    let context = match &context_scratch {
        Some(scratch) => {
            let dir = scratch.dir.join(crate::paths::SCRATCH_CONTEXT);
            unpack_context(&dir)
                .map_err(|e| fail(format!("unable to read the build context from stdin: {e}")))?;
            dir
        }
        None => args.context.clone(),
    };
    if !context.is_dir() {
        return Err(fail(format!(
            "unable to prepare context: path \"{}\" not found",
            args.context.display()
        ))
        .into());
    }
    let (text, name, path) = match &args.file {
        Some(f) if f.as_os_str() == "-" => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| fail(format!("cannot read the Dockerfile from stdin: {e}")))?;
            (s, "Dockerfile".to_string(), None)
        }
        f => {
            let p = match f {
                // With a stdin context, -f names a file inside it.
                Some(f) if stdin_context => context.join(f),
                Some(f) => f.clone(),
                None => context.join("Dockerfile"),
            };
            // A Dockerfile inside the context is read confined to it: a symlink to
            // /etc/shadow or /dev/zero there must not be read on the host.
            let inside = match f {
                Some(f) if stdin_context => Some(f.clone()),
                None => Some(PathBuf::from("Dockerfile")),
                Some(_) => None,
            };
            let read = match &inside {
                Some(rel) => crate::fs::Root::open(&context).and_then(|r| r.read(rel, 64 << 20)),
                None => std::fs::read(&p),
            };
            let bytes = read.map_err(|e| {
                fail(format!(
                    "unable to prepare context: cannot read Dockerfile {}: {}",
                    p.display(),
                    e.to_string().to_lowercase()
                ))
            })?;
            let text = String::from_utf8(bytes).map_err(|_| {
                fail(format!(
                    "{}: the Dockerfile is not valid UTF-8",
                    p.display()
                ))
            })?;
            let shown = if stdin_context {
                p.strip_prefix(&context).unwrap_or(&p).display().to_string()
            } else {
                p.display().to_string()
            };
            (text, shown, Some(p))
        }
    };
    let tags = args
        .tags
        .iter()
        .map(|t| Reference::parse(t).map_err(|e| fail(format!("invalid tag \"{t}\": {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let timestamp = match (args.timestamp, std::env::var("SOURCE_DATE_EPOCH")) {
        (Some(t), _) => Some(t),
        (None, Ok(v)) if !v.is_empty() => Some(v.parse::<i64>().map_err(|_| {
            fail(format!(
                "SOURCE_DATE_EPOCH=\"{v}\" is not a number of seconds"
            ))
        })?),
        _ => None,
    };
    let secret_tmp = paths.build_secrets();
    let secrets = secrets(&args.secrets, &secret_tmp).map_err(|e| fail(e.to_string()))?;
    let opts = BuildOptions {
        context,
        dockerfile: text,
        dockerfile_name: name,
        dockerfile_path: path,
        tags,
        build_args: key_values("--build-arg", &args.build_args, true)
            .map_err(|e| fail(e.to_string()))?,
        target: args.target.clone(),
        labels: key_values("--label", &args.labels, false).map_err(|e| fail(e.to_string()))?,
        quiet: args.quiet,
        timestamp,
        no_cache: args.no_cache,
        secrets,
        pull: args.pull,
        host,
        platform,
        cache_from: args.host.cache_from.clone(),
    };
    let result = build::build(paths, &opts);
    for (_, p) in opts
        .secrets
        .iter()
        .filter(|(_, p)| p.starts_with(&secret_tmp))
    {
        let _ = std::fs::remove_file(p);
    }
    if let Some(sig) = build::interrupt::pending() {
        return Err(Exit {
            code: 128 + sig,
            message: "the build was interrupted".into(),
        }
        .into());
    }
    let image = result.map_err(|e| fail(e.to_string()))?;
    crate::events::tagged(paths, &image.id, &opts.tags);
    if let Some(f) = &args.iidfile {
        std::fs::write(f, &image.id)?;
    }
    if args.quiet {
        println!("{}", image.id);
    }
    Ok(())
}
