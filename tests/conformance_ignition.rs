//! Ignition (Flatcar): every config `render` writes passes `ignition-validate` (Debian 12's
//! `ignition` 2.14, spec 3.3.0), plain and as a `config.replace` stub (the stub and the config
//! it carries); parsing the JSON back gives exactly the IR's files, modes, owners and units;
//! the boot contract is the cloud-config one; oversized configs become stubs on their own.

mod common;

use common::*;
use k8sgen::bundle::{File, NodeBundle, Unit};
use k8sgen::catalog::UserDataFormat;
use k8sgen::render::{self, Options};
use std::path::Path;

const PROFILE: &str = "openstack-ha-flatcar";

/// ignition-validate's verdict, warnings included: it exits 0 on an unused (misspelt) key and
/// only prints a warning, which must fail the check too.
fn validate(file: &Path) -> Result<(), String> {
    run_validator("ignition-validate", &[], file)?;
    let out = std::process::Command::new("ignition-validate")
        .arg(file)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if said.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("{}: {said}", file.display()))
    }
}

#[test]
fn ignition_validate_accepts_every_config() {
    require("ignition-validate");
    let tmp = tempfile::tempdir().unwrap();
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(root().join("golden").join(PROFILE))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ign"))
        .collect();
    assert_eq!(files.len(), 6, "one golden per node");
    for gzip in [false, true] {
        let out = tmp.path().join(format!("out-{gzip}"));
        render_profile(PROFILE, gzip, &out);
        for entry in std::fs::read_dir(&out).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "ign") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let top: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(
                top["ignition"]["config"]["replace"].is_object(),
                gzip,
                "{}",
                path.display()
            );
            // The console autologin of Flatcar's OpenStack image goes, in the config that
            // is applied (the stub's replacement when gzipped).
            let applied = if gzip {
                ignition_config(&bytes)
            } else {
                top.clone()
            };
            assert_eq!(
                applied["kernelArguments"]["shouldNotExist"],
                serde_json::json!(["flatcar.autologin"]),
                "{}",
                path.display()
            );
            if gzip {
                // The stub and the config it replaces itself with are both checked.
                let inner = tmp.path().join(format!(
                    "{}.inner.ign",
                    path.file_stem().unwrap().to_string_lossy()
                ));
                std::fs::write(
                    &inner,
                    serde_json::to_vec(&ignition_config(&bytes)).unwrap(),
                )
                .unwrap();
                files.push(inner);
            }
            files.push(path);
        }
    }
    let failures: Vec<String> = files.iter().filter_map(|f| validate(f).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn ignition_validate_rejects_a_broken_config() {
    require("ignition-validate");
    let tmp = tempfile::tempdir().unwrap();
    let broken = tmp.path().join("broken.ign");
    std::fs::write(&broken, r#"{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"etc/relative","mode":420}]}}"#).unwrap();
    assert!(
        validate(&broken).is_err(),
        "the validator must be able to fail"
    );
    // A misspelt key is only a warning to ignition-validate (exit 0); it fails here.
    let misspelt = tmp.path().join("misspelt.ign");
    std::fs::write(
        &misspelt,
        r#"{"ignition":{"version":"3.3.0"},"kernelArguments":{"shouldNotExistt":["flatcar.autologin"]}}"#,
    )
    .unwrap();
    assert!(validate(&misspelt).is_err());
}

fn expected_files(b: &NodeBundle) -> std::collections::BTreeMap<String, IgnitionFile> {
    b.files
        .iter()
        .map(|f: &File| (f.path.clone(), (f.mode, f.owner.clone(), f.content.clone())))
        .collect()
}

fn units(config: &serde_json::Value) -> Vec<(String, bool, String)> {
    config["systemd"]["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["name"].as_str().unwrap().into(),
                u["enabled"] == true,
                u["contents"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[test]
fn json_round_trip_equals_the_ir() {
    for gzip in [false, true] {
        let (compiled, _) = compile_profile(PROFILE, gzip);
        for (ud, b) in compiled.user_data.iter().zip(&compiled.bundles) {
            assert_eq!(ud.format, UserDataFormat::Ignition);
            assert_eq!(ud.replace_stub, gzip, "{}", ud.node);
            let config = ignition_config(&ud.bytes);
            assert_eq!(config["ignition"]["version"], "3.3.0");
            assert_eq!(
                ignition_files(&config),
                expected_files(b),
                "{} files (gzip={gzip})",
                ud.node
            );
            let want: Vec<_> = b
                .units
                .iter()
                .map(|u: &Unit| (u.name.clone(), u.enable, u.content.clone()))
                .collect();
            assert_eq!(units(&config), want, "{} units (gzip={gzip})", ud.node);
        }
    }
}

#[test]
fn the_boot_contract_matches_the_cloud_config_path() {
    let (flatcar, _) = compile_profile(PROFILE, false);
    let (ubuntu, _) = compile_profile("openstack-ha", false);
    for (f, u) in flatcar.bundles.iter().zip(&ubuntu.bundles) {
        assert_eq!(f.node, u.node);
        assert_eq!(
            f.steps, u.steps,
            "{}: same steps, timeouts and attempts",
            f.node
        );
        assert_eq!(f.start_unit, u.start_unit);
        let boot = f.units.iter().find(|x| x.name == f.start_unit).unwrap();
        assert!(boot.enable, "{}: the boot unit is enabled", f.node);
        assert!(boot.content.contains("After=network-online.target"));
        assert!(boot.content.contains("ExecStart=/opt/k8sgen/bootstrap.sh"));
        assert!(
            f.files
                .iter()
                .any(|x| x.path == "/opt/k8sgen/bootstrap.sh" && x.mode == 0o700)
        );
        // No apt on Flatcar; every download is checked against a pinned sha256.
        let script = &f
            .files
            .iter()
            .find(|x| x.path == "/opt/k8sgen/bootstrap.sh")
            .unwrap()
            .content;
        assert!(!script.contains("apt-get"), "{}", f.node);
        let fetches = script.matches("\n    fetch https://").count();
        assert_eq!(
            fetches, 5,
            "{}: kubeadm, kubelet, kubectl, crictl, CNI plugins",
            f.node
        );
        assert!(script.contains("sha256sum -c -"));
        // The admin NIC through systemd-networkd, never with a route or gateway.
        let nic = f
            .files
            .iter()
            .find(|x| x.path == "/etc/systemd/network/60-k8sgen-admin.network")
            .unwrap();
        assert!(
            nic.content.contains("Name=eth1")
                && nic.content.contains("UseRoutes=false")
                && nic.content.contains("UseGateway=false")
        );
        // Nothing else from the admin subnet's DHCP server either: the cluster NIC's lease
        // names the node and gives its search domains and time servers.
        for key in ["UseDNS", "UseDomains", "UseNTP", "UseHostname"] {
            assert!(
                nic.content.contains(&format!("\n{key}=false\n")),
                "{}: {key}\n{}",
                f.node,
                nic.content
            );
        }
        assert!(!nic.content.contains("Gateway=1") && !nic.content.contains("[Route]"));
    }
}

#[test]
fn an_oversized_config_becomes_a_replace_stub() {
    let (compiled, _) = compile_profile(PROFILE, false);
    let mut big = compiled.bundles[0].clone();
    // Forty files holding the same 2,000 random letters: each data: URL stays large (gzip of
    // one file finds no repeats), so the full config is over Nova's limit, while gzip over the
    // whole config finds the repeats and the stub fits.
    let mut x: u64 = 1;
    let block: String = (0..2_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (b'a' + (x % 26) as u8) as char
        })
        .collect();
    for i in 0..40 {
        big.files.push(File {
            path: format!("/opt/k8sgen/filler-{i:02}"),
            mode: 0o644,
            owner: "root:root".into(),
            content: block.clone(),
            secret: false,
            packed: false,
        });
    }
    let ud = render::encode(&big, UserDataFormat::Ignition, Options::default());
    assert!(ud.replace_stub, "an over-limit config must become a stub");
    assert!(
        ud.fits_nova(),
        "the stub fits: {} bytes of base64",
        ud.base64_size()
    );
    assert_eq!(
        ignition_files(&ignition_config(&ud.bytes)),
        expected_files(&big)
    );
}

/// Every supported Kubernetes minor: the Flatcar profile rendered at each minor's newest
/// patch passes ignition-validate, and downloads that minor's binaries.
#[test]
fn ignition_validate_accepts_every_supported_minor() {
    require("ignition-validate");
    let tmp = tempfile::tempdir().unwrap();
    for release in k8sgen::catalog::RELEASES {
        let compiled = compile_profile_at(PROFILE, release.minor, false);
        let version = format!("1.{}.{}", release.minor, release.latest_patch);
        let kubeadm = compiled
            .plan
            .downloads
            .iter()
            .find(|d| d.name == "kubeadm")
            .unwrap();
        assert!(
            kubeadm.url.contains(&format!("/v{version}/")),
            "{}",
            kubeadm.url
        );
        for u in &compiled.user_data {
            let file = tmp.path().join(format!("{}-{}.ign", release.minor, u.node));
            std::fs::write(&file, &u.bytes).unwrap();
            if let Err(e) = validate(&file) {
                panic!("1.{}: {e}", release.minor);
            }
        }
    }
}
