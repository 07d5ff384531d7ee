//! A strict, bounded HTTP/1.1 request reader and response writer for the API socket.
//! Clients are hostile: the head is read in one bounded buffer (16 KiB, 100 headers),
//! bodies only with a Content-Length up to 4 MiB (docker's clients always send one for
//! JSON), and anything else is a typed error the server answers with docker's status.
//! It does no routing and knows nothing of containers.

use std::io::{Read, Write};

pub const MAX_HEAD: usize = 16 * 1024;
pub const MAX_HEADERS: usize = 100;
pub const MAX_BODY: usize = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("connection closed")]
    Closed,
    #[error("request header fields too large")]
    HeadTooLarge,
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    #[error("request body too large: {0} bytes (at most {MAX_BODY})")]
    BodyTooLarge(u64),
    #[error("a body needs a Content-Length (chunked requests are not accepted)")]
    LengthRequired,
    #[error("reading the request: {0}")]
    Io(#[from] std::io::Error),
}

impl HttpError {
    /// The status to answer with (None: the peer is gone, answer nothing).
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Closed | HttpError::Io(_) => None,
            HttpError::HeadTooLarge => Some(431),
            HttpError::Malformed(_) => Some(400),
            HttpError::BodyTooLarge(_) => Some(413),
            HttpError::LengthRequired => Some(411),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The path, percent-decoded, without the query.
    pub path: String,
    /// The query's pairs, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// HTTP/1.0, or `Connection: close`.
    pub close: bool,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// docker's boolean query values: "1"/"true"/"True" are true, anything else false.
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.param(name), Some("1" | "true" | "True" | "TRUE"))
    }
}

/// A connection's reader: bytes read past one request stay for the next.
pub struct Conn<S> {
    pub stream: S,
    buf: Vec<u8>,
}

impl<S: Read + Write> Conn<S> {
    pub fn new(stream: S) -> Conn<S> {
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Reads the next request; `Closed` when the peer ended the connection between requests.
    pub fn read_request(&mut self) -> Result<Request, HttpError> {
        let end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(HttpError::HeadTooLarge);
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(if self.buf.is_empty() {
                    HttpError::Closed
                } else {
                    HttpError::Malformed("connection closed inside the request head")
                });
            }
            self.buf.extend_from_slice(&chunk[..n]);
        };
        if end > MAX_HEAD {
            return Err(HttpError::HeadTooLarge);
        }
        let head = std::str::from_utf8(&self.buf[..end])
            .map_err(|_| HttpError::Malformed("request head is not UTF-8"))?
            .to_string();
        self.buf.drain(..end + 4);
        let mut req = parse_head(&head)?;
        let length = match req.header("content-length") {
            Some(v) => v
                .parse::<u64>()
                .map_err(|_| HttpError::Malformed("bad Content-Length"))?,
            None if req.header("transfer-encoding").is_some() => {
                return Err(HttpError::LengthRequired)
            }
            None => 0,
        };
        if length > MAX_BODY as u64 {
            return Err(HttpError::BodyTooLarge(length));
        }
        let length = length as usize;
        while self.buf.len() < length {
            let mut chunk = vec![0u8; (length - self.buf.len()).min(64 * 1024)];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(HttpError::Malformed("connection closed inside the body"));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        req.body = self.buf.drain(..length).collect();
        Ok(req)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The request line and headers (without the blank line).
pub fn parse_head(head: &str) -> Result<Request, HttpError> {
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpError::Malformed("bad request line"));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(HttpError::Malformed("bad method"));
    }
    let close = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(HttpError::Malformed("unsupported HTTP version")),
    };
    if !target.starts_with('/') {
        return Err(HttpError::Malformed(
            "request target is not an absolute path",
        ));
    }
    let (raw_path, raw_query) = target.split_once('?').unwrap_or((target, ""));
    let path = percent_decode(raw_path).ok_or(HttpError::Malformed("bad percent-encoding"))?;
    let mut query = Vec::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let dec =
            |s: &str| percent_decode(&s.replace('+', " ")).ok_or(HttpError::Malformed("bad query"));
        query.push((dec(k)?, dec(v)?));
    }
    let mut headers = Vec::new();
    for l in lines {
        if headers.len() >= MAX_HEADERS {
            return Err(HttpError::HeadTooLarge);
        }
        let (name, value) = l
            .split_once(':')
            .ok_or(HttpError::Malformed("header line without ':'"))?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(HttpError::Malformed("bad header name"));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    let mut req = Request {
        method: method.to_string(),
        path,
        query,
        headers,
        body: Vec::new(),
        close,
    };
    if let Some(c) = req.header("connection") {
        req.close |= c.eq_ignore_ascii_case("close");
    }
    if req.header("content-length").is_some() && req.header("transfer-encoding").is_some() {
        return Err(HttpError::Malformed(
            "both Content-Length and Transfer-Encoding",
        ));
    }
    Ok(req)
}

/// `%XX` decoding to UTF-8; None for a bad escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

pub fn reason(status: u16) -> &'static str {
    match status {
        101 => "UPGRADED",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        _ => "Internal Server Error",
    }
}

/// A whole response with a body; `head` leaves the body out (HEAD requests).
pub fn respond(
    w: &mut impl Write,
    status: u16,
    headers: &[(&str, String)],
    content_type: &str,
    body: &[u8],
    head: bool,
) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if !content_type.is_empty() {
        out.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    if !head {
        bytes.extend_from_slice(body);
    }
    w.write_all(&bytes)?;
    w.flush()
}

/// The head of a streamed response: the body follows until the connection closes.
pub fn respond_stream(w: &mut impl Write, status: u16, content_type: &str) -> std::io::Result<()> {
    write!(
        w,
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n",
        reason(status)
    )?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &[u8]) -> Result<Request, HttpError> {
        let mut conn = Conn::new(std::io::Cursor::new(input.to_vec()));
        conn.read_request()
    }

    #[test]
    fn reads_a_request_with_a_query_and_a_body() {
        let r = read(b"POST /v1.41/containers/create?name=a%2Fb&x=1 HTTP/1.1\r\nHost: d\r\nContent-Length: 2\r\n\r\n{}").unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/v1.41/containers/create");
        assert_eq!(r.param("name"), Some("a/b"));
        assert!(r.flag("x"));
        assert_eq!(r.body, b"{}");
        assert_eq!(r.header("host"), Some("d"));
    }

    #[test]
    fn keeps_bytes_of_the_next_request() {
        let mut conn = Conn::new(std::io::Cursor::new(
            b"GET /_ping HTTP/1.1\r\n\r\nGET /version HTTP/1.1\r\n\r\n".to_vec(),
        ));
        assert_eq!(conn.read_request().unwrap().path, "/_ping");
        assert_eq!(conn.read_request().unwrap().path, "/version");
        assert!(matches!(conn.read_request(), Err(HttpError::Closed)));
    }

    #[test]
    fn refuses_hostile_heads() {
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(read(big.as_bytes()).unwrap_err().status(), Some(431));
        let many: String = (0..=MAX_HEADERS).map(|i| format!("H{i}: v\r\n")).collect();
        let many = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(read(many.as_bytes()).unwrap_err().status(), Some(431));
        for bad in [
            &b"GET /\r\n\r\n"[..],
            b"get / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/2\r\n\r\n",
            b"GET x HTTP/1.1\r\n\r\n",
            b"GET /%zz HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nno colon\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        ] {
            assert_eq!(read(bad).unwrap_err().status(), Some(400), "{bad:?}");
        }
        let huge = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert_eq!(read(huge.as_bytes()).unwrap_err().status(), Some(413));
        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        assert_eq!(read(chunked).unwrap_err().status(), Some(411));
        assert!(read(b"GET / HTTP/1.1\r\n").unwrap_err().status().is_some());
    }
}
