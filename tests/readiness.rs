//! The readiness checks `up` ends with, against a real TLS endpoint: `openssl s_server`
//! presents a certificate issued by the cluster CA for 127.0.0.1, demands a client
//! certificate from the same CA, and serves `/readyz` and `/api/v1/nodes` from files. The
//! admin identity k8sgen puts in admin.kubeconfig gets through; a foreign identity and a
//! client trusting a foreign CA do not.

mod common;

use common::require;
use k8sgen::pki::{self, LeafRequest, LeafSigner, LeafUsage, SeededEntropy, SystemClock};
use k8sgen::up::kube::{Kube, NodeReady};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An API server stand-in on 127.0.0.1 with a serving certificate from `bundle`'s CA.
fn start(bundle: &mut pki::Secrets, root: &Path) -> (Server, String) {
    let request = LeafRequest {
        name: "test/apiserver".into(),
        signer: LeafSigner::ClusterCa,
        common_name: "kube-apiserver".into(),
        organizations: vec![],
        dns_names: vec!["localhost".into()],
        ip_addresses: vec!["127.0.0.1".parse().unwrap()],
        usage: LeafUsage::Server,
    };
    pki::ensure_leaves(bundle, &[request], &SystemClock, &mut SeededEntropy(7)).unwrap();
    let leaf = &bundle.leaves["test/apiserver"];
    std::fs::write(root.join("server.crt"), &leaf.cert).unwrap();
    std::fs::write(root.join("server.key"), leaf.key.expose()).unwrap();
    std::fs::write(root.join("ca.crt"), &bundle.cluster_ca.cert).unwrap();
    std::fs::write(root.join("readyz"), "ok").unwrap();
    std::fs::create_dir_all(root.join("api/v1")).unwrap();
    std::fs::write(
        root.join("api/v1/nodes"),
        r#"{"kind": "NodeList", "items": [
          {"metadata": {"name": "demo-cp-0"}, "status": {"conditions": [
            {"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}]}},
          {"metadata": {"name": "demo-general-0"}, "status": {"conditions": [
            {"type": "Ready", "status": "False", "reason": "KubeletNotReady"}]}}]}"#,
    )
    .unwrap();
    let port = common::free_port();
    let child = Command::new("openssl")
        .args(["s_server", "-quiet", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .args([
            "-cert",
            "server.crt",
            "-key",
            "server.key",
            "-CAfile",
            "ca.crt",
            "-Verify",
            "1",
            "-verify_return_error",
            "-WWW",
        ])
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, format!("https://127.0.0.1:{port}"))
}

/// A bundle made now (certificates valid from this moment) with the leaves `single` needs,
/// among them the admin client certificate.
fn fresh_bundle(seed: u64) -> pki::Secrets {
    let mut bundle = pki::generate(
        pki::KeyAlgorithm::EcdsaP256,
        &SystemClock,
        &mut SeededEntropy(seed),
    )
    .unwrap();
    let spec =
        k8sgen::spec::load("single", k8sgen::profiles::find("single").unwrap().text).unwrap();
    let requests = k8sgen::plan::plan(&spec, &bundle, &|_| None)
        .unwrap()
        .leaf_requests();
    pki::ensure_leaves(
        &mut bundle,
        &requests,
        &SystemClock,
        &mut SeededEntropy(seed + 100),
    )
    .unwrap();
    bundle
}

fn admin_client(bundle: &pki::Secrets, url: &str) -> Kube {
    let admin = &bundle.leaves[k8sgen::plan::ADMIN_LEAF];
    Kube::new(
        url,
        &bundle.cluster_ca.cert,
        &admin.cert,
        admin.key.expose(),
    )
    .unwrap()
}

#[test]
fn readyz_and_nodes_with_the_admin_certificate_over_real_tls() {
    require("openssl");
    let mut bundle = fresh_bundle(1);
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = start(&mut bundle, dir.path());

    let kube = admin_client(&bundle, &url);
    kube.readyz().expect("readyz with the admin certificate");
    assert_eq!(
        kube.nodes().unwrap(),
        [
            NodeReady {
                name: "demo-cp-0".into(),
                ready: true
            },
            NodeReady {
                name: "demo-general-0".into(),
                ready: false
            },
        ]
    );

    // Another cluster's admin identity: the server refuses the handshake.
    let other = fresh_bundle(2);
    let foreign_admin = &other.leaves[k8sgen::plan::ADMIN_LEAF];
    let foreign = Kube::new(
        &url,
        &bundle.cluster_ca.cert,
        &foreign_admin.cert,
        foreign_admin.key.expose(),
    )
    .unwrap();
    assert!(
        foreign.readyz().is_err(),
        "a client certificate from another CA got through"
    );

    // Trusting another CA: k8sgen refuses the server, admin certificate or not.
    let admin = &bundle.leaves[k8sgen::plan::ADMIN_LEAF];
    let distrusting = Kube::new(
        &url,
        &other.cluster_ca.cert,
        &admin.cert,
        admin.key.expose(),
    )
    .unwrap();
    let err = distrusting.readyz().unwrap_err().to_string();
    assert!(err.contains("cannot reach"), "{err}");
}

#[test]
fn readyz_that_is_not_ok_is_not_ready() {
    require("openssl");
    let mut bundle = fresh_bundle(1);
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = start(&mut bundle, dir.path());
    std::fs::write(
        dir.path().join("readyz"),
        "[-]etcd failed: reason withheld\nreadyz check failed",
    )
    .unwrap();
    let err = admin_client(&bundle, &url)
        .readyz()
        .unwrap_err()
        .to_string();
    assert!(err.contains("etcd failed"), "{err}");
}
