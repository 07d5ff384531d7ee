//! `manifest create|add|annotate|inspect|push|rm`: multi-platform lists made from images
//! in a registry, kept in the store until pushed, as docker's CLI does (and podman's
//! `add`). Prints what docker prints: "Created manifest list NAME", the pushed list's
//! digest, JSON for `inspect` as docker prints it (lists by three spaces, images by tabs).

use super::failures::Failures;
use super::Exit;
use crate::cli::{
    check_platform, ManifestAddArgs, ManifestAnnotateArgs, ManifestCommand, ManifestCreateArgs,
    ManifestInspectArgs, ManifestPushArgs, ManifestRmArgs, PlatformChange,
};
use crate::image::Reference;
use crate::paths::Paths;
use crate::registry::list_store::{ListStore, LocalList};
use crate::registry::lists::{self, ListEntry, ManifestList, Remote};
use crate::registry::RegistryError;
use serde::Serialize;
use serde_json::json;

pub fn manifest_command(paths: &Paths, c: ManifestCommand) -> anyhow::Result<()> {
    let store = ListStore::open(&paths.root.join("manifests"))?;
    match c {
        ManifestCommand::Create(a) => create(&store, a),
        ManifestCommand::Add(a) => add(&store, a),
        ManifestCommand::Annotate(a) => annotate(&store, a),
        ManifestCommand::Inspect(a) => inspect(&store, a),
        ManifestCommand::Push(a) => push(&store, a),
        ManifestCommand::Rm(a) => rm(&store, a),
    }
}

/// A reference as the store names lists (`127.0.0.1:5000/app:latest`).
fn normalize(input: &str) -> anyhow::Result<Reference> {
    Reference::parse(input).map_err(|e| fail(125, e.to_string()))
}

fn fail(code: i32, message: String) -> anyhow::Error {
    Exit { code, message }.into()
}

fn no_such(name: &str) -> anyhow::Error {
    fail(1, format!("No such manifest: {name}"))
}

/// The registry's error, on one line, for `what`.
fn remote(what: &str) -> impl Fn(RegistryError) -> anyhow::Error + '_ {
    move |e| fail(1, format!("{what}: {e}"))
}

/// The entry for image `input`, read from its registry.
fn image_entry(input: &str, insecure: bool) -> anyhow::Result<ListEntry> {
    let r = normalize(input)?;
    match lists::fetch(&r, !insecure).map_err(remote(input))? {
        Remote::Image { entry, .. } => Ok(*entry),
        Remote::List { .. } => Err(fail(1, format!("{r} is a manifest list"))),
    }
}

/// Adds `entry`, replacing an entry for the same image.
fn put_entry(list: &mut LocalList, entry: ListEntry) {
    list.entries
        .retain(|e| e.descriptor.digest != entry.descriptor.digest);
    list.entries.push(entry);
}

fn create(store: &ListStore, a: ManifestCreateArgs) -> anyhow::Result<()> {
    let name = normalize(&a.list)?.to_string();
    let lock = store.lock()?;
    let mut list = match store.load(&name)? {
        Some(_) if !a.amend => {
            return Err(fail(
                1,
                "refusing to amend an existing manifest list with no --amend flag".into(),
            ))
        }
        Some(l) => l,
        None => LocalList {
            name: name.clone(),
            entries: Vec::new(),
        },
    };
    for image in &a.images {
        put_entry(&mut list, image_entry(image, a.insecure)?);
    }
    store.save(&lock, &list)?;
    println!("Created manifest list {name}");
    Ok(())
}

/// Lays `change` over an entry's platform and checks the result as docker does.
fn change_platform(entry: &mut ListEntry, change: &PlatformChange) -> anyhow::Result<()> {
    let p = &mut entry.descriptor.platform;
    let set = |v: &Option<String>, to: &mut String| {
        if let Some(v) = v {
            *to = v.clone();
        }
    };
    set(&change.os, &mut p.os);
    set(&change.arch, &mut p.architecture);
    set(&change.variant, &mut p.variant);
    set(&change.os_version, &mut p.os_version);
    // docker's annotate adds each feature that is not there yet (it never removes one).
    for f in change.os_features.iter().flatten() {
        if !p.os_features.contains(f) {
            p.os_features.push(f.clone());
        }
    }
    if let Some(f) = &change.features {
        p.features = f.clone();
    }
    check_platform(&p.os, &p.architecture).map_err(|e| fail(125, e.to_string()))
}

fn add(store: &ListStore, a: ManifestAddArgs) -> anyhow::Result<()> {
    let name = normalize(&a.list)?.to_string();
    let change = a.platform.to_change(&a.features);
    let lock = store.lock()?;
    let mut list = store.load(&name)?.ok_or_else(|| no_such(&name))?;
    let mut entry = image_entry(&a.image, a.insecure)?;
    change_platform(&mut entry, &change)?;
    let digest = entry.descriptor.digest.clone();
    put_entry(&mut list, entry);
    store.save(&lock, &list)?;
    println!("{digest}");
    Ok(())
}

fn annotate(store: &ListStore, a: ManifestAnnotateArgs) -> anyhow::Result<()> {
    let name = normalize(&a.list)?.to_string();
    let image = normalize(&a.image)?;
    let change = a.platform.to_change(&[]);
    let lock = store.lock()?;
    let mut list = store.load(&name)?.ok_or_else(|| no_such(&name))?;
    let entry = list
        .entries
        .iter_mut()
        .find(|e| {
            e.source == image.to_string() || Some(&e.descriptor.digest) == image.digest.as_ref()
        })
        .ok_or_else(|| {
            fail(
                1,
                format!("manifest for image {image} does not exist in {name}"),
            )
        })?;
    change_platform(entry, &change)?;
    store.save(&lock, &list)?;
    Ok(())
}

/// JSON as docker's `manifest inspect` prints an image (indented by tabs).
fn print_json(v: &impl Serialize) -> anyhow::Result<()> {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    v.serialize(&mut ser)?;
    println!("{}", String::from_utf8(out)?);
    Ok(())
}

/// A list as docker prints it: its serialized form, indented by three spaces.
fn print_list(list: &ManifestList) -> anyhow::Result<()> {
    println!("{}", String::from_utf8(lists::list_bytes(list))?);
    Ok(())
}

/// An image manifest in docker's field order (its `distribution.Descriptor`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageManifest {
    schema_version: u32,
    media_type: String,
    config: Descriptor,
    layers: Vec<Descriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: String,
    size: u64,
    digest: String,
}

fn image_manifest(m: &crate::image::config::Manifest, media_type: &str) -> ImageManifest {
    let d = |d: &crate::image::config::Descriptor| Descriptor {
        media_type: d.media_type.clone(),
        size: d.size,
        digest: d.digest.clone(),
    };
    ImageManifest {
        schema_version: m.schema_version,
        media_type: media_type.to_string(),
        config: d(&m.config),
        layers: m.layers.iter().map(d).collect(),
    }
}

fn inspect(store: &ListStore, a: ManifestInspectArgs) -> anyhow::Result<()> {
    if let [list, image] = a.refs.as_slice() {
        let name = normalize(list)?.to_string();
        let image = normalize(image)?.to_string();
        let list = store.load(&name)?.ok_or_else(|| no_such(&name))?;
        let entry = list
            .entries
            .iter()
            .find(|e| e.source == image)
            .ok_or_else(|| {
                fail(
                    1,
                    format!("manifest for image {image} does not exist in {name}"),
                )
            })?;
        return print_json(&json!({"Ref": entry.source, "Descriptor": entry.descriptor}));
    }
    let r = normalize(&a.refs[0])?;
    if let Some(list) = store.load(&r.to_string())? {
        if a.verbose {
            let all: Vec<serde_json::Value> = list
                .entries
                .iter()
                .map(|e| json!({"Ref": e.source, "Descriptor": e.descriptor}))
                .collect();
            return print_json(&all);
        }
        return print_list(&lists::to_list(&list.entries));
    }
    match lists::fetch(&r, !a.insecure).map_err(remote(&a.refs[0]))? {
        Remote::List { bytes, .. } => {
            let list: ManifestList = serde_json::from_slice(&bytes)?;
            print_list(&list)
        }
        Remote::Image {
            manifest, entry, ..
        } => {
            let m = image_manifest(&manifest, &entry.descriptor.media_type);
            if !a.verbose {
                return print_json(&m);
            }
            let key = if entry.descriptor.media_type == crate::registry::lists::OCI_MANIFEST_TYPE {
                "OCIManifest"
            } else {
                "SchemaV2Manifest"
            };
            print_json(&json!({
                "Ref": entry.source,
                "Descriptor": entry.descriptor,
                key: m,
            }))
        }
    }
}

fn push(store: &ListStore, a: ManifestPushArgs) -> anyhow::Result<()> {
    let name = normalize(&a.list)?.to_string();
    let list = store.load(&name)?.ok_or_else(|| no_such(&name))?;
    let dest = normalize(a.dest.as_deref().unwrap_or(&name))?;
    let pushed = lists::push_list(&list.entries, &dest, !a.insecure).map_err(remote(&a.list))?;
    if a.purge {
        let lock = store.lock()?;
        store.remove(&lock, &name)?;
    }
    // docker's lines: each image linked into the list's repository, then the digest.
    for d in &pushed.linked {
        println!("Pushed ref {}@{d} with digest: {d}", dest.name);
    }
    println!("{}", pushed.digest);
    Ok(())
}

fn rm(store: &ListStore, a: ManifestRmArgs) -> anyhow::Result<()> {
    let lock = store.lock()?;
    let mut failed = Failures::default();
    for l in &a.lists {
        let name = normalize(l)?.to_string();
        if !store.remove(&lock, &name)? {
            failed.report(format_args!("Error: No such manifest: {name}"));
        }
    }
    failed.finish()
}
