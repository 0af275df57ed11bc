//! What every node gets, whatever its role: host preparation, the optional admin NIC,
//! packages, containerd and the node-local API load balancer.

use super::script::Step;
use super::{Builder, BundleError};
use crate::catalog::BootStep;
use crate::pki::Secrets;
use crate::plan::{AdminNicPlan, NodePlan, Plan};
use crate::templates::render;
use serde_json::json;

const MODULES: &str = "# k8sgen: modules for containerd, bridged pod traffic and kube-router (IPVS, ipset)\n\
overlay\nbr_netfilter\nip_vs\nip_vs_rr\nip_vs_wrr\nip_vs_sh\nip_set\nxt_set\n";

const SYSCTLS: &str = "# k8sgen: routing and bridged traffic through iptables, as kubeadm and kube-router need\n\
net.ipv4.ip_forward = 1\n\
net.bridge.bridge-nf-call-iptables = 1\n\
net.bridge.bridge-nf-call-ip6tables = 1\n";

const CRICTL: &str = "runtime-endpoint: unix:///run/containerd/containerd.sock\n\
image-endpoint: unix:///run/containerd/containerd.sock\n\
timeout: 10\n";

/// The admin NIC's netplan override, with the interface name left for the boot step to
/// fill in (see `admin_network`).
pub(super) const NETPLAN_ADMIN_TEMPLATE: &str = "/etc/k8sgen/netplan-admin.yaml.in";
/// Where the boot step writes it, under the interface's own name as netplan id.
pub(super) const NETPLAN_ADMIN: &str = "/etc/netplan/60-k8sgen-admin.yaml";
/// The token the boot step replaces with the interface name (an interface name never holds `@`).
pub(super) const ADMIN_IFNAME_TOKEN: &str = "@ADMIN_IFNAME@";
/// The Kubernetes repository's armored key (apt >= 1.4 reads `.asc` keyrings directly).
const KUBERNETES_KEYRING: &str = "/etc/apt/keyrings/kubernetes-apt-keyring.asc";
/// A drop-in for the networkd file netplan generates for the admin NIC: cloud-init lists the
/// cloud's DNS servers on every static NIC (netplan `nameservers`), and a netplan override
/// can only add to lists; an empty `DNS=` in networkd clears them.
pub(super) const NETWORKD_ADMIN_DROPIN: &str = "/etc/k8sgen/networkd-admin-dropin.conf";
const NETWORKD_ADMIN_DROPIN_CONTENT: &str = "# k8sgen: the admin NIC contributes no DNS server or search domain\n\
[Network]\nDNS=\nDomains=\nDNSDefaultRoute=no\n";
pub(super) const NETWORKD_ADMIN: &str = "/etc/systemd/network/60-k8sgen-admin.network";
/// APT waits this long for dpkg's locks, which first-boot unattended-upgrades holds.
const APT_LOCK_TIMEOUT: &str = "// k8sgen: wait for dpkg's locks (a first-boot unattended-upgrades run holds them)\n\
DPkg::Lock::Timeout \"600\";\n";

pub(super) fn host_prep(b: &mut Builder, plan: &Plan, _node: &NodePlan) -> Result<(), BundleError> {
    b.file("/etc/modules-load.d/k8sgen.conf", 0o644, MODULES);
    b.file("/etc/sysctl.d/90-k8sgen.conf", 0o644, SYSCTLS);
    if !plan.platform.flatcar {
        b.file(
            "/etc/apt/apt.conf.d/90k8sgen-lock-timeout",
            0o644,
            APT_LOCK_TIMEOUT,
        );
    }
    b.unit(
        "k8sgen-metadata-block.service",
        render(
            "k8sgen-metadata-block.service",
            json!({"pod_subnet": plan.pod_subnet.to_string()}),
        )?,
        true,
    );
    // Long enough for an apt install that first waits out another package manager.
    b.step(Step::new(
        BootStep::HostPrep,
        2400,
        3,
        json!({"flatcar": plan.platform.flatcar, "pod_subnet": plan.pod_subnet.to_string(),
               "trusted_cas": (0..plan.egress.trusted_cas.len())
                   .map(|i| super::egress::trusted_ca_path(plan.platform.flatcar, i))
                   .collect::<Vec<_>>()}),
    )?);
    Ok(())
}

/// The admin NIC: only that interface, never a default route, never DNS. netplan on
/// Ubuntu/Debian; systemd-networkd directly on Flatcar.
///
/// On OpenStack, cloud-init already wrote a netplan entry for this NIC from
/// `network_data.json`, under the interface's name as id (with DHCP, the subnet's gateway
/// and DNS servers apply). netplan merges only entries with the same id, and networkd
/// applies only the first `.network` file matching a link, so the override must use that
/// same id: the boot step resolves the interface name (by MAC, by the spec's name, or as
/// the one NIC that is not the cluster NIC) and writes the file from a template.
pub(super) fn admin_network(
    b: &mut Builder,
    plan: &Plan,
    node: &NodePlan,
) -> Result<(), BundleError> {
    let Some(admin) = &plan.admin_nic else {
        return Ok(());
    };
    let header = format!(
        "# k8sgen: admin network {} ({}); the cluster NIC stays as the cloud configured it\n",
        admin.network, admin.cidr
    );
    let mac = node.admin_mac.as_deref().map(str::to_lowercase);
    if plan.platform.flatcar {
        b.file(
            NETWORKD_ADMIN,
            0o644,
            header + &networkd_file(admin, node, mac.as_deref())?,
        );
    } else {
        let mut nic = json!({"dhcp4": admin.dhcp, "dhcp6": false, "accept-ra": false});
        if let Some(mac) = &mac {
            nic["match"] = json!({"macaddress": mac});
        }
        if admin.dhcp {
            nic["dhcp4-overrides"] = json!({"use-routes": false, "use-dns": false});
        } else if let Some(address) = node.admin_address {
            nic["addresses"] = json!([address.to_string()]);
        }
        nic["optional"] = json!(true);
        let netplan = json!({"network": {"version": 2, "ethernets": {ADMIN_IFNAME_TOKEN: nic}}});
        b.file(
            NETPLAN_ADMIN_TEMPLATE,
            0o600,
            header + &super::kubeadm::to_yaml(&netplan),
        );
        b.file(NETWORKD_ADMIN_DROPIN, 0o644, NETWORKD_ADMIN_DROPIN_CONTENT);
    }
    b.step(Step::new(
        BootStep::AdminNetwork,
        300,
        3,
        json!({
            "flatcar": plan.platform.flatcar,
            "admin_mac": mac.unwrap_or_default(),
            "admin_interface": admin.interface.clone().unwrap_or_default(),
            "admin_address": node.admin_address.map(|a| a.addr().to_string()).unwrap_or_default(),
            "netplan_template": NETPLAN_ADMIN_TEMPLATE,
            "netplan_file": NETPLAN_ADMIN,
            "ifname_token": ADMIN_IFNAME_TOKEN,
            "networkd_dropin": NETWORKD_ADMIN_DROPIN,
        }),
    )?);
    Ok(())
}

/// systemd-networkd unit for the admin NIC (Flatcar). Sorts before Flatcar's catch-all
/// DHCP file, so it wins for that interface and only that interface. Flatcar's Ignition
/// files are fixed at render time, so the NIC must be known then: by MAC or by name.
fn networkd_file(
    admin: &AdminNicPlan,
    node: &NodePlan,
    mac: Option<&str>,
) -> Result<String, BundleError> {
    let matcher = match (mac, &admin.interface) {
        (Some(mac), _) => format!("MACAddress={mac}"),
        (None, Some(name)) => format!("Name={name}"),
        (None, None) => {
            return Err(BundleError::Unresolved {
                node: node.name.clone(),
                what: "the admin NIC".into(),
                hint: "Flatcar's network files are fixed at render time: set \
                       network.admin.interface (e.g. ens4), or render through `k8sgen up`, \
                       which records each admin port's MAC"
                    .into(),
            });
        }
    };
    let network = match (admin.dhcp, node.admin_address) {
        (false, Some(address)) => format!("Address={address}\n"),
        _ => "DHCP=ipv4\n".to_string(),
    };
    let dhcp = if admin.dhcp {
        // Nothing from the admin subnet's DHCP server but the address: no route, DNS, search
        // domain, NTP server or hostname (the cluster NIC's lease names the node).
        "\n[DHCPv4]\nUseRoutes=false\nUseGateway=false\nUseDNS=false\nUseDomains=false\nUseNTP=false\nUseHostname=false\n"
    } else {
        ""
    };
    Ok(format!(
        "[Match]\n{matcher}\n\n[Link]\nRequiredForOnline=no\n\n[Network]\n{network}LinkLocalAddressing=no\nIPv6AcceptRA=no\n{dhcp}"
    ))
}

/// kubelet, kubeadm, kubectl (and on Flatcar crictl and the CNI plugins), pinned to the plan.
/// A step of its own, after etcd on masters, so etcd forms without any Kubernetes binary.
pub(super) fn kubernetes(b: &mut Builder, plan: &Plan) -> Result<(), BundleError> {
    let platform = &plan.platform;
    if let (false, Some(key)) = (platform.flatcar, &plan.package_key) {
        b.file(KUBERNETES_KEYRING, 0o644, key.as_str());
    }
    let context = json!({
        "bin_dir": platform.bin_dir,
        "downloads": plan.downloads,
        "keyring": KUBERNETES_KEYRING,
        "key_shipped": plan.package_key.is_some(),
    });
    let template = if platform.flatcar {
        "kubernetes-flatcar"
    } else {
        "kubernetes"
    };
    b.step(Step::from_template(
        BootStep::Kubernetes,
        template,
        2400,
        3,
        context,
    )?);
    Ok(())
}

const CONTAINERD_UNIT_PATH: &str = "/etc/k8sgen/containerd.service";
/// containerd's systemd unit as its repository ships it (`containerd.service` at v2.3.4, which
/// runs /usr/local/bin/containerd, where the release tarball unpacks). Like upstream's since
/// 2.0 it sets no `LimitNOFILE`: pods get the system's default limits.
const CONTAINERD_UNIT: &str =
    "# containerd.service of the containerd release (k8sgen installs it with the release files)
[Unit]
Description=containerd container runtime
Documentation=https://containerd.io
After=network.target dbus.service

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
";

pub(super) fn packages_and_runtime(
    b: &mut Builder,
    plan: &Plan,
    node: &NodePlan,
    secrets: &Secrets,
) -> Result<(), BundleError> {
    let platform = &plan.platform;
    let role = node.role.as_str();
    if platform.flatcar {
        flatcar_units(b, plan)?;
        b.step(Step::from_template(
            BootStep::Packages,
            "packages-flatcar",
            2400,
            3,
            json!({"role": role, "bin_dir": platform.bin_dir}),
        )?);
    } else {
        // containerd's own unit (the release's `containerd.service`), put in place only when
        // the step installs containerd from its release files.
        b.file(CONTAINERD_UNIT_PATH, 0o644, CONTAINERD_UNIT);
        b.step(Step::new(
            BootStep::Packages,
            2400,
            3,
            json!({"role": role, "bin_dir": platform.bin_dir, "runtime": plan.runtime,
                   "containerd_unit": CONTAINERD_UNIT_PATH}),
        )?);
    }
    b.file("/etc/crictl.yaml", 0o644, CRICTL);
    if !node.role.is_master() {
        // Public: lets a worker check the API's certificate before it has joined (the
        // kubeadm path /etc/kubernetes/pki/ca.crt must stay free for `kubeadm join`).
        b.file(
            "/etc/k8sgen/ca.crt",
            0o644,
            secrets.cluster_ca.cert.as_str(),
        );
    }
    api_load_balancer(b, plan)?;
    prepull(b, plan, node);
    b.step(Step::new(
        BootStep::Runtime,
        300,
        3,
        json!({"flatcar": platform.flatcar}),
    )?);
    Ok(())
}

/// The images this node's role needs, pulled in the background once containerd runs (the
/// runtime step starts `k8sgen-prepull.service`), through the registry mirrors and
/// containerd's proxy, so that later steps do not wait on them; the step that needs them
/// reports the count on its console line.
fn prepull(b: &mut Builder, plan: &Plan, node: &NodePlan) {
    use crate::plan::artifacts;
    let images = artifacts::images_for(plan, node.role.is_master());
    let list = if node.role.is_master() {
        // kubeadm's first, then a mark: the control-plane step waits for those alone.
        let kubeadm = artifacts::kubeadm_images(plan);
        let rest: Vec<String> = images
            .into_iter()
            .filter(|i| !kubeadm.contains(i))
            .collect();
        format!(
            "{}\n# the rest (after kubeadm's images)\n{}\n",
            kubeadm.join("\n"),
            rest.join("\n")
        )
    } else {
        images.join("\n") + "\n"
    };
    b.file(PREPULL_LIST, 0o644, list);
    let script = std::path::Path::new(&plan.platform.script_path)
        .with_file_name("prepull.sh")
        .to_string_lossy()
        .into_owned();
    b.file(&script, 0o700, PREPULL_SCRIPT);
    b.unit(
        "k8sgen-prepull.service",
        format!(
            "[Unit]\nDescription=k8sgen: pull this node's images in the background (/etc/k8sgen/prepull.list)\n\
             After=containerd.service\nWants=containerd.service\n\n\
             [Service]\nType=oneshot\nExecStart={script}\nTimeoutStartSec=2h\n"
        ),
        false,
    );
}

const PREPULL_LIST: &str = "/etc/k8sgen/prepull.list";
/// Pulls into containerd's `k8s.io` namespace, where the kubelet's CRI finds them; an image
/// already there is not pulled again. Progress and the result go to /var/lib/k8sgen/prepull.
const PREPULL_SCRIPT: &str = r#"#!/bin/bash
# k8sgen: pull the images of /etc/k8sgen/prepull.list into containerd (namespace k8s.io)
# through the registry hosts in /etc/containerd/certs.d; progress in /var/lib/k8sgen/prepull.
# A line starting with # ends kubeadm's images (masters): the control-plane step waits for
# those alone.
set -uo pipefail
dir=/var/lib/k8sgen/prepull
mkdir -p "$dir"
rm -f "$dir/result" "$dir/failed"
total=$(grep -c '^[^#]' /etc/k8sgen/prepull.list)
seen=0 pulled=0 failed=0
while read -r image; do
  case "$image" in
    '') continue ;;
    '#'*) echo "kubeadm-images=$pulled/$seen" >"$dir/kubeadm"; continue ;;
  esac
  seen=$((seen + 1))
  # Only this platform's content, as the kubelet's own pulls fetch; a pull that stalls gives
  # way after 5 minutes (the kubelet or kubeadm pulls it again when it needs it).
  if timeout 60 ctr --namespace k8s.io image ls -q "name==$image" </dev/null | grep -q . ||
    timeout 300 ctr --namespace k8s.io image pull --skip-metadata --hosts-dir /etc/containerd/certs.d "$image" \
      </dev/null >/dev/null 2>>"$dir/log"; then
    pulled=$((pulled + 1))
  else
    failed=$((failed + 1))
    echo "$image" >>"$dir/failed"
  fi
  echo "$pulled/$total" >"$dir/progress"
done </etc/k8sgen/prepull.list
if [ "$failed" -gt 0 ]; then
  echo "images=$pulled/$total failed=$failed (see $dir/failed)" >"$dir/result"
else
  echo "images=$pulled/$total" >"$dir/result"
fi
"#;

/// Flatcar has no kubelet package: k8sgen adds kubelet's units. Flatcar's containerd keeps its
/// own configuration (`/usr/share/containerd/config.toml`, version 2, systemd cgroups, updated
/// with the OS); k8sgen's file imports it and then k8sgen's settings, and a drop-in points the
/// unit's `CONTAINERD_CONFIG` at it. Nothing of Flatcar's is copied, so nothing is frozen.
fn flatcar_units(b: &mut Builder, plan: &Plan) -> Result<(), BundleError> {
    let bin = json!({"bin_dir": plan.platform.bin_dir});
    b.unit(
        "kubelet.service",
        render("kubelet-flatcar.service", &bin)?,
        false,
    );
    b.file(
        "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
        0o644,
        render("kubelet-kubeadm-dropin.conf", &bin)?,
    );
    // Reboots after an update are FLUO's (`fluo.rs`), one drained node at a time.
    b.file("/etc/flatcar/update.conf", 0o644, super::fluo::UPDATE_CONF);
    b.file(
        "/etc/systemd/system/containerd.service.d/10-k8sgen.conf",
        0o644,
        "# k8sgen: Flatcar's configuration, then k8sgen's (/etc/containerd/config.toml imports both)\n\
         [Service]\nEnvironment=CONTAINERD_CONFIG=/etc/containerd/config.toml\n",
    );
    // Every file at version 2, Flatcar's own: containerd 2.3 refuses an import of a higher
    // version than the main file, and 2.0-2.2 take the last file's version for the merge.
    b.file(
        "/etc/containerd/config.toml",
        0o644,
        "# k8sgen: Flatcar's containerd configuration, then k8sgen's settings, which win where\n\
         # both set a key (containerd merges imports in order)\n\
         version = 2\n\
         imports = [\"/usr/share/containerd/config.toml\", \"/etc/containerd/k8sgen.toml\"]\n",
    );
    b.file(
        "/etc/containerd/k8sgen.toml",
        0o644,
        format!(
            "# k8sgen: kubeadm's pause as the sandbox image; registry hosts from certs.d\n\
             version = 2\n\n\
             [plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"{}\"\n\n\
             [plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"/etc/containerd/certs.d\"\n",
            plan.pause_image
        ),
    );
    Ok(())
}

/// haproxy's connection limit. Each connection holds two descriptors (client and master side).
/// On Flatcar haproxy runs under `ctr run`, whose default OCI spec caps open files at 1024,
/// soft and hard (containerd `pkg/oci/spec.go`), as an unprivileged user that cannot raise it;
/// haproxy 3 stops at start when it cannot raise its limit to what `maxconn` needs. 400
/// connections (about 800 descriptors and haproxy's own) fit; a node's components hold a few
/// long-lived connections each. The package's haproxy on Ubuntu/Debian runs as root under
/// systemd's 524288 hard limit.
const FLATCAR_LB_MAXCONN: u32 = 400;

fn lb_maxconn(plan: &Plan) -> u32 {
    if plan.platform.flatcar {
        FLATCAR_LB_MAXCONN
    } else {
        4000
    }
}

/// The node-local API load balancer (`controlPlaneEndpoint` on every node): haproxy over the
/// masters, as a package's service or, on Flatcar, a container.
fn api_load_balancer(b: &mut Builder, plan: &Plan) -> Result<(), BundleError> {
    let masters: Vec<_> = plan
        .masters()
        .map(|m| json!({"name": m.name, "address": m.address.to_string()}))
        .collect();
    let port = plan.api_load_balancer_port;
    b.file(
        "/etc/k8sgen/haproxy.cfg",
        0o644,
        render(
            "haproxy.cfg",
            json!({"lb_port": port, "masters": masters, "maxconn": lb_maxconn(plan)}),
        )?,
    );
    let lb_unit = if plan.platform.flatcar {
        render(
            "k8sgen-apiserver-lb-ctr.service",
            json!({"lb_port": port, "image": plan.haproxy_image, "name": "k8sgen-apiserver-lb"}),
        )?
    } else {
        render("k8sgen-apiserver-lb.service", json!({"lb_port": port}))?
    };
    b.unit("k8sgen-apiserver-lb.service", lb_unit, false);
    Ok(())
}
