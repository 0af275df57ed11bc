"""TLS in front of the k8sgen test rig's plain-HTTP APIs (tests/openstack/rig.sh).

  tls_front.py [--client-ca CA] CERT KEY LISTEN:BACKEND...

Listens on 127.0.0.1:LISTEN with the certificate CERT (and its key KEY), with --client-ca
requiring a client certificate CA signed, and passes the bytes
of each connection, decrypted, to 127.0.0.1:BACKEND and back. Nothing is parsed: HTTP
keep-alive and the services' own `Connection: close` behave as without the front. When either
side ends, both connections are closed (HTTP clients never half-close).

Test rig only; run by rig.sh with Debian's python3 (the standard library alone).
"""

import socket
import ssl
import sys
import threading


def pipe(src, dst, both):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        # Wake the other direction, blocked in recv: shut the raw descriptors down (an
        # SSLSocket's own shutdown drops its TLS state under the other thread's feet).
        for s in both:
            try:
                socket.socket.shutdown(s, socket.SHUT_RDWR)
            except OSError:
                pass


def handle(ctx, conn, backend):
    port = conn.getsockname()[1]
    try:
        conn.settimeout(30)
        client = ctx.wrap_socket(conn, server_side=True)
        client.settimeout(None)
    except (ssl.SSLError, OSError) as e:
        # A client that refuses the certificate ends here: expected in the rig's tests.
        print(f"tls_front: handshake on :{port}: {e}", file=sys.stderr, flush=True)
        conn.close()
        return
    try:
        upstream = socket.create_connection(("127.0.0.1", backend))
    except OSError as e:
        print(f"tls_front: backend :{backend}: {e}", file=sys.stderr, flush=True)
        client.close()
        return
    both = (client, upstream)
    back = threading.Thread(target=pipe, args=(upstream, client, both), daemon=True)
    back.start()
    pipe(client, upstream, both)
    back.join()
    client.close()
    upstream.close()


def serve(ctx, listen, backend):
    server = socket.create_server(("127.0.0.1", listen), backlog=128)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(ctx, conn, backend), daemon=True).start()


def main():
    args = sys.argv[1:]
    client_ca = None
    if args[:1] == ["--client-ca"]:
        client_ca, args = args[1], args[2:]
    cert, key, *pairs = args
    if not pairs:
        sys.exit(__doc__)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    threads = []
    for pair in pairs:
        listen, backend = (int(p) for p in pair.split(":"))
        t = threading.Thread(target=serve, args=(ctx, listen, backend), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
