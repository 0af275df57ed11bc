//! `egress` (clusters behind a proxy or with registry mirrors): what `plan` derives, what every
//! node gets, goldens of a proxied variant of `openstack-ha`, the trusted CA file errors, and a
//! real containerd 2 resolving images through the rendered `hosts.toml` files and proxy
//! environment: the mirror first, the registry itself through the proxy only where fallback is
//! on, and nothing inside `no_proxy` through the proxy.

mod common;

use common::*;
use k8sgen::compile::Compiled;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::egress::{CA_FILE, load, proxied, proxied_text, proxy_ca};

fn file<'a>(c: &'a Compiled, node: usize, path: &str) -> Option<&'a str> {
    c.bundles[node]
        .files
        .iter()
        .find(|f| f.path == path)
        .map(|f| f.content.as_str())
}

fn script(c: &Compiled, node: usize) -> &str {
    file(c, node, &c.plan.platform.script_path).unwrap()
}

#[test]
fn no_proxy_covers_the_cluster_and_the_cloud_and_the_operators_additions() {
    let c = proxied(
        "openstack-ha",
        "http://proxy.example:3128",
        "https://mirror.example",
    );
    let proxy = c.plan.egress.proxy.as_ref().unwrap();
    let p = &c.plan;
    for want in [
        "localhost",
        "127.0.0.1",
        &p.openstack.cluster_cidr.to_string(),
        &p.pod_subnet.to_string(),
        &p.service_subnet.to_string(),
        ".svc",
        ".cluster.local",
        "169.254.169.254",
        "192.168.50.0/24", // the admin network
        ".corp.example",
        "10.20.0.0/16",
    ] {
        assert!(
            proxy.no_proxy.iter().any(|e| e == want),
            "{want} missing from {:?}",
            proxy.no_proxy
        );
    }
    // The API endpoint every node uses is the local load balancer on 127.0.0.1, and the
    // masters are in the cluster CIDR.
    assert!(p.control_plane_endpoint.starts_with("127.0.0.1:"));
    for m in p.masters() {
        assert!(p.openstack.cluster_cidr.contains(&m.address));
    }
}

#[test]
fn every_node_gets_the_proxy_the_cas_and_the_mirrors_before_it_downloads() {
    for profile in ["openstack-ha", "openstack-ha-flatcar"] {
        let c = proxied(
            profile,
            "http://proxy.example:3128",
            "https://mirror.example",
        );
        let flatcar = c.plan.platform.flatcar;
        let ca_path = if flatcar {
            "/etc/ssl/certs/k8sgen-egress-0.pem"
        } else {
            "/usr/local/share/ca-certificates/k8sgen-egress-0.crt"
        };
        for (i, b) in c.bundles.iter().enumerate() {
            let what = format!("{profile} {}", b.node);
            assert_eq!(file(&c, i, ca_path), Some(proxy_ca().as_str()), "{what}");
            let dropin = file(
                &c,
                i,
                "/etc/systemd/system/containerd.service.d/20-k8sgen-proxy.conf",
            )
            .unwrap();
            assert!(
                dropin.contains("\"HTTPS_PROXY=http://proxy.example:3128\"")
                    && dropin.contains("\"NO_PROXY=localhost,127.0.0.1,"),
                "{what}: {dropin}"
            );
            let docker = file(&c, i, "/etc/containerd/certs.d/docker.io/hosts.toml").unwrap();
            assert!(docker.contains("server = \"https://registry-1.docker.io\""));
            let k8s = file(&c, i, "/etc/containerd/certs.d/registry.k8s.io/hosts.toml").unwrap();
            assert!(k8s.contains("server = \"https://mirror.example/k8s\""));
            assert!(!k8s.contains("registry.k8s.io\""), "no fallback: {k8s}");

            // The archives' mirror, for cloud-init's apt module (Ubuntu/Debian only).
            let text = String::from_utf8(c.user_data[i].bytes.clone()).unwrap();
            assert_eq!(
                text.contains("\napt:\n  primary:\n  - arches:\n    - default\n    uri: https://mirror.example/ubuntu\n"),
                !flatcar,
                "{what}: {}",
                &text[..400.min(text.len())]
            );
            let s = script(&c, i);
            assert!(s.contains("export https_proxy='http://proxy.example:3128'"));
            assert!(s.contains("export no_proxy='localhost,127.0.0.1,"));
            // The store is updated and checked at the start of the first step, before any
            // package or download.
            let host_prep = shell_function(s, "step_host_prep");
            let first = host_prep.lines().nth(1).unwrap_or_default();
            assert!(
                host_prep.contains("update-ca-certificates")
                    && host_prep.find("update-ca-certificates")
                        < host_prep.find("apt-get").or(Some(usize::MAX)),
                "{what}: {first}"
            );
            // Nothing else runs with the proxy: kubelet's and etcd's units carry none.
            for u in &b.units {
                assert!(!u.content.contains("PROXY"), "{what}: {}", u.name);
            }
        }
    }
}

/// The proxied variant's init master and a worker, and their boot scripts, byte for byte.
#[test]
fn the_proxied_variant_matches_its_goldens() {
    let c = proxied(
        "openstack-ha",
        "http://proxy.example:3128",
        "https://mirror.example",
    );
    let dir = root().join("golden/openstack-ha-egress");
    let mut failures = Vec::new();
    for node in ["demo-cp-0", "demo-general-0"] {
        let ud = c.user_data.iter().find(|u| u.node == node).unwrap();
        let text = String::from_utf8(ud.bytes.clone()).unwrap();
        if let Err(e) = check_golden(&dir.join(format!("{node}.user-data")), &text) {
            failures.push(e);
        }
        let i = c.bundles.iter().position(|b| b.node == node).unwrap();
        if let Err(e) = check_golden(&dir.join(format!("scripts/{node}.sh")), script(&c, i)) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_trusted_ca_file_must_be_pem_certificates() {
    let text = proxied_text(
        "openstack-ha",
        "http://proxy.example:3128",
        "https://m.example",
    );
    let missing = load(&text, &BTreeMap::new()).unwrap_err();
    assert!(
        missing.contains("egress.trustedCAFiles[0]: cannot read c/certs/proxy-ca.pem"),
        "{missing}"
    );
    let not_pem = load(
        &text,
        &BTreeMap::from([(CA_FILE, b"not a certificate\n".to_vec())]),
    )
    .unwrap_err();
    assert!(
        not_pem
            .contains("egress.trustedCAFiles[0]: c/certs/proxy-ca.pem: no PEM certificate in it"),
        "{not_pem}"
    );
    let key = format!("{}{}", proxy_ca(), fixture().front_proxy_ca.key.expose());
    let with_key = load(&text, &BTreeMap::from([(CA_FILE, key.into_bytes())])).unwrap_err();
    assert!(with_key.contains("is a private key"), "{with_key}");
    assert!(
        !with_key.contains("PRIVATE KEY-----\n"),
        "the key is never quoted"
    );
}

/// Every `hosts.toml` parses as TOML (Python's own `tomllib`) and uses only the keys
/// containerd's `docs/hosts.md` documents.
#[test]
fn hosts_toml_uses_containerds_documented_keys() {
    require("python3");
    let c = proxied(
        "openstack-ha",
        "http://proxy.example:3128",
        "https://mirror.example",
    );
    for b in &c.bundles {
        for f in b.files.iter().filter(|f| f.path.ends_with("/hosts.toml")) {
            let out = Command::new("python3")
                .args([
                    "-c",
                    "import sys, tomllib\n\
                     doc = tomllib.loads(sys.stdin.read())\n\
                     keys = {'server', 'capabilities', 'ca', 'client', 'skip_verify', 'header', 'override_path'}\n\
                     bad = [k for k in doc if k not in keys | {'host'}]\n\
                     bad += [k for h in doc.get('host', {}).values() for k in h if k not in keys - {'server'}]\n\
                     caps = [c for t in [doc] + list(doc.get('host', {}).values()) for c in t.get('capabilities', [])]\n\
                     bad += [c for c in caps if c not in ('pull', 'resolve', 'push')]\n\
                     print(bad); sys.exit(1 if bad else 0)",
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .and_then(|mut child| {
                    use std::io::Write;
                    child.stdin.take().unwrap().write_all(f.content.as_bytes())?;
                    child.wait_with_output()
                })
                .unwrap();
            assert!(out.status.success(), "{}: {}", f.path, output_text(&out));
        }
    }
}

/// A small Python HTTP server that logs each request line to `log` and answers 404 (a mirror
/// without the image), or, as a proxy, 403 to every `CONNECT host:port`.
fn logging_server(address: &str, port: u16, log: &Path, status: u16) -> String {
    format!(
        "import http.server\n\
         class H(http.server.BaseHTTPRequestHandler):\n\
         \x20   def handle_one(self):\n\
         \x20       auth = self.headers.get('Authorization')\n\
         \x20       open({log:?}, 'a').write(self.command + ' ' + self.path + (' auth=' + auth if auth else '') + '\\n')\n\
         \x20       self.send_response({status}); self.send_header('Content-Length', '0'); self.end_headers()\n\
         \x20   do_GET = do_HEAD = do_CONNECT = handle_one\n\
         \x20   def log_message(self, *a): pass\n\
         http.server.HTTPServer(({address:?}, {port}), H).serve_forever()\n",
        log = log.display().to_string(),
    )
}

/// A real containerd 2 (Debian sid's, unpacked by tests/fetch-containerd2.sh) with the proxy
/// environment of the rendered drop-in and the rendered `certs.d`, in a network namespace of
/// its own where the mirror and the proxy listen on 10.20.0.5, an address the spec's
/// `noProxy` covers by CIDR (loopback would prove nothing: Go never proxies it). docker.io
/// asks the mirror first, directly, then Docker Hub through the proxy; registry.k8s.io
/// (fallback: false) asks the mirror only.
#[test]
fn containerd_pulls_through_the_mirrors_and_the_proxy_as_rendered() {
    require("unshare");
    let containerd = std::path::PathBuf::from(
        std::env::var("K8SGEN_CONTAINERD2")
            .unwrap_or_else(|_| "/var/cache/k8sgen-containerd2/usr/bin/containerd".into()),
    );
    assert!(
        containerd.is_file(),
        "{}: tests/fetch-containerd2.sh",
        containerd.display()
    );
    let ctr = containerd.with_file_name("ctr");
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let c = with_login("http://10.20.0.5:3128", "http://10.20.0.5:5000", true);
    let certs = t.join("certs.d");
    for f in c.bundles[3]
        .files
        .iter()
        .filter(|f| f.path.starts_with("/etc/containerd/certs.d/"))
    {
        let path = certs.join(f.path.trim_start_matches("/etc/containerd/certs.d/"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &f.content).unwrap();
    }
    // The daemon's environment, as systemd sets it from the drop-in's Environment= line.
    let dropin = file(
        &c,
        3,
        "/etc/systemd/system/containerd.service.d/20-k8sgen-proxy.conf",
    )
    .unwrap();
    let env_line = dropin
        .lines()
        .find_map(|l| l.strip_prefix("Environment="))
        .unwrap();
    let env: Vec<String> = env_line
        .split("\" \"")
        .map(|kv| kv.trim_matches('"').to_string())
        .collect();
    assert_eq!(env.len(), 3, "{env:?}");
    assert!(env[2].contains(",10.20.0.0/16"), "{env:?}");
    let config = t.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "version = 3\nroot = {:?}\nstate = {:?}\n[grpc]\n  address = {:?}\n",
            t.join("root").display().to_string(),
            t.join("state").display().to_string(),
            t.join("containerd.sock").display().to_string()
        ),
    )
    .unwrap();
    let mirror = logging_server("10.20.0.5", 5000, &t.join("mirror.log"), 404);
    let proxy = logging_server("10.20.0.5", 3128, &t.join("proxy.log"), 403);
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let run = format!(
        "set -u\n\
         ip link set lo up\n\
         ip addr add 10.20.0.5/32 dev lo\n\
         python3 -c {mirror} & python3 -c {proxy} &\n\
         for _ in $(seq 100); do (echo >/dev/tcp/10.20.0.5/5000 && echo >/dev/tcp/10.20.0.5/3128) 2>/dev/null && break; sleep 0.1; done\n\
         env {env} {containerd} --config {config} 2>{t}/containerd.log &\n\
         for _ in $(seq 100); do [ -S {t}/containerd.sock ] && break; sleep 0.1; done\n\
         {ctr} --address {t}/containerd.sock image pull --hosts-dir {certs} docker.io/library/busybox:1.36 >{t}/hub.out 2>&1; echo \"hub=$?\"\n\
         {ctr} --address {t}/containerd.sock image pull --hosts-dir {certs} registry.k8s.io/pause:3.10.2 >{t}/k8s.out 2>&1; echo \"k8s=$?\"\n\
         kill $(jobs -p) 2>/dev/null; wait\n",
        mirror = quote(&mirror),
        proxy = quote(&proxy),
        env = env.iter().map(|e| quote(e)).collect::<Vec<_>>().join(" "),
        containerd = containerd.display(),
        ctr = ctr.display(),
        config = config.display(),
        certs = certs.display(),
        t = t.display(),
    );
    let out = Command::new("unshare")
        .args(["--net", "bash", "-c", &run])
        .output()
        .unwrap();
    let read = |name: &str| std::fs::read_to_string(t.join(name)).unwrap_or_default();
    let (mirror_log, proxy_log) = (read("mirror.log"), read("proxy.log"));
    let context = format!(
        "{}\nmirror:\n{mirror_log}\nproxy:\n{proxy_log}\ncontainerd:\n{}\nctr: {}{}",
        output_text(&out),
        read("containerd.log"),
        read("hub.out"),
        read("k8s.out")
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("hub=1") && said.contains("k8s=1"),
        "both pulls fail (no registry has the images): {context}"
    );
    // docker.io: the mirror, asked directly and with its login, then Docker Hub through the
    // proxy (whose CONNECT carries no login).
    assert!(
        mirror_log.contains(&format!(
            "/v2/library/busybox/manifests/1.36?ns=docker.io auth=Basic {}",
            STANDARD.encode("mirror-user:mirror-pass")
        )),
        "{context}"
    );
    assert!(!proxy_log.contains("auth="), "{context}");
    // registry.k8s.io's mirror has no login.
    assert!(
        mirror_log
            .lines()
            .filter(|l| l.contains("ns=registry.k8s.io"))
            .all(|l| !l.contains("auth=")),
        "{context}"
    );
    assert!(
        proxy_log.contains("CONNECT registry-1.docker.io:443"),
        "{context}"
    );
    // registry.k8s.io without fallback: the mirror's path, and never the registry itself.
    assert!(
        mirror_log.contains("/k8s/v2/pause/manifests/3.10.2?ns=registry.k8s.io"),
        "{context}"
    );
    assert!(!proxy_log.contains("registry.k8s.io"), "{context}");
    // The mirror is inside no_proxy (10.20.0.0/16): never asked through the proxy.
    assert!(!proxy_log.contains("10.20.0.5"), "{context}");
}

/// host-prep's trusted-CA part, from rendered user-data, against Debian's own
/// `update-ca-certificates` pointed at a private root: the CA file is where and how that tool
/// takes it (a `*.crt` under /usr/local/share/ca-certificates), and the step's check finds it
/// in the bundle every tool reads. Named `*.pem` (Flatcar's way) Debian's tool skips it, and
/// the step fails saying so.
#[test]
fn the_trusted_ca_reaches_debians_bundle() {
    require("update-ca-certificates");
    let c = proxied(
        "openstack-ha",
        "http://proxy.example:3128",
        "https://mirror.example",
    );
    let step = shell_function(script(&c, 3), "step_host_prep");
    let end = step.find("# Modules").unwrap();
    let part = step[..end]
        .lines()
        .skip(1)
        .collect::<Vec<_>>()
        .join("\n")
        .replace(
            "/usr/local/share/ca-certificates",
            "$ROOT/usr/local/share/ca-certificates",
        )
        .replace("/etc/ssl/certs", "$ROOT/etc/ssl/certs");
    let ca = "/usr/local/share/ca-certificates/k8sgen-egress-0.crt";
    for (name, trusted) in [
        ("k8sgen-egress-0.crt", true),
        ("k8sgen-egress-0.pem", false),
    ] {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let bin = r.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(r.join("etc/ssl/certs")).unwrap();
        std::fs::create_dir_all(r.join("hooks")).unwrap();
        let local = r.join("usr/local/share/ca-certificates");
        std::fs::create_dir_all(&local).unwrap();
        std::fs::write(local.join(name), file(&c, 3, ca).unwrap()).unwrap();
        std::fs::write(
            bin.join("update-ca-certificates"),
            "#!/bin/sh\nexec /usr/sbin/update-ca-certificates --certsconf \"$ROOT/ca-certificates.conf\" \
             --localcertsdir \"$ROOT/usr/local/share/ca-certificates\" \
             --etccertsdir \"$ROOT/etc/ssl/certs\" --hooksdir \"$ROOT/hooks\" \"$@\"\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            bin.join("update-ca-certificates"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        // The negative case is the step as it would be had k8sgen named the file `.pem` on
        // Debian (Flatcar's convention): Debian's tool skips it.
        let step = part.replace("k8sgen-egress-0.crt", name);
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &step])
            .env("ROOT", r)
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .output()
            .unwrap();
        assert_eq!(
            out.status.success(),
            trusted,
            "{name}: {}",
            output_text(&out)
        );
        let bundle = std::fs::read_to_string(r.join("etc/ssl/certs/ca-certificates.crt"))
            .unwrap_or_default();
        assert_eq!(
            bundle.contains(proxy_ca().lines().nth(1).unwrap()),
            trusted,
            "{name}"
        );
        if !trusted {
            assert!(
                output_text(&out)
                    .contains("/etc/ssl/certs/ca-certificates.crt after update-ca-certificates"),
                "{}",
                output_text(&out)
            );
        }
    }
}

/// `plan` shows the proxy, the computed no_proxy, the trusted CA files and the mirrors; the
/// CA file is read from beside the spec on disk.
#[test]
fn plan_shows_the_egress() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c");
    std::fs::create_dir_all(c.join("certs")).unwrap();
    std::fs::write(c.join("certs/proxy-ca.pem"), proxy_ca()).unwrap();
    let spec = c.join("cluster.yaml");
    std::fs::write(
        &spec,
        proxied_text(
            "openstack-ha",
            "http://proxy.example:3128",
            "https://mirror.example",
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_k8sgen"))
        .args(["plan", "-f", spec.to_str().unwrap(), "--secrets"])
        .arg(root().join("tests/fixtures/secrets.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let row = |label: &str| {
        text.lines()
            .filter(|l| l.starts_with(&format!("{label} ")))
            .map(|l| l[label.len()..].trim().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        row("proxy"),
        [
            "http http://proxy.example:3128, https http://proxy.example:3128 (apt, downloads, containerd)"
        ]
    );
    assert!(
        row("no_proxy")[0].starts_with("localhost,127.0.0.1,10.0.0.0/24,10.244.0.0/16,10.96.0.0/12,.svc,.cluster.local,169.254.169.254,"),
        "{text}"
    );
    assert_eq!(row("trusted CAs"), ["certs/proxy-ca.pem"]);
    assert_eq!(
        row("apt archives"),
        ["https://mirror.example/ubuntu (security: https://mirror.example/security)"]
    );
    assert_eq!(
        row("registry"),
        [
            "docker.io via https://mirror.example, then https://registry-1.docker.io",
            "registry.k8s.io via https://mirror.example/k8s only"
        ]
    );
}

/// The proxied variant with a login for the docker.io mirror, compiled with the variables set
/// (`env`) or unset.
fn with_login(proxy: &str, mirror: &str, env: bool) -> Compiled {
    let text = edit_text(
        &proxied_text("openstack-ha", proxy, mirror),
        &[(
            &format!("    docker.io:\n      mirror: {mirror}\n"),
            &format!(
                "    docker.io:\n      mirror: {mirror}\n      credentials:\n        usernameFrom: MIRROR_USER\n        passwordFrom: MIRROR_PASS\n"
            ),
        )],
    );
    let files = BTreeMap::from([(CA_FILE, proxy_ca().into_bytes())]);
    let spec = load(&text, &files).unwrap();
    let mut bundle = fixture();
    let clock = fixture_clock(&bundle);
    let lookup = |k: &str| match k {
        "MIRROR_USER" if env => Some("mirror-user".to_string()),
        "MIRROR_PASS" if env => Some("mirror-pass".to_string()),
        k if k.starts_with("OS_APPLICATION_CREDENTIAL") => Some(format!("test-{k}")),
        _ => None,
    };
    k8sgen::compile::compile(
        &spec,
        &mut bundle,
        &lookup,
        &clock,
        &mut k8sgen::pki::SeededEntropy(42),
        k8sgen::render::Options { gzip: false },
    )
    .unwrap()
}

/// A mirror login is a secret: every node's hosts.toml for that registry holds it, 0600; the
/// plan names the variables, never the values; a missing variable is a warning and makes the
/// plan undeployable, and no half login is written.
#[test]
fn a_mirror_login_is_a_secret_on_every_node() {
    let c = with_login("http://proxy.example:3128", "https://mirror.example", true);
    assert!(c.plan.deployable, "{:?}", c.plan.warnings);
    let basic = STANDARD.encode("mirror-user:mirror-pass");
    for b in &c.bundles {
        let f = b
            .files
            .iter()
            .find(|f| f.path == "/etc/containerd/certs.d/docker.io/hosts.toml")
            .unwrap();
        assert!(f.secret && f.mode == 0o600, "{}", b.node);
        assert!(
            f.content.ends_with(&format!(
                "[host.\"https://mirror.example\".header]\n  Authorization = \"Basic {basic}\"\n"
            )),
            "{}",
            f.content
        );
        let k8s = b
            .files
            .iter()
            .find(|f| f.path == "/etc/containerd/certs.d/registry.k8s.io/hosts.toml")
            .unwrap();
        assert!(!k8s.secret && !k8s.content.contains("Authorization"));
        assert!(
            c.plan.secrets_by_role[&b.role]
                .iter()
                .any(|s| s.contains("registry mirror logins")),
            "{}",
            b.node
        );
    }
    let json = serde_json::to_string(&c.plan).unwrap();
    assert!(!json.contains(&basic) && !json.contains("mirror-pass"));
    assert!(json.contains("username from MIRROR_USER, password from MIRROR_PASS"));

    let unset = with_login("http://proxy.example:3128", "https://mirror.example", false);
    assert!(!unset.plan.deployable);
    for var in ["MIRROR_USER", "MIRROR_PASS"] {
        assert_eq!(
            unset
                .plan
                .warnings
                .iter()
                .filter(|w| w.contains(&format!("environment variable {var} is not set")))
                .count(),
            1,
            "{:?}",
            unset.plan.warnings
        );
    }
    let f = unset.bundles[0]
        .files
        .iter()
        .find(|f| f.path == "/etc/containerd/certs.d/docker.io/hosts.toml")
        .unwrap();
    assert!(!f.content.contains("Authorization"), "{}", f.content);
}

/// cloud-init's own apt module code (Debian's cloud-init 22.4, its mirror resolution and its
/// sources templates for Ubuntu and Debian) turns the rendered `apt:` section into sources
/// whose every archive line is on the mirror: primary for the release and its updates,
/// security for the security suite. (Ubuntu 24.04's cloud-init writes the same mirrors in
/// deb822 form from the same resolution.)
#[test]
fn cloud_inits_apt_module_points_every_archive_at_the_mirror() {
    let python = "/usr/bin/python3";
    assert!(
        Path::new(python).exists(),
        "{python}: Debian's python3, with cloud-init"
    );
    let c = proxied(
        "openstack-ha",
        "http://proxy.example:3128",
        "https://mirror.example",
    );
    let user_data = String::from_utf8(c.user_data[3].bytes.clone()).unwrap();
    let program = r#"
import sys, yaml
from cloudinit import templater
from cloudinit.config import cc_apt_configure as apt
cfg = yaml.safe_load(sys.stdin.read())['apt']
mirrors = apt.find_apt_mirror_info(cfg, None, arch='amd64')
for distro, codename in (('ubuntu', 'noble'), ('debian', 'bookworm')):
    params = {'RELEASE': codename, 'codename': codename}
    for k, v in mirrors.items():
        params[k] = v
        params[k.lower()] = v
    text = templater.render_string(open('/etc/cloud/templates/sources.list.%s.tmpl' % distro).read(), params)
    for line in text.splitlines():
        if line.startswith('deb '):
            print(distro, line)
"#;
    let out = Command::new(python)
        .args(["-c", program])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(user_data.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    let lines = String::from_utf8(out.stdout).unwrap();
    for distro in ["ubuntu", "debian"] {
        let debs: Vec<&str> = lines.lines().filter(|l| l.starts_with(distro)).collect();
        assert!(debs.len() >= 3, "{distro}: {lines}");
        for l in &debs {
            let archive = if l.contains("-security") {
                " deb https://mirror.example/security "
            } else {
                " deb https://mirror.example/ubuntu "
            };
            assert!(l.contains(archive), "{distro}: {l}");
        }
        assert!(
            debs.iter().any(|l| l.contains("-security")),
            "{distro}: {lines}"
        );
    }
}

/// A mirror given by an address inside a network no_proxy lists (the cluster network here)
/// is named by its address too, so apt and curl, which match no CIDR, go direct as Go does;
/// one outside every listed network goes through the proxy.
#[test]
fn a_mirror_inside_a_listed_network_is_reached_directly_by_every_tool() {
    let inside = proxied(
        "openstack-ha",
        "http://proxy.example:3128",
        "https://10.0.0.50:5000",
    );
    let proxy = inside.plan.egress.proxy.as_ref().unwrap();
    assert!(
        proxy.no_proxy.iter().any(|e| e == "10.0.0.50"),
        "{:?}",
        proxy.no_proxy
    );
    let apt = file(&inside, 3, "/etc/apt/apt.conf.d/90k8sgen-proxy").unwrap();
    assert!(
        apt.contains("Acquire::https::Proxy::10.0.0.50 \"DIRECT\";"),
        "{apt}"
    );

    let outside = proxied(
        "openstack-ha",
        "http://proxy.example:3128",
        "https://198.51.100.7:5000",
    );
    let proxy = outside.plan.egress.proxy.as_ref().unwrap();
    assert!(
        !proxy.no_proxy.iter().any(|e| e.contains("198.51.100.7")),
        "{:?}",
        proxy.no_proxy
    );
}

/// apt's own proxy settings (for unattended-upgrades too, which never sees the boot script's
/// environment), read back by the real `apt-config`: both schemes through the proxy, every
/// exact no_proxy host directly, mirrors through the proxy too. Flatcar's update-engine gets the proxy too.
#[test]
fn os_updates_and_mirrors_go_through_the_proxy() {
    require("apt-config");
    let c = proxied(
        "openstack-ha",
        "http://proxy.example:3128",
        "https://mirror.example",
    );
    let conf = file(&c, 3, "/etc/apt/apt.conf.d/90k8sgen-proxy").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("90k8sgen-proxy");
    std::fs::write(&path, conf).unwrap();
    let out = Command::new("apt-config")
        .arg("-c")
        .arg(&path)
        .args(["dump", "Acquire"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    let dump = String::from_utf8(out.stdout).unwrap();
    for want in [
        "Acquire::http::Proxy \"http://proxy.example:3128\";",
        "Acquire::https::Proxy \"http://proxy.example:3128\";",
        "Acquire::http::Proxy::169.254.169.254 \"DIRECT\";",
    ] {
        assert!(dump.contains(want), "{want}:\n{dump}");
    }
    assert!(
        !dump.contains("::.svc"),
        "suffixes cannot be said to apt: {dump}"
    );

    // A mirror goes through the proxy unless noProxy names it (it may be reachable only
    // through the proxy; an in-cloud one is a noProxy line away).
    let proxy = c.plan.egress.proxy.as_ref().unwrap();
    assert!(!proxy.no_proxy.iter().any(|e| e == "mirror.example"));
    assert!(!dump.contains("mirror.example"), "{dump}");

    let flatcar = proxied(
        "openstack-ha-flatcar",
        "http://proxy.example:3128",
        "https://mirror.example",
    );
    let dropin = file(
        &flatcar,
        0,
        "/etc/systemd/system/update-engine.service.d/20-k8sgen-proxy.conf",
    )
    .unwrap();
    assert!(
        dropin.ends_with("[Service]\nEnvironment=\"ALL_PROXY=http://proxy.example:3128\"\n"),
        "{dropin}"
    );
    assert!(file(&flatcar, 0, "/etc/apt/apt.conf.d/90k8sgen-proxy").is_none());
}

/// A proxy given for one scheme serves both: Go and curl never take `http_proxy` for an https
/// URL, and every registry and release download is https.
#[test]
fn one_proxy_url_serves_both_schemes() {
    let text = proxied_text(
        "openstack-ha",
        "http://proxy.example:3128",
        "https://m.example",
    )
    .replace("    https: http://proxy.example:3128\n", "");
    let files = BTreeMap::from([(CA_FILE, proxy_ca().into_bytes())]);
    let c = compile_spec("openstack-ha", &load(&text, &files).unwrap(), false).0;
    let proxy = c.plan.egress.proxy.as_ref().unwrap();
    assert_eq!(proxy.https.as_deref(), Some("http://proxy.example:3128"));
    assert!(script(&c, 0).contains("export https_proxy='http://proxy.example:3128'"));
}
