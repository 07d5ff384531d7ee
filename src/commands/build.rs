//! `build`: read the Dockerfile (a file, or stdin with `-f -`), check the context, and hand
//! both to the build executor.

use super::Exit;
use crate::build::{self, BuildOptions};
use crate::cli::BuildArgs;
use crate::image::Reference;
use crate::paths::Paths;
use std::collections::BTreeMap;
use std::io::Read;

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

pub fn build(paths: &Paths, args: BuildArgs) -> anyhow::Result<()> {
    let fail = |message: String| Exit { code: 1, message };
    if !args.context.is_dir() {
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
            let p = f.clone().unwrap_or_else(|| args.context.join("Dockerfile"));
            let bytes = std::fs::read(&p).map_err(|e| {
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
            (text, p.display().to_string(), Some(p))
        }
    };
    let tags = args
        .tags
        .iter()
        .map(|t| Reference::parse(t).map_err(|e| fail(format!("invalid tag \"{t}\": {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let timestamp = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => Some(v.parse::<i64>().map_err(|_| {
            fail(format!(
                "SOURCE_DATE_EPOCH=\"{v}\" is not a number of seconds"
            ))
        })?),
        _ => None,
    };
    paths.ensure()?;
    let opts = BuildOptions {
        context: args.context.clone(),
        dockerfile: text,
        dockerfile_name: name,
        dockerfile_path: path,
        tags,
        build_args: key_values("--build-arg", &args.build_args, true)?,
        target: args.target.clone(),
        labels: key_values("--label", &args.labels, false)?,
        quiet: args.quiet,
        timestamp,
    };
    let image = build::build(paths, &opts).map_err(|e| fail(e.to_string()))?;
    if let Some(f) = &args.iidfile {
        std::fs::write(f, &image.id)?;
    }
    if args.quiet {
        println!("{}", image.id);
    }
    Ok(())
}
