//! Semantic checks on a parsed `ClusterSpec`.
//!
//! Collects *every* problem (never stops at the first), each with its field path and a hint,
//! so an operator fixes a spec in one pass. Knows nothing of secrets or providers; the only
//! internal data it reads is the pinned `catalog`.

use super::checks::*;
use super::types::*;
use crate::catalog::{self, KubeVersion};
use ipnet::Ipv4Net;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// Every problem in `spec`; empty means valid.
pub fn validate(spec: &ClusterSpec) -> Vec<Problem> {
    let mut c = Collector(Vec::new());

    // Name: prefixes `<name>-<pool>-<index>` node names, which must stay ≤ 63 characters.
    c.dns_label("name", &spec.name, 30);

    // Kubernetes version and networks.
    let k = &spec.kubernetes;
    match KubeVersion::parse(&k.version) {
        None => c.push(
            "kubernetes.version",
            format!("`{}` is not a MAJOR.MINOR.PATCH version", k.version),
            format!(
                "pin a full version such as \"{}\"",
                catalog::DEFAULT_KUBERNETES_VERSION
            ),
        ),
        Some(v) if v.release().is_none() => c.push(
            "kubernetes.version",
            format!("Kubernetes {v} is not supported (kubeadm config v1beta4 only, pinned artifacts needed)"),
            format!("use one of the minors {}", catalog::supported_minors()),
        ),
        Some(_) => {}
    }
    let pods = c.cidr("kubernetes.podSubnet", &k.pod_subnet);
    let services = c.cidr("kubernetes.serviceSubnet", &k.service_subnet);
    let cluster = c.cidr("network.cluster.cidr", &spec.network.cluster.cidr);
    if let Some(s) = services
        && s.prefix_len() > 28
    {
        c.push(
            "kubernetes.serviceSubnet",
            format!("`{s}` is too small"),
            "use a /28 or larger (the cluster DNS takes the 10th address)",
        );
    }
    if let Some(p) = pods
        && p.prefix_len() > 24
    {
        c.push(
            "kubernetes.podSubnet",
            format!("`{p}` is too small"),
            "use a /24 or larger; each node takes a /24 from it",
        );
    }
    let named = [
        ("kubernetes.podSubnet", pods),
        ("kubernetes.serviceSubnet", services),
        ("network.cluster.cidr", cluster),
    ];
    for (i, (pa, a)) in named.iter().enumerate() {
        for (pb, b) in &named[i + 1..] {
            if let (Some(a), Some(b)) = (a, b)
                && overlaps(a, b)
            {
                c.push(
                    *pb,
                    format!("`{b}` overlaps {pa} `{a}`"),
                    "pod, service and node networks must be disjoint",
                );
            }
        }
    }
    if !is_dns_name(&k.dns_domain) || k.dns_domain.starts_with("*.") {
        c.push(
            "kubernetes.dnsDomain",
            format!("`{}` is not a DNS domain", k.dns_domain),
            "use something like `cluster.local`",
        );
    }
    for (i, san) in k.api_server.extra_sans.iter().enumerate() {
        if san.parse::<std::net::IpAddr>().is_err() && !is_dns_name(san) {
            c.push(
                format!("kubernetes.apiServer.extraSANs[{i}]"),
                format!("`{san}` is neither an IP address nor a DNS name"),
                "use lower-case RFC 1123 names (a leading `*.` is allowed) or IP addresses",
            );
        }
    }

    let mirror = &k.packages.mirror;
    if !(mirror.starts_with("http://") || mirror.starts_with("https://"))
        || mirror.contains(char::is_whitespace)
    {
        c.push(
            "kubernetes.packages.mirror",
            format!("`{mirror}` is not an http(s) URL"),
            "use the URL under which `core:/stable:/v1.XX/deb/` is served, e.g. https://pkgs.k8s.io",
        );
    }
    if let Some(key) = &k.packages.key
        && !key.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    {
        c.push(
            "kubernetes.packages.key",
            "not an ASCII-armored OpenPGP public key",
            "paste the repository's Release.key as it is served (it starts with -----BEGIN PGP PUBLIC KEY BLOCK-----)",
        );
    }

    // Control plane.
    let cp = &spec.control_plane;
    match cp.count {
        0 => c.push(
            "controlPlane.count",
            "a cluster needs at least one control-plane node",
            "use 1, 3 or 5",
        ),
        n if n % 2 == 0 => c.push(
            "controlPlane.count",
            format!(
                "{n} control-plane nodes cannot keep etcd quorum better than {}",
                n - 1
            ),
            "use 1, 3 or 5",
        ),
        n if n > 5 => c.push(
            "controlPlane.count",
            format!("{n} etcd members slow every write and add no useful fault tolerance"),
            "use 1, 3 or 5",
        ),
        _ => {}
    }
    c.non_empty("controlPlane.flavor", &cp.flavor, "Nova flavor name");
    let etcd = &cp.etcd;
    if etcd.heartbeat_interval_ms == 0 || etcd.election_timeout_ms < 5 * etcd.heartbeat_interval_ms
    {
        c.push(
            "controlPlane.etcd.electionTimeoutMs",
            format!(
                "{} ms is less than 5 heartbeats of {} ms",
                etcd.election_timeout_ms, etcd.heartbeat_interval_ms
            ),
            "etcd needs electionTimeoutMs ≥ 5 × heartbeatIntervalMs (defaults 1000 and 100)",
        );
    }

    // Worker pools.
    let mut pools = BTreeSet::new();
    for (i, pool) in spec.workers.iter().enumerate() {
        let path = format!("workers[{i}]");
        c.dns_label(&format!("{path}.pool"), &pool.pool, 20);
        if pool.pool == "cp" {
            c.push(
                format!("{path}.pool"),
                "`cp` is reserved for control-plane node names",
                "pick another pool name, e.g. `general`",
            );
        }
        if !pools.insert(pool.pool.as_str()) {
            c.push(
                format!("{path}.pool"),
                format!(
                    "pool `{}` is defined twice, so its node names would repeat",
                    pool.pool
                ),
                "give every pool a distinct name",
            );
        }
        c.non_empty(&format!("{path}.flavor"), &pool.flavor, "Nova flavor name");
    }
    let workers: u32 = spec.workers.iter().map(|p| p.count).sum();
    if workers == 0 && !cp.schedulable {
        c.push(
            "workers",
            "no node can run ordinary pods: there are no workers and the masters are tainted",
            "add a worker pool or set `controlPlane.schedulable: true`",
        );
    }

    // Node addresses on the cluster network.
    if let Some(cluster) = cluster {
        check_addresses(&mut c, spec, &cluster);
    }

    // Nodes.
    if !catalog::SUPPORTED_OS.contains(&spec.nodes.os.as_str()) {
        c.push(
            "nodes.os",
            format!("`{}` is not a supported operating system", spec.nodes.os),
            format!("use one of {}", catalog::SUPPORTED_OS.join(", ")),
        );
    }
    c.non_empty("nodes.image", &spec.nodes.image, "Glance image name");

    // Network.
    c.non_empty(
        "network.cluster.network",
        &spec.network.cluster.network,
        "Neutron network name",
    );
    c.non_empty(
        "network.cluster.subnet",
        &spec.network.cluster.subnet,
        "Neutron subnet name",
    );
    let port = spec.network.api_load_balancer_port;
    if port < 1024 || [2379, 2380, 6443, 10250, 10257, 10259].contains(&port) {
        c.push(
            "network.apiLoadBalancerPort",
            format!("port {port} is privileged or used by a Kubernetes component"),
            "use an unprivileged free port such as 7443",
        );
    }
    if let Some(admin) = &spec.network.admin {
        check_admin(&mut c, spec, admin, cluster, pods, services);
    }

    // CNI: k8sgen never installs kube-proxy, so kube-router must serve Services.
    if !spec.cni.kube_router.service_proxy {
        c.push(
            "cni.kubeRouter.serviceProxy",
            "k8sgen skips kube-proxy, so without kube-router's service proxy no Service works",
            "set `serviceProxy: true`",
        );
    }

    // Cloud.
    let os = &spec.cloud.openstack;
    c.non_empty("cloud.openstack.cloud", &os.cloud, "clouds.yaml entry name");
    c.non_empty(
        "cloud.openstack.region",
        &os.region,
        "OpenStack region name",
    );
    if !(os.auth_url.starts_with("https://") || os.auth_url.starts_with("http://")) {
        c.push(
            "cloud.openstack.authURL",
            format!("`{}` is not an http(s) URL", os.auth_url),
            "give the Keystone v3 URL, e.g. `https://keystone.example.org:5000/v3`",
        );
    }
    let cred = &os.application_credential;
    for (field, value) in [("idFrom", &cred.id_from), ("secretFrom", &cred.secret_from)] {
        if !is_env_name(value) {
            c.push(
                format!("cloud.openstack.applicationCredential.{field}"),
                format!("`{value}` is not an environment variable name"),
                "name the variable that holds it (e.g. OS_APPLICATION_CREDENTIAL_ID); never put the credential itself in the spec",
            );
        }
    }
    if let Some(lb) = &os.load_balancer {
        for (field, value) in [
            ("floatingNetworkID", &lb.floating_network_id),
            ("subnetID", &lb.subnet_id),
        ] {
            if !is_uuid(value) {
                c.push(
                    format!("cloud.openstack.loadBalancer.{field}"),
                    format!("`{value}` is not a UUID"),
                    "OCCM needs the ID: `openstack network show NAME -f value -c id`",
                );
            }
        }
        if !["amphora", "ovn"].contains(&lb.provider.as_str()) {
            c.push(
                "cloud.openstack.loadBalancer.provider",
                format!("`{}` is not an Octavia provider k8sgen knows", lb.provider),
                "use `amphora` or `ovn`",
            );
        }
    }

    let servers = &os.servers;
    for (i, cidr) in servers.ssh_from.iter().enumerate() {
        if cidr.parse::<ipnet::Ipv4Net>().is_err() {
            c.push(
                format!("cloud.openstack.servers.sshFrom[{i}]"),
                format!("`{cidr}` is not an IPv4 CIDR"),
                "write the network SSH may come from, e.g. `198.51.100.0/24` or `203.0.113.7/32`",
            );
        }
    }
    if spec.kubernetes.api_server.floating_ip
        && servers
            .floating_network
            .as_deref()
            .is_none_or(str::is_empty)
    {
        c.push(
            "cloud.openstack.servers.floatingNetwork",
            "`kubernetes.apiServer.floatingIP: true` needs the external network to take it from",
            "name it, e.g. `floatingNetwork: public` (`openstack network list --external`)",
        );
    }
    if servers.key_pair.as_deref() == Some("") {
        c.push(
            "cloud.openstack.servers.keyPair",
            "empty key pair name",
            "remove the field, or name a key pair from `openstack keypair list`",
        );
    }

    // Bootstrap.
    if !is_token_ttl(&spec.bootstrap.token_ttl) {
        c.push(
            "bootstrap.tokenTTL",
            format!("`{}` is not a duration", spec.bootstrap.token_ttl),
            "write hours/minutes/seconds such as `24h` or `1h30m`, or `0` for no expiry",
        );
    }
    if let Some(step) = &spec.bootstrap.stop_after
        && !catalog::BOOT_STEPS.contains(&step.as_str())
    {
        c.push(
            "bootstrap.stopAfter",
            format!("`{step}` is not a boot step"),
            format!("use one of {}", catalog::BOOT_STEPS.join(", ")),
        );
    }

    c.0
}

/// Masters and every pool get consecutive addresses; all must be usable hosts of the cluster
/// CIDR and distinct.
fn check_addresses(c: &mut Collector, spec: &ClusterSpec, cluster: &Ipv4Net) {
    let cp = &spec.control_plane;
    let Some(first) = &cp.first_address else {
        c.push(
            "controlPlane.firstAddress",
            "render needs the masters' addresses",
            format!(
                "give the first master's address inside {cluster}, e.g. `{}`",
                nth_host(cluster, 10)
            ),
        );
        return;
    };
    let Some(first) = c.address("controlPlane.firstAddress", first) else {
        return;
    };
    let mut ranges = vec![("controlPlane.firstAddress".to_string(), first, cp.count)];
    let mut next = u32::from(first).saturating_add(cp.count);
    for (i, pool) in spec.workers.iter().enumerate() {
        let path = format!("workers[{i}].firstAddress");
        let start = match &pool.first_address {
            Some(text) => match c.address(&path, text) {
                Some(a) => u32::from(a),
                None => continue,
            },
            None => next,
        };
        ranges.push((path, Ipv4Addr::from(start), pool.count));
        next = start.saturating_add(pool.count);
    }
    let lo = u32::from(cluster.network()) + 1;
    let hi = u32::from(cluster.broadcast()).saturating_sub(1);
    for (path, start, count) in &ranges {
        if *count == 0 {
            continue;
        }
        let s = u32::from(*start);
        let e = s.saturating_add(count - 1);
        if s < lo || e > hi {
            c.push(
                path.clone(),
                format!("{count} node(s) from {start} do not fit in {cluster}"),
                "pick a first address so every node gets a host address of the cluster CIDR",
            );
        }
    }
    for (i, (pa, sa, na)) in ranges.iter().enumerate() {
        for (pb, sb, nb) in &ranges[i + 1..] {
            let (a0, b0) = (u32::from(*sa), u32::from(*sb));
            if *na > 0 && *nb > 0 && a0 < b0.saturating_add(*nb) && b0 < a0.saturating_add(*na) {
                c.push(
                    pb.clone(),
                    format!("addresses from {sb} collide with those from {pa} ({sa})"),
                    "give each pool its own address range",
                );
            }
        }
    }
}

fn check_admin(
    c: &mut Collector,
    spec: &ClusterSpec,
    admin: &AdminNetwork,
    cluster: Option<Ipv4Net>,
    pods: Option<Ipv4Net>,
    services: Option<Ipv4Net>,
) {
    match &admin.network {
        None => c.push(
            "network.admin.network",
            "a second NIC needs a Neutron network",
            "name the admin network, or remove `network.admin`",
        ),
        Some(n) => c.non_empty("network.admin.network", n, "Neutron network name"),
    }
    if let Some(name) = admin.interface.as_ref().filter(|n| !is_interface_name(n)) {
        c.push(
            "network.admin.interface",
            format!("`{name}` is not an interface name"),
            "use the guest's name for the second NIC, e.g. `ens4`",
        );
    }
    let Some(net) = c.cidr("network.admin.cidr", &admin.cidr) else {
        return;
    };
    for (what, other) in [
        ("network.cluster.cidr", cluster),
        ("kubernetes.podSubnet", pods),
        ("kubernetes.serviceSubnet", services),
    ] {
        if let Some(other) = other
            && overlaps(&net, &other)
        {
            c.push(
                "network.admin.cidr",
                format!("`{net}` overlaps {what} `{other}`"),
                "the admin network must be disjoint from the cluster, pod and service networks",
            );
        }
    }
    match (admin.addressing, &admin.first_address) {
        (Addressing::Static, None) => c.push(
            "network.admin.firstAddress",
            "static addressing needs the first node's admin address",
            format!("give an address inside {net}, or use `addressing: dhcp`"),
        ),
        (Addressing::Dhcp, Some(_)) => c.push(
            "network.admin.firstAddress",
            "an address is given but `addressing` is `dhcp`",
            "remove `firstAddress` or set `addressing: static`",
        ),
        (Addressing::Static, Some(text)) => {
            if let Some(first) = c.address("network.admin.firstAddress", text) {
                let total =
                    spec.control_plane.count + spec.workers.iter().map(|p| p.count).sum::<u32>();
                let s = u32::from(first);
                let e = s.saturating_add(total.saturating_sub(1));
                if s <= u32::from(net.network()) || e >= u32::from(net.broadcast()) {
                    c.push(
                        "network.admin.firstAddress",
                        format!("{total} node(s) from {first} do not fit in {net}"),
                        "pick a first address so every node gets a host address of the admin CIDR",
                    );
                }
            }
        }
        (Addressing::Dhcp, None) => {}
    }
}
