//! Image references as users type them: `name[:tag][@digest]`, with an optional registry
//! host (and port) as the first path component. Parsing follows docker's grammar and
//! normalization (Docker Hub names are shown in their familiar short form, the tag
//! defaults to `latest`); it does not resolve anything against the store or a registry.

use super::ImageError;
use std::fmt;

const DOCKER_HUB: &str = "docker.io";
const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

/// A parsed, normalized image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Familiar name: `web`, `user/app`, `localhost:5000/a/b` (no `docker.io/library/`).
    pub name: String,
    /// The tag; `Some("latest")` when neither a tag nor a digest was given.
    pub tag: Option<String>,
    /// `sha256:<hex>` when the reference pins a manifest digest.
    pub digest: Option<String>,
}

impl Reference {
    /// Parses `name[:tag][@digest]`; see the module docs for the grammar.
    pub fn parse(input: &str) -> Result<Reference, ImageError> {
        let bad = |reason: &str| ImageError::InvalidReference {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        if input.is_empty() {
            return Err(bad("empty reference"));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, digest)) => {
                validate_digest(digest).map_err(bad)?;
                (rest, Some(digest.to_string()))
            }
            None => (input, None),
        };
        // A ':' after the last '/' starts the tag; one before it belongs to a host:port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let (name, tag) = (&rest[..last_slash + i], &rest[last_slash + i + 1..]);
                validate_tag(tag).map_err(bad)?;
                (name, Some(tag.to_string()))
            }
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(bad("missing repository name"));
        }
        if name.len() == 64 && super::is_sha256_hex(name) {
            return Err(bad(
                "cannot use a 64-character hexadecimal string as a repository name",
            ));
        }
        let name = normalize_name(name).map_err(bad)?;
        if name.len() > MAX_NAME_LEN {
            return Err(bad(
                "repository name must not be longer than 255 characters",
            ));
        }
        let tag = match (tag, &digest) {
            (None, None) => Some("latest".to_string()),
            (tag, _) => tag,
        };
        Ok(Reference { name, tag, digest })
    }

    /// The registry host (`docker.io` when the name has none).
    pub fn domain(&self) -> &str {
        match self.name.split_once('/') {
            Some((first, _)) if is_domain(first) => first,
            _ => DOCKER_HUB,
        }
    }

    /// The repository path on its registry: `library/busybox` for `busybox`.
    pub fn repository(&self) -> String {
        match self.name.split_once('/') {
            Some((first, rest)) if is_domain(first) => rest.to_string(),
            Some(_) => self.name.clone(),
            None => format!("library/{}", self.name),
        }
    }

    /// What a registry's manifests endpoint is asked for: the digest, else the tag, else
    /// `latest`.
    pub fn manifest_reference(&self) -> String {
        self.digest
            .clone()
            .or_else(|| self.tag.clone())
            .unwrap_or_else(|| "latest".to_string())
    }

    /// `name:tag` as recorded in the store, or `None` for a digest-only reference.
    pub fn tagged_name(&self) -> Option<String> {
        self.tag.as_ref().map(|t| format!("{}:{t}", self.name))
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Reference {
    type Err = ImageError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

/// Docker treats the first component as a registry host when it looks like one.
fn is_domain(component: &str) -> bool {
    component.contains('.')
        || component.contains(':')
        || component == "localhost"
        || component.bytes().any(|b| b.is_ascii_uppercase())
}

fn normalize_name(name: &str) -> Result<String, &'static str> {
    let mut components: Vec<&str> = name.split('/').collect();
    let domain = if components.len() > 1 && is_domain(components[0]) {
        let d = components.remove(0);
        validate_domain(d)?;
        Some(d)
    } else {
        None
    };
    for c in &components {
        validate_path_component(c)?;
    }
    let path = components.join("/");
    Ok(match domain {
        Some("docker.io" | "index.docker.io") | None => match path.strip_prefix("library/") {
            Some(short) if !short.contains('/') => short.to_string(),
            _ => path,
        },
        Some(d) => format!("{d}/{path}"),
    })
}

fn validate_domain(domain: &str) -> Result<(), &'static str> {
    let (host, port) = match domain.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && !p.contains(']') => (h, Some(p)),
        _ => (domain, None),
    };
    let host_ok = !host.is_empty()
        && (host.starts_with('[') && host.ends_with(']')
            || host.split('.').all(|l| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }));
    if !host_ok {
        return Err("invalid registry host");
    }
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err("invalid registry port");
        }
    }
    Ok(())
}

/// `[a-z0-9]+` runs joined by one of `.`, `_`, `__`, or a run of `-`.
fn validate_path_component(c: &str) -> Result<(), &'static str> {
    if c.is_empty() {
        return Err("empty path component in repository name");
    }
    if c.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("repository name must be lowercase");
    }
    let bytes = c.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return Err("repository name components must start and end with a letter or digit");
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|b| b == b'-');
        if !ok {
            return Err(
                "repository name may only contain [a-z0-9] separated by '.', '_', '__' or '-'",
            );
        }
    }
    Ok(())
}

fn validate_tag(tag: &str) -> Result<(), &'static str> {
    let bytes = tag.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    if bytes.is_empty() || bytes.len() > MAX_TAG_LEN {
        return Err("tag must be 1 to 128 characters");
    }
    if !word(bytes[0]) || !bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-') {
        return Err("tag may only contain [A-Za-z0-9_.-] and must not start with '.' or '-'");
    }
    Ok(())
}

fn validate_digest(digest: &str) -> Result<(), &'static str> {
    match digest.split_once(':') {
        Some(("sha256", hex)) if super::is_sha256_hex(hex) => Ok(()),
        Some(("sha256", _)) => Err("sha256 digest must be 64 lower-case hex digits"),
        Some(_) => Err("only sha256 digests are supported"),
        None => Err("digest must look like sha256:<hex>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Reference {
        Reference::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn name_alone_gets_latest_tag() {
        let r = p("web");
        assert_eq!((r.name.as_str(), r.tag.as_deref()), ("web", Some("latest")));
        assert_eq!(r.to_string(), "web:latest");
        assert_eq!(r.domain(), "docker.io");
        assert_eq!(r.repository(), "library/web");
    }

    #[test]
    fn registry_with_port_and_path() {
        let r = p("localhost:5000/a/b:1");
        assert_eq!(r.name, "localhost:5000/a/b");
        assert_eq!(r.tag.as_deref(), Some("1"));
        assert_eq!(r.domain(), "localhost:5000");
        assert_eq!(r.repository(), "a/b");
        assert_eq!(p("localhost:5000/a").to_string(), "localhost:5000/a:latest");
        assert_eq!(p("localhost/a").domain(), "localhost");
    }

    #[test]
    fn docker_hub_names_are_shown_short() {
        assert_eq!(
            p("docker.io/library/busybox:1.36").to_string(),
            "busybox:1.36"
        );
        assert_eq!(p("library/busybox").to_string(), "busybox:latest");
        assert_eq!(p("docker.io/user/app").to_string(), "user/app:latest");
        assert_eq!(p("user/app").repository(), "user/app");
    }

    #[test]
    fn digest_references_have_no_default_tag() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = p(&format!("web@{d}"));
        assert_eq!(r.tag, None);
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));
        assert_eq!(p(&format!("web:1@{d}")).to_string(), format!("web:1@{d}"));
    }

    #[test]
    fn invalid_references_are_rejected() {
        for s in [
            "",
            "Web",
            "web:",
            ":1",
            "a//b",
            "-a",
            "a-",
            "web:.x",
            "a@sha256:12",
            "a b",
            "web:latest:x",
            "a/B",
        ] {
            assert!(Reference::parse(s).is_err(), "{s:?} should be invalid");
        }
        assert!(Reference::parse(&"g".repeat(64)).is_ok());
        assert!(Reference::parse(&"ab".repeat(32)).is_err());
    }

    #[test]
    fn separators_follow_docker_grammar() {
        for s in ["a.b", "a_b", "a__b", "a---b", "my-app/x.y_z"] {
            p(s);
        }
        for s in ["a..b", "a___b", "a.-b"] {
            assert!(Reference::parse(s).is_err(), "{s:?} should be invalid");
        }
    }
}
