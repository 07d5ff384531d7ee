//! From the command line's `-f`, `-p`, `--project-directory`, `--env-file` and
//! `--profile` to a checked `Project`: the files found, read, parsed (errors with line
//! and column), interpolated, checked for keys kiste does not read, merged, named and
//! typed, with every error naming its file, line (where known) and key.

use super::interpolate::{interpolate_str, Lookup};
use super::merge::{canonical, merge, scalar_string};
use super::model::{NetworkSpec, Project, VolumeSpec};
use super::{ComposeError, Located};
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub files: Vec<PathBuf>,
    pub project_name: Option<String>,
    pub project_directory: Option<PathBuf>,
    pub env_file: Option<PathBuf>,
    pub profiles: Vec<String>,
    /// Services named on the command line: active whatever their profiles.
    pub wanted: Vec<String>,
    /// Keys kiste does not read are errors instead of warnings.
    pub strict: bool,
}

/// The compose file of `dir` (the first of compose's four names that exists).
pub fn find_files(dir: &Path) -> Result<PathBuf, ComposeError> {
    NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .ok_or_else(|| ComposeError::NotFound(dir.to_path_buf()))
}

/// A directory's base name as compose makes a project name of it: lower case, only
/// `[a-z0-9_-]`, starting with a letter or digit.
pub fn project_name_from_dir(dir: &Path) -> String {
    let base = dir
        .file_name()
        .map(|b| b.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let kept: String = base
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    kept.trim_start_matches(['_', '-']).to_string()
}

fn valid_project_name(n: &str) -> bool {
    n.chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// `KEY=VALUE` lines of a `.env` file (comments, blank lines, `export ` and quotes as
/// compose reads them).
fn dotenv(path: &Path) -> Result<BTreeMap<String, String>, ComposeError> {
    let text = std::fs::read_to_string(path).map_err(|source| ComposeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim();
        let v = if v.len() >= 2
            && ((v.starts_with('"') && v.ends_with('"'))
                || (v.starts_with('\'') && v.ends_with('\'')))
        {
            v[1..v.len() - 1].to_string()
        } else {
            v.split(" #").next().unwrap_or(v).trim_end().to_string()
        };
        out.insert(k.trim().to_string(), v);
    }
    Ok(out)
}

/// One file as read: its name as the user gave it, its text and its interpolated,
/// canonical document.
struct Read {
    name: String,
    text: String,
    doc: Value,
}

fn interpolate_tree(
    v: &mut Value,
    path: &mut Vec<String>,
    l: &mut Lookup,
) -> Result<(), (Vec<String>, String)> {
    match v {
        Value::String(s) => {
            *s = interpolate_str(s, l).map_err(|e| (path.clone(), e))?;
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push(i.to_string());
                interpolate_tree(item, path, l)?;
                path.pop();
            }
        }
        Value::Mapping(m) => {
            for (k, item) in m.iter_mut() {
                path.push(scalar_string(k).unwrap_or_default());
                interpolate_tree(item, path, l)?;
                path.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

fn read_file(path: &Path, lookup: &mut Lookup) -> Result<Read, ComposeError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ComposeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut doc: Value = serde_yaml::from_str(&text).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        // serde_yaml appends " at line L column C": the location is said once, in front.
        let message = e.to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_string();
        ComposeError::Yaml {
            file: name.clone(),
            line,
            column,
            message,
        }
    })?;
    // `<<: *anchor` merge keys, as compose files use them with `x-` templates.
    doc.apply_merge().map_err(|e| ComposeError::Yaml {
        file: name.clone(),
        line: 0,
        column: 0,
        message: e.to_string(),
    })?;
    if doc.is_null() {
        doc = Value::Mapping(Default::default());
    }
    if !doc.is_mapping() {
        return Err(ComposeError::invalid(
            &name,
            Some(1),
            "(top level)",
            "must be a mapping".into(),
        ));
    }
    let mut path = Vec::new();
    interpolate_tree(&mut doc, &mut path, lookup).map_err(|(p, msg)| {
        let segs: Vec<&str> = p.iter().map(String::as_str).collect();
        ComposeError::invalid(
            &name,
            super::locate::line_of(&text, &segs),
            &p.join("."),
            msg,
        )
    })?;
    Ok(Read {
        name,
        text,
        doc: canonical(doc),
    })
}

/// The file (of several) that says the most about `path`, and the line there.
fn locate(files: &[Read], path: &[&str]) -> (String, Option<usize>) {
    // The deepest match wins; among equals the later file (an override names it).
    let best = files
        .iter()
        .filter_map(|f| {
            let depth = (1..=path.len()).rev().find(|&n| {
                super::locate::line_of(&f.text, &path[..n]).is_some()
                    && f.doc_has(&path[..n.min(2)])
            })?;
            Some((depth, f))
        })
        .max_by_key(|(d, _)| *d);
    match best {
        Some((_, f)) => (f.name.clone(), super::locate::line_of(&f.text, path)),
        None => (
            files.last().map(|f| f.name.clone()).unwrap_or_default(),
            None,
        ),
    }
}

impl Read {
    fn doc_has(&self, path: &[&str]) -> bool {
        let mut v = &self.doc;
        for seg in path {
            match v.get(*seg) {
                Some(next) => v = next,
                None => return false,
            }
        }
        true
    }
}

fn located(files: &[Read], path: &[&str], message: String) -> ComposeError {
    let (file, line) = locate(files, path);
    ComposeError::Invalid(Located {
        file,
        line,
        key: path.join("."),
        message,
    })
}

/// The checked project, and the warnings to print (unknown keys, unset variables).
pub fn load(opts: &LoadOptions) -> Result<(Project, Vec<String>), ComposeError> {
    let cwd = std::env::current_dir().map_err(|source| ComposeError::Read {
        path: ".".into(),
        source,
    })?;
    let base = opts.project_directory.clone().map(|d| cwd.join(d));
    // COMPOSE_FILE: the files when no -f is given (separated by COMPOSE_PATH_SEPARATOR, ':').
    let from_env: Vec<PathBuf> = std::env::var("COMPOSE_FILE")
        .ok()
        .filter(|_| opts.files.is_empty())
        .map(|v| {
            let sep = std::env::var("COMPOSE_PATH_SEPARATOR").unwrap_or_else(|_| ":".into());
            v.split(sep.as_str())
                .filter(|f| !f.is_empty())
                .map(|f| cwd.join(f))
                .collect()
        })
        .unwrap_or_default();
    let files: Vec<PathBuf> = if !from_env.is_empty() {
        from_env
    } else if opts.files.is_empty() {
        vec![find_files(base.as_deref().unwrap_or(&cwd))?]
    } else {
        opts.files.iter().map(|f| cwd.join(f)).collect()
    };
    let dir = base.unwrap_or_else(|| files[0].parent().unwrap_or(&cwd).to_path_buf());
    let mut lookup = Lookup::default();
    let env_file = opts
        .env_file
        .clone()
        .map(|f| cwd.join(f))
        .unwrap_or_else(|| dir.join(".env"));
    if opts.env_file.is_some() || env_file.is_file() {
        lookup.vars = dotenv(&env_file)?;
    }
    lookup.vars.extend(std::env::vars());
    let read: Vec<Read> = files
        .iter()
        .map(|f| read_file(f, &mut lookup))
        .collect::<Result<_, _>>()?;
    let mut warnings: Vec<String> = lookup
        .unset
        .iter()
        .map(|v| format!("The \"{v}\" variable is not set. Defaulting to a blank string."))
        .collect();
    for f in &read {
        for u in super::keys::unread(&f.doc) {
            let segs: Vec<&str> = u.path.iter().map(String::as_str).collect();
            let line = super::locate::line_of(&f.text, &segs);
            let message = if u.in_spec {
                "is not supported by kiste".to_string()
            } else {
                "is not a compose key".to_string()
            };
            if opts.strict {
                return Err(ComposeError::invalid(
                    &f.name,
                    line,
                    &u.path.join("."),
                    format!("{message} (--strict)"),
                ));
            }
            let at = line.map(|l| format!(":{l}")).unwrap_or_default();
            warnings.push(format!(
                "{}{at}: {}: {message}, ignored",
                f.name,
                u.path.join(".")
            ));
        }
    }
    let merged = read
        .iter()
        .fold(Value::Mapping(Default::default()), |acc, f| {
            merge(acc, f.doc.clone(), "")
        });

    let name = match (
        &opts.project_name,
        lookup.get("COMPOSE_PROJECT_NAME"),
        merged.get("name").and_then(scalar_string),
    ) {
        (Some(n), _, _) => n.clone(),
        (None, Some(n), _) if !n.is_empty() => n.to_string(),
        (None, _, Some(n)) => n,
        _ => project_name_from_dir(&dir),
    };
    if !valid_project_name(&name) {
        return Err(ComposeError::ProjectName(name));
    }
    let mut project = Project {
        name,
        working_dir: dir.clone(),
        config_files: files,
        ..Project::default()
    };
    for (k, v) in entries(&merged, "networks") {
        project.networks.insert(
            k.clone(),
            NetworkSpec {
                driver: v.get("driver").and_then(scalar_string),
                external: external(v),
                name: v.get("name").and_then(scalar_string),
                labels: labels(v),
            },
        );
        if let Some(d) = project.networks[&k]
            .driver
            .as_deref()
            .filter(|d| *d != "bridge")
        {
            return Err(located(
                &read,
                &["networks", &k, "driver"],
                format!("driver {d:?} is not supported: kiste has the bridge driver only"),
            ));
        }
    }
    project.networks.entry("default".into()).or_default();
    for (k, v) in entries(&merged, "volumes") {
        project.volumes.insert(
            k,
            VolumeSpec {
                external: external(v),
                name: v.get("name").and_then(scalar_string),
                labels: labels(v),
            },
        );
    }
    let mut profiles = opts.profiles.clone();
    if let Some(p) = lookup.get("COMPOSE_PROFILES") {
        profiles.extend(p.split(',').filter(|p| !p.is_empty()).map(str::to_string));
    }
    for (k, v) in entries(&merged, "services") {
        let s = super::service::service(&k, v, &dir).map_err(|(p, msg)| {
            let mut path = vec!["services", k.as_str()];
            path.extend(p.iter().map(String::as_str));
            located(&read, &path, msg)
        })?;
        let active = s.profiles.is_empty()
            || s.profiles.iter().any(|p| profiles.contains(p) || p == "*")
            || profiles.iter().any(|p| p == "*")
            || opts.wanted.contains(&k);
        if active {
            project.services.insert(k, s);
        } else {
            project.disabled.insert(k, s);
        }
    }
    check(&project, &read)?;
    Ok((project, warnings))
}

fn entries<'a>(doc: &'a Value, key: &str) -> Vec<(String, &'a Value)> {
    doc.get(key)
        .and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (scalar_string(k).unwrap_or_default(), v))
                .collect()
        })
        .unwrap_or_default()
}

fn external(v: &Value) -> bool {
    match v.get("external") {
        Some(Value::Bool(b)) => *b,
        Some(Value::Mapping(_)) => true,
        _ => false,
    }
}

fn labels(v: &Value) -> BTreeMap<String, String> {
    super::merge::canonical_pairs(v.get("labels")).unwrap_or_default()
}

/// What compose checks across services: dependencies that exist (and are active), no
/// cycle, networks and named volumes that are declared.
fn check(p: &Project, read: &[Read]) -> Result<(), ComposeError> {
    for (name, s) in &p.services {
        for dep in s.depends_on.keys() {
            if p.disabled.contains_key(dep) {
                return Err(located(
                    read,
                    &["services", name, "depends_on", dep],
                    format!(
                        "service {name:?} depends on {dep:?}, which is disabled by its profiles"
                    ),
                ));
            }
            if !p.services.contains_key(dep) {
                return Err(located(
                    read,
                    &["services", name, "depends_on", dep],
                    format!("service {name:?} depends on undefined service {dep:?}"),
                ));
            }
        }
        for net in s.networks.keys() {
            if !p.networks.contains_key(net) {
                return Err(located(
                    read,
                    &["services", name, "networks", net],
                    format!("service {name:?} refers to undefined network {net:?}"),
                ));
            }
        }
        for (i, m) in s.volumes.iter().enumerate() {
            if let (super::MountKind::Volume, Some(v)) = (m.kind, &m.source) {
                if !p.volumes.contains_key(v) {
                    return Err(located(
                        read,
                        &["services", name, "volumes", &i.to_string()],
                        format!("service {name:?} refers to undefined volume {v:?}"),
                    ));
                }
            }
        }
    }
    super::order::start_order(&p.services).map_err(|cycle| {
        let first = cycle.split(" -> ").next().unwrap_or_default();
        located(
            read,
            &["services", first, "depends_on"],
            format!("dependency cycle detected: {cycle}"),
        )
    })?;
    Ok(())
}
