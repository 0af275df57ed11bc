//! The discovery hash k8sgen computes equals openssl's (`sha256` of the CA's DER
//! SubjectPublicKeyInfo), for ECDSA and RSA bundles; certificates k8sgen issues verify.

mod common;

use k8sgen::pki::{self, FixedClock, KeyAlgorithm, SeededEntropy};
use std::io::Write;
use std::process::{Command, Stdio};

/// Run openssl with `args` and `stdin`; its output, and a failure naming the command and
/// openssl's own message when it exits non-zero (so a broken step can never pass unseen).
fn openssl(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl is needed");
    // openssl may exit before reading a bad input; its status then tells, not the pipe.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `sha256:<hex>` of the CA's DER SubjectPublicKeyInfo, as openssl extracts it; each openssl
/// step's exit status is checked, and the hash is taken here rather than by `sha256sum`.
fn openssl_spki_hash(ca_pem: &str) -> String {
    let pubkey = openssl(&["x509", "-pubkey", "-noout"], ca_pem.as_bytes());
    let der = openssl(&["pkey", "-pubin", "-outform", "der"], &pubkey);
    assert!(!der.is_empty(), "openssl printed no public key");
    format!("sha256:{}", common::sha256_hex(&der))
}

#[test]
fn a_failing_openssl_step_fails_the_hash() {
    let failed = std::panic::catch_unwind(|| openssl_spki_hash("not a certificate\n"));
    let message = failed.expect_err("openssl rejects a non-certificate");
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.starts_with("openssl x509"), "{message}");
}

#[test]
fn discovery_hash_matches_openssl() {
    let clock = FixedClock(time::macros::datetime!(2026-06-01 0:00 UTC));
    for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa2048] {
        let bundle = pki::generate(alg, &clock, &mut SeededEntropy(3)).unwrap();
        let ours = bundle.discovery_hash().unwrap();
        assert_eq!(ours, openssl_spki_hash(&bundle.cluster_ca.cert), "{alg:?}");
        assert_eq!(ours.len(), "sha256:".len() + 64);
    }
    let fixture = common::fixture();
    assert_eq!(
        fixture.discovery_hash().unwrap(),
        openssl_spki_hash(&fixture.cluster_ca.cert)
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
