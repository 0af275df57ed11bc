//! Conformance: the admin NIC's netplan override, merged with the netplan file cloud-init
//! itself renders from an OpenStack `network_data.json` that lists both NICs (cloud-init's
//! own `convert_net_json` and netplan renderer, run by Debian's python3), passes `netplan
//! generate --root-dir`; the admin NIC then has exactly one systemd-networkd file (the one
//! networkd applies), with its address (static) or DHCP without routes and DNS, and never a
//! gateway; the cluster NIC keeps the cloud's configuration and default route.

mod common;

use common::*;
use k8sgen::pki::{SeededEntropy, ensure_leaves};
use k8sgen::{bundle, plan, profiles, spec};
use std::path::Path;
use std::process::Command;

/// The template the bundle ships and the file the boot step writes from it.
const TEMPLATE: &str = "/etc/k8sgen/netplan-admin.yaml.in";
const TOKEN: &str = "@ADMIN_IFNAME@";
const DROPIN: &str = "/etc/k8sgen/networkd-admin-dropin.conf";
/// What cloud-init calls the NICs (by MAC) in this test: the names differ by machine type.
const CLUSTER_IF: &str = "ens3";
const ADMIN_IF: &str = "ens4";

fn cluster_mac(i: usize) -> String {
    k8sgen::up::qemu::mac_cluster(i)
}

/// The openstack-ha plan and bundles, with the admin NIC as the profile has it (DHCP) or
/// static, and optionally with MAC addresses learned (as `up` does) for every node.
fn bundles(static_admin: bool, with_macs: bool) -> (plan::Plan, Vec<bundle::NodeBundle>) {
    let mut text = profiles::find("openstack-ha").unwrap().text.to_string();
    if static_admin {
        text = replace_once(
            &text,
            "    addressing: dhcp ",
            "    firstAddress: 192.168.50.20\n    addressing: static ",
        );
    }
    let spec = spec::load("test", &text).unwrap();
    let mut secrets = fixture();
    let mut plan = plan::plan(&spec, &secrets, &|_| None).unwrap();
    if with_macs {
        for (i, node) in plan.nodes.iter_mut().enumerate() {
            node.admin_mac = Some(k8sgen::up::qemu::mac_admin(i).to_uppercase());
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
    let bundles = plan
        .nodes
        .iter()
        .map(|n| bundle::build(&plan, n, &secrets).unwrap())
        .collect();
    (plan, bundles)
}

/// cloud-init's own rendering of `network_data` into `root/etc/netplan/50-cloud-init.yaml`.
fn cloud_init_netplan(root: &Path, network_data: &str, index: usize) {
    require("cloud-init");
    let script = format!(
        r#"
import json, sys
from cloudinit.sources.helpers import openstack
from cloudinit.net import netplan, network_state
macs = {{"{}": "{CLUSTER_IF}", "{}": "{ADMIN_IF}"}}
config = openstack.convert_net_json(json.loads(sys.stdin.read()), known_macs=macs)
state = network_state.parse_net_config_data(config)
netplan.Renderer({{"netplan_path": "etc/netplan/50-cloud-init.yaml", "postcmds": False}}).render_network_state(state, target=sys.argv[1])
"#,
        cluster_mac(index),
        k8sgen::up::qemu::mac_admin(index)
    );
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", &script])
        .arg(root)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), network_data.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "cloud-init's renderer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Write `files` (name, content) under `root/etc/netplan` (0600) and run netplan generate;
/// returns the generated networkd files.
fn generate(root: &Path, files: &[(&str, &str)]) -> Result<Vec<(String, String)>, String> {
    let dir = root.join("etc/netplan");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, content) in files {
        let file = dir.join(name);
        std::fs::write(&file, content).unwrap();
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
    }
    let out = Command::new("netplan")
        .args(["generate", "--root-dir"])
        .arg(root)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let net = root.join("run/systemd/network");
    let mut found: Vec<_> = std::fs::read_dir(&net)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    found.sort();
    Ok(found
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect())
}

/// The `.network` files whose [Match] names `ifname` or `mac`.
fn networks_for<'a>(
    generated: &'a [(String, String)],
    ifname: &str,
    mac: &str,
) -> Vec<&'a (String, String)> {
    generated
        .iter()
        .filter(|(n, unit)| {
            n.ends_with(".network")
                && (unit.contains(&format!("Name={ifname}\n"))
                    || unit.to_lowercase().contains(&format!("macaddress={mac}")))
        })
        .collect()
}

#[test]
fn the_override_merges_with_cloud_inits_netplan_and_keeps_routes_off_the_admin_nic() {
    require("netplan");
    let gateway = "10.0.0.1".parse().unwrap();
    for (static_admin, with_macs) in [(false, false), (true, false), (false, true), (true, true)] {
        let (plan, bundles) = bundles(static_admin, with_macs);
        let cidr = "10.0.0.0/24".parse().unwrap();
        for (i, b) in bundles.iter().enumerate() {
            let what = format!("{} (static={static_admin}, mac={with_macs})", b.node);
            let file = b
                .files
                .iter()
                .find(|f| f.path == TEMPLATE)
                .unwrap_or_else(|| panic!("{what}: {TEMPLATE} missing"));
            assert_eq!(file.mode, 0o600, "{what}");
            assert!(file.content.contains(TOKEN), "{what}: no interface token");
            // As the boot step does once it has found the interface's name.
            let ours = file.content.replace(TOKEN, ADMIN_IF);
            let root = tempfile::tempdir().unwrap();
            let network_data = k8sgen::up::qemu::network_data(&plan, i, cidr, gateway);
            cloud_init_netplan(root.path(), &network_data, i);
            let theirs =
                std::fs::read_to_string(root.path().join("etc/netplan/50-cloud-init.yaml"))
                    .unwrap();
            let admin_mac = k8sgen::up::qemu::mac_admin(i);
            assert!(
                theirs.contains(&admin_mac) && theirs.contains(&cluster_mac(i)),
                "{what}: cloud-init's netplan does not list both NICs:\n{theirs}"
            );
            let generated = generate(root.path(), &[("60-k8sgen-admin.yaml", &ours)])
                .unwrap_or_else(|e| panic!("{what}: netplan rejected it: {e}\n{theirs}\n{ours}"));

            let admin = networks_for(&generated, ADMIN_IF, &admin_mac);
            assert_eq!(
                admin.len(),
                1,
                "{what}: networkd applies only the first .network file matching a link; \
                 the admin NIC must have exactly one: {generated:#?}"
            );
            let unit = &admin[0].1;
            assert!(
                !unit.contains("Gateway="),
                "{what}: a gateway on the admin NIC:\n{unit}"
            );
            assert!(
                !unit.contains("[Route]"),
                "{what}: a route on the admin NIC:\n{unit}"
            );
            // DNS servers cloud-init put on the NIC are cleared by k8sgen's drop-in for this
            // very file (an empty `DNS=` resets the list in systemd.network).
            let dropin = b
                .files
                .iter()
                .find(|f| f.path == DROPIN)
                .unwrap_or_else(|| panic!("{what}: {DROPIN} missing"));
            let script = &plan.platform.script_path;
            let script = &b.files.iter().find(|f| &f.path == script).unwrap().content;
            assert!(
                script.contains("/etc/systemd/network/10-netplan-$admin_dev.network.d/")
                    && admin[0].0 == format!("10-netplan-{ADMIN_IF}.network"),
                "{what}: the drop-in does not follow netplan's file {}",
                admin[0].0
            );
            let dns_lines: Vec<_> = unit.lines().filter(|l| l.starts_with("DNS=")).collect();
            assert!(
                dns_lines.is_empty()
                    || dropin.content.contains("[Network]\nDNS=\n") && static_admin,
                "{what}: DNS from the admin NIC:\n{unit}"
            );
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
                    "{what}: DHCP routes or DNS would apply:\n{unit}"
                );
            }
            let cluster = networks_for(&generated, CLUSTER_IF, &cluster_mac(i));
            assert_eq!(cluster.len(), 1, "{what}: {generated:#?}");
            assert!(
                cluster[0].1.contains("Gateway=10.0.0.1"),
                "{what}: the cluster NIC lost its default route:\n{}",
                cluster[0].1
            );
        }
    }
}

#[test]
fn an_override_under_another_id_is_not_merged() {
    // What k8sgen wrote before: its own netplan id for the admin NIC. netplan emits a second
    // .network file for the same NIC, sorted after cloud-init's, so networkd ignores it.
    require("netplan");
    let (plan, _) = bundles(false, true);
    let root = tempfile::tempdir().unwrap();
    let network_data = k8sgen::up::qemu::network_data(
        &plan,
        0,
        "10.0.0.0/24".parse().unwrap(),
        "10.0.0.1".parse().unwrap(),
    );
    cloud_init_netplan(root.path(), &network_data, 0);
    let mac = k8sgen::up::qemu::mac_admin(0);
    let other_id = format!(
        "network:\n  version: 2\n  ethernets:\n    k8sgen-admin:\n      match:\n        macaddress: \"{mac}\"\n      dhcp4: true\n      dhcp4-overrides:\n        use-routes: false\n        use-dns: false\n"
    );
    let generated = generate(root.path(), &[("60-k8sgen-admin.yaml", &other_id)]).unwrap();
    let admin = networks_for(&generated, ADMIN_IF, &mac);
    assert_eq!(admin.len(), 2, "{generated:#?}");
    assert!(
        !admin[0].1.contains("UseRoutes=false"),
        "the lexically first file (the one networkd applies) is cloud-init's: {generated:#?}"
    );
}

#[test]
fn static_addresses_follow_node_order() {
    let addrs: Vec<String> = bundles(true, false)
        .1
        .iter()
        .map(|b| {
            let f = b.files.iter().find(|f| f.path == TEMPLATE).unwrap();
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
        generate(root.path(), &[("60-k8sgen-admin.yaml", broken)]).is_err(),
        "the validator must be able to fail"
    );
}

#[test]
fn single_profile_has_no_netplan_file() {
    let (compiled, _) = compile_profile("single", false);
    assert!(compiled.bundles[0].files.iter().all(|f| f.path != TEMPLATE));
}
