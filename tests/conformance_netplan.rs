//! Conformance: every netplan file the bundles write passes `netplan generate --root-dir`,
//! and the generated systemd-networkd files configure only the admin NIC: its address (static)
//! or DHCP without routes and DNS, never a gateway or default route, matched by MAC when the
//! plan knows it. The cluster NIC is left to the cloud's own configuration.

mod common;

use common::*;
use k8sgen::pki::{SeededEntropy, ensure_leaves};
use k8sgen::{bundle, plan, profiles, spec};
use std::path::Path;
use std::process::Command;

const NETPLAN_FILE: &str = "/etc/netplan/60-k8sgen-admin.yaml";

/// The openstack-ha bundles, with the admin NIC as the profile has it (DHCP) or static, and
/// optionally with MAC addresses learned (as `up` will) for every node.
fn bundles(static_admin: bool, with_macs: bool) -> Vec<bundle::NodeBundle> {
    let mut text = profiles::find("openstack-ha").unwrap().text.to_string();
    if static_admin {
        text = text.replace(
            "    addressing: dhcp ",
            "    firstAddress: 192.168.50.20\n    addressing: static ",
        );
    }
    let spec = spec::load("test", &text).unwrap();
    let mut secrets = fixture();
    let mut plan = plan::plan(&spec, &secrets, &|_| None).unwrap();
    if with_macs {
        for (i, node) in plan.nodes.iter_mut().enumerate() {
            node.admin_mac = Some(format!("FA:16:3E:00:00:{i:02X}"));
        }
    }
    let clock = fixture_clock(&secrets);
    ensure_leaves(
        &mut secrets,
        &plan.leaf_requests(),
        &clock,
        &mut SeededEntropy(1),
    )
    .unwrap();
    plan.nodes
        .iter()
        .map(|n| bundle::build(&plan, n, &secrets).unwrap())
        .collect()
}

fn generate(root: &Path, content: &str) -> Result<Vec<(String, String)>, String> {
    let dir = root.join("etc/netplan");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("60-k8sgen-admin.yaml");
    std::fs::write(&file, content).unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = Command::new("netplan")
        .args(["generate", "--root-dir"])
        .arg(root)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let net = root.join("run/systemd/network");
    let mut files: Vec<_> = std::fs::read_dir(&net)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    Ok(files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect())
}

#[test]
fn netplan_accepts_the_admin_nic_and_keeps_routes_off_it() {
    require("netplan");
    for (static_admin, with_macs) in [(false, false), (true, false), (false, true), (true, true)] {
        for b in bundles(static_admin, with_macs) {
            let what = format!(
                "{} (static={static_admin}, mac={with_macs}) {NETPLAN_FILE}",
                b.node
            );
            let file = b
                .files
                .iter()
                .find(|f| f.path == NETPLAN_FILE)
                .unwrap_or_else(|| panic!("{what}: missing"));
            assert_eq!(file.mode, 0o600, "{what}");
            let root = tempfile::tempdir().unwrap();
            let generated = generate(root.path(), &file.content)
                .unwrap_or_else(|e| panic!("{what}: netplan rejected it: {e}"));
            let networks: Vec<_> = generated
                .iter()
                .filter(|(n, _)| n.ends_with(".network"))
                .collect();
            assert_eq!(
                networks.len(),
                1,
                "{what}: only the admin NIC may be configured: {generated:?}"
            );
            let (_, unit) = networks[0];
            assert!(
                !unit.contains("Gateway="),
                "{what}: a gateway on the admin NIC:\n{unit}"
            );
            assert!(
                !unit.contains("[Route]"),
                "{what}: a route on the admin NIC:\n{unit}"
            );
            if with_macs {
                assert!(
                    unit.contains("MACAddress=fa:16:3e:00:00:"),
                    "{what}: not matched by MAC:\n{unit}"
                );
            } else {
                assert!(
                    unit.contains("Name=ens4"),
                    "{what}: not matched by name:\n{unit}"
                );
            }
            if static_admin {
                assert!(
                    unit.contains("Address=192.168.50."),
                    "{what}: no static address:\n{unit}"
                );
                assert!(!unit.contains("DHCP=ipv4"), "{what}:\n{unit}");
            } else {
                assert!(
                    unit.contains("DHCP=ipv4")
                        && unit.contains("UseRoutes=false")
                        && unit.contains("UseDNS=false"),
                    "{what}:\n{unit}"
                );
            }
        }
    }
}

#[test]
fn static_addresses_follow_node_order() {
    let addrs: Vec<String> = bundles(true, false)
        .iter()
        .map(|b| {
            let f = b.files.iter().find(|f| f.path == NETPLAN_FILE).unwrap();
            f.content
                .lines()
                .find(|l| l.trim_start().starts_with("- 192.168.50."))
                .unwrap()
                .trim()
                .to_string()
        })
        .collect();
    assert_eq!(
        addrs,
        (20..26)
            .map(|i| format!("- 192.168.50.{i}/24"))
            .collect::<Vec<_>>()
    );
}

#[test]
fn netplan_rejects_a_broken_file() {
    require("netplan");
    let root = tempfile::tempdir().unwrap();
    let broken = "network:\n  version: 2\n  ethernets:\n    x:\n      dhcp4: maybe\n";
    assert!(
        generate(root.path(), broken).is_err(),
        "the validator must be able to fail"
    );
}

#[test]
fn single_profile_has_no_netplan_file() {
    let (compiled, _) = compile_profile("single", false);
    assert!(
        compiled.bundles[0]
            .files
            .iter()
            .all(|f| f.path != NETPLAN_FILE)
    );
}
