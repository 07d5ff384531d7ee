//! docker's event stream without a daemon: every kiste process that changes the store
//! appends one [`Event`] (docker's `events.Message`, as JSON on one line) to a journal in
//! the runroot, and `kiste events` replays and follows that journal. The journal lives on
//! the volatile side, as docker's events live in the daemon's memory and podman's events
//! file in its tmpdir: an append costs no disk I/O, and events do not outlive a reboot
//! that took their containers with it. This module writes and reads events; it never
//! decides when something happened (the lifecycle code calls [`emit`]).

mod filter;
mod follow;
mod journal;
mod when;

pub use filter::{EventFilter, FilterError};
pub use follow::{follow, Follow, FollowError};
pub use journal::{append, read_all, Journal, ROTATE_AT};
pub use when::{parse_time, TimeError};

use crate::paths::Paths;
use crate::state::ContainerRecord;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The object an event is about: its id and docker's attributes (name, image, exitCode…).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Actor {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Attributes", default)]
    pub attributes: BTreeMap<String, String>,
}

/// docker's `events.Message`, with the legacy `status`/`id`/`from` fields dockerd 20.10
/// still sends for container and image events. Serialized as docker's JSON.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Actor")]
    pub actor: Actor,
    pub scope: String,
    pub time: i64,
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
}

impl Event {
    /// An event of `kind` about `id`, stamped now.
    pub fn new(kind: &str, action: &str, id: &str) -> Event {
        let now = jiff::Timestamp::now().as_nanosecond() as i64;
        let legacy = matches!(kind, "container" | "image");
        Event {
            status: legacy.then(|| action.to_string()),
            id: legacy.then(|| id.to_string()),
            from: None,
            kind: kind.to_string(),
            action: action.to_string(),
            actor: Actor {
                id: id.to_string(),
                attributes: BTreeMap::new(),
            },
            scope: "local".to_string(),
            time: now.div_euclid(1_000_000_000),
            time_nano: now,
        }
    }

    /// A container event: docker's attributes are the container's labels, its image as
    /// the user named it and its name.
    pub fn container(rec: &ContainerRecord, action: &str) -> Event {
        let mut e = Event::new("container", action, &rec.id);
        e.from = Some(rec.config.image.clone());
        e.actor.attributes = rec.config.labels.clone();
        e.actor
            .attributes
            .insert("image".into(), rec.config.image.clone());
        e.actor.attributes.insert("name".into(), rec.name.clone());
        e
    }

    /// An image event: the image's id (or, for pull and push, the reference) and a name.
    pub fn image(action: &str, id: &str, name: &str) -> Event {
        Event::new("image", action, id).with("name", name)
    }

    /// A network event: the network's id, name and driver (docker's `type`).
    pub fn network(action: &str, id: &str, name: &str, driver: &str) -> Event {
        Event::new("network", action, id)
            .with("name", name)
            .with("type", driver)
    }

    /// A volume event: the volume's name and driver.
    pub fn volume(action: &str, name: &str, driver: &str) -> Event {
        Event::new("volume", action, name).with("driver", driver)
    }

    /// The same event with one more attribute.
    pub fn with(mut self, key: &str, value: impl ToString) -> Event {
        self.actor.attributes.insert(key.into(), value.to_string());
        self
    }

    /// docker's text line: `TIME TYPE ACTION ID (k=v, …)`, the time in RFC 3339 with
    /// nanoseconds as Go prints it (trailing zeros dropped), in the local zone.
    pub fn text(&self) -> String {
        let mut s = format!(
            "{} {} {} {}",
            go_rfc3339_nano(self.time_nano),
            self.kind,
            self.action,
            self.actor.id
        );
        if !self.actor.attributes.is_empty() {
            let attrs: Vec<String> = self
                .actor
                .attributes
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            s.push_str(&format!(" ({})", attrs.join(", ")));
        }
        s
    }

    /// The event as docker's `--format` templates see it: Go's field names.
    pub fn template_data(&self) -> serde_json::Value {
        serde_json::json!({
            "Status": self.status.clone().unwrap_or_default(),
            "ID": self.id.clone().unwrap_or_default(),
            "From": self.from.clone().unwrap_or_default(),
            "Type": self.kind,
            "Action": self.action,
            "Actor": {"ID": self.actor.id, "Attributes": self.actor.attributes},
            "Scope": self.scope,
            "Time": self.time,
            "TimeNano": self.time_nano,
        })
    }
}

/// Go's `time.Unix(0, ns).Format(time.RFC3339Nano)` in the local zone.
fn go_rfc3339_nano(ns: i64) -> String {
    let Ok(t) = jiff::Timestamp::from_nanosecond(ns as i128) else {
        return ns.to_string();
    };
    let offset = jiff::tz::TimeZone::system().to_offset(t);
    let mut s = offset
        .to_datetime(t)
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let frac = format!("{:09}", t.subsec_nanosecond());
    let frac = frac.trim_end_matches('0');
    if !frac.is_empty() {
        s.push('.');
        s.push_str(frac);
    }
    let off = offset.seconds();
    if off == 0 {
        s.push('Z');
    } else {
        let a = off.abs();
        s.push_str(&format!(
            "{}{:02}:{:02}",
            if off < 0 { '-' } else { '+' },
            a / 3600,
            a % 3600 / 60
        ));
    }
    s
}

/// Append `event` to the store's journal. Events are a record of what happened, not a
/// part of it: a journal that cannot be written never fails the action (it is logged).
pub fn emit(paths: &Paths, event: Event) {
    emit_to(&Journal::of(paths), event);
}

/// As [`emit`], for code that holds the journal rather than the store's paths.
pub fn emit_to(journal: &Journal, event: Event) {
    if let Err(e) = append(journal, &event) {
        crate::log_debug!("cannot record the {} event: {e}", event.action);
    }
}

/// Emit `action` for the container `rec` (the common one-line form).
pub fn container(paths: &Paths, rec: &ContainerRecord, action: &str) {
    emit(paths, Event::container(rec, action));
}

/// The container's process ended: `oom` first when the kernel killed it for memory,
/// then `die` with its exit code (written by its monitor).
pub fn died(paths: &Paths, rec: &ContainerRecord, code: i32, oom: bool) {
    if oom {
        container(paths, rec, "oom");
    }
    emit(paths, Event::container(rec, "die").with("exitCode", code));
}

/// `run` without `-d`: the command line is attached to the container (docker's
/// `attach`, right after `create`).
pub fn attached(paths: &Paths, rec: &ContainerRecord, attached: bool) {
    if attached {
        container(paths, rec, "attach");
    }
}

/// A signal sent to the container's process (docker's `kill`, also for `stop`'s).
pub fn killed(paths: &Paths, rec: &ContainerRecord, signal: i32) {
    emit(paths, Event::container(rec, "kill").with("signal", signal));
}

/// `rename`: docker names the old name with its leading slash.
pub fn renamed(paths: &Paths, rec: &ContainerRecord, new_name: &str) {
    let old = format!("/{}", rec.name);
    let mut e = Event::container(rec, "rename").with("oldName", old);
    e.actor.attributes.insert("name".into(), new_name.into());
    emit(paths, e);
}

/// `exec`: docker's `exec_create` and `exec_start`, whose actions carry the command
/// (`exec_create: sh -c true`); the new exec's id, for `exec_ended`.
pub fn exec_began(paths: &Paths, rec: &ContainerRecord, command: &[String]) -> String {
    let exec_id = crate::state::new_id();
    let (first, rest) = command.split_first().map_or(("", &[][..]), |(f, r)| (f, r));
    let cmd = format!("{first} {}", rest.join(" "));
    for action in ["exec_create", "exec_start"] {
        let e = Event::container(rec, &format!("{action}: {cmd}"));
        emit(paths, e.with("execID", &exec_id));
    }
    exec_id
}

/// The exec's process ended with `code` (None: detached, its end is not seen).
pub fn exec_ended(paths: &Paths, rec: &ContainerRecord, exec_id: &str, code: Option<i32>) {
    if let Some(code) = code {
        let e = Event::container(rec, "exec_die").with("execID", exec_id);
        emit(paths, e.with("exitCode", code));
    }
}

/// A probe changed the container's health: docker's `health_status: STATUS`.
pub fn health_changed(
    paths: &Paths,
    rec: &ContainerRecord,
    before: Option<crate::state::HealthStatus>,
) {
    if let Some(h) = rec
        .state
        .health
        .as_ref()
        .filter(|h| Some(h.status) != before)
    {
        let action = format!("health_status: {}", h.status.as_str());
        container(paths, rec, &action);
    }
}

/// An image event with docker's `name` attribute.
pub fn image(paths: &Paths, action: &str, id: &str, name: &str) {
    emit(paths, Event::image(action, id, name));
}

/// A new image's names: docker's `tag` for each.
pub fn tagged(paths: &Paths, image_id: &str, tags: &[crate::image::Reference]) {
    for t in tags {
        image(paths, "tag", image_id, &t.to_string());
    }
}

/// `pull` and `push`: docker names the reference (`busybox:latest`) and its name.
pub fn pushed_or_pulled(paths: &Paths, action: &str, reference: &str) {
    match crate::image::Reference::parse(reference) {
        Ok(r) => image(paths, action, &r.to_string(), &r.name),
        Err(_) => image(paths, action, reference, reference),
    }
}

/// A network event (kiste's networks are bridges); `container` for connect/disconnect.
pub fn network(paths: &Paths, action: &str, id: &str, name: &str, container: Option<&str>) {
    let e = Event::network(action, id, name, "bridge");
    emit(
        paths,
        container.map_or(e.clone(), |c| e.with("container", c)),
    );
}

/// A volume event (kiste's volumes use the built-in `local` driver).
pub fn volume(paths: &Paths, action: &str, name: &str) {
    emit(paths, Event::volume(action, name, "local"));
}

/// The container's volumes, at its start (`mount`) and end (`unmount`), with docker's
/// attributes; nothing for a container without volumes.
pub fn volumes(paths: &Paths, rec: &ContainerRecord, action: &str) {
    for m in &rec.config.host.mounts {
        let crate::config::MountSource::Volume { name, .. } = &m.source else {
            continue;
        };
        let mut e = Event::volume(action, name, "local").with("container", &rec.id);
        if action == "mount" {
            e = e
                .with("destination", &m.target)
                .with("propagation", "")
                .with("read/write", !m.readonly);
        }
        emit(paths, e);
    }
}

/// `commit`: the new image's tags, then docker's container `commit` event.
pub fn committed(
    paths: &Paths,
    rec: &ContainerRecord,
    image_id: &str,
    tags: &[crate::image::Reference],
    comment: Option<&str>,
) {
    tagged(paths, image_id, tags);
    let e = Event::container(rec, "commit")
        .with("comment", comment.unwrap_or(""))
        .with("imageID", image_id)
        .with(
            "imageRef",
            tags.first().map(|t| t.to_string()).unwrap_or_default(),
        );
    emit(paths, e);
}

/// `rm`: the record is gone (for the caller's `Ok`).
pub fn destroyed<E>(paths: &Paths, rec: &ContainerRecord) -> Result<(), E> {
    container(paths, rec, "destroy");
    Ok(())
}

/// `stop` is recorded once the exit is, and only for a container that was running.
pub fn stopped(paths: &Paths, rec: &ContainerRecord, was_running: bool) {
    if was_running {
        container(paths, rec, "stop");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_line_is_dockers_shape() {
        let mut e = Event::volume("create", "v1", "local");
        e.time_nano = 1_796_196_378_678_569_410;
        e.time = 1_796_196_378;
        let line = e.text();
        assert!(line.ends_with(" volume create v1 (driver=local)"), "{line}");
        assert!(line.contains(".67856941"), "trailing zero dropped: {line}");
    }

    #[test]
    fn json_has_legacy_fields_only_for_containers_and_images() {
        let v = serde_json::to_value(Event::image("tag", "sha256:ab", "x:1")).unwrap();
        assert_eq!(v["status"], "tag");
        assert_eq!(v["id"], "sha256:ab");
        assert!(v.get("from").is_none());
        let v = serde_json::to_value(Event::volume("create", "v", "local")).unwrap();
        assert!(v.get("status").is_none() && v.get("id").is_none());
        assert_eq!(v["Actor"]["Attributes"]["driver"], "local");
    }
}
