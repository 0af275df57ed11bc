//! Conformance with a real etcd: the three masters' rendered user-data (the exact files
//! `render` writes) provide the certificates and the unit's flags; a 3-member cluster on
//! loopback addresses forms with mutual TLS, elects one leader, replicates a write, and refuses
//! clients without a certificate or with a foreign CA's. Every process is stopped, also on
//! failure (the guard's Drop).

mod common;

use common::*;
use k8sgen::pki::{self, LeafRequest, LeafSigner, LeafUsage, SeededEntropy};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Members(Vec<Child>);

impl Drop for Members {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `cluster.yaml` for the HA profile with masters on 127.0.0.11-13 (loopback aliases).
fn loopback_spec() -> String {
    edit_text(
        k8sgen::profiles::find("openstack-ha").unwrap().text,
        &[
            ("cidr: 10.0.0.0/24", "cidr: 127.0.0.0/24"),
            ("firstAddress: 10.0.0.11", "firstAddress: 127.0.0.11"),
        ],
    )
}

/// The argv of `ExecStart=` in a unit file (backslash continuations joined).
fn exec_start(unit: &str) -> Vec<String> {
    let joined = unit.replace("\\\n", " ");
    let line = joined
        .lines()
        .find(|l| l.starts_with("ExecStart="))
        .unwrap();
    line.trim_start_matches("ExecStart=")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

struct Node {
    name: String,
    ip: String,
    pki: PathBuf,
}

fn etcdctl(endpoints: &str, pki: &Path, client: Option<(&Path, &Path)>, args: &[&str]) -> Output {
    let mut cmd = Command::new("etcdctl");
    cmd.env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoints}"))
        .arg(format!("--cacert={}", pki.join("etcd/ca.crt").display()))
        .args(["--dial-timeout=3s", "--command-timeout=5s"]);
    if let Some((cert, key)) = client {
        cmd.arg(format!("--cert={}", cert.display()))
            .arg(format!("--key={}", key.display()));
    }
    cmd.args(args).output().unwrap()
}

#[test]
fn three_member_etcd_forms_with_k8sgens_certificates() {
    require("etcd");
    require("etcdctl");
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let cluster = tmp.path().join("cluster");
    std::fs::create_dir_all(&cluster).unwrap();
    std::fs::write(cluster.join("cluster.yaml"), loopback_spec()).unwrap();
    std::fs::copy(fixture_path(), cluster.join("secrets.yaml")).unwrap();
    let out_dir = cluster.join("out");
    let out = k8sgen(&[
        "render",
        "-f",
        cluster.join("cluster.yaml").to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut nodes = Vec::new();
    let mut argvs = Vec::new();
    for (i, name) in ["demo-cp-0", "demo-cp-1", "demo-cp-2"].iter().enumerate() {
        let doc = std::fs::read_to_string(out_dir.join(format!("{name}.user-data"))).unwrap();
        let files: BTreeMap<String, (String, String)> = write_files(&doc);
        let root = tmp.path().join(name);
        for (path, (_, content)) in files
            .iter()
            .filter(|(p, _)| p.starts_with("/etc/kubernetes/pki/"))
        {
            let local = root.join(path.trim_start_matches('/'));
            std::fs::create_dir_all(local.parent().unwrap()).unwrap();
            std::fs::write(&local, content).unwrap();
        }
        let pki_dir = root.join("etc/kubernetes/pki");
        let ip = format!("127.0.0.{}", 11 + i);
        // The rendered unit's own flags, with host paths moved into the test directory. On one
        // host the members cannot all bind 127.0.0.1:2379/2381, so those listeners move to the
        // member's own address; every TLS flag stays as rendered.
        let unit = &files["/etc/systemd/system/k8sgen-etcd.service"].1;
        let argv: Vec<String> = exec_start(unit)
            .into_iter()
            .skip(1)
            .map(|a| {
                a.replace("/etc/kubernetes/pki", pki_dir.to_str().unwrap())
                    .replace("/var/lib/etcd", root.join("data").to_str().unwrap())
                    .replace("https://127.0.0.1:2379,", "")
                    .replace("http://127.0.0.1:2381", &format!("http://{ip}:2381"))
            })
            .collect();
        for flag in [
            "--client-cert-auth",
            "--peer-client-cert-auth",
            &format!("--initial-advertise-peer-urls=https://{ip}:2380"),
        ] {
            assert!(
                argv.iter().any(|a| a == flag),
                "{name}: rendered unit lacks {flag}"
            );
        }
        argvs.push(argv);
        nodes.push(Node {
            name: name.to_string(),
            ip,
            pki: pki_dir,
        });
    }

    let logs = tmp.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mut members = Members(Vec::new());
    for (node, argv) in nodes.iter().zip(&argvs) {
        let log = std::fs::File::create(logs.join(format!("{}.log", node.name))).unwrap();
        members.0.push(
            Command::new("etcd")
                .args(argv)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
    }
    let endpoints = nodes
        .iter()
        .map(|n| format!("https://{}:2379", n.ip))
        .collect::<Vec<_>>()
        .join(",");
    let pki0 = &nodes[0].pki;
    let health = (
        pki0.join("etcd/healthcheck-client.crt"),
        pki0.join("etcd/healthcheck-client.key"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = etcdctl(
            &endpoints,
            pki0,
            Some((&health.0, &health.1)),
            &["endpoint", "health"],
        );
        if out.status.success() {
            break;
        }
        if Instant::now() > deadline {
            let logs: String = nodes
                .iter()
                .map(|n| {
                    std::fs::read_to_string(logs.join(format!("{}.log", n.name)))
                        .unwrap_or_default()
                })
                .collect();
            panic!(
                "etcd did not become healthy: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                logs.lines().rev().take(30).collect::<Vec<_>>().join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }

    // One leader among three members.
    let status = etcdctl(
        &endpoints,
        pki0,
        Some((&health.0, &health.1)),
        &["endpoint", "status", "-w", "json"],
    );
    assert!(status.status.success());
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let rows = status.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let leaders: std::collections::BTreeSet<_> = rows
        .iter()
        .map(|r| r["Status"]["leader"].as_u64().unwrap())
        .collect();
    assert_eq!(leaders.len(), 1, "members disagree on the leader: {rows:?}");
    let is_leader = rows
        .iter()
        .filter(|r| r["Status"]["leader"] == r["Status"]["header"]["member_id"])
        .count();
    assert_eq!(is_leader, 1);

    // A write on member 0 is read on member 1, with the API server's etcd client certificate.
    let client = |n: &Node| {
        (
            n.pki.join("apiserver-etcd-client.crt"),
            n.pki.join("apiserver-etcd-client.key"),
        )
    };
    let (c0, k0) = client(&nodes[0]);
    let put = etcdctl(
        &format!("https://{}:2379", nodes[0].ip),
        pki0,
        Some((&c0, &k0)),
        &["put", "k8sgen-test", "replicated"],
    );
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    let (c1, k1) = client(&nodes[1]);
    let get = etcdctl(
        &format!("https://{}:2379", nodes[1].ip),
        &nodes[1].pki,
        Some((&c1, &k1)),
        &["get", "k8sgen-test", "--print-value-only"],
    );
    assert_eq!(String::from_utf8_lossy(&get.stdout).trim(), "replicated");

    // No client certificate: refused.
    let anon = etcdctl(
        &format!("https://{}:2379", nodes[2].ip),
        pki0,
        None,
        &["get", "k8sgen-test"],
    );
    assert!(
        !anon.status.success(),
        "a client without a certificate was served"
    );

    // A certificate from a foreign etcd CA: refused.
    let mut foreign = pki::generate(
        pki::KeyAlgorithm::EcdsaP256,
        &pki::SystemClock,
        &mut pki::OsEntropy,
    )
    .unwrap();
    let req = LeafRequest {
        name: "intruder".into(),
        signer: LeafSigner::EtcdCa,
        common_name: "kube-apiserver-etcd-client".into(),
        organizations: vec![],
        dns_names: vec![],
        ip_addresses: vec![],
        usage: LeafUsage::Client,
    };
    pki::ensure_leaves(
        &mut foreign,
        &[req],
        &pki::SystemClock,
        &mut SeededEntropy(5),
    )
    .unwrap();
    let fc = tmp.path().join("foreign.crt");
    let fk = tmp.path().join("foreign.key");
    std::fs::write(&fc, &foreign.leaves["intruder"].cert).unwrap();
    std::fs::write(&fk, foreign.leaves["intruder"].key.expose()).unwrap();
    let intruder = etcdctl(
        &format!("https://{}:2379", nodes[2].ip),
        pki0,
        Some((&fc, &fk)),
        &["get", "k8sgen-test"],
    );
    assert!(
        !intruder.status.success(),
        "a foreign CA's client certificate was served"
    );

    drop(members);
    eprintln!(
        "etcd conformance took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
