//! `events --filter` as dockerd applies it (`daemon/events/filter.go`): values of one key
//! are ORed, keys are ANDed; `container`, `network`, `volume` and `daemon` match the
//! actor's id or name by prefix, `image` matches exactly (with or without the tag),
//! `event` exactly (by prefix for health_status/exec_create/exec_start, whose actions
//! carry a suffix), `label` requires every `key` or `key=value` given. Keys of swarm
//! objects (node, service, secret, config) and plugins are docker's too: kiste has none
//! of those objects, so a filter on them matches nothing, as on a daemon without them.

use super::Event;
use std::collections::{BTreeMap, BTreeSet};

/// The keys docker's events API takes.
const KEYS: &[&str] = &[
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FilterError {
    #[error("bad format of filter (expected name=value)")]
    Format,
    #[error("invalid filter '{0}'")]
    Key(String),
}

/// Parsed `--filter` values, key → accepted values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    fields: BTreeMap<String, BTreeSet<String>>,
}

impl EventFilter {
    /// One `--filter KEY=VALUE`: docker's CLI checks the shape, its daemon the key.
    pub fn add(&mut self, raw: &str) -> Result<(), FilterError> {
        let (k, v) = raw.split_once('=').ok_or(FilterError::Format)?;
        let k = k.trim().to_lowercase();
        if !KEYS.contains(&k.as_str()) {
            return Err(FilterError::Key(k));
        }
        self.fields.entry(k).or_default().insert(v.to_string());
        Ok(())
    }

    fn values(&self, key: &str) -> Option<&BTreeSet<String>> {
        self.fields.get(key).filter(|v| !v.is_empty())
    }

    fn exact(&self, key: &str, source: &str) -> bool {
        self.values(key).is_none_or(|v| v.contains(source))
    }

    fn fuzzy(&self, key: &str, source: &str) -> bool {
        self.values(key)
            .is_none_or(|v| v.iter().any(|f| source.starts_with(f.as_str())))
    }

    fn fuzzy_name(&self, key: &str, ev: &Event) -> bool {
        let name = ev.actor.attributes.get("name").map_or("", String::as_str);
        self.values(key).is_none() || self.fuzzy(key, &ev.actor.id) || self.fuzzy(key, name)
    }

    fn image(&self, ev: &Event) -> bool {
        let Some(values) = self.values("image") else {
            return true;
        };
        let attr = if ev.kind == "image" { "name" } else { "image" };
        let name = ev.actor.attributes.get(attr).map_or("", String::as_str);
        [&ev.actor.id[..], name]
            .into_iter()
            .flat_map(|s| [s, strip_tag(s)])
            .any(|s| values.contains(s))
    }

    fn event(&self, ev: &Event) -> bool {
        let fuzzy = self.values("event").is_some_and(|v| {
            ["health_status", "exec_create", "exec_start"]
                .iter()
                .any(|k| v.contains(*k))
        });
        if fuzzy {
            self.fuzzy("event", &ev.action)
        } else {
            self.exact("event", &ev.action)
        }
    }

    fn labels(&self, ev: &Event) -> bool {
        let Some(values) = self.values("label") else {
            return true;
        };
        values.iter().all(|f| match f.split_once('=') {
            Some((k, v)) => ev.actor.attributes.get(k).is_some_and(|a| a == v),
            None => ev.actor.attributes.contains_key(f.as_str()),
        })
    }

    /// Whether `ev` passes every key.
    pub fn includes(&self, ev: &Event) -> bool {
        self.event(ev)
            && self.exact("type", &ev.kind)
            && self.exact("scope", &ev.scope)
            && self.fuzzy_name("daemon", ev)
            && self.fuzzy_name("container", ev)
            && self.fuzzy_name("plugin", ev)
            && self.fuzzy_name("volume", ev)
            && self.fuzzy_name("network", ev)
            && self.image(ev)
            && self.fuzzy_name("node", ev)
            && self.fuzzy_name("service", ev)
            && self.fuzzy_name("secret", ev)
            && self.fuzzy_name("config", ev)
            && self.labels(ev)
    }
}

/// docker's `stripTag`: the reference without its tag (a digest reference unchanged).
fn strip_tag(image: &str) -> &str {
    if image.contains('@') {
        return image;
    }
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => &image[..i],
        _ => image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(specs: &[&str]) -> EventFilter {
        let mut f = EventFilter::default();
        for s in specs {
            f.add(s).unwrap();
        }
        f
    }

    fn started(name: &str, image: &str) -> Event {
        let mut e = Event::new("container", "start", "abcdef0123");
        e.actor.attributes.insert("name".into(), name.into());
        e.actor.attributes.insert("image".into(), image.into());
        e.actor.attributes.insert("tier".into(), "web".into());
        e
    }

    #[test]
    fn same_key_ors_and_keys_and() {
        let e = started("web", "busybox:1");
        assert!(filter(&["event=stop", "event=start"]).includes(&e));
        assert!(!filter(&["event=start", "type=image"]).includes(&e));
        assert!(filter(&["container=abc", "image=busybox"]).includes(&e));
        assert!(filter(&["container=we"]).includes(&e));
        assert!(!filter(&["container=x"]).includes(&e));
    }

    #[test]
    fn labels_need_every_one_given() {
        let e = started("web", "busybox");
        assert!(filter(&["label=tier", "label=tier=web"]).includes(&e));
        assert!(!filter(&["label=tier=web", "label=other"]).includes(&e));
    }

    #[test]
    fn bad_keys_and_shapes_are_refused() {
        let mut f = EventFilter::default();
        assert_eq!(f.add("foo=bar"), Err(FilterError::Key("foo".into())));
        assert_eq!(f.add("foo"), Err(FilterError::Format));
    }

    #[test]
    fn health_status_matches_by_prefix() {
        let mut e = started("web", "busybox");
        e.action = "health_status: healthy".into();
        assert!(filter(&["event=health_status"]).includes(&e));
        assert!(!filter(&["event=health"]).includes(&e));
    }
}
