//! Semantic checks on a parsed `ClusterSpec`, which also parse its typed values once.
//!
//! Collects *every* problem (never stops at the first), each with its field path and a hint,
//! so an operator fixes a spec in one pass; one function per spec section, called in the order
//! the problems are reported. A valid spec yields its `Parsed` values. Knows nothing of secrets
//! or providers; the only internal data it reads is the pinned `catalog`.

use super::checks::*;
use super::parsed::{Parsed, ParsedAdmin, TokenTtl};
use super::types::*;
use crate::catalog::{self, Artifact, BootStep, KubeVersion, MinorRelease, Os, Versions};
use ipnet::Ipv4Net;
use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// Every problem in `spec`; empty means valid.
pub fn validate(spec: &ClusterSpec) -> Vec<Problem> {
    check(spec).err().unwrap_or_default()
}

/// The spec's typed values, or every problem in it.
pub fn check(spec: &ClusterSpec) -> Result<Parsed, Vec<Problem>> {
    let mut c = Collector(Vec::new());
    // Name: prefixes `<name>-<pool>-<index>` node names, which must stay ≤ 63 characters.
    c.dns_label("name", &spec.name, 30);
    let version = check_version(&mut c, &spec.kubernetes.version);
    let nets = check_networks(&mut c, spec);
    check_api_names(&mut c, &spec.kubernetes);
    check_packages(&mut c, &spec.kubernetes.packages);
    check_control_plane(&mut c, &spec.control_plane);
    check_workers(&mut c, spec);
    let addresses = nets
        .cluster
        .and_then(|cluster| check_addresses(&mut c, spec, &cluster));
    let os = check_nodes(&mut c, &spec.nodes);
    let (containerd_version, runc_version) = check_runtime(&mut c, &spec.nodes.runtime);
    let download_mirror = check_download_mirror(&mut c, &spec.nodes);
    let checksums = check_checksums(
        &mut c,
        &spec.kubernetes.checksums,
        version.map(|(kube, release)| {
            (
                kube,
                release,
                containerd_version.clone(),
                runc_version.clone(),
            )
        }),
        os,
    );
    check_cluster_network(&mut c, &spec.network);
    let admin = spec
        .network
        .admin
        .as_ref()
        .map(|admin| check_admin(&mut c, spec, admin, &nets));
    check_cni(&mut c, &spec.cni);
    check_openstack(&mut c, &spec.cloud.openstack);
    check_servers(&mut c, spec);
    super::egress::check(&mut c, &spec.egress);
    let (token_ttl, stop_after) = check_bootstrap(&mut c, &spec.bootstrap);

    if !c.0.is_empty() {
        return Err(c.0);
    }
    // Each parser above reports a problem whenever it yields nothing, so with no problems
    // every value is present; the fallback only guards that invariant without panicking.
    let parsed = (|| {
        let (version, release) = version?;
        let checksums = checksums?;
        let (masters_first_address, pools_first_address) = addresses?;
        Some(Parsed {
            version,
            release,
            os: os?,
            checksums,
            containerd_version,
            runc_version,
            download_mirror,
            pod_subnet: nets.pods?,
            service_subnet: nets.services?,
            cluster_cidr: nets.cluster?,
            masters_first_address,
            pools_first_address,
            admin: admin.map(|a| a.ok_or(())).transpose().ok()?,
            token_ttl: token_ttl?,
            stop_after: stop_after?,
        })
    })();
    parsed.ok_or_else(|| {
        vec![Problem {
            path: "(top level)".into(),
            message: "a value passed validation without being parsed".into(),
            hint: "this is a bug in k8sgen; please report it with the spec".into(),
        }]
    })
}

fn check_version(c: &mut Collector, text: &str) -> Option<(KubeVersion, &'static MinorRelease)> {
    let Some(version) = KubeVersion::parse(text) else {
        c.push(
            "kubernetes.version",
            format!("`{text}` is not a MAJOR.MINOR.PATCH version"),
            format!(
                "pin a full version such as \"{}\"",
                catalog::DEFAULT_KUBERNETES_VERSION
            ),
        );
        return None;
    };
    let release = version.release();
    if release.is_none() {
        c.push(
            "kubernetes.version",
            format!("Kubernetes {version} is not supported (kubeadm config v1beta4 only, pinned artifacts needed)"),
            format!("use one of the minors {}", catalog::supported_minors()),
        );
    }
    Some((version, release?))
}

/// The pod, service and node networks, each parsed when valid.
struct Networks {
    pods: Option<Ipv4Net>,
    services: Option<Ipv4Net>,
    cluster: Option<Ipv4Net>,
}

fn check_networks(c: &mut Collector, spec: &ClusterSpec) -> Networks {
    let k = &spec.kubernetes;
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
    Networks {
        pods,
        services,
        cluster,
    }
}

/// The cluster DNS domain and the API server certificate's extra names.
fn check_api_names(c: &mut Collector, k: &Kubernetes) {
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
}

/// `kubernetes.checksums`: each given value is a sha256; each download the nodes need has
/// one, given or pinned; a given one that contradicts a pin is refused (one of the two is
/// wrong, and a node would fail its check at boot). Yields the sha256 per needed artifact.
fn check_checksums(
    c: &mut Collector,
    given: &Checksums,
    version: Option<(KubeVersion, &'static MinorRelease, String, String)>,
    os: Option<Os>,
) -> Option<BTreeMap<Artifact, String>> {
    let is_sha256 = |sha: &str| sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit());
    for artifact in Artifact::ALL {
        if let Some(sha) = given.get(artifact)
            && !is_sha256(sha)
        {
            c.push(
                format!("kubernetes.checksums.{}", artifact.as_str()),
                "not a sha256 (64 hexadecimal digits)",
                "copy the hash as sha256sum prints it, without the file name",
            );
        }
    }
    let ((kube, release, containerd, runc), os) = (version?, os?);
    let v = &Versions {
        kube,
        release,
        containerd: &containerd,
        runc: &runc,
    };
    let mut resolved = BTreeMap::new();
    for &artifact in Artifact::needed_on(os) {
        let path = format!("kubernetes.checksums.{}", artifact.as_str());
        let name = format!("{} {}", artifact.as_str(), artifact.version(v));
        let given = given.get(artifact);
        if given.is_some_and(|sha| !is_sha256(sha)) {
            continue; // reported above
        }
        match (given.map(str::to_ascii_lowercase), artifact.pinned_sha256(v)) {
            (Some(given), Some(pinned)) if given != pinned => c.push(
                path,
                format!("differs from k8sgen's pinned sha256 for {name} ({pinned})"),
                format!("remove it, or check it against {}", artifact.checksum_source(v)),
            ),
            (Some(sha), _) => {
                resolved.insert(artifact, sha);
            }
            (None, Some(pinned)) => {
                resolved.insert(artifact, pinned.to_string());
            }
            (None, None) => c.push(
                path,
                format!(
                    "k8sgen has no confirmed sha256 for {name}, which Kubernetes {kube} on {os} downloads"
                ),
                match artifact {
                    Artifact::Containerd | Artifact::Runc => format!(
                        "set it from {}, or leave nodes.runtime.{} out for {}",
                        artifact.checksum_source(v),
                        artifact.as_str(),
                        artifact.version(&Versions {
                            containerd: catalog::CONTAINERD_VERSION,
                            runc: catalog::RUNC_VERSION,
                            ..*v
                        }),
                    ),
                    _ => format!(
                        "set it from {}, or use Kubernetes {}",
                        artifact.checksum_source(v),
                        catalog::DEFAULT_KUBERNETES_VERSION
                    ),
                },
            ),
        }
    }
    Some(resolved)
}

/// `nodes.runtime`: dotted version numbers; containerd 2 or later (1.x is past its end of
/// life). Yields the versions to install, the catalog's where none is given.
fn check_runtime(c: &mut Collector, runtime: &Runtime) -> (String, String) {
    let dotted = |v: &str| {
        let parts: Vec<&str> = v.split('.').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    for (field, value) in [("containerd", &runtime.containerd), ("runc", &runtime.runc)] {
        if let Some(v) = value
            && !dotted(v)
        {
            c.push(
                format!("nodes.runtime.{field}"),
                format!("`{v}` is not a MAJOR.MINOR.PATCH version"),
                "write the release's number without the leading v, e.g. \"2.3.4\"",
            );
        }
    }
    if let Some(v) = &runtime.containerd
        && dotted(v)
        && v.split('.')
            .next()
            .is_some_and(|major| major.parse::<u32>().unwrap_or(0) < 2)
    {
        c.push(
            "nodes.runtime.containerd",
            format!("containerd {v} is past its end of life"),
            format!(
                "use containerd 2 or later, e.g. {}",
                catalog::CONTAINERD_VERSION
            ),
        );
    }
    (
        runtime
            .containerd
            .clone()
            .unwrap_or_else(|| catalog::CONTAINERD_VERSION.into()),
        runtime
            .runc
            .clone()
            .unwrap_or_else(|| catalog::RUNC_VERSION.into()),
    )
}

/// `nodes.downloadMirror`: an http(s) URL; yielded without a trailing `/`.
fn check_download_mirror(c: &mut Collector, nodes: &Nodes) -> Option<String> {
    let mirror = nodes.download_mirror.as_deref()?;
    if !(mirror.starts_with("http://") || mirror.starts_with("https://"))
        || mirror.contains(char::is_whitespace)
    {
        c.push(
            "nodes.downloadMirror",
            format!("`{mirror}` is not an http(s) URL"),
            "give the base URL under which the upstream hosts' paths are served, e.g. http://mirror.example/ (it then serves github.com/etcd-io/etcd/releases/download/...)",
        );
    }
    Some(mirror.trim_end_matches('/').to_string())
}

fn check_packages(c: &mut Collector, packages: &KubernetesPackages) {
    let mirror = &packages.mirror;
    if !(mirror.starts_with("http://") || mirror.starts_with("https://"))
        || mirror.contains(char::is_whitespace)
    {
        c.push(
            "kubernetes.packages.mirror",
            format!("`{mirror}` is not an http(s) URL"),
            "use the URL under which `core:/stable:/v1.XX/deb/` is served, e.g. https://pkgs.k8s.io",
        );
    }
    if let Some(key) = &packages.key
        && !key.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    {
        c.push(
            "kubernetes.packages.key",
            "not an ASCII-armored OpenPGP public key",
            "paste the repository's Release.key as it is served (it starts with -----BEGIN PGP PUBLIC KEY BLOCK-----)",
        );
    }
}

fn check_control_plane(c: &mut Collector, cp: &ControlPlane) {
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
}

fn check_workers(c: &mut Collector, spec: &ClusterSpec) {
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
    if workers == 0 && !spec.control_plane.schedulable {
        c.push(
            "workers",
            "no node can run ordinary pods: there are no workers and the masters are tainted",
            "add a worker pool or set `controlPlane.schedulable: true`",
        );
    }
}

/// Masters and every pool get consecutive addresses; all must be usable hosts of the cluster
/// CIDR and distinct. Yields the masters' first address and each pool's, when given.
fn check_addresses(
    c: &mut Collector,
    spec: &ClusterSpec,
    cluster: &Ipv4Net,
) -> Option<(Ipv4Addr, Vec<Option<Ipv4Addr>>)> {
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
        return None;
    };
    let first = c.address("controlPlane.firstAddress", first)?;
    let mut ranges = vec![("controlPlane.firstAddress".to_string(), first, cp.count)];
    let mut pools_first = Vec::new();
    let mut next = u32::from(first).saturating_add(cp.count);
    for (i, pool) in spec.workers.iter().enumerate() {
        let path = format!("workers[{i}].firstAddress");
        let given = match &pool.first_address {
            Some(text) => match c.address(&path, text) {
                Some(a) => Some(a),
                None => continue,
            },
            None => None,
        };
        pools_first.push(given);
        let start = given.map_or(next, u32::from);
        ranges.push((path, Ipv4Addr::from(start), pool.count));
        next = start.saturating_add(pool.count);
    }
    check_ranges(c, cluster, &ranges);
    Some((first, pools_first))
}

/// Each `(path, first address, count)` range fits in `cluster` and collides with no other.
fn check_ranges(c: &mut Collector, cluster: &Ipv4Net, ranges: &[(String, Ipv4Addr, u32)]) {
    let lo = u32::from(cluster.network()) + 1;
    let hi = u32::from(cluster.broadcast()).saturating_sub(1);
    for (path, start, count) in ranges {
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

fn check_nodes(c: &mut Collector, nodes: &Nodes) -> Option<Os> {
    let os = Os::parse(&nodes.os);
    if os.is_none() {
        c.push(
            "nodes.os",
            format!("`{}` is not a supported operating system", nodes.os),
            format!("use one of {}", Os::ALL.map(Os::as_str).join(", ")),
        );
    }
    c.non_empty("nodes.image", &nodes.image, "Glance image name");
    os
}

/// The cluster network's Neutron names and the node-local API load balancer's port.
fn check_cluster_network(c: &mut Collector, network: &Network) {
    c.non_empty(
        "network.cluster.network",
        &network.cluster.network,
        "Neutron network name",
    );
    c.non_empty(
        "network.cluster.subnet",
        &network.cluster.subnet,
        "Neutron subnet name",
    );
    let port = network.api_load_balancer_port;
    if port < 1024 || [2379, 2380, 6443, 10250, 10257, 10259].contains(&port) {
        c.push(
            "network.apiLoadBalancerPort",
            format!("port {port} is privileged or used by a Kubernetes component"),
            "use an unprivileged free port such as 7443",
        );
    }
}

fn check_admin(
    c: &mut Collector,
    spec: &ClusterSpec,
    admin: &AdminNetwork,
    nets: &Networks,
) -> Option<ParsedAdmin> {
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
    let net = c.cidr("network.admin.cidr", &admin.cidr)?;
    for (what, other) in [
        ("network.cluster.cidr", nets.cluster),
        ("kubernetes.podSubnet", nets.pods),
        ("kubernetes.serviceSubnet", nets.services),
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
    let first_address = match (admin.addressing, &admin.first_address) {
        (Addressing::Static, None) => {
            c.push(
                "network.admin.firstAddress",
                "static addressing needs the first node's admin address",
                format!("give an address inside {net}, or use `addressing: dhcp`"),
            );
            return None;
        }
        (Addressing::Dhcp, Some(_)) => {
            c.push(
                "network.admin.firstAddress",
                "an address is given but `addressing` is `dhcp`",
                "remove `firstAddress` or set `addressing: static`",
            );
            return None;
        }
        (Addressing::Static, Some(text)) => {
            let first = c.address("network.admin.firstAddress", text)?;
            check_admin_fit(c, spec, &net, first);
            Some(first)
        }
        (Addressing::Dhcp, None) => None,
    };
    Some(ParsedAdmin {
        network: admin.network.clone()?,
        cidr: net,
        first_address,
    })
}

/// Every node gets a host address of the admin CIDR from `first` on.
fn check_admin_fit(c: &mut Collector, spec: &ClusterSpec, net: &Ipv4Net, first: Ipv4Addr) {
    let total = spec.control_plane.count + spec.workers.iter().map(|p| p.count).sum::<u32>();
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

/// k8sgen never installs kube-proxy, so kube-router must serve Services.
fn check_cni(c: &mut Collector, cni: &Cni) {
    if !cni.kube_router.service_proxy {
        c.push(
            "cni.kubeRouter.serviceProxy",
            "k8sgen skips kube-proxy, so without kube-router's service proxy no Service works",
            "set `serviceProxy: true`",
        );
    }
}

/// The cloud entry, Keystone URL, credential references and OCCM's load-balancer settings.
fn check_openstack(c: &mut Collector, os: &OpenStack) {
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
            // Not echoed: a credential pasted here by mistake would be printed.
            c.push(
                format!("cloud.openstack.applicationCredential.{field}"),
                "not an environment variable name",
                "name the variable that holds it (e.g. OS_APPLICATION_CREDENTIAL_ID); never put the credential itself in the spec",
            );
        }
    }
    if let Some(lb) = &os.load_balancer {
        check_load_balancer(c, lb);
    }
    if let Some(ca) = &os.ca_file {
        c.non_empty(
            "cloud.openstack.caFile",
            ca,
            "path of the cloud CA's PEM file",
        );
    }
    let storage = &os.block_storage;
    for (field, value, hint) in [
        (
            "volumeType",
            &storage.volume_type,
            "name a Cinder volume type (`openstack volume type list`), or leave the field out for the cloud's default",
        ),
        (
            "availabilityZone",
            &storage.availability_zone,
            "name a Cinder availability zone (`openstack availability zone list --volume`), or leave the field out",
        ),
    ] {
        if let Some(v) = value
            && (v.trim().is_empty() || v.contains(['\n', '\r']))
        {
            c.push(
                format!("cloud.openstack.blockStorage.{field}"),
                "an empty or multi-line name",
                hint,
            );
        }
    }
}

fn check_load_balancer(c: &mut Collector, lb: &LoadBalancer) {
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

/// `up`'s server options: SSH sources, the API floating IP's network, the key pair.
fn check_servers(c: &mut Collector, spec: &ClusterSpec) {
    let servers = &spec.cloud.openstack.servers;
    for (i, cidr) in servers.ssh_from.iter().enumerate() {
        if cidr.parse::<Ipv4Net>().is_err() {
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
    if let Some(volume) = &servers.root_volume {
        check_root_volume(c, volume);
    }
}

/// The root volume: a size Cinder can make, a named type, and no zone, which Nova does not
/// take for a volume it makes (see `RootVolume::availability_zone`).
fn check_root_volume(c: &mut Collector, volume: &RootVolume) {
    const FIELD: &str = "cloud.openstack.servers.rootVolume";
    if volume.size == 0 {
        c.push(
            format!("{FIELD}.size"),
            "a root volume of 0 GiB",
            "give the size in GiB, at least the image's minimum disk (`openstack image show IMAGE -c min_disk`), e.g. `size: 20`",
        );
    }
    if volume.volume_type.as_deref() == Some("") {
        c.push(
            format!("{FIELD}.type"),
            "empty volume type",
            "remove the field for Cinder's default type, or name one from `openstack volume type list`",
        );
    }
    if volume.availability_zone.is_some() {
        // Nova's block_device_mapping_v2 has no zone at any microversion; the volume it makes
        // lands in the server's zone only when the cloud sets `[cinder] cross_az_attach =
        // False`, else in Cinder's default (nova/virt/block_device.py,
        // `_get_volume_create_az_value`).
        c.push(
            format!("{FIELD}.availabilityZone"),
            "Nova creates the root volume itself and takes no availability zone for it: it lands in Cinder's default zone, or in the server's zone on clouds that forbid attaching across zones",
            "remove the field",
        );
    }
}

/// The token lifetime and the optional step to stop after (`Some(None)`: run every step).
fn check_bootstrap(
    c: &mut Collector,
    bootstrap: &Bootstrap,
) -> (Option<TokenTtl>, Option<Option<BootStep>>) {
    let ttl = TokenTtl::parse(&bootstrap.token_ttl);
    if ttl.is_none() {
        c.push(
            "bootstrap.tokenTTL",
            format!("`{}` is not a duration", bootstrap.token_ttl),
            "write hours/minutes/seconds such as `24h` or `1h30m`, or `0` for no expiry",
        );
    }
    let stop_after = match &bootstrap.stop_after {
        None => Some(None),
        Some(text) => {
            let step = BootStep::parse(text);
            if step.is_none() {
                c.push(
                    "bootstrap.stopAfter",
                    format!("`{text}` is not a boot step"),
                    format!(
                        "use one of {}",
                        BootStep::ALL.map(BootStep::as_str).join(", ")
                    ),
                );
            }
            step.map(Some)
        }
    };
    (ttl, stop_after)
}
