//! `cloud.openstack.caFile` (issue 12, m6): the cloud's private CA for OCCM. A spec that sets
//! it, read beside the spec: what the masters get (the CA file, cloud.conf `ca-file`, the OCCM
//! pod's mount) and that nothing else changes; workers get nothing; the bytes depend only on
//! the certificates; and the errors a bad file gives, pinned. Profiles, which do not set it,
//! keep their goldens (tests/golden.rs).

mod common;

use common::*;
use k8sgen::bundle::NodeBundle;
use k8sgen::compile::{Compiled, compile};
use k8sgen::pki::SeededEntropy;
use k8sgen::plan::Role;
use k8sgen::render::Options;
use k8sgen::{profiles, spec};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

const CA_PATH: &str = "/etc/kubernetes/cloud-ca.pem";

/// A certificate to stand for the cloud's CA: the fixture's cluster CA (any X.509 will do).
fn cloud_ca() -> String {
    fixture().cluster_ca.cert.as_str().to_string()
}

/// `profile` with `caFile: certs/cloud-ca.pem`, read from a map of files as if beside the spec.
fn with_ca(profile: &str, files: &BTreeMap<&str, Vec<u8>>) -> Result<spec::ClusterSpec, String> {
    let text = edit_text(
        profiles::find(profile).unwrap().text,
        &[(
            "    region: RegionOne\n",
            "    region: RegionOne\n    caFile: certs/cloud-ca.pem\n",
        )],
    );
    let mut s = spec::load("c/cluster.yaml", &text).map_err(|e| e.to_string())?;
    let read = |p: &Path| {
        files
            .get(p.to_str().unwrap())
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    };
    spec::read_files(&mut s, "c/cluster.yaml", Path::new("c"), &read).map_err(|e| e.to_string())?;
    Ok(s)
}

fn ca_files(pem: &str) -> BTreeMap<&'static str, Vec<u8>> {
    BTreeMap::from([("c/certs/cloud-ca.pem", pem.as_bytes().to_vec())])
}

fn build(spec: &spec::ClusterSpec) -> Compiled {
    let mut bundle = fixture();
    let clock = fixture_clock(&bundle);
    let env = |k: &str| {
        k.starts_with("OS_APPLICATION_CREDENTIAL")
            .then(|| format!("test-{k}"))
    };
    compile(
        spec,
        &mut bundle,
        &env,
        &clock,
        &mut SeededEntropy(42),
        Options { gzip: false },
    )
    .unwrap()
}

fn files(b: &NodeBundle) -> BTreeMap<String, (u32, String)> {
    b.files
        .iter()
        .map(|f| (f.path.clone(), (f.mode, f.content.clone())))
        .collect()
}

#[test]
fn the_masters_trust_the_cloud_ca_and_nothing_else_changes() {
    let plain = build(
        &spec::load(
            "c/cluster.yaml",
            profiles::find("openstack-ha").unwrap().text,
        )
        .unwrap(),
    );
    let ca = build(&with_ca("openstack-ha", &ca_files(&cloud_ca())).unwrap());
    assert_eq!(
        ca.plan.openstack.ca_file.as_deref(),
        Some("certs/cloud-ca.pem")
    );
    for (before_bundle, after_bundle) in plain.bundles.iter().zip(&ca.bundles) {
        let node = &after_bundle.node;
        let (mut before, mut after) = (files(before_bundle), files(after_bundle));
        if after_bundle.role == Role::Worker {
            assert_eq!(
                before, after,
                "a worker ({node}) gets nothing of the cloud CA"
            );
            continue;
        }
        // The CA, public, beside cloud.conf.
        let (mode, pem) = after.remove(CA_PATH).expect("the masters get the cloud CA");
        assert_eq!(mode, 0o644);
        assert_eq!(
            pem,
            cloud_ca(),
            "the fixture's PEM is plain already: kept as it is"
        );
        if after_bundle.role != Role::Init {
            assert_eq!(before, after, "{node}: the CA file is all that changes");
            continue;
        }
        // cloud.conf (the init master's, made into the Secret OCCM reads): `ca-file` in
        // [Global], right after the region.
        let conf = &after["/etc/kubernetes/cloud.conf"];
        assert_eq!(conf.0, 0o600);
        let global = conf.1.split("\n\n").next().unwrap();
        assert!(
            global.ends_with(&format!(
                "[Global]\nauth-url = https://keystone.example.org:5000/v3\nregion = RegionOne\n\
                 ca-file = {CA_PATH}\napplication-credential-id = test-OS_APPLICATION_CREDENTIAL_ID\n\
                 application-credential-secret = test-OS_APPLICATION_CREDENTIAL_SECRET"
            )),
            "{global}"
        );
        assert_eq!(
            conf.1.replace(&format!("ca-file = {CA_PATH}\n"), ""),
            before["/etc/kubernetes/cloud.conf"].1,
            "cloud.conf gains the one line"
        );
        // The OCCM pods (a DaemonSet on the masters) mount the file read-only at the same path.
        let manifest = "/etc/kubernetes/k8sgen/addons/openstack-cloud-controller-manager.yaml";
        let daemonset = |text: &str| -> Value {
            let docs: Vec<Value> = serde_saphyr::from_multiple(text).unwrap();
            docs.into_iter().find(|d| d["kind"] == "DaemonSet").unwrap()
        };
        let ds = daemonset(&after[manifest].1);
        let old = daemonset(&before[manifest].1);
        let pod = &ds["spec"]["template"]["spec"];
        let old_pod = &old["spec"]["template"]["spec"];
        let mounts = pod["containers"][0]["volumeMounts"].as_array().unwrap();
        assert_eq!(
            mounts.last().unwrap(),
            &json!({"name": "cloud-ca", "mountPath": CA_PATH, "readOnly": true})
        );
        let volumes = pod["volumes"].as_array().unwrap();
        assert_eq!(
            volumes.last().unwrap(),
            &json!({"name": "cloud-ca", "hostPath": {"path": CA_PATH, "type": "File"}})
        );
        // And it is still a DaemonSet as Kubernetes 1.36 reads it.
        let typed: k8s_openapi::api::apps::v1::DaemonSet =
            serde_json::from_value(ds.clone()).unwrap();
        let typed = typed.spec.unwrap().template.spec.unwrap();
        let host = typed.volumes.unwrap().pop().unwrap().host_path.unwrap();
        assert_eq!(
            (host.path.as_str(), host.type_.as_deref()),
            (CA_PATH, Some("File"))
        );
        assert_eq!(
            mounts.len(),
            old_pod["containers"][0]["volumeMounts"]
                .as_array()
                .unwrap()
                .len()
                + 1
        );
        assert_eq!(
            volumes.len(),
            old_pod["volumes"].as_array().unwrap().len() + 1
        );
        // Cinder CSI's controller, on the masters too, mounts it the same way.
        let csi = "/etc/kubernetes/k8sgen/addons/cinder-csi.yaml";
        let docs: Vec<Value> = serde_saphyr::from_multiple(&after[csi].1).unwrap();
        let controller = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
        assert!(
            controller["spec"]["template"]["spec"]["volumes"]
                .as_array()
                .unwrap()
                .contains(
                    &json!({"name": "cloud-ca", "hostPath": {"path": CA_PATH, "type": "File"}})
                )
        );
        for changed in ["/etc/kubernetes/cloud.conf", manifest, csi] {
            after.remove(changed);
            before.remove(changed);
        }
        assert_eq!(before, after, "no other file of {node} changes");
    }
    // The masters are the ones with the CA, the init master the one with cloud.conf.
    let masters = ca.bundles.iter().filter(|b| b.role != Role::Worker).count();
    assert_eq!(masters, 3);
    let with_conf = ca
        .bundles
        .iter()
        .filter(|b| {
            b.files
                .iter()
                .any(|f| f.path == "/etc/kubernetes/cloud.conf")
        })
        .count();
    assert_eq!(with_conf, 1);
}

/// The bytes depend on the certificates only: comments, CRLF and text around the blocks are
/// dropped, and a bundle of two keeps both, in order.
#[test]
fn the_ca_on_the_nodes_depends_only_on_the_certificates() {
    let pem = cloud_ca();
    let noisy = format!(
        "# our cloud's CA\r\nsubject=CN = whatever\r\n{}\r\n",
        pem.replace('\n', "\r\n")
    );
    let a = build(&with_ca("openstack-ha", &ca_files(&pem)).unwrap());
    let b = build(&with_ca("openstack-ha", &ca_files(&noisy)).unwrap());
    assert_eq!(a.user_data, b.user_data);
    let again = build(&with_ca("openstack-ha", &ca_files(&pem)).unwrap());
    assert_eq!(a.user_data, again.user_data, "deterministic");

    let second = fixture().etcd_ca.cert.as_str().to_string();
    let two = spec::ca_bundle(format!("{pem}{second}").as_bytes()).unwrap();
    assert_eq!(two.pem, format!("{pem}{second}"));
}

/// Flatcar's Ignition carries the same file with the same mode.
#[test]
fn flatcar_masters_get_the_ca_too() {
    let compiled = build(&with_ca("openstack-ha-flatcar", &ca_files(&cloud_ca())).unwrap());
    let init = &compiled.user_data[0];
    let files = ignition_files(&ignition_config(&init.bytes));
    let (mode, owner, content) = &files[CA_PATH];
    assert_eq!((*mode, owner.as_str()), (0o644, "root:root"));
    assert_eq!(content, &cloud_ca());
    assert!(
        files["/etc/kubernetes/cloud.conf"]
            .2
            .contains(&format!("ca-file = {CA_PATH}\n"))
    );
}

/// Each way caFile can be wrong, with its field path and a hint; a key is named, never shown.
#[test]
fn a_bad_ca_file_is_a_spec_problem_with_a_hint() {
    let error = |pem: &str| with_ca("single", &ca_files(pem)).unwrap_err();
    let missing = with_ca("single", &BTreeMap::new()).unwrap_err();
    assert_eq!(
        missing,
        "c/cluster.yaml has 1 problem\n  cloud.openstack.caFile: cannot read c/certs/cloud-ca.pem: entity not found\n    \
         hint: name the PEM file of the CA that signed the cloud's endpoints, relative to the spec file"
    );
    let hint = "    hint: give the CA certificate(s) alone, as PEM `CERTIFICATE` blocks (`openssl x509 -in FILE` shows one)";
    assert_eq!(
        error("not a certificate\n"),
        format!(
            "c/cluster.yaml has 1 problem\n  cloud.openstack.caFile: c/certs/cloud-ca.pem: no PEM certificate in it\n{hint}"
        )
    );
    let block = |label: &str, body: &str| {
        format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n")
    };
    let key = block(&format!("{} KEY", "PRIVATE"), "c2VjcmV0LWtleS1ieXRlcw==");
    let with_key = error(&format!("{}{key}", cloud_ca()));
    assert_eq!(
        with_key,
        format!(
            "c/cluster.yaml has 1 problem\n  cloud.openstack.caFile: c/certs/cloud-ca.pem: block 2 is a private key; only certificates belong in a CA file\n{hint}"
        )
    );
    assert!(!with_key.contains("c2VjcmV0"));
    assert!(
        error(&block("X509 CRL", "AAAA"))
            .contains("cloud-ca.pem: block 1 is `X509 CRL`, not a `CERTIFICATE`\n"),
    );
    let not_x509 = error(&block("CERTIFICATE", "aGVsbG8="));
    assert!(
        not_x509.contains("cloud-ca.pem: block 1 is not an X.509 certificate ("),
        "{not_x509}"
    );
    let not_base64 = error(&block("CERTIFICATE", "!!!"));
    assert!(
        not_base64.contains("cloud-ca.pem: PEM block 1 is malformed ("),
        "{not_base64}"
    );

    // An empty name is refused when the spec is loaded.
    let text = edit_text(
        profiles::find("single").unwrap().text,
        &[(
            "    region: RegionOne\n",
            "    region: RegionOne\n    caFile: \"\"\n",
        )],
    );
    let empty = spec::load("c/cluster.yaml", &text).unwrap_err().to_string();
    assert!(
        empty.contains("cloud.openstack.caFile: must not be empty\n    hint: give the path of the cloud CA's PEM file"),
        "{empty}"
    );
}

/// A spec that names the file but came without it (text alone) cannot be planned.
#[test]
fn a_ca_file_not_read_with_the_spec_stops_the_plan() {
    let text = edit_text(
        profiles::find("single").unwrap().text,
        &[(
            "    region: RegionOne\n",
            "    region: RegionOne\n    caFile: ca.pem\n",
        )],
    );
    let s = spec::load("c/cluster.yaml", &text).unwrap();
    let e = k8sgen::plan::plan(&s, &fixture(), &|_| None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the spec has problems:\n  cloud.openstack.caFile: the file was not read with the spec\n    \
         hint: load the spec from its file (`-f cluster.yaml`), which reads the files it names"
    );
}

/// The CLI reads caFile relative to the spec's directory, wherever k8sgen runs.
#[test]
fn render_reads_the_ca_beside_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = dir.path().join("c");
    std::fs::create_dir_all(cluster.join("certs")).unwrap();
    std::fs::write(cluster.join("certs/cloud-ca.pem"), cloud_ca()).unwrap();
    let text = edit_text(
        profiles::find("single").unwrap().text,
        &[(
            "    region: RegionOne\n",
            "    region: RegionOne\n    caFile: certs/cloud-ca.pem\n",
        )],
    );
    std::fs::write(cluster.join("cluster.yaml"), text).unwrap();
    let secrets = cluster.join("secrets.yaml");
    std::fs::copy(fixture_path(), &secrets).unwrap();
    let out = dir.path().join("out");
    let run = |spec: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_k8sgen"))
            .current_dir(dir.path())
            .args(["render", "-f"])
            .arg(spec)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    let ok = run(Path::new("c/cluster.yaml"));
    assert!(ok.status.success(), "{}", output_text(&ok));
    let doc = std::fs::read_to_string(out.join("lab-cp-0.user-data")).unwrap();
    let files = write_files(&doc);
    assert_eq!(files[CA_PATH], ("0644".to_string(), cloud_ca()));

    std::fs::remove_file(cluster.join("certs/cloud-ca.pem")).unwrap();
    let bad = run(Path::new("c/cluster.yaml"));
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.starts_with("error: c/cluster.yaml has 1 problem\n  cloud.openstack.caFile: cannot read c/certs/cloud-ca.pem: No such file or directory"),
        "{err}"
    );
}

/// `up` notes, before anything is created, when it needed help to trust the cloud and the
/// spec gives OCCM no CA (a note, not a problem: see `occm_ca_note`).
#[test]
fn up_notes_a_cacert_the_spec_does_not_pass_on() {
    use k8sgen::providers::openstack::tls::Tls;
    use k8sgen::up::openstack::occm_ca_note;
    let without = spec::load("c/cluster.yaml", profiles::find("single").unwrap().text).unwrap();
    let with = with_ca("single", &ca_files(&cloud_ca())).unwrap();
    let private = Tls {
        cacert: Some("/home/op/ca.pem".into()),
        ..Tls::default()
    };
    assert_eq!(
        occm_ca_note(&private, &without).unwrap(),
        "`up` trusts the cloud through the CA in /home/op/ca.pem, but the spec sets no \
         cloud.openstack.caFile: OCCM on the masters trusts only the system CAs and fails on a \
         cloud a private CA certified; set caFile to that CA's PEM file (relative to the spec)"
    );
    let unverified = Tls {
        verify: false,
        ..Tls::default()
    };
    assert!(
        occm_ca_note(&unverified, &without)
            .unwrap()
            .starts_with("`up` does not verify the cloud's certificate, but the spec sets no")
    );
    assert_eq!(
        occm_ca_note(&Tls::default(), &without),
        None,
        "system CAs both sides"
    );
    assert_eq!(occm_ca_note(&private, &with), None);
}
