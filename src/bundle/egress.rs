//! What `egress` puts on every node: the CAs to trust (installed into the system store by
//! host-prep, before anything is downloaded), containerd's proxy settings (a drop-in; the boot
//! script exports the same proxy for apt, curl and kubeadm), and a `hosts.toml` per mirrored
//! registry under `/etc/containerd/certs.d`, which containerd reads for the kubelet's pulls and
//! the load balancer's.

use super::Builder;
use crate::plan::{Plan, ProxyPlan, RegistryPlan};

/// Where the system trust store takes extra CAs: Debian's `update-ca-certificates` reads
/// `*.crt` under /usr/local/share/ca-certificates; Flatcar's reads `*.pem` under
/// /etc/ssl/certs (Flatcar docs, "Adding custom certificates").
pub(super) fn trusted_ca_path(flatcar: bool, index: usize) -> String {
    if flatcar {
        format!("/etc/ssl/certs/k8sgen-egress-{index}.pem")
    } else {
        format!("/usr/local/share/ca-certificates/k8sgen-egress-{index}.crt")
    }
}

pub(super) fn files(b: &mut Builder, plan: &Plan) {
    let egress = &plan.egress;
    for (i, pem) in egress.trusted_cas.iter().enumerate() {
        b.file(
            &trusted_ca_path(plan.platform.flatcar, i),
            0o644,
            pem.as_str(),
        );
    }
    if let Some(proxy) = &egress.proxy {
        b.file(
            "/etc/systemd/system/containerd.service.d/20-k8sgen-proxy.conf",
            0o644,
            containerd_proxy(proxy),
        );
        // OS updates behind the proxy too, not only the boot script's downloads.
        if plan.platform.flatcar {
            if let Some(https) = &proxy.https {
                b.file(
                    "/etc/systemd/system/update-engine.service.d/20-k8sgen-proxy.conf",
                    0o644,
                    format!(
                        "# k8sgen: Flatcar updates through egress.proxy (Flatcar docs, \"Updating behind a proxy\")\n\
                         [Service]\nEnvironment=\"ALL_PROXY={https}\"\n"
                    ),
                );
            }
        } else {
            b.file(
                "/etc/apt/apt.conf.d/90k8sgen-proxy",
                0o644,
                apt_proxy(proxy),
            );
        }
    }
    for registry in &egress.registries {
        let path = format!("/etc/containerd/certs.d/{}/hosts.toml", registry.name);
        if registry.authorization.is_some() {
            // Holds the mirror's login: 0600, listed in the plan's secrets per role.
            b.secret_file(&path, hosts_toml(registry));
        } else {
            b.file(&path, 0o644, hosts_toml(registry));
        }
    }
}

/// apt's own proxy settings, for every apt run (unattended-upgrades included, which never
/// sees the boot script's environment). apt's configuration has no `no_proxy` list: each
/// exact host or address of `no_proxy` becomes a `DIRECT` entry. Suffixes and CIDRs cannot be
/// said there (`methods/http.cc`); apt honours the environment's `no_proxy` as a plain string
/// suffix, so the boot script's own apt runs see the suffixes, unattended-upgrades does not.
/// An in-cloud host every apt run must reach directly needs its exact name in `noProxy`.
fn apt_proxy(proxy: &ProxyPlan) -> String {
    let mut conf = String::from(
        "// k8sgen: apt through egress.proxy (unattended-upgrades included); listed hosts directly\n",
    );
    for (scheme, url) in [("http", &proxy.http), ("https", &proxy.https)] {
        if let Some(url) = url {
            conf.push_str(&format!("Acquire::{scheme}::Proxy \"{url}\";\n"));
        }
    }
    for host in proxy
        .no_proxy
        .iter()
        .filter(|h| !h.starts_with('.') && !h.contains('/'))
    {
        for scheme in ["http", "https"] {
            conf.push_str(&format!("Acquire::{scheme}::Proxy::{host} \"DIRECT\";\n"));
        }
    }
    conf
}

/// containerd pulls images itself, so it needs the proxy in its own environment (Go's
/// `http.ProxyFromEnvironment`: upper case, CIDRs and `.suffix` entries in NO_PROXY).
fn containerd_proxy(proxy: &ProxyPlan) -> String {
    let mut env = Vec::new();
    if let Some(http) = &proxy.http {
        env.push(format!("\"HTTP_PROXY={http}\""));
    }
    if let Some(https) = &proxy.https {
        env.push(format!("\"HTTPS_PROXY={https}\""));
    }
    env.push(format!("\"NO_PROXY={}\"", proxy.no_proxy.join(",")));
    format!(
        "# k8sgen: image pulls through egress.proxy; the cluster and the metadata service directly\n\
         [Service]\nEnvironment={}\n",
        env.join(" ")
    )
}

/// containerd's registry host configuration (`docs/hosts.md`). The file's `server` is always
/// tried last, after any `[host]` (`remotes/docker/config/hosts.go` appends it): with
/// fallback it is the registry itself behind the mirror; without, it is the mirror alone.
/// A login goes to the mirror alone, as a `header` of its host entry (hosts.md: `header`),
/// never to the registry behind it.
fn hosts_toml(registry: &RegistryPlan) -> String {
    let login = |table: &str| match &registry.authorization {
        Some(basic) => format!(
            "\n[{table}]\n  Authorization = \"Basic {}\"\n",
            basic.expose()
        ),
        None => String::new(),
    };
    if registry.fallback {
        format!(
            "# k8sgen: {name} through its mirror, then from {name} itself\n\
             server = \"{upstream}\"\n\n\
             [host.\"{mirror}\"]\n  capabilities = [\"pull\", \"resolve\"]\n{login}",
            name = registry.name,
            upstream = registry.upstream,
            mirror = registry.mirror,
            login = login(&format!("host.\"{}\".header", registry.mirror)),
        )
    } else {
        format!(
            "# k8sgen: {name} only through its mirror (fallback: false)\n\
             server = \"{mirror}\"\ncapabilities = [\"pull\", \"resolve\"]\n{login}",
            name = registry.name,
            mirror = registry.mirror,
            login = login("header"),
        )
    }
}
