//! `search TERM`: Docker Hub's search API, or for `REGISTRY/TERM` that registry's search
//! API (docker's) or, when it has none, its catalog (the repositories whose name
//! contains TERM); `--list-tags` lists a repository's tags
//! (podman). Prints docker's table (NAME DESCRIPTION STARS OFFICIAL) or `--format` over
//! docker's fields; bad flags exit 125, a registry that fails exits 1 as docker's does.

use super::format::ellipsis;
use super::template::{Formatter, OutputFormat};
use super::Exit;
use crate::cli::{SearchArgs, SearchConfig, SearchTarget};
use crate::registry::catalog::{self, SearchResult};
use serde_json::json;

const DEFAULT_TABLE: &str = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}";
const HEADERS: &[(&str, &str)] = &[
    ("Name", "NAME"),
    ("Description", "DESCRIPTION"),
    ("StarCount", "STARS"),
    ("IsOfficial", "OFFICIAL"),
    ("IsAutomated", "AUTOMATED"),
];
const TAG_TABLE: &str = "table {{.Name}}\t{{.Tag}}";
const TAG_HEADERS: &[(&str, &str)] = &[("Name", "NAME"), ("Tag", "TAG")];

pub fn search(args: SearchArgs) -> anyhow::Result<()> {
    let config = args.to_config().map_err(|e| Exit {
        code: 125,
        message: e.to_string(),
    })?;
    let failed = |e: crate::registry::RegistryError| Exit {
        code: 1,
        message: format!("cannot search {}: {e}", args.term),
    };
    if args.list_tags {
        let SearchTarget::Registry(host) = &config.target else {
            unreachable!("to_config refuses --list-tags without a registry")
        };
        let client = catalog::connect(host, args.tls_verify).map_err(failed)?;
        let tags = catalog::tags(&client, &config.term).map_err(failed)?;
        let rows: Vec<serde_json::Value> = tags
            .iter()
            .take(config.limit)
            .map(|t| json!({"Name": format!("{host}/{}", config.term), "Tag": t}))
            .collect();
        return print(args.format.as_deref(), TAG_TABLE, TAG_HEADERS, &rows);
    }
    let results = find(&config, args.tls_verify).map_err(failed)?;
    let rows: Vec<serde_json::Value> = results
        .iter()
        .filter(|r| {
            config
                .filter
                .accepts(r.star_count, r.is_official, r.is_automated)
        })
        .take(config.limit)
        .map(|r| row(r, !args.no_trunc))
        .collect();
    print(args.format.as_deref(), DEFAULT_TABLE, HEADERS, &rows)
}

fn find(
    config: &SearchConfig,
    tls_verify: bool,
) -> Result<Vec<SearchResult>, crate::registry::RegistryError> {
    match &config.target {
        SearchTarget::DockerHub => catalog::hub_search(&config.term, config.limit),
        SearchTarget::Registry(host) => {
            // docker asks the registry's search API; a registry without one (the
            // distribution API) is searched through its catalog, as podman does.
            if let Some(found) =
                catalog::registry_search(host, tls_verify, &config.term, config.limit)?
            {
                return Ok(found);
            }
            let client = catalog::connect(host, tls_verify)?;
            let term = config.term.to_lowercase();
            let matches = |repo: &String| repo.to_lowercase().contains(&term);
            // Every catalog entry has no stars and no flags: a filter that wants any
            // leaves nothing, so the pages stop once `limit` names match.
            let repos = catalog::repositories(&client, &mut |all| {
                all.iter().filter(|r| matches(r)).count() >= config.limit
            })?;
            Ok(repos
                .iter()
                .filter(|r| matches(r))
                .map(|r| SearchResult {
                    name: format!("{host}/{r}"),
                    description: String::new(),
                    star_count: 0,
                    is_official: false,
                    is_automated: false,
                })
                .collect())
        }
    }
}

/// docker's search row: the description on one line (cut at 45 characters unless
/// `--no-trunc`), the stars as a number, the flags as "[OK]" or nothing.
fn row(r: &SearchResult, trunc: bool) -> serde_json::Value {
    let desc = r.description.replace(['\n', '\r'], " ");
    let desc = if trunc { ellipsis(&desc, 45) } else { desc };
    let ok = |b: bool| if b { "[OK]" } else { "" };
    json!({
        "Name": r.name,
        "Description": desc,
        "StarCount": r.star_count.to_string(),
        "IsOfficial": ok(r.is_official),
        "IsAutomated": ok(r.is_automated),
    })
}

fn print(
    format: Option<&str>,
    default: &str,
    headers: &[(&str, &str)],
    rows: &[serde_json::Value],
) -> anyhow::Result<()> {
    let (source, table) = match OutputFormat::parse(format) {
        OutputFormat::Json => {
            for r in rows {
                println!("{}", serde_json::to_string(r)?);
            }
            return Ok(());
        }
        OutputFormat::Template { source, table } => (source, table),
        OutputFormat::Default => match OutputFormat::parse(Some(default)) {
            OutputFormat::Template { source, table } => (source, table),
            _ => unreachable!("the default is a table template"),
        },
    };
    let f = Formatter::new(&source, table, true).map_err(|e| Exit {
        code: 125,
        message: e.to_string(),
    })?;
    print!("{}", f.render_all(headers, rows)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_like_dockers() {
        let r = SearchResult {
            name: "busybox".into(),
            description: "Busybox base image,\nsmall, and made for embedded systems ever".into(),
            star_count: 3320,
            is_official: true,
            is_automated: false,
        };
        let v = row(&r, true);
        assert_eq!(
            v["Description"],
            "Busybox base image, small, and made for embe…"
        );
        assert_eq!(
            (v["StarCount"].as_str(), v["IsOfficial"].as_str()),
            (Some("3320"), Some("[OK]"))
        );
        assert_eq!(v["IsAutomated"], "");
        let f = Formatter::new(
            "{{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}",
            true,
            true,
        )
        .unwrap();
        let out = f.render_all(HEADERS, &[row(&r, false)]).unwrap();
        let mut lines = out.lines();
        assert_eq!(
            lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
            ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]
        );
        assert!(lines.next().unwrap().ends_with("3320      [OK]"), "{out}");
    }
}
