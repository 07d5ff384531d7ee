//! `generate kube`: the Kubernetes YAML (a Pod, with `-s` a Service) for containers of the
//! store, from their records and their images' configurations (see `kube::generate`).

use crate::cli::GenerateKubeArgs;
use crate::container::Containers;
use crate::image::ImageStore;
use crate::kube::generate::{pod, service, Source};
use crate::paths::Paths;
use anyhow::Context;

pub fn generate(paths: &Paths, args: GenerateKubeArgs) -> anyhow::Result<()> {
    let containers = Containers::open(paths)?;
    let images = ImageStore::open(&paths.images())?;
    let mut recs = Vec::new();
    for name in &args.containers {
        let rec = containers.get(name)?.rec;
        // The image's defaults are left out of the pod; a removed image leaves none out.
        let image = images
            .resolve(&rec.config.image_id)
            .map(|i| i.config.config)
            .unwrap_or_default();
        recs.push((rec, image));
    }
    let sources: Vec<Source> = recs
        .iter()
        .map(|(rec, image)| Source { rec, image })
        .collect();
    let (pod, warnings) = pod(&sources);
    for w in warnings {
        eprintln!("WARNING: {w}");
    }
    let mut docs = vec![serde_yaml::to_value(&pod)?];
    if args.service {
        docs.push(serde_yaml::to_value(service(&pod))?);
    }
    let text = crate::kube::to_yaml(&docs)?;
    match &args.filename {
        Some(file) => std::fs::write(file, text)
            .with_context(|| format!("cannot write {}", file.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}
