//! The discovery hash k8sgen computes equals openssl's (`sha256` of the CA's DER
//! SubjectPublicKeyInfo), for ECDSA and RSA bundles; certificates k8sgen issues verify.

mod common;

use k8sgen::pki::{self, FixedClock, KeyAlgorithm, SeededEntropy};
use std::process::Command;

fn openssl_spki_hash(dir: &std::path::Path, ca_pem: &str) -> String {
    let ca = dir.join("ca.crt");
    std::fs::write(&ca, ca_pem).unwrap();
    let script = format!(
        "openssl x509 -in {} -pubkey -noout | openssl pkey -pubin -outform der | sha256sum",
        ca.display()
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .output()
        .expect("openssl is needed");
    assert!(out.status.success());
    let hex = String::from_utf8(out.stdout).unwrap();
    format!("sha256:{}", hex.split_whitespace().next().unwrap())
}

#[test]
fn discovery_hash_matches_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FixedClock(time::macros::datetime!(2026-06-01 0:00 UTC));
    for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa2048] {
        let bundle = pki::generate(alg, &clock, &mut SeededEntropy(3)).unwrap();
        let ours = bundle.discovery_hash().unwrap();
        assert_eq!(
            ours,
            openssl_spki_hash(dir.path(), &bundle.cluster_ca.cert),
            "{alg:?}"
        );
        assert_eq!(ours.len(), "sha256:".len() + 64);
    }
    let fixture = common::fixture();
    assert_eq!(
        fixture.discovery_hash().unwrap(),
        openssl_spki_hash(dir.path(), &fixture.cluster_ca.cert)
    );
}

#[test]
fn fixture_leaves_verify_against_their_cas() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = common::fixture();
    std::fs::write(dir.path().join("ca.crt"), &fixture.cluster_ca.cert).unwrap();
    std::fs::write(dir.path().join("etcd-ca.crt"), &fixture.etcd_ca.cert).unwrap();
    for (name, leaf) in &fixture.leaves {
        let ca = if name == "k8sgen/admin" {
            "ca.crt"
        } else {
            "etcd-ca.crt"
        };
        let cert = dir.path().join("leaf.crt");
        std::fs::write(&cert, &leaf.cert).unwrap();
        let out = Command::new("openssl")
            .args(["verify", "-CAfile"])
            .arg(dir.path().join(ca))
            .arg(&cert)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
