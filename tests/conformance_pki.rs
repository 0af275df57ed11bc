//! Conformance with openssl: every certificate in `secrets export-pki` output, in a master's
//! user-data and in the admin kubeconfig verifies against its CA; CA flags, key usages, SANs
//! and validity are what reference §1.1 says; each key matches its certificate; sa.key/sa.pub
//! match. Run for the ECDSA fixture and a freshly generated RSA-2048 bundle.

mod common;

use base64::Engine;
use common::*;
use k8sgen::pki::{self, KeyAlgorithm, OsEntropy, Secrets, SeededEntropy};
use std::path::Path;
use std::process::Command;

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn text_of(cert: &Path) -> String {
    let (ok, t) = openssl(&["x509", "-in", p(cert), "-noout", "-text"]);
    assert!(ok, "{}: {t}", cert.display());
    t
}

fn verify(ca: &Path, cert: &Path) -> Result<(), String> {
    let (ok, t) = openssl(&["verify", "-CAfile", p(ca), p(cert)]);
    if ok {
        Ok(())
    } else {
        Err(format!("{} against {}: {t}", cert.display(), ca.display()))
    }
}

fn key_matches(cert: &Path, key: &Path) -> bool {
    let (a, from_cert) = openssl(&["x509", "-in", p(cert), "-noout", "-pubkey"]);
    let (b, from_key) = openssl(&["pkey", "-in", p(key), "-pubout"]);
    a && b && from_cert == from_key
}

/// Days between notBefore and notAfter, from openssl's own dates.
fn validity_days(cert: &Path) -> i64 {
    let (_, t) = openssl(&["x509", "-in", p(cert), "-noout", "-startdate", "-enddate"]);
    let parse = |prefix: &str| {
        let line = t.lines().find(|l| l.starts_with(prefix)).unwrap();
        let fmt = time::format_description::parse_borrowed::<2>(
            "[month repr:short] [day padding:space] [hour]:[minute]:[second] [year] GMT",
        )
        .unwrap();
        time::PrimitiveDateTime::parse(line.trim_start_matches(prefix), &fmt).unwrap()
    };
    (parse("notAfter=") - parse("notBefore=")).whole_days()
}

fn bundle_with_leaves(alg: Option<KeyAlgorithm>) -> Secrets {
    let (compiled, secrets) = match alg {
        None => compile_profile("openstack-ha", false),
        Some(alg) => {
            let mut b = pki::generate(alg, &pki::SystemClock, &mut OsEntropy).unwrap();
            let spec =
                k8sgen::spec::load("x", k8sgen::profiles::find("openstack-ha").unwrap().text)
                    .unwrap();
            let c = k8sgen::compile::compile(
                &spec,
                &mut b,
                &|_| None,
                &pki::SystemClock,
                &mut SeededEntropy(9),
                Default::default(),
            )
            .unwrap();
            (c, b)
        }
    };
    drop(compiled);
    secrets
}

fn check_bundle(label: &str, bundle: &Secrets) {
    require("openssl");
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets.yaml");
    std::fs::write(&secrets, bundle.to_yaml()).unwrap();
    let pki_dir = dir.path().join("pki");
    let out = k8sgen(&[
        "secrets",
        "export-pki",
        p(&pki_dir),
        "--secrets",
        p(&secrets),
    ]);
    assert!(
        out.status.success(),
        "{label}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = |rel: &str| pki_dir.join(rel);
    let mut failures = Vec::new();

    // CAs: self-signed, CA:TRUE, certSign, ~10 years, CN repeated as a DNS SAN.
    for (ca, cn) in [
        ("ca", "kubernetes"),
        ("front-proxy-ca", "front-proxy-ca"),
        ("etcd/ca", "etcd-ca"),
    ] {
        let crt = d(&format!("{ca}.crt"));
        let t = text_of(&crt);
        failures.extend(verify(&crt, &crt).err());
        for want in [
            "CA:TRUE",
            "Certificate Sign",
            &format!("CN = {cn}"),
            &format!("DNS:{cn}"),
        ] {
            if !t.contains(want) {
                failures.push(format!("{label} {ca}.crt lacks `{want}`"));
            }
        }
        if !key_matches(&crt, &d(&format!("{ca}.key"))) {
            failures.push(format!("{label} {ca}.key does not match {ca}.crt"));
        }
        if validity_days(&crt) != 3650 {
            failures.push(format!(
                "{label} {ca}.crt validity {} days, want 3650",
                validity_days(&crt)
            ));
        }
    }

    // Leaves k8sgen issued: verify, CA:FALSE, EKU, SANs per node, one year, key match.
    for name in bundle.leaves.keys() {
        let crt = d(&format!("{name}.crt"));
        let ca = if name == "k8sgen/admin" {
            d("ca.crt")
        } else {
            d("etcd/ca.crt")
        };
        failures.extend(verify(&ca, &crt).err());
        let t = text_of(&crt);
        if !t.contains("CA:FALSE") || !t.contains("Digital Signature") {
            failures.push(format!("{label} {name}: not a plain leaf"));
        }
        if validity_days(&crt) != 365 {
            failures.push(format!(
                "{label} {name}: validity {} days, want 365",
                validity_days(&crt)
            ));
        }
        if !key_matches(&crt, &d(&format!("{name}.key"))) {
            failures.push(format!("{label} {name}: key does not match"));
        }
        if let Some(node) = name
            .strip_suffix("/etcd/server")
            .or_else(|| name.strip_suffix("/etcd/peer"))
        {
            let index: u8 = node.rsplit('-').next().unwrap().parse().unwrap();
            let want = format!(
                "DNS:{node}, DNS:localhost, IP Address:10.0.0.{}, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
                11 + index
            );
            if !t.contains(&want)
                || !t.contains("TLS Web Server Authentication, TLS Web Client Authentication")
            {
                failures.push(format!(
                    "{label} {name}: SANs/EKU differ from kubeadm's etcd table:\n{t}"
                ));
            }
        } else if !t.contains("TLS Web Client Authentication")
            || t.contains("Server Authentication")
        {
            failures.push(format!(
                "{label} {name}: a client certificate must be clientAuth only"
            ));
        }
    }

    // Service-account key pair.
    let (ok, derived) = openssl(&["pkey", "-in", p(&d("sa.key")), "-pubout"]);
    if !ok || derived != std::fs::read_to_string(d("sa.pub")).unwrap() {
        failures.push(format!("{label} sa.pub is not the public half of sa.key"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn ecdsa_fixture_pki_is_what_kubeadm_expects() {
    check_bundle("ECDSA-P256", &bundle_with_leaves(None));
}

#[test]
fn rsa_pki_is_what_kubeadm_expects() {
    let b = bundle_with_leaves(Some(KeyAlgorithm::Rsa2048));
    check_bundle("RSA-2048", &b);
}

#[test]
fn certificates_in_master_user_data_and_kubeconfig_verify() {
    require("openssl");
    let dir = tempfile::tempdir().unwrap();
    let (compiled, _) = compile_profile("openstack-ha", false);
    let mut checked = 0;
    for (ud, b) in compiled.user_data.iter().zip(&compiled.bundles) {
        let files = write_files(std::str::from_utf8(&ud.bytes).unwrap());
        let node_dir = dir.path().join(&b.node);
        for (path, (_, content)) in &files {
            let local = node_dir.join(path.trim_start_matches('/'));
            std::fs::create_dir_all(local.parent().unwrap()).unwrap();
            std::fs::write(&local, content).unwrap();
        }
        let pki = node_dir.join("etc/kubernetes/pki");
        if !b.role.is_master() {
            // Workers: only the public CA certificate, used to check the API before joining.
            assert!(files.keys().all(|p| !p.ends_with(".key")), "{}", b.node);
            continue;
        }
        for leaf in [
            "etcd/server",
            "etcd/peer",
            "etcd/healthcheck-client",
            "apiserver-etcd-client",
        ] {
            let crt = pki.join(format!("{leaf}.crt"));
            verify(&pki.join("etcd/ca.crt"), &crt).unwrap_or_else(|e| panic!("{}: {e}", b.node));
            assert!(
                key_matches(&crt, &pki.join(format!("{leaf}.key"))),
                "{} {leaf}",
                b.node
            );
            checked += 1;
        }
        let t = text_of(&pki.join("etcd/server.crt"));
        assert!(
            t.contains(&format!("CN = {}", b.node)),
            "{}: etcd server CN",
            b.node
        );
        assert!(
            key_matches(&pki.join("ca.crt"), &pki.join("ca.key")),
            "{}",
            b.node
        );
        assert!(
            !pki.join("etcd/ca.key").exists(),
            "{}: the etcd CA key must stay off the nodes",
            b.node
        );
    }
    assert_eq!(checked, 12);

    let kc: serde_json::Value = serde_saphyr::from_str(&compiled.admin_kubeconfig).unwrap();
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap()
    };
    std::fs::write(
        dir.path().join("kc-ca.crt"),
        b64(&kc["clusters"][0]["cluster"]["certificate-authority-data"]),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("kc.crt"),
        b64(&kc["users"][0]["user"]["client-certificate-data"]),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("kc.key"),
        b64(&kc["users"][0]["user"]["client-key-data"]),
    )
    .unwrap();
    verify(&dir.path().join("kc-ca.crt"), &dir.path().join("kc.crt")).unwrap();
    assert!(key_matches(
        &dir.path().join("kc.crt"),
        &dir.path().join("kc.key")
    ));
    let t = text_of(&dir.path().join("kc.crt"));
    assert!(
        t.contains("O = kubeadm:cluster-admins, CN = kubernetes-admin"),
        "{t}"
    );
}

#[test]
fn verification_can_fail() {
    require("openssl");
    let dir = tempfile::tempdir().unwrap();
    let fixture = fixture();
    let other = pki::generate(KeyAlgorithm::EcdsaP256, &pki::SystemClock, &mut OsEntropy).unwrap();
    std::fs::write(dir.path().join("other.crt"), &other.cluster_ca.cert).unwrap();
    std::fs::write(
        dir.path().join("leaf.crt"),
        &fixture.leaves["k8sgen/admin"].cert,
    )
    .unwrap();
    std::fs::write(dir.path().join("key.pem"), other.cluster_ca.key.expose()).unwrap();
    assert!(verify(&dir.path().join("other.crt"), &dir.path().join("leaf.crt")).is_err());
    assert!(!key_matches(
        &dir.path().join("leaf.crt"),
        &dir.path().join("key.pem")
    ));
}
