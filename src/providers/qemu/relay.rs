//! A TCP-to-Unix-socket relay for the VMs' network: a service that lives on this machine
//! (outside the VMs' namespace, which has no link out) made reachable at one address inside
//! it. A forward proxy that the VMs must go through is the case it exists for: the guests
//! reach the relay's address and nothing else, and the proxy decides what they reach.
//!
//! It runs as `k8sgen qemu-http --relay-to SOCKET` inside the VMs' network namespace (see
//! `net`); a Unix socket is a file, so the namespace does not hide it.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Accept on `listen` until killed; each connection is joined to a new connection to
/// `socket`. A connection the socket refuses is closed at once, as a refused TCP one is.
pub fn relay(listen: &str, socket: &Path) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen)?;
    for stream in listener.incoming() {
        let Ok(client) = stream else { continue };
        let socket = socket.to_path_buf();
        std::thread::spawn(move || {
            if let Ok(service) = UnixStream::connect(&socket) {
                join(client, service);
            }
        });
    }
    Ok(())
}

/// Copy both ways until each side has ended; an end in one direction is passed on as a
/// half-close, so request/response protocols that close their writing side still work.
fn join(client: TcpStream, service: UnixStream) {
    let (Ok(client_out), Ok(service_in)) = (client.try_clone(), service.try_clone()) else {
        return;
    };
    let upstream = std::thread::spawn(move || {
        copy(client, service_in, |s: &UnixStream| {
            s.shutdown(Shutdown::Write)
        })
    });
    copy(service, client_out, |s: &TcpStream| {
        s.shutdown(Shutdown::Write)
    });
    let _ = upstream.join();
}

fn copy<R: Read, W: Write>(mut from: R, mut to: W, close: impl Fn(&W) -> std::io::Result<()>) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = close(&to);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn bytes_cross_both_ways_and_half_closes_pass_on() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("service.sock");
        let service = UnixListener::bind(&socket).unwrap();
        // An echo service that answers once its client has finished writing.
        std::thread::spawn(move || {
            for conn in service.incoming() {
                let mut conn = conn.unwrap();
                let mut got = Vec::new();
                conn.read_to_end(&mut got).unwrap();
                conn.write_all(b"echo:").unwrap();
                conn.write_all(&got).unwrap();
            }
        });
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        let listen = probe.local_addr().unwrap().to_string();
        drop(probe);
        let (l, s) = (listen.clone(), socket.clone());
        std::thread::spawn(move || relay(&l, &s));
        let mut client = (0..100)
            .find_map(|_| {
                TcpStream::connect(&listen).ok().or_else(|| {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    None
                })
            })
            .expect("the relay listens");
        client.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let mut answer = String::new();
        client.read_to_string(&mut answer).unwrap();
        assert_eq!(answer, "echo:GET / HTTP/1.0\r\n\r\n");
    }

    #[test]
    fn a_refused_service_closes_the_connection() {
        let dir = tempfile::tempdir().unwrap();
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        let listen = probe.local_addr().unwrap().to_string();
        drop(probe);
        let (l, s) = (listen.clone(), dir.path().join("nobody.sock"));
        std::thread::spawn(move || relay(&l, &s));
        let mut client = (0..100)
            .find_map(|_| {
                TcpStream::connect(&listen).ok().or_else(|| {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    None
                })
            })
            .expect("the relay listens");
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).unwrap();
        assert!(answer.is_empty());
    }
}
