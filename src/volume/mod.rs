//! Named and anonymous volumes: `<root>/volumes/<name>/_data` holds the content and
//! `<root>/volumes/<name>/volume.json` docker's record (Name, Driver, Mountpoint,
//! CreatedAt, Labels, Options, Scope). Every change happens under `<root>/volumes/lock`;
//! a volume appears by renaming a complete temp dir into place, so a killed kiste never
//! leaves half a volume. Which containers use a volume is read from their records. This
//! module mounts nothing: the runtime binds `_data`; `copy` fills a new volume from the
//! image.

mod copy;
mod device;
pub mod plugin;
mod start;

pub use copy::{copy_children, copy_entry, fill_from_image, Ownership};
pub use device::{check_options, release_devices, DeviceMount};
pub use start::runtime_mounts;

use crate::paths::Paths;
use crate::state::{ContainerRecord, ContainerStore, StateError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

const RECORD: &str = "volume.json";
const DATA: &str = "_data";

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("get {0}: no such volume")]
    NotFound(String),
    #[error("remove {name}: volume is in use - [{}]", users.join(", "))]
    InUse { name: String, users: Vec<String> },
    #[error(
        "create {0}: \"{0}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed"
    )]
    InvalidName(String),
    #[error("volume store {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("volume record {path} is corrupt: {source}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    State(#[from] StateError),
    /// `--opt`s docker's local driver refuses.
    #[error("create {name}: {reason}")]
    Options { name: String, reason: String },
    /// A volume plugin refused, or could not be reached.
    #[error("{0}")]
    Plugin(String),
    /// The volume's file system could not be mounted at start.
    #[error("error while mounting volume '{}': failed to mount local volume: {reason}", path.display())]
    Mount { path: PathBuf, reason: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> VolumeError + '_ {
    move |source| VolumeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A volume as docker's `volume inspect` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    pub created_at: String,
    pub driver: String,
    pub labels: BTreeMap<String, String>,
    pub mountpoint: PathBuf,
    pub name: String,
    /// docker shows null when no --opt was given.
    pub options: Option<BTreeMap<String, String>>,
    pub scope: String,
    /// A plugin volume's Status (what its driver's Get says), shown by `inspect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The label docker (23+) puts on a volume made for one container (`-v /path`, an image
/// VOLUME): `rm -v` and `prune` without `-a` remove only these.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

impl Volume {
    pub fn is_anonymous(&self) -> bool {
        self.labels.contains_key(ANONYMOUS_LABEL)
    }
}

/// The volumes of one kiste root.
pub struct VolumeStore {
    dir: PathBuf,
    paths: Paths,
    containers: PathBuf,
    events: crate::events::Journal,
}

/// Held while volumes are created or removed.
pub struct VolumeLock {
    _file: File,
}

impl VolumeStore {
    pub fn open(paths: &Paths) -> Result<VolumeStore, VolumeError> {
        let dir = paths.root.join("volumes");
        if !dir.is_dir() {
            crate::paths::make_dir(&dir, crate::paths::TRAVERSE).map_err(io(&dir))?;
        }
        Ok(VolumeStore {
            dir,
            paths: paths.clone(),
            containers: paths.containers(),
            events: crate::events::Journal::of(paths),
        })
    }

    pub fn lock(&self) -> Result<VolumeLock, VolumeError> {
        let path = self.dir.join("lock");
        let file = crate::lock::lock_exclusive(&path).map_err(io(&path))?;
        Ok(VolumeLock { _file: file })
    }

    /// Where the volume's content lives.
    pub fn data_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name).join(DATA)
    }

    pub fn get(&self, name: &str) -> Result<Volume, VolumeError> {
        if !crate::config::valid_volume_name(name) {
            return Err(VolumeError::NotFound(name.to_string()));
        }
        let path = self.dir.join(name).join(RECORD);
        let data = match fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(VolumeError::NotFound(name.to_string()))
            }
            Err(e) => return Err(io(&path)(e)),
        };
        serde_json::from_slice(&data).map_err(|source| VolumeError::Corrupt { path, source })
    }

    /// Every volume, by name.
    pub fn list(&self) -> Result<Vec<Volume>, VolumeError> {
        let mut out = Vec::new();
        for e in fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let e = e.map_err(io(&self.dir))?;
            let Some(name) = e.file_name().to_str().map(String::from) else {
                continue;
            };
            if name.starts_with('.') || name == "lock" {
                continue;
            }
            match self.get(&name) {
                Ok(v) => out.push(v),
                Err(VolumeError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        crate::sort::sort_by(&mut out, |a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Creates volume `name` (an existing one is returned as it is, as docker does).
    pub fn create(
        &self,
        _lock: &VolumeLock,
        name: &str,
        labels: BTreeMap<String, String>,
        options: Option<BTreeMap<String, String>>,
        anonymous: bool,
    ) -> Result<Volume, VolumeError> {
        if !crate::config::valid_volume_name(name) {
            return Err(VolumeError::InvalidName(name.to_string()));
        }
        if let Some(opts) = &options {
            check_options(name, opts)?;
        }
        match self.get(name) {
            // docker records a `create` for every create, of a volume that exists too.
            Ok(v) => return Ok(self.created(v)),
            Err(VolumeError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let final_dir = self.dir.join(name);
        let tmp = self.dir.join(format!(".tmp-{name}"));
        let _ = fs::remove_dir_all(&tmp);
        let _ = fs::remove_dir_all(&final_dir);
        let mut labels = labels;
        if anonymous {
            labels.insert(ANONYMOUS_LABEL.to_string(), String::new());
        }
        let vol = Volume {
            created_at: crate::time::format_rfc3339(crate::time::now_unix() as i64, 0),
            driver: "local".into(),
            labels,
            mountpoint: final_dir.join(DATA),
            name: name.to_string(),
            options,
            scope: "local".into(),
            status: None,
        };
        (|| {
            fs::create_dir(&tmp)?;
            fs::create_dir(tmp.join(DATA))?;
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(tmp.join(DATA), fs::Permissions::from_mode(0o755))?;
            let record = serde_json::to_vec_pretty(&vol).map_err(std::io::Error::other)?;
            crate::paths::write_atomic(&tmp.join(RECORD), &record, &Default::default())?;
            fs::rename(&tmp, &final_dir)?;
            crate::paths::sync_dir(&self.dir)
        })()
        .map_err(io(&final_dir))?;
        Ok(self.created(vol))
    }

    fn created(&self, vol: Volume) -> Volume {
        let event = crate::events::Event::volume("create", &vol.name, &vol.driver);
        crate::events::emit_to(&self.events, event);
        vol
    }

    /// The containers (any state) whose mounts name the volume: their ids.
    pub fn users(&self, name: &str) -> Result<Vec<String>, VolumeError> {
        Ok(self
            .containers()?
            .iter()
            .filter(|r| uses(r, name))
            .map(|r| r.id.clone())
            .collect())
    }

    fn containers(&self) -> Result<Vec<ContainerRecord>, VolumeError> {
        Ok(ContainerStore::open(&self.containers)?.list()?)
    }

    /// Removes the volume; one that any container (running or not) names is refused, as
    /// docker refuses it, even with `-f`.
    pub fn remove(&self, lock: &VolumeLock, name: &str) -> Result<(), VolumeError> {
        self.get(name)?;
        let users = self.users(name)?;
        if !users.is_empty() {
            return Err(VolumeError::InUse {
                name: name.to_string(),
                users,
            });
        }
        self.remove_unchecked(lock, name)
    }

    fn remove_unchecked(&self, _lock: &VolumeLock, name: &str) -> Result<(), VolumeError> {
        let vol = self.get(name)?;
        if vol.driver != "local" {
            plugin::remove(&self.paths, &vol)?;
        }
        // A device left mounted (its last container's kiste was killed) is unmounted
        // first: deleting the content must never reach a bound host directory.
        self.unmount_device(name)?;
        let dir = self.dir.join(name);
        // Renamed away first: the volume is gone at once, even if deleting its content is
        // interrupted (the next prune of leftovers finds a dot name nobody lists).
        let gone = self.dir.join(format!(".rm-{name}"));
        let _ = fs::remove_dir_all(&gone);
        fs::rename(&dir, &gone).map_err(io(&dir))?;
        crate::events::emit_to(
            &self.events,
            crate::events::Event::volume("destroy", name, &vol.driver),
        );
        fs::remove_dir_all(&gone).map_err(io(&gone))
    }

    /// Volumes no container uses (for `prune`, and `dangling=true`).
    pub fn unused(&self) -> Result<Vec<Volume>, VolumeError> {
        let recs = self.containers()?;
        Ok(self
            .list()?
            .into_iter()
            .filter(|v| !recs.iter().any(|r| uses(r, &v.name)))
            .collect())
    }

    /// `prune`: removes unused volumes (anonymous ones only, unless `all`); their names
    /// and the bytes their files held.
    pub fn prune(
        &self,
        lock: &VolumeLock,
        all: bool,
        keep: impl Fn(&Volume) -> bool,
    ) -> Result<(Vec<String>, u64), VolumeError> {
        let mut removed = Vec::new();
        let mut bytes = 0;
        for v in self.unused()? {
            if (all || v.is_anonymous()) && !keep(&v) {
                bytes += self.size(&v.name);
                self.remove_unchecked(lock, &v.name)?;
                removed.push(v.name);
            }
        }
        Ok((removed, bytes))
    }

    /// The bytes of the regular files in a volume (what removing it gives back), read
    /// through `crate::fs` as the content is the containers'. Unreadable parts count 0.
    pub fn size(&self, name: &str) -> u64 {
        fn walk(dir: &crate::fs::Dir) -> u64 {
            let Ok(names) = dir.names() else { return 0 };
            let mut total = 0;
            for n in names {
                let Ok(c) = crate::fs::confined::name_cstring(&n) else {
                    continue;
                };
                match dir.lstat(&c) {
                    Ok(st) if st.is_dir() => total += dir.subdir(&c).map_or(0, |d| walk(&d)),
                    Ok(st) if st.is_file() => total += st.size(),
                    _ => {}
                }
            }
            total
        }
        crate::fs::Root::open(&self.data_dir(name))
            .and_then(|r| r.dir(""))
            .map_or(0, |d| walk(&d))
    }

    /// The container's anonymous volumes (`rm -v`, `run --rm`), unless another
    /// container uses them too. Errors are reported, not fatal: the container is gone.
    pub fn remove_anonymous(&self, rec_mounts: &[crate::config::MountConfig]) {
        let names: Vec<&str> = rec_mounts
            .iter()
            .filter_map(|m| match &m.source {
                crate::config::MountSource::Volume {
                    name,
                    anonymous: true,
                    ..
                } if m.origin != crate::config::MountOrigin::VolumesFrom => Some(name.as_str()),
                _ => None,
            })
            .collect();
        if names.is_empty() {
            return;
        }
        let Ok(lock) = self.lock() else { return };
        for n in names {
            match self.remove(&lock, n) {
                Ok(()) | Err(VolumeError::NotFound(_)) | Err(VolumeError::InUse { .. }) => {}
                Err(e) => eprintln!("WARNING: {e}"),
            }
        }
    }
}

fn uses(rec: &ContainerRecord, name: &str) -> bool {
    rec.config
        .host
        .mounts
        .iter()
        .any(|m| m.volume_name() == Some(name))
}
