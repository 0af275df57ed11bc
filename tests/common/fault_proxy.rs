//! A loopback HTTP proxy that sits in front of one real OpenStack API and misbehaves on a
//! fixed schedule: 500s and 429s (with Retry-After) before the request reaches the cloud,
//! connection resets before it does and - the case that makes duplicates - after the cloud
//! has done the work but before the answer gets back, plus added latency. Bodies are passed
//! through with the real services' base URLs rewritten to the proxies' (Keystone's catalog),
//! so every call k8sgen makes goes through a proxy. Each request is also counted by route
//! (method and path, IDs and query left out), so a benchmark counts k8sgen's calls from
//! the outside rather than trusting k8sgen's own counter.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Pass,
    /// 500 without forwarding.
    Error500,
    /// 429 Retry-After: 1 without forwarding.
    TooMany,
    /// Close the connection without forwarding or answering (the client sees it closed
    /// before any answer, as after a reset).
    ResetBefore,
    /// Forward (the cloud acts), then close without answering.
    ResetAfter,
    /// Forward after a pause.
    Slow,
}

/// Injected faults by kind, for the test's report.
#[derive(Debug, Default)]
pub struct Counts {
    pub requests: AtomicU64,
    pub error500: AtomicU64,
    pub too_many: AtomicU64,
    pub reset_before: AtomicU64,
    pub reset_after: AtomicU64,
    pub slow: AtomicU64,
    /// HTTP requests received, by route (`GET /v2.1/servers/{id}`).
    pub routes: Mutex<BTreeMap<String, u64>>,
}

impl Counts {
    /// Requests received so far whose route satisfies `pick`.
    pub fn requests_where(&self, pick: impl Fn(&str) -> bool) -> u64 {
        let routes = self.routes.lock().unwrap();
        routes.iter().filter(|(r, _)| pick(r)).map(|(_, n)| n).sum()
    }
}

/// A request's route: its method and path with the query dropped and every segment that
/// is an ID (a UUID, 32 hex digits, or a number) replaced by `{id}`.
pub fn route(method: &str, path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    let is_id = |s: &str| {
        let hex = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        (s.len() == 36 || s.len() == 32) && hex(s)
            || !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
    };
    let segments: Vec<&str> = path
        .split('/')
        .map(|s| if is_id(s) { "{id}" } else { s })
        .collect();
    format!("{method} {}", segments.join("/"))
}

pub struct Proxy {
    pub port: u16,
    pub counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// The fault for the n-th request: a fixed cycle that puts every kind on GETs and POSTs
/// alike; `every` 0 disables faults.
pub fn schedule(n: u64, every: u64) -> Fault {
    if every == 0 || n % every != every - 1 {
        return Fault::Pass;
    }
    match (n / every) % 5 {
        0 => Fault::ResetAfter,
        1 => Fault::Error500,
        2 => Fault::TooMany,
        3 => Fault::ResetBefore,
        _ => Fault::Slow,
    }
}

/// Start a proxy to `upstream` (`http://127.0.0.1:PORT`) that replaces each `(from, to)`
/// in response bodies and injects a fault on every `every`-th request.
pub fn start(upstream: &str, rewrites: Arc<Mutex<Vec<(String, String)>>>, every: u64) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let upstream = upstream.trim_end_matches('/').to_string();
    let (c, s) = (counts.clone(), stop.clone());
    std::thread::spawn(move || {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        for stream in listener.incoming() {
            if s.load(Ordering::Relaxed) {
                break;
            }
            let Ok(stream) = stream else { continue };
            let n = c.requests.fetch_add(1, Ordering::Relaxed);
            let (http, upstream, rewrites, counts) =
                (http.clone(), upstream.clone(), rewrites.clone(), c.clone());
            std::thread::spawn(move || {
                let _ = serve(
                    stream,
                    &http,
                    &upstream,
                    &rewrites,
                    schedule(n, every),
                    &counts,
                );
            });
        }
    });
    Proxy { port, counts, stop }
}

fn serve(
    stream: TcpStream,
    http: &reqwest::blocking::Client,
    upstream: &str,
    rewrites: &Mutex<Vec<(String, String)>>,
    fault: Fault,
    counts: &Counts,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        return Ok(());
    };
    *counts
        .routes
        .lock()
        .unwrap()
        .entry(route(method, path))
        .or_default() += 1;
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            let (k, v) = (k.trim().to_string(), v.trim().to_string());
            if k.eq_ignore_ascii_case("content-length") {
                length = v.parse().unwrap_or(0);
            }
            headers.push((k, v));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut out = stream;
    let answer = |out: &mut TcpStream, status: &str, extra: &str, body: &[u8]| {
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
            body.len()
        );
        out.write_all(head.as_bytes())?;
        out.write_all(body)?;
        out.flush()
    };
    match fault {
        Fault::Error500 => {
            counts.error500.fetch_add(1, Ordering::Relaxed);
            let body = br#"{"computeFault": {"message": "injected fault", "code": 500}}"#;
            return answer(
                &mut out,
                "500 Internal Server Error",
                "Content-Type: application/json\r\n",
                body,
            );
        }
        Fault::TooMany => {
            counts.too_many.fetch_add(1, Ordering::Relaxed);
            let body = br#"{"overLimit": {"message": "injected rate limit", "code": 429}}"#;
            return answer(
                &mut out,
                "429 Too Many Requests",
                "Retry-After: 1\r\nContent-Type: application/json\r\n",
                body,
            );
        }
        Fault::ResetBefore => {
            counts.reset_before.fetch_add(1, Ordering::Relaxed);
            return out.shutdown(Shutdown::Both);
        }
        Fault::Slow => {
            counts.slow.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(700));
        }
        Fault::Pass | Fault::ResetAfter => {}
    }
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = http.request(method, format!("{upstream}{path}"));
    for (k, v) in &headers {
        if !["host", "content-length", "connection"].contains(&k.to_ascii_lowercase().as_str()) {
            request = request.header(k, v);
        }
    }
    let response = match request.body(body).send() {
        Ok(r) => r,
        Err(_) => return answer(&mut out, "502 Bad Gateway", "", b""),
    };
    if fault == Fault::ResetAfter {
        let _ = response.bytes();
        counts.reset_after.fetch_add(1, Ordering::Relaxed);
        return out.shutdown(Shutdown::Both);
    }
    let status = response.status();
    let mut extra = String::new();
    for (k, v) in response.headers() {
        let k = k.as_str();
        if !["content-length", "connection", "transfer-encoding"].contains(&k) {
            extra.push_str(&format!("{k}: {}\r\n", v.to_str().unwrap_or_default()));
        }
    }
    let mut text = String::from_utf8_lossy(&response.bytes().unwrap_or_default()).to_string();
    for (from, to) in rewrites.lock().unwrap().iter() {
        text = text.replace(from, to);
    }
    answer(
        &mut out,
        &format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        ),
        &extra,
        text.as_bytes(),
    )
}

#[test]
fn routes_hide_ids_and_queries_but_keep_names() {
    assert_eq!(
        route(
            "GET",
            "/v2.1/servers/0d5c4c0e-8f4e-4c53-9a1e-1b2c3d4e5f60?x=1"
        ),
        "GET /v2.1/servers/{id}"
    );
    assert_eq!(
        route("PUT", "/v2.0/ports/0d5c4c0e8f4e4c539a1e1b2c3d4e5f60/tags"),
        "PUT /v2.0/ports/{id}/tags"
    );
    assert_eq!(
        route("GET", "/v2.1/os-keypairs/ops"),
        "GET /v2.1/os-keypairs/ops"
    );
    assert_eq!(route("GET", "/v2.1/flavors/42"), "GET /v2.1/flavors/{id}");
}
