//! What a registry holds, for `search`: a private registry's repositories from
//! `/v2/_catalog` and a repository's tags from `/v2/NAME/tags/list`, both followed page by
//! page through their `Link: <…>; rel="next"` headers (the registry picks the page size);
//! and the search API (`/v1/search`) of Docker Hub and of registries that have one (the
//! distribution API lacks it).
//! It connects as pull and push do (registries.conf, credentials, certs.d); it prints
//! nothing.

use super::client::{error_message, header, Body, Client, Endpoint};
use super::conf::RegistriesConf;
use super::{creds, RegistryError};
use serde::Deserialize;

/// Docker Hub's search endpoint (docker's daemon asks the index, not registry-1).
pub const HUB_SEARCH: &str = "https://index.docker.io/v1/search";
const MAX_PAGE: u64 = 4 << 20;

/// One search result, with docker's fields.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SearchResult {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub star_count: u64,
    #[serde(default)]
    pub is_official: bool,
    #[serde(default)]
    pub is_automated: bool,
}

/// Connects to `host` as pull does: insecure when registries.conf (or a loopback
/// address) says so, or when `tls_verify` is off; the user's credentials for it.
pub fn connect(host: &str, tls_verify: bool) -> Result<Client, RegistryError> {
    let conf = RegistriesConf::load(&crate::paths::registries_conf_files())?;
    let creds = creds::lookup(&crate::paths::registry_auth_files(), host)?;
    let endpoint = Endpoint {
        host: host.to_string(),
        insecure: conf.is_insecure(host) || !tls_verify,
    };
    Client::connect(&endpoint, creds, &crate::paths::certs_d_dirs())
}

/// A registry's own search API, `/v1/search?q=TERM&n=LIMIT` (what docker's daemon asks
/// for `search REGISTRY/TERM`): None when the registry has none (the distribution API
/// answers 404), so the caller reads the catalog instead.
///
/// Like docker's daemon, it tries https and, for an insecure registry (a loopback
/// address, registries.conf, `--tls-verify=false`), plain http after it.
pub fn registry_search(
    host: &str,
    tls_verify: bool,
    term: &str,
    limit: usize,
) -> Result<Option<Vec<SearchResult>>, RegistryError> {
    let conf = RegistriesConf::load(&crate::paths::registries_conf_files())?;
    let insecure = conf.is_insecure(host) || !tls_verify;
    let path = format!("/v1/search?q={}&n={limit}", query_escape(term));
    let schemes: &[&str] = if insecure {
        &["https", "http"]
    } else {
        &["https"]
    };
    for scheme in schemes {
        let url = format!("{scheme}://{host}{path}");
        let Ok(mut resp) = crate::http::agent().get(&url).call() else {
            continue;
        };
        if !(200..300).contains(&resp.status().as_u16()) {
            return Ok(None);
        }
        return parse_hub_search(&read_page(&mut resp, &url)?).map(Some);
    }
    Ok(None)
}

/// Every repository of the registry, in its order, page after page; stops once `enough`
/// says the names so far suffice.
pub fn repositories(
    client: &Client,
    enough: &mut dyn FnMut(&[String]) -> bool,
) -> Result<Vec<String>, RegistryError> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        repositories: Vec<String>,
    }
    let scopes = ["registry:catalog:*".to_string()];
    let mut all = Vec::new();
    let mut next = Some("/v2/_catalog".to_string());
    while let Some(path) = next.take() {
        let (bytes, link) = get_page(client, &path, &scopes, "catalog")?;
        let page: Page = parse_json(&bytes, &format!("catalog of {}", client.registry))?;
        all.extend(page.repositories);
        if enough(&all) {
            break;
        }
        next = link.as_deref().and_then(next_link);
    }
    Ok(all)
}

/// The tags of `repository`, page after page.
pub fn tags(client: &Client, repository: &str) -> Result<Vec<String>, RegistryError> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        tags: Option<Vec<String>>,
    }
    let scopes = [format!("repository:{repository}:pull")];
    let mut all = Vec::new();
    let mut next = Some(format!("/v2/{repository}/tags/list"));
    while let Some(path) = next.take() {
        let (bytes, link) = get_page(client, &path, &scopes, "tags")?;
        let page: Page = parse_json(&bytes, &format!("tags of {repository}"))?;
        all.extend(page.tags.unwrap_or_default());
        next = link.as_deref().and_then(next_link);
    }
    Ok(all)
}

fn get_page(
    client: &Client,
    path: &str,
    scopes: &[String],
    what: &str,
) -> Result<(Vec<u8>, Option<String>), RegistryError> {
    let mut resp = client.send("GET", path, scopes, &[], Body::Empty)?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(RegistryError::Status {
            what: format!("{what} of {}", client.registry),
            status,
            message: error_message(&mut resp),
        });
    }
    let link = header(&resp, "link");
    Ok((read_page(&mut resp, &client.url(path))?, link))
}

/// A response's body, at most `MAX_PAGE` bytes.
fn read_page(
    resp: &mut ureq::http::Response<ureq::Body>,
    url: &str,
) -> Result<Vec<u8>, RegistryError> {
    resp.body_mut()
        .with_config()
        .limit(MAX_PAGE)
        .read_to_vec()
        .map_err(|e| RegistryError::Transport {
            url: url.to_string(),
            reason: e.to_string(),
        })
}

fn parse_json<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &str,
) -> Result<T, RegistryError> {
    serde_json::from_slice(bytes).map_err(|e| RegistryError::Invalid {
        what: what.to_string(),
        reason: e.to_string(),
    })
}

/// The target of a `Link: </v2/_catalog?last=x&n=2>; rel="next"` header.
pub(crate) fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"" || p.trim() == "rel=next");
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| target.to_string())
    })
}

/// Docker Hub's answer to `/v1/search?q=TERM&n=LIMIT`.
pub fn hub_search(term: &str, limit: usize) -> Result<Vec<SearchResult>, RegistryError> {
    let url = format!("{HUB_SEARCH}?q={}&n={limit}", query_escape(term));
    let transport = |reason: String| RegistryError::Transport {
        url: url.clone(),
        reason,
    };
    let mut resp = crate::http::agent()
        .get(&url)
        .call()
        .map_err(|e| transport(e.to_string()))?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(RegistryError::Status {
            what: format!("search of Docker Hub for {term:?}"),
            status,
            message: error_message(&mut resp),
        });
    }
    parse_hub_search(&read_page(&mut resp, &url)?)
}

/// The results of a Docker Hub search response (`{"num_results":…,"results":[…]}`).
pub fn parse_hub_search(bytes: &[u8]) -> Result<Vec<SearchResult>, RegistryError> {
    #[derive(Deserialize)]
    struct Response {
        #[serde(default)]
        results: Vec<SearchResult>,
    }
    let r: Response = parse_json(bytes, "Docker Hub search response")?;
    Ok(r.results)
}

/// Percent-encoding of a query value (everything but unreserved characters).
fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response in the documented shape of Docker Hub's `GET /v1/search`, written by
    /// hand (this machine has no internet).
    const HUB_RESPONSE: &str = r#"{
      "num_pages": 40, "num_results": 1000, "page_size": 2, "page": 1, "query": "busybox",
      "results": [
        {"name": "busybox", "description": "Busybox base image.", "star_count": 3320,
         "is_official": true, "is_automated": false},
        {"name": "radial/busyboxplus", "description": "Full-chain, Internet enabled, busybox made from scratch.\nComes in git and cURL flavors.",
         "star_count": 56, "is_official": false, "is_automated": true}
      ]
    }"#;

    #[test]
    fn a_hub_search_response_gives_docker_fields() {
        let r = parse_hub_search(HUB_RESPONSE.as_bytes()).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(
            r[0],
            SearchResult {
                name: "busybox".into(),
                description: "Busybox base image.".into(),
                star_count: 3320,
                is_official: true,
                is_automated: false,
            }
        );
        assert!(r[1].is_automated && !r[1].is_official);
        assert!(r[1].description.contains('\n'));
        assert!(parse_hub_search(b"{\"results\": [{\"description\": 1}]}").is_err());
        assert_eq!(parse_hub_search(b"{}").unwrap(), vec![]);
    }

    #[test]
    fn link_headers_give_the_next_page() {
        assert_eq!(
            next_link("</v2/_catalog?last=b&n=2>; rel=\"next\"").as_deref(),
            Some("/v2/_catalog?last=b&n=2")
        );
        assert_eq!(next_link("</x>; rel=\"prev\""), None);
        assert_eq!(query_escape("a b/c"), "a%20b%2Fc");
    }
}
