//! `search`'s flags (docker's, plus podman's `--tls-verify` and `--list-tags`) checked into
//! a `SearchConfig`: where to search (Docker Hub, or the registry named in `REG/TERM`),
//! the limit and the filters, typed.

use clap::Args;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Filter output based on conditions provided (stars=N, is-official=BOOL, is-automated=BOOL)
    #[arg(short = 'f', long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Pretty-print search using a Go template
    #[arg(long, value_name = "TEMPLATE")]
    pub format: Option<String>,
    /// Max number of search results (1-100, default 25)
    #[arg(long, value_name = "INT", allow_hyphen_values = true)]
    pub limit: Option<String>,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// List the tags of the repository TERM names (podman)
    #[arg(long)]
    pub list_tags: bool,
    /// Require HTTPS and verify certificates when contacting registries
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tls_verify: bool,
    /// What to search for; REGISTRY/TERM searches that registry's catalog
    #[arg(value_name = "TERM")]
    pub term: String,
}

/// Where a search goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchTarget {
    DockerHub,
    /// A registry's `host[:port]`, whose catalog is searched.
    Registry(String),
}

/// `--filter`s, typed; None lets every result through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilter {
    pub min_stars: Option<u64>,
    pub is_official: Option<bool>,
    pub is_automated: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchConfig {
    pub target: SearchTarget,
    /// The term (for a registry: what follows `REG/`, may be empty: everything).
    pub term: String,
    pub limit: usize,
    pub filter: SearchFilter,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SearchError {
    #[error("invalid filter '{0}'")]
    Filter(String),
    #[error("invalid argument {0:?} for \"--limit\" flag: strconv.ParseInt: parsing {0:?}: invalid syntax")]
    LimitSyntax(String),
    #[error("limit {0} is outside the range of [1, 100]")]
    LimitRange(i64),
    #[error("--list-tags needs a repository in a registry (REGISTRY/NAME), not {0:?}")]
    ListTagsTerm(String),
}

/// docker's default limit.
const DEFAULT_LIMIT: usize = 25;

impl SearchArgs {
    pub fn to_config(&self) -> Result<SearchConfig, SearchError> {
        let limit = match &self.limit {
            None => DEFAULT_LIMIT,
            Some(s) => {
                let n: i64 = s
                    .trim()
                    .parse()
                    .map_err(|_| SearchError::LimitSyntax(s.clone()))?;
                match n {
                    0 => DEFAULT_LIMIT,
                    1..=100 => n as usize,
                    n => return Err(SearchError::LimitRange(n)),
                }
            }
        };
        let mut filter = SearchFilter::default();
        for f in &self.filters {
            let bad = || SearchError::Filter(f.clone());
            let (key, value) = f.split_once('=').ok_or_else(bad)?;
            let boolean = || match value {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(bad()),
            };
            match key {
                "stars" => filter.min_stars = Some(value.parse().map_err(|_| bad())?),
                "is-official" => filter.is_official = Some(boolean()?),
                "is-automated" => filter.is_automated = Some(boolean()?),
                _ => return Err(bad()),
            }
        }
        let (target, term) = split_registry(&self.term);
        if self.list_tags && (target == SearchTarget::DockerHub || term.is_empty()) {
            return Err(SearchError::ListTagsTerm(self.term.clone()));
        }
        Ok(SearchConfig {
            target,
            term,
            limit,
            filter,
        })
    }
}

/// `REG/TERM` names a registry when its first part looks like a host (a dot, a port, or
/// localhost), as in image references; anything else is a Docker Hub search.
fn split_registry(term: &str) -> (SearchTarget, String) {
    if let Some((first, rest)) = term.split_once('/') {
        if first.contains('.') || first.contains(':') || first == "localhost" {
            let target = match first {
                "docker.io" | "index.docker.io" | "registry-1.docker.io" => SearchTarget::DockerHub,
                host => SearchTarget::Registry(host.to_string()),
            };
            return (target, rest.to_string());
        }
    }
    (SearchTarget::DockerHub, term.to_string())
}

impl SearchFilter {
    pub fn accepts(&self, stars: u64, official: bool, automated: bool) -> bool {
        self.min_stars.is_none_or(|m| stars >= m)
            && self.is_official.is_none_or(|o| o == official)
            && self.is_automated.is_none_or(|a| a == automated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(term: &str, filters: &[&str], limit: Option<&str>) -> SearchArgs {
        SearchArgs {
            filters: filters.iter().map(|s| s.to_string()).collect(),
            format: None,
            limit: limit.map(String::from),
            no_trunc: false,
            list_tags: false,
            tls_verify: true,
            term: term.into(),
        }
    }

    #[test]
    fn the_term_names_a_registry_or_docker_hub() {
        let c = args("127.0.0.1:5000/app", &[], None).to_config().unwrap();
        assert_eq!(
            (c.target, c.term.as_str(), c.limit),
            (SearchTarget::Registry("127.0.0.1:5000".into()), "app", 25)
        );
        let c = args("library/busybox", &[], Some("3")).to_config().unwrap();
        assert_eq!(
            (c.target, c.term.as_str(), c.limit),
            (SearchTarget::DockerHub, "library/busybox", 3)
        );
        let c = args("docker.io/busybox", &[], None).to_config().unwrap();
        assert_eq!(c.target, SearchTarget::DockerHub);
    }

    #[test]
    fn filters_and_limits_are_checked_as_docker_checks_them() {
        let c = args("x", &["stars=3", "is-official=true"], None)
            .to_config()
            .unwrap();
        assert!(c.filter.accepts(3, true, false));
        assert!(!c.filter.accepts(2, true, false));
        assert!(!c.filter.accepts(5, false, false));
        let e = |f: &str| args("x", &[f], None).to_config().unwrap_err().to_string();
        assert_eq!(e("stars=many"), "invalid filter 'stars=many'");
        assert_eq!(e("is-official=maybe"), "invalid filter 'is-official=maybe'");
        assert_eq!(e("color=red"), "invalid filter 'color=red'");
        let l = |n: &str| args("x", &[], Some(n)).to_config().map(|c| c.limit);
        assert_eq!(l("0"), Ok(25));
        assert_eq!(l("101"), Err(SearchError::LimitRange(101)));
        assert_eq!(
            l("ten").unwrap_err().to_string(),
            "invalid argument \"ten\" for \"--limit\" flag: strconv.ParseInt: parsing \"ten\": invalid syntax"
        );
    }
}
