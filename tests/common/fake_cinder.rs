//! A stand-in for Cinder's block-storage v3 API on loopback, for the OpenStack rig, which has
//! no Cinder: it answers version discovery, the project's volume quotas (k8sgen's pre-flight)
//! and the volume types (Nova's API checks a root volume's type against them), refuses every
//! volume create with 400, and records each request, so a test reads what k8sgen and Nova
//! asked of Cinder. Not a Cinder: it keeps no volumes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The one volume type it offers.
pub const VOLUME_TYPE: &str = "rig-type";

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: String,
}

pub struct FakeCinder {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl FakeCinder {
    pub fn start() -> FakeCinder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopped) = (requests.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    return;
                }
                if let Ok(stream) = stream {
                    let seen = seen.clone();
                    std::thread::spawn(move || serve(stream, port, &seen));
                }
            }
        });
        FakeCinder {
            port,
            requests,
            stop,
        }
    }

    /// The endpoint to put in the catalog (Nova's Cinder client wants `/v3` in it).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v3", self.port)
    }

    pub fn seen(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeCinder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(stream: TcpStream, port: u16, seen: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or_default().to_string(),
        parts.next().unwrap_or_default().to_string(),
    );
    let mut length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let body = String::from_utf8_lossy(&body).to_string();
    let (status, answer) = answer(&method, &path, port);
    seen.lock().unwrap().push(Request { method, path, body });
    let text = answer.to_string();
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

fn answer(method: &str, path: &str, port: u16) -> (&'static str, serde_json::Value) {
    use serde_json::json;
    let route = path.split('?').next().unwrap_or_default();
    let quota = |limit: i64| json!({"limit": limit, "in_use": 0, "reserved": 0, "allocated": 0});
    match (method, route) {
        ("GET", "/" | "/v3" | "/v3/") => (
            "200 OK",
            json!({"versions": [{
                "id": "v3.0", "status": "CURRENT", "version": "3.70", "min_version": "3.0",
                "updated": "2022-08-31T00:00:00Z",
                "links": [{"rel": "self", "href": format!("http://127.0.0.1:{port}/v3/")}],
                "media-types": [{"base": "application/json",
                    "type": "application/vnd.openstack.volume+json;version=3"}],
            }]}),
        ),
        ("GET", r) if r.contains("/os-quota-sets/") => (
            "200 OK",
            json!({"quota_set": {
                "id": r.rsplit('/').next().unwrap_or_default(),
                "volumes": quota(100),
                "gigabytes": quota(1000),
                "per_volume_gigabytes": quota(-1),
                format!("volumes_{VOLUME_TYPE}"): quota(-1),
                format!("gigabytes_{VOLUME_TYPE}"): quota(-1),
            }}),
        ),
        ("GET", r) if r.ends_with("/types") => (
            "200 OK",
            json!({"volume_types": [{
                "id": "6f4b3c1e-0000-4000-8000-000000000001", "name": VOLUME_TYPE,
                "is_public": true, "os-volume-type-access:is_public": true,
                "description": null, "qos_specs_id": null, "extra_specs": {},
            }]}),
        ),
        ("POST", r) if r.ends_with("/volumes") => (
            "400 Bad Request",
            json!({"badRequest": {"code": 400, "message": "k8sgen rig: no volume backend here"}}),
        ),
        _ => (
            "404 Not Found",
            json!({"itemNotFound": {"code": 404, "message": "not in the fake"}}),
        ),
    }
}
