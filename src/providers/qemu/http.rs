//! A read-only HTTP/1.1 file server for the VMs' network: the metadata service (each client
//! sees `root/<its address>/…`, as Nova tells instances apart by their fixed IP) and static
//! trees such as a package mirror. GET and HEAD only; every response closes the connection.
//!
//! It runs as `k8sgen qemu-http` inside the VMs' network namespace (see `net`).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

/// Serve `root` on `listen` until killed.
pub fn serve(listen: &str, root: &Path, per_client: bool) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen)?;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let root = root.to_path_buf();
        std::thread::spawn(move || {
            let _ = answer(stream, &root, per_client);
        });
    }
    Ok(())
}

fn answer(mut stream: TcpStream, root: &Path, per_client: bool) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let mut parts = request.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let base = if per_client {
        root.join(stream.peer_addr()?.ip().to_string())
    } else {
        root.to_path_buf()
    };
    let file = resolve(&base, target).filter(|p| p.is_file());
    let (status, body) = match (method, file) {
        ("GET" | "HEAD", Some(path)) => ("200 OK", std::fs::read(path)?),
        ("GET" | "HEAD", None) => ("404 Not Found", b"not found\n".to_vec()),
        _ => ("405 Method Not Allowed", Vec::new()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method == "GET" {
        stream.write_all(&body)?;
    }
    stream.flush()
}

/// The file a request target names under `base`, never outside it.
fn resolve(base: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next()?;
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()?;
    let mut out = base.to_path_buf();
    for c in Path::new(decoded.trim_start_matches('/')).components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_stay_under_the_root() {
        let base = Path::new("/srv");
        assert_eq!(
            resolve(base, "/core:/stable:/v1.36/deb/InRelease"),
            Some(PathBuf::from("/srv/core:/stable:/v1.36/deb/InRelease"))
        );
        assert_eq!(resolve(base, "/a%20b?x=1"), Some(PathBuf::from("/srv/a b")));
        assert_eq!(resolve(base, "/../etc/passwd"), None);
        assert_eq!(resolve(base, "/a/%2e%2e/%2e%2e/etc"), None);
        // Not an escape: taken literally, as URL parsers do; still under the root.
        assert_eq!(resolve(base, "/bad%zz"), Some(PathBuf::from("/srv/bad%zz")));
        assert_eq!(resolve(base, "/%ff"), None, "not UTF-8");
    }

    #[test]
    fn serves_files_per_client_and_refuses_the_rest() {
        let dir = tempfile_dir();
        let mine = dir.join("127.0.0.1/openstack/latest");
        std::fs::create_dir_all(&mine).unwrap();
        std::fs::write(mine.join("meta_data.json"), b"{\"uuid\":\"x\"}").unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let root = dir.clone();
        std::thread::spawn(move || {
            for s in listener.incoming().flatten() {
                let _ = answer(s, &root, true);
            }
        });
        let get = |target: &str| {
            let mut s = TcpStream::connect(addr).unwrap();
            write!(s, "GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut s, &mut text).unwrap();
            text
        };
        let ok = get("/openstack/latest/meta_data.json");
        assert!(ok.starts_with("HTTP/1.1 200 OK"), "{ok}");
        assert!(ok.ends_with("{\"uuid\":\"x\"}"));
        assert!(get("/openstack/latest/user_data").starts_with("HTTP/1.1 404"));
        assert!(get("/../127.0.0.1/openstack").starts_with("HTTP/1.1 404"));
        let _ = std::fs::remove_dir_all(dir);
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("k8sgen-http-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
