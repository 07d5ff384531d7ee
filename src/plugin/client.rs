//! The client side of docker's plugin protocol: `POST /Method` with a JSON body on the
//! plugin's unix socket (HTTP/1.1, `Connection: close`), a JSON answer back. Blocking and
//! thread-free: it runs in processes that fork containers.

use super::PluginError;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// How long one call may take (docker's plugin client waits as long for a volume call).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Calls `method` (e.g. `VolumeDriver.Mount`) with `body`; the answer's JSON. `plugin`
/// names the plugin in errors.
pub fn call(
    socket: &Path,
    plugin: &str,
    method: &str,
    body: &serde_json::Value,
) -> Result<serde_json::Value, PluginError> {
    let fail = |reason: String| PluginError::Call {
        plugin: plugin.to_string(),
        call: method.to_string(),
        reason,
    };
    let payload = serde_json::to_vec(body).map_err(|e| fail(e.to_string()))?;
    let mut conn = connect(socket)
        .map_err(|e| fail(format!("cannot connect to {}: {e}", socket.display())))?;
    let _ = conn.set_read_timeout(Some(CALL_TIMEOUT));
    let _ = conn.set_write_timeout(Some(CALL_TIMEOUT));
    let head = format!(
        "POST /{method} HTTP/1.1\r\nHost: plugin\r\nUser-Agent: kiste\r\n\
         Accept: application/vnd.docker.plugins.v1.2+json\r\n\
         Content-Type: application/vnd.docker.plugins.v1.2+json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    );
    conn.write_all(head.as_bytes())
        .and_then(|()| conn.write_all(&payload))
        .map_err(|e| fail(e.to_string()))?;
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw)
        .map_err(|e| fail(e.to_string()))?;
    let (status, body) =
        parse_response(&raw).ok_or_else(|| fail("malformed HTTP answer".into()))?;
    if !(200..300).contains(&status) {
        let text = String::from_utf8_lossy(&body).trim().to_string();
        // A plugin answers errors as {"Err": "..."} too.
        let msg = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["Err"].as_str().map(String::from))
            .unwrap_or(text);
        return Err(fail(format!("{status}: {msg}")));
    }
    let value: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&body).map_err(|e| fail(format!("bad JSON answer: {e}")))?
    };
    match value["Err"].as_str() {
        Some(err) if !err.is_empty() => Err(fail(err.to_string())),
        _ => Ok(value),
    }
}

/// Connects to the socket at `path`, however long: a unix socket address holds 107
/// bytes, and a store under a long `--runroot` goes past that, so the socket is reached
/// through its directory's descriptor (`/proc/self/fd/N/NAME`).
pub fn connect(path: &Path) -> std::io::Result<UnixStream> {
    if path.as_os_str().len() < 100 {
        return UnixStream::connect(path);
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return UnixStream::connect(path);
    };
    let dir = std::fs::File::open(dir)?;
    use std::os::fd::AsRawFd;
    let short = Path::new("/proc/self/fd")
        .join(dir.as_raw_fd().to_string())
        .join(name);
    UnixStream::connect(short)
}

/// The status and the body (de-chunked) of an HTTP/1.1 answer read to its end.
fn parse_response(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = &raw[end + 4..];
    let chunked = head.lines().any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.eq_ignore_ascii_case("transfer-encoding") && v.trim().eq_ignore_ascii_case("chunked")
        })
    });
    if !chunked {
        return Some((status, body.to_vec()));
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some((status, out));
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::parse_response;

    #[test]
    fn chunked_and_plain_answers_give_their_bodies() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(parse_response(plain), Some((200, b"{}".to_vec())));
        let chunked =
            b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"E\r\n5\r\nrr\":1\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked), Some((500, b"{\"Err\":1".to_vec())));
    }
}
