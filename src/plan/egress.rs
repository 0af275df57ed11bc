//! `egress` resolved for the nodes: the proxy with the `no_proxy` list derived from the
//! plan (everything that must stay inside the cluster or the cloud never goes through the
//! proxy), the CAs to trust, and each mirrored registry's upstream endpoint.

use super::types::{AptMirror, EgressPlan, ProxyPlan, RegistryPlan};
use crate::pki::Secret;
use crate::spec::{ClusterSpec, Parsed, RegistryCredentials};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// `egress` for the nodes. Registry credentials are read from the environment now; a missing
/// variable becomes a warning (and an undeployable plan, like the OpenStack credential).
pub(super) fn plan(
    spec: &ClusterSpec,
    parsed: &Parsed,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> EgressPlan {
    let egress = &spec.egress;
    let mut authorization = |name: &str, cred: &RegistryCredentials| {
        let mut read = |var: &str| {
            let value = env(var).filter(|v| !v.is_empty());
            if value.is_none() {
                warnings.push(format!(
                    "environment variable {var} is not set: containerd gets no login for the \
                     {name} mirror, and `up` will refuse this plan"
                ));
            }
            value
        };
        let (user, password) = (read(&cred.username_from), read(&cred.password_from));
        Some(Secret::new(
            STANDARD.encode(format!("{}:{}", user?, password?)),
        ))
    };
    EgressPlan {
        // One URL serves both schemes when only one is given: Go (containerd) and curl never
        // take `http_proxy` for an https URL or the reverse, and every registry and release
        // download is https.
        proxy: egress.proxy.as_ref().map(|p| ProxyPlan {
            http: p.http.clone().or_else(|| p.https.clone()),
            https: p.https.clone().or_else(|| p.http.clone()),
            no_proxy: no_proxy(spec, parsed, &p.no_proxy),
        }),
        trusted_cas: egress.trusted_cas.iter().map(|b| b.pem.clone()).collect(),
        trusted_ca_files: egress.trusted_ca_files.clone(),
        // Flatcar has no package manager: `inert` warns about the field there.
        distribution_mirror: egress
            .distribution_mirror
            .as_ref()
            .filter(|_| parsed.os != crate::catalog::Os::Flatcar)
            .map(|m| AptMirror {
                primary: m.primary.clone(),
                security: m.security.clone(),
            }),
        registries: egress
            .registries
            .iter()
            .map(|(name, r)| RegistryPlan {
                name: name.clone(),
                mirror: r.mirror.trim_end_matches('/').to_string(),
                upstream: upstream(name),
                fallback: r.fallback,
                credentials_from: r.credentials.as_ref().map(|c| {
                    format!(
                        "username from {}, password from {}",
                        c.username_from, c.password_from
                    )
                }),
                authorization: r.credentials.as_ref().and_then(|c| authorization(name, c)),
            })
            .collect(),
    }
}

/// What bypasses the proxy: this host, the cluster network (node addresses, the masters and
/// etcd), pods and services by address and by name (`.svc`, the cluster domain), the cloud's
/// metadata service, the admin network, the API server's other names, every mirror whose
/// address lies in one of those networks, then the operator's additions. Other mirrors are
/// not added: one outside the cloud (a company's artifact store) may be reachable only
/// through the proxy, and one inside it is a `noProxy` line away, whereas a host added here
/// could never be sent through the proxy again. A mirror inside a listed network is reached
/// directly by Go anyway (CIDR match); its address makes apt and curl agree. Tools read the list differently: Go (containerd, kubeadm) takes
/// CIDRs and `.suffix`es; apt and curl before 7.86 (Ubuntu 22.04 has 7.81) compare host names
/// and suffixes only, so an in-cloud host they must reach directly needs its name here.
fn no_proxy(spec: &ClusterSpec, parsed: &Parsed, extra: &[String]) -> Vec<String> {
    let mut list: Vec<String> = vec![
        "localhost".into(),
        "127.0.0.1".into(),
        parsed.cluster_cidr.to_string(),
        parsed.pod_subnet.to_string(),
        parsed.service_subnet.to_string(),
        ".svc".into(),
        format!(".{}", spec.kubernetes.dns_domain),
        "169.254.169.254".into(),
    ];
    list.extend(spec.kubernetes.api_server.extra_sans.iter().cloned());
    let mut networks = vec![
        parsed.cluster_cidr,
        parsed.pod_subnet,
        parsed.service_subnet,
    ];
    if let Some(admin) = &parsed.admin {
        list.push(admin.cidr.to_string());
        networks.push(admin.cidr);
    }
    list.extend(
        mirror_addresses(spec)
            .filter(|a| networks.iter().any(|n| n.contains(a)))
            .map(|a| a.to_string()),
    );
    list.extend(extra.iter().cloned());
    let mut seen = std::collections::BTreeSet::new();
    list.retain(|e| seen.insert(e.clone()));
    list
}

/// The endpoint a registry name stands for: Docker Hub's images are named `docker.io` and
/// served by `registry-1.docker.io` (containerd's own default, `remotes/docker/config`).
fn upstream(name: &str) -> String {
    if name == "docker.io" {
        "https://registry-1.docker.io".into()
    } else {
        format!("https://{name}")
    }
}

/// The mirrors the spec names that are given by IPv4 address: registries, the archives, the
/// Kubernetes packages and the release downloads.
fn mirror_addresses(spec: &ClusterSpec) -> impl Iterator<Item = std::net::Ipv4Addr> + '_ {
    let egress = &spec.egress;
    let archives = egress
        .distribution_mirror
        .iter()
        .flat_map(|m| [m.primary.as_str(), m.security.as_str()]);
    egress
        .registries
        .values()
        .map(|r| r.mirror.as_str())
        .chain(archives)
        .chain(std::iter::once(spec.kubernetes.packages.mirror.as_str()))
        .chain(spec.nodes.download_mirror.as_deref())
        .filter_map(|u| url::Url::parse(u).ok())
        .filter_map(|u| match u.host() {
            Some(url::Host::Ipv4(a)) => Some(a),
            _ => None,
        })
}
