//! kiste's one HTTP(S) client (ureq over rustls with the ring provider: pure Rust but for
//! ring's C, which builds statically with musl-gcc). It trusts the system's CA bundle, or
//! the one named by `SSL_CERT_FILE`/`SSL_CERT_DIR`, falling back to Mozilla's roots.
//! Blocking and thread-free, so it is safe in the processes that fork containers. Used by
//! ADD of URLs today and meant for the registry client.

use sha2::Digest;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{url}: {reason}")]
    Request { url: String, reason: String },
    #[error("{url}: server answered {status}")]
    Status { url: String, status: u16 },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// An agent with kiste's trust roots and timeouts; errors for non-2xx statuses are left
/// to the caller so it can name the status.
pub fn agent() -> ureq::Agent {
    let native = rustls_native_certs::load_native_certs();
    let certs: Vec<Certificate<'static>> = native
        .certs
        .iter()
        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    let roots = if certs.is_empty() {
        RootCerts::WebPki
    } else {
        RootCerts::Specific(Arc::new(certs))
    };
    ureq::Agent::config_builder()
        .tls_config(TlsConfig::builder().root_certs(roots).build())
        .timeout_global(Some(Duration::from_secs(300)))
        .http_status_as_error(false)
        .user_agent(concat!("kiste/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// GET `url` into `file` (streamed); return the content's digest as `sha256:<hex>`.
pub fn download(url: &str, file: &Path) -> Result<String, HttpError> {
    let fail = |reason: String| HttpError::Request {
        url: url.to_string(),
        reason,
    };
    let mut resp = agent().get(url).call().map_err(|e| fail(e.to_string()))?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(HttpError::Status {
            url: url.to_string(),
            status,
        });
    }
    let write_err = |source| HttpError::Write {
        path: file.display().to_string(),
        source,
    };
    let mut out = std::fs::File::create(file).map_err(write_err)?;
    let mut reader = resp.body_mut().as_reader();
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).map_err(|e| fail(e.to_string()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(write_err)?;
    }
    Ok(format!("sha256:{:x}", hasher.finalize()))
}
