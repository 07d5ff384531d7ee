//! What a container mounts, typed: bind mounts of host paths, named and anonymous
//! volumes, tmpfs, as `-v`, `--mount`, `--tmpfs` and `--volumes-from` ask for them (and
//! the image's VOLUME entries). The parsers refuse bad input with docker's messages; the
//! record keeps the result, and the monitor and runtime mount it without parsing again.
//! Nothing here touches the host except `stat` of a bind source that must exist.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A mount refused, in docker's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MountError {
    #[error("invalid volume specification: '{0}'")]
    Spec(String),
    #[error("invalid volume specification: '{spec}': {reason}")]
    SpecReason { spec: String, reason: String },
    #[error("invalid spec: {0}: empty section between colons")]
    EmptySection(String),
    #[error("invalid mode: {0}")]
    Mode(String),
    #[error("invalid mount config for type \"{kind}\": {reason}")]
    Config { kind: String, reason: String },
    #[error("invalid argument \"{value}\" for \"{flag}\" flag: {reason}")]
    Flag {
        flag: &'static str,
        value: String,
        reason: String,
    },
    #[error("invalid mount path: '{0}' mount path must be absolute")]
    Relative(String),
    #[error(
        "create {0}: \"{0}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
    )]
    VolumeName(String),
    #[error("duplicate mount point: {0}")]
    Duplicate(String),
}

/// Mount propagation of a bind (docker's `bind-propagation`); docker's default is rprivate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Propagation {
    Private,
    #[default]
    Rprivate,
    Shared,
    Rshared,
    Slave,
    Rslave,
}

impl Propagation {
    pub fn parse(s: &str) -> Option<Propagation> {
        Some(match s {
            "private" => Propagation::Private,
            "rprivate" => Propagation::Rprivate,
            "shared" => Propagation::Shared,
            "rshared" => Propagation::Rshared,
            "slave" => Propagation::Slave,
            "rslave" => Propagation::Rslave,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Propagation::Private => "private",
            Propagation::Rprivate => "rprivate",
            Propagation::Shared => "shared",
            Propagation::Rshared => "rshared",
            Propagation::Slave => "slave",
            Propagation::Rslave => "rslave",
        }
    }
}

/// How `--mount type=volume` asks for its volume to be made (docker's volume-driver,
/// volume-label and volume-opt keys); empty for every other mount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeCreate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

impl VolumeCreate {
    pub fn is_empty(&self) -> bool {
        self.driver.is_none() && self.labels.is_empty() && self.options.is_empty()
    }
}

/// What is mounted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum MountSource {
    /// A host path. `create`: made (as a directory) at start when missing, as `-v` does.
    Bind {
        source: PathBuf,
        #[serde(default)]
        propagation: Propagation,
        #[serde(default)]
        create: bool,
    },
    /// A volume of the store; `anonymous` ones (a random name) go with `rm -v`.
    Volume {
        name: String,
        #[serde(default)]
        anonymous: bool,
        /// `volume-nocopy`: not filled from the image.
        #[serde(default)]
        nocopy: bool,
        /// `--mount`'s volume-driver, volume-label and volume-opt: how the volume is
        /// made when it does not exist yet.
        #[serde(default, skip_serializing_if = "VolumeCreate::is_empty")]
        create: VolumeCreate,
    },
    /// A tmpfs; `options` are mount options (`size=…`, `mode=…`, `exec`, …).
    Tmpfs {
        #[serde(default)]
        options: Vec<String>,
    },
}

/// Which flag asked for a mount (docker lists them apart: HostConfig.Binds, .Mounts, .Tmpfs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MountOrigin {
    #[default]
    Volume,
    Mount,
    Tmpfs,
    Image,
    VolumesFrom,
}

/// One mount of a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountConfig {
    #[serde(flatten)]
    pub source: MountSource,
    /// Absolute path inside the container.
    pub target: String,
    pub readonly: bool,
    #[serde(default)]
    pub origin: MountOrigin,
    /// docker's Mode as shown by inspect ("ro", "z", "" …).
    #[serde(default)]
    pub mode: String,
    /// The flag's value as given (HostConfig.Binds and .Tmpfs show it).
    #[serde(default)]
    pub spec: String,
}

impl MountConfig {
    /// docker's mount type name.
    pub fn kind(&self) -> &'static str {
        match self.source {
            MountSource::Bind { .. } => "bind",
            MountSource::Volume { .. } => "volume",
            MountSource::Tmpfs { .. } => "tmpfs",
        }
    }

    /// The volume's name, for a volume mount.
    pub fn volume_name(&self) -> Option<&str> {
        match &self.source {
            MountSource::Volume { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// `--volumes-from CONTAINER[:ro|rw]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumesFrom {
    pub container: String,
    /// None keeps each mount's own mode.
    pub readonly: Option<bool>,
}

impl VolumesFrom {
    pub fn parse(v: &str) -> Result<VolumesFrom, MountError> {
        let (container, readonly) = match v.rsplit_once(':') {
            Some((c, "ro")) => (c, Some(true)),
            Some((c, "rw")) => (c, Some(false)),
            Some((_, m)) => return Err(MountError::Mode(m.to_string())),
            None => (v, None),
        };
        Ok(VolumesFrom {
            container: container.to_string(),
            readonly,
        })
    }
}

/// A local volume name docker accepts: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn valid_volume_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && name.len() > 1
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// A fresh anonymous volume name: 64 hex digits, as docker's.
pub fn anonymous_volume_name() -> String {
    let mut b = [0u8; 32];
    // getrandom only fails without a kernel source of randomness; the time then serves.
    if getrandom::getrandom(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        b[..16].copy_from_slice(&t.to_le_bytes());
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn clean_target(t: &str) -> String {
    let parts: Vec<&str> = t
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// Checks a target path as docker does.
fn check_target(kind: &str, target: &str) -> Result<String, MountError> {
    if !target.starts_with('/') {
        return Err(MountError::Config {
            kind: kind.into(),
            reason: format!("invalid mount path: '{target}' mount path must be absolute"),
        });
    }
    let t = clean_target(target);
    if t == "/" {
        return Err(MountError::Config {
            kind: kind.into(),
            reason: "invalid specification: destination can't be '/'".into(),
        });
    }
    Ok(t)
}

/// `-v HOST:CTR[:OPTS]`, `-v NAME:CTR[:OPTS]` or `-v CTR` (anonymous). Options: `ro`,
/// `rw`, `z`, `Z`, a propagation mode, `nocopy`. A relative host path (`./dir`) is taken
/// from the current directory, as docker's CLI does.
pub fn parse_volume(spec: &str) -> Result<MountConfig, MountError> {
    let parts: Vec<&str> = spec.split(':').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(MountError::EmptySection(spec.to_string()));
    }
    let (src, dst, opts) = match parts.as_slice() {
        [d] => (None, *d, ""),
        [s, d] => (Some(*s), *d, ""),
        [s, d, o] => (Some(*s), *d, *o),
        _ => return Err(MountError::Spec(spec.to_string())),
    };
    let with_reason = |e: MountError| MountError::SpecReason {
        spec: spec.to_string(),
        reason: e.to_string(),
    };
    let mut readonly = false;
    let mut propagation = None;
    let mut nocopy = false;
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => readonly = true,
            "rw" => readonly = false,
            "z" | "Z" => {}
            "nocopy" => nocopy = true,
            p => match Propagation::parse(p) {
                Some(p) => propagation = Some(p),
                None => return Err(MountError::Mode(opts.to_string())),
            },
        }
    }
    let is_path = |s: &str| s.starts_with('/') || s.starts_with('.');
    let source = match src {
        Some(s) if is_path(s) => {
            let target = check_target("bind", dst).map_err(with_reason)?;
            let mut path = PathBuf::from(s);
            if path.is_relative() {
                if let Ok(cwd) = std::env::current_dir() {
                    path = cwd.join(path);
                }
            }
            if readonly && std::fs::symlink_metadata(&path).is_err() {
                // A read-only bind of nothing is a typo: refused rather than made empty.
                return Err(MountError::Config {
                    kind: "bind".into(),
                    reason: format!("bind source path does not exist: {}", path.display()),
                });
            }
            return Ok(MountConfig {
                source: MountSource::Bind {
                    source: path,
                    propagation: propagation.unwrap_or_default(),
                    create: true,
                },
                target,
                readonly,
                origin: MountOrigin::Volume,
                mode: opts.to_string(),
                spec: spec.to_string(),
            });
        }
        Some(name) => {
            if !valid_volume_name(name) {
                return Err(MountError::VolumeName(name.to_string()));
            }
            MountSource::Volume {
                name: name.to_string(),
                anonymous: false,
                nocopy,
                create: Default::default(),
            }
        }
        None => MountSource::Volume {
            name: anonymous_volume_name(),
            anonymous: true,
            nocopy,
            create: Default::default(),
        },
    };
    let target = check_target("volume", dst).map_err(with_reason)?;
    let named = src.is_some();
    Ok(MountConfig {
        source,
        target,
        readonly,
        origin: MountOrigin::Volume,
        // docker 20.10 shows "z" for a named volume given without options.
        mode: if opts.is_empty() && named {
            "z".into()
        } else {
            opts.to_string()
        },
        spec: if named {
            spec.to_string()
        } else {
            String::new()
        },
    })
}

/// `--tmpfs CTR[:OPTS]`.
pub fn parse_tmpfs(spec: &str) -> Result<MountConfig, MountError> {
    let (dst, opts) = spec.split_once(':').unwrap_or((spec, ""));
    if !dst.starts_with('/') {
        return Err(MountError::Relative(dst.to_string()));
    }
    let options: Vec<String> = opts
        .split(',')
        .filter(|o| !o.is_empty())
        .map(String::from)
        .collect();
    for o in &options {
        if let Some(size) = o.strip_prefix("size=") {
            tmpfs_size(size).map_err(|reason| MountError::Flag {
                flag: "--tmpfs",
                value: spec.to_string(),
                reason,
            })?;
        }
    }
    Ok(MountConfig {
        readonly: options.iter().any(|o| o == "ro"),
        source: MountSource::Tmpfs { options },
        target: check_target("tmpfs", dst)?,
        origin: MountOrigin::Tmpfs,
        mode: String::new(),
        spec: opts.to_string(),
    })
}

/// A tmpfs size: bytes, or with docker's k/m/g suffix (kernel `size=` takes the same).
fn tmpfs_size(v: &str) -> Result<u64, String> {
    super::parse_size("--tmpfs", v)
        .map(|b| b as u64)
        .map_err(|e| e.reason)
}

/// `--mount type=bind|volume|tmpfs,source=…,target=…,readonly,…` (keys as docker's
/// CLI takes them, with its aliases `src`, `dst`, `destination`, `ro`).
pub fn parse_mount(spec: &str) -> Result<MountConfig, MountError> {
    let flag_err = |reason: String| MountError::Flag {
        flag: "--mount",
        value: spec.to_string(),
        reason,
    };
    let mut kind = "volume".to_string();
    let (mut source, mut target) = (None::<String>, None::<String>);
    let mut readonly = false;
    let mut propagation = None;
    let mut nocopy = false;
    let mut tmpfs = Vec::new();
    let mut volume = VolumeCreate::default();
    for field in spec.split(',').filter(|f| !f.is_empty()) {
        let (k, v) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v)),
            None => (field.to_ascii_lowercase(), None),
        };
        let bool_value = |v: Option<&str>| match v {
            None | Some("1" | "true" | "True" | "TRUE") => Ok(true),
            Some("0" | "false" | "False" | "FALSE") => Ok(false),
            Some(other) => Err(flag_err(format!("invalid value for {k}: {other}"))),
        };
        let need = |v: Option<&str>| {
            v.map(String::from).ok_or_else(|| {
                flag_err(format!("invalid field '{field}' must be a key=value pair"))
            })
        };
        match k.as_str() {
            "type" => kind = need(v)?,
            "source" | "src" => source = Some(need(v)?),
            "target" | "dst" | "destination" => target = Some(need(v)?),
            "readonly" | "ro" => readonly = bool_value(v)?,
            "bind-propagation" => {
                let p = need(v)?;
                propagation = Some(Propagation::parse(&p).ok_or_else(|| MountError::Config {
                    kind: "bind".into(),
                    reason: format!("invalid propagation mode: {p}"),
                })?);
            }
            "volume-nocopy" => nocopy = bool_value(v)?,
            "tmpfs-size" => {
                let s = need(v)?;
                let b =
                    tmpfs_size(&s).map_err(|_| flag_err(format!("invalid value for {k}: {s}")))?;
                tmpfs.push(format!("size={b}"));
            }
            "tmpfs-mode" => {
                let s = need(v)?;
                let m = u32::from_str_radix(&s, 8)
                    .map_err(|_| flag_err(format!("invalid value for {k}: {s}")))?;
                tmpfs.push(format!("mode={m:o}"));
            }
            // docker takes it on Linux and does nothing with it either.
            "consistency" => {}
            // Whether the driver exists is the store's business (a plugin's name works):
            // `run`/`create` check it before anything is made.
            "volume-driver" => volume.driver = Some(need(v)?),
            "volume-label" | "volume-opt" => {
                let pair = need(v)?;
                let (key, value) = pair.split_once('=').unwrap_or((pair.as_str(), ""));
                if key.is_empty() {
                    return Err(flag_err(format!("invalid value for {k}: {pair}")));
                }
                let map = if k == "volume-label" {
                    &mut volume.labels
                } else {
                    &mut volume.options
                };
                map.insert(key.to_string(), value.to_string());
            }
            "bind-nonrecursive" => {
                return Err(flag_err(format!("{k} is not supported by kiste")));
            }
            _ => return Err(flag_err(format!("unexpected key '{k}' in '{field}'"))),
        }
    }
    let Some(target) = target else {
        return Err(flag_err("target is required".into()));
    };
    let config_err = |reason: &str| MountError::Config {
        kind: kind.clone(),
        reason: reason.into(),
    };
    let target = check_target(&kind, &target)?;
    let source = match kind.as_str() {
        k if k != "volume" && !volume.is_empty() => {
            return Err(flag_err(format!(
                "cannot mix 'volume-*' options with mount type '{k}'"
            )));
        }
        "bind" => {
            let Some(src) = source.filter(|s| !s.is_empty()) else {
                return Err(config_err("field Source must not be empty"));
            };
            if !src.starts_with('/') {
                return Err(config_err(&format!(
                    "invalid mount path: '{src}' mount path must be absolute"
                )));
            }
            if std::fs::symlink_metadata(&src).is_err() {
                return Err(config_err(&format!(
                    "bind source path does not exist: {src}"
                )));
            }
            MountSource::Bind {
                source: PathBuf::from(src),
                propagation: propagation.unwrap_or_default(),
                create: false,
            }
        }
        "volume" => match source.filter(|s| !s.is_empty()) {
            Some(name) if !valid_volume_name(&name) => {
                return Err(MountError::VolumeName(name));
            }
            Some(name) => MountSource::Volume {
                name,
                anonymous: false,
                nocopy,
                create: volume,
            },
            None => MountSource::Volume {
                name: anonymous_volume_name(),
                anonymous: true,
                nocopy,
                create: volume,
            },
        },
        "tmpfs" => {
            if source.is_some_and(|s| !s.is_empty()) {
                return Err(config_err("field Source must be empty"));
            }
            MountSource::Tmpfs { options: tmpfs }
        }
        _ => return Err(config_err("mount type unknown")),
    };
    Ok(MountConfig {
        source,
        target,
        readonly,
        origin: MountOrigin::Mount,
        mode: String::new(),
        spec: spec.to_string(),
    })
}

/// Two mounts on one target are refused, as docker does.
pub fn check_duplicates(mounts: &[MountConfig]) -> Result<(), MountError> {
    let mut seen = std::collections::BTreeSet::new();
    for m in mounts {
        if !seen.insert(m.target.as_str()) {
            return Err(MountError::Duplicate(m.target.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "mounts_tests.rs"]
mod tests;
