//! One connection context per registry endpoint: the agent (TLS with the system's CAs
//! plus the registry's own from `certs.d`, or plain http for insecure registries), the
//! authentication challenge learned from `GET /v2/`, and the Bearer tokens fetched so
//! far, keyed by scope and reused across requests (and threads). Redirects (blobs served
//! from another host) are followed without the Authorization header.

use super::auth::{fetch_token, Challenge};
use super::creds::Credentials;
use super::RegistryError;
use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use ureq::config::RedirectAuthHeaders;
use ureq::http::{self, Response};
use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};

/// Where a registry is and how far to trust it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `host[:port]` as written in references (`docker.io` for Docker Hub).
    pub host: String,
    /// Plain http is allowed and TLS certificates are not verified.
    pub insecure: bool,
}

/// A request body: nothing, bytes (replayable), or a stream (sent once).
pub enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    Reader(&'a mut dyn Read, u64),
}

/// A registry endpoint with its authentication state.
pub struct Client {
    /// `host[:port]`, for messages and credentials.
    pub registry: String,
    base: String,
    agent: ureq::Agent,
    creds: Option<Credentials>,
    challenge: Option<Challenge>,
    tokens: Mutex<HashMap<String, Arc<str>>>,
}

impl Client {
    /// Opens `endpoint`: pings `/v2/` over https (falling back to http when insecure)
    /// and learns how it wants to be authenticated.
    pub fn connect(
        endpoint: &Endpoint,
        creds: Option<Credentials>,
        certs_dirs: &[std::path::PathBuf],
    ) -> Result<Client, RegistryError> {
        let api_host = match endpoint.host.as_str() {
            "docker.io" | "index.docker.io" => "registry-1.docker.io",
            h => h,
        };
        let agent = agent(api_host, endpoint.insecure, certs_dirs)?;
        let mut schemes = vec!["https"];
        if endpoint.insecure {
            schemes.push("http");
        }
        let mut last = None;
        for scheme in schemes {
            let base = format!("{scheme}://{api_host}");
            let url = format!("{base}/v2/");
            match agent.get(&url).call() {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let challenge = match status {
                        401 => header(&resp, "www-authenticate").and_then(|h| Challenge::parse(&h)),
                        200..=299 => None,
                        _ => {
                            return Err(RegistryError::Status {
                                what: format!("{url} (is it a registry?)"),
                                status,
                                message: format!("status {status}"),
                            })
                        }
                    };
                    if status == 401 && challenge.is_none() {
                        return Err(RegistryError::Unauthorized {
                            registry: endpoint.host.clone(),
                            message: "no supported authentication scheme offered".to_string(),
                        });
                    }
                    return Ok(Client {
                        registry: endpoint.host.clone(),
                        base,
                        agent,
                        creds,
                        challenge,
                        tokens: Mutex::new(HashMap::new()),
                    });
                }
                Err(e) => {
                    last = Some(RegistryError::Transport {
                        url,
                        reason: e.to_string(),
                    })
                }
            }
        }
        Err(last.expect("at least one scheme tried"))
    }

    /// `https://host/v2/<path>` (or the absolute URL a registry handed back).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else if path.starts_with('/') {
            format!("{}{path}", self.base)
        } else {
            format!("{}/v2/{path}", self.base)
        }
    }

    /// Checks that the credentials (if any) are accepted for `scopes`: used by login.
    pub fn authenticate(&self, scopes: &[String]) -> Result<(), RegistryError> {
        match &self.challenge {
            None => Ok(()),
            Some(_) => {
                let resp = self.send("GET", "/v2/", scopes, &[], Body::Empty)?;
                match resp.status().as_u16() {
                    200..=299 => Ok(()),
                    status => Err(RegistryError::Status {
                        what: format!("login to {}", self.registry),
                        status,
                        message: format!("status {status}"),
                    }),
                }
            }
        }
    }

    /// Sends one request with the right Authorization header. Any status but 401 is
    /// returned to the caller; a 401 becomes `Unauthorized` (after one retry with a
    /// fresh token when the body can be sent again).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        scopes: &[String],
        headers: &[(&str, &str)],
        mut body: Body<'_>,
    ) -> Result<Response<ureq::Body>, RegistryError> {
        let url = self.url(path);
        // Credentials go only to the registry itself, never to another host that a
        // Location header named (upload sessions may live elsewhere).
        let same_host = url == self.base || url.starts_with(&format!("{}/", self.base));
        let mut retried = false;
        loop {
            let auth = match same_host {
                true => self.authorization(scopes, retried)?,
                false => None,
            };
            let mut builder = http::Request::builder().method(method).uri(&url);
            for (k, v) in headers {
                builder = builder.header(*k, *v);
            }
            if let Some(auth) = &auth {
                builder = builder.header("Authorization", auth.as_str());
            }
            let replayable = !matches!(body, Body::Reader(..));
            let bad = |e: http::Error| RegistryError::Transport {
                url: url.clone(),
                reason: e.to_string(),
            };
            let result = match &mut body {
                Body::Empty if matches!(method, "GET" | "HEAD") => {
                    self.agent.run(builder.body(()).map_err(bad)?)
                }
                Body::Empty => self.agent.run(
                    builder
                        .header("Content-Length", "0")
                        .body(&[][..])
                        .map_err(bad)?,
                ),
                Body::Bytes(b) => self.agent.run(builder.body(*b).map_err(bad)?),
                Body::Reader(r, len) => {
                    let len = len.to_string();
                    let req = builder
                        .header("Content-Length", len.as_str())
                        .body(ureq::SendBody::from_reader(*r))
                        .map_err(bad)?;
                    self.agent.run(req)
                }
            };
            let resp = result.map_err(|e| RegistryError::Transport {
                url: url.clone(),
                reason: e.to_string(),
            })?;
            if resp.status().as_u16() != 401 {
                return Ok(resp);
            }
            if retried || !replayable || !matches!(self.challenge, Some(Challenge::Bearer { .. })) {
                let mut resp = resp;
                return Err(RegistryError::Unauthorized {
                    registry: self.registry.clone(),
                    message: error_message(&mut resp),
                });
            }
            retried = true;
        }
    }

    /// The Authorization header for `scopes`, fetching a token when needed.
    fn authorization(
        &self,
        scopes: &[String],
        refresh: bool,
    ) -> Result<Option<String>, RegistryError> {
        match &self.challenge {
            None => Ok(None),
            Some(Challenge::Basic) => Ok(self.creds.as_ref().map(Credentials::basic_header)),
            Some(Challenge::Bearer { realm, service }) => {
                let key = scopes.join(" ");
                // Held across the fetch, so parallel transfers wait for one token
                // instead of each asking for their own.
                let mut tokens = self.tokens.lock().expect("token cache");
                if let (Some(token), false) = (tokens.get(&key), refresh) {
                    return Ok(Some(format!("Bearer {token}")));
                }
                let token = fetch_token(
                    &self.agent,
                    realm,
                    service.as_deref(),
                    scopes,
                    self.creds.as_ref(),
                    &self.registry,
                )?;
                let header = format!("Bearer {token}");
                tokens.insert(key, token.into());
                Ok(Some(header))
            }
        }
    }
}

/// A response header as a string.
pub fn header(resp: &Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The registry's error text from a JSON error body (`errors[].message`), else the status.
pub fn error_message(resp: &mut Response<ureq::Body>) -> String {
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_vec()
        .unwrap_or_default();
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorEntry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    match serde_json::from_slice::<Errors>(&body) {
        Ok(e) if !e.errors.is_empty() => e
            .errors
            .iter()
            .map(|e| {
                if e.message.is_empty() {
                    e.code.to_lowercase()
                } else {
                    e.message.clone()
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => format!("status {status}"),
    }
}

/// The agent for one registry host: system CAs plus `certs.d/HOST/*.crt`, and a client
/// certificate from `*.cert` + `*.key` there; no verification at all when insecure.
fn agent(
    host: &str,
    insecure: bool,
    certs_dirs: &[std::path::PathBuf],
) -> Result<ureq::Agent, RegistryError> {
    let mut roots: Vec<Certificate<'static>> = rustls_native_certs::load_native_certs()
        .certs
        .iter()
        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    let mut client_cert = None;
    for dir in certs_dirs.iter().map(|d| d.join(host)) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        crate::sort::sort(&mut names);
        for path in names {
            let fail = |reason: String| RegistryError::File {
                path: path.display().to_string(),
                reason,
            };
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if ext != "crt" && ext != "cert" {
                continue;
            }
            let pem = std::fs::read(&path).map_err(|e| fail(e.to_string()))?;
            let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(PemItem::Certificate(c)) => Some(Ok(c)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<_, _>>()
                .map_err(|e| fail(e.to_string()))?;
            if ext == "crt" {
                roots.extend(certs);
            } else {
                let key_path = path.with_extension("key");
                let key = std::fs::read(&key_path)
                    .map_err(|e| fail(format!("{}: {e}", key_path.display())))?;
                let key = PrivateKey::from_pem(&key).map_err(|e| fail(e.to_string()))?;
                client_cert = Some(ClientCert::new_with_certs(&certs, key));
            }
        }
    }
    let roots = if roots.is_empty() {
        RootCerts::WebPki
    } else {
        RootCerts::Specific(Arc::new(roots))
    };
    let tls = TlsConfig::builder()
        .root_certs(roots)
        .client_cert(client_cert)
        .disable_verification(insecure)
        .build();
    Ok(ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(120)))
        .timeout_per_read(Some(Duration::from_secs(120)))
        .http_status_as_error(false)
        .redirect_auth_headers(RedirectAuthHeaders::Never)
        .allow_non_standard_methods(true)
        .max_idle_connections_per_host(8)
        .user_agent(concat!("kiste/", env!("CARGO_PKG_VERSION")))
        .build()
        .into())
}
