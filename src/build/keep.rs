//! `build --rm=false`: each RUN step's container stays behind, stopped, as with docker's
//! classic builder (BuildKit keeps none; neither does kiste by default). Like docker's, it
//! gets a generated name, its image is the state before the step (committed untagged, so
//! `images` hides it as intermediate, `images -a` shows it), its command is the step's
//! and its status `Exited (CODE)`; its writable layer holds the step's changes, so `diff`,
//! `cp`, `start` and `rm` work on it as on any container.

use crate::image::{ImageStore, LayerInfo};
use crate::paths::Paths;
use crate::state::{ContainerConfig, ContainerRecord, ContainerStatus, ContainerStore, Status};
use std::path::Path;

/// Where the kept container's changes come from.
pub(super) enum Changes<'a> {
    /// A failed step: its upper dir, moved as it is.
    Upper(&'a Path),
    /// A step that made a layer: the layer blob, unpacked again (the upper dir became the
    /// layer store's copy).
    Layer(&'a LayerInfo),
}

/// What the kept container ran, and the image before it.
pub(super) struct KeptStep {
    pub parent: (crate::image::config::ImageConfig, Vec<LayerInfo>),
    pub id: String,
    pub argv: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub user: String,
    pub started: String,
}

fn io_err(what: String) -> impl FnOnce(std::io::Error) -> String {
    move |e| format!("{what}: {e}")
}

/// Record the stopped container of `step`, on the image `parent` (config and layers).
pub(super) fn keep_container(
    paths: &Paths,
    images: &ImageStore,
    step: &KeptStep,
    code: i32,
    changes: Changes,
) -> Result<String, String> {
    let mut config = step.parent.0.clone();
    if config.created.is_none() {
        config.created = config.history.last().and_then(|h| h.created.clone());
    }
    let image = images
        .commit_image(&config, &step.parent.1, &[])
        .map_err(|e| format!("cannot store the intermediate image: {e}"))?;
    let store = ContainerStore::open(&paths.containers()).map_err(|e| e.to_string())?;
    let upper = paths.container_upper(&step.id);
    let dir = paths.container_dir(&step.id);
    crate::paths::make_dir(&dir, crate::paths::PRIVATE)
        .map_err(io_err(format!("cannot create {}", dir.display())))?;
    match changes {
        Changes::Upper(from) => std::fs::rename(from, &upper)
            .map_err(io_err(format!("cannot move {}", from.display())))?,
        Changes::Layer(layer) => {
            std::fs::create_dir(&upper)
                .map_err(io_err(format!("cannot create {}", upper.display())))?;
            let blob = images.blob_path(&layer.digest).map_err(|e| e.to_string())?;
            let file = std::fs::File::open(&blob)
                .map_err(io_err(format!("cannot open {}", blob.display())))?;
            crate::image::layer::unpack::unpack_layer(
                flate2::read::GzDecoder::new(std::io::BufReader::new(file)),
                &upper,
                &layer.diff_id,
                crate::image::layer::OverlayXattrs::for_current_user(),
            )
            .map_err(|e| e.to_string())?;
        }
    }
    let work = paths.container_work(&step.id);
    std::fs::create_dir_all(&work).map_err(io_err(format!("cannot create {}", work.display())))?;
    let short = image.id.trim_start_matches("sha256:")[..12].to_string();
    let mut rec = ContainerRecord {
        id: step.id.clone(),
        name: String::new(),
        created: step.started.clone(),
        config: ContainerConfig {
            image: short,
            image_id: image.id.clone(),
            entrypoint: Vec::new(),
            cmd: step.argv.clone(),
            env: step.env.clone(),
            working_dir: step.cwd.clone(),
            user: step.user.clone(),
            hostname: step.id[..12].to_string(),
            labels: config.config.labels.clone(),
            stop_signal: String::new(),
            stop_timeout: None,
            detached: true,
            host: Default::default(),
            create_command: Vec::new(),
            healthcheck: None,
            exposed_ports: Default::default(),
        },
        state: ContainerStatus {
            status: Status::Exited,
            exit_code: code,
            started_at: Some(step.started.clone()),
            finished_at: Some(crate::image::now_rfc3339()),
            ..ContainerStatus::default()
        },
    };
    let lock = store.lock().map_err(|e| e.to_string())?;
    store.create(&lock, &mut rec).map_err(|e| e.to_string())?;
    Ok(rec.name)
}

impl super::Builder<'_> {
    /// Keep the container of a RUN step that ended with `code` (`--rm=false`).
    pub(super) fn keep_step(
        &mut self,
        step: &KeptStep,
        code: i32,
        changes: Changes,
        line: usize,
    ) -> Result<(), super::BuildError> {
        // The intermediate image names, and the container is unpacked from, layer blobs
        // the build may still hold unsynced.
        self.store_pending()?;
        keep_container(self.paths, &self.images, step, code, changes)
            .map(|_| ())
            .map_err(|e| {
                self.at(
                    line,
                    format!("--rm=false: cannot keep the step's container: {e}"),
                )
            })
    }
}
