//! Pinned versions and artifacts k8sgen knows how to deploy.
//!
//! Leaf data module (imports nothing internal): `spec::validate` checks versions against it and
//! `plan` resolves every pinned image, package and checksum from it. Changing a pin here
//! changes rendered bytes, so the goldens show every bump.
//!
//! Sources: release binaries and their sha256 as pinned by kubernetes-sigs/kubespray
//! (`roles/kubespray_defaults/vars/main/checksums.yml`, 2026-08), OCCM tags from
//! kubernetes/cloud-provider-openstack releases, kube-router v2.11.1 (reference §6).

/// Everything pinned for one Kubernetes minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinorRelease {
    pub minor: u32,
    /// Newest patch release known to have packages; used by profiles.
    pub latest_patch: u32,
    pub etcd_version: &'static str,
    /// sha256 of `etcd-v<version>-linux-amd64.tar.gz` from the etcd GitHub release.
    pub etcd_sha256: &'static str,
    pub occm_image: &'static str,
}

/// Minors served, oldest first. kubeadm config v1beta4 exists from 1.31; older minors are
/// refused. 1.37 is not listed: its packages could not be confirmed when this table was made.
pub const RELEASES: &[MinorRelease] = &[
    MinorRelease {
        minor: 34,
        latest_patch: 11,
        etcd_version: "3.5.33",
        etcd_sha256: "5025b5b24d81a9616b6e284ccd439b9a3df055ef8fdcdc142af3ec8f6a3b3c95",
        occm_image: "registry.k8s.io/provider-os/openstack-cloud-controller-manager:v1.34.1",
    },
    MinorRelease {
        minor: 35,
        latest_patch: 8,
        etcd_version: "3.6.14",
        etcd_sha256: "ffe840ff9295808e88cce2794a18a5ac87f12a5203c8314d0bf6aa119b41bac5",
        occm_image: "registry.k8s.io/provider-os/openstack-cloud-controller-manager:v1.35.0",
    },
    MinorRelease {
        minor: 36,
        latest_patch: 4,
        etcd_version: "3.6.14",
        etcd_sha256: "ffe840ff9295808e88cce2794a18a5ac87f12a5203c8314d0bf6aa119b41bac5",
        occm_image: "registry.k8s.io/provider-os/openstack-cloud-controller-manager:v1.36.0",
    },
];

/// The Kubernetes version new clusters get.
pub const DEFAULT_KUBERNETES_VERSION: &str = "1.36.4";

pub const KUBEADM_API_VERSION: &str = "kubeadm.k8s.io/v1beta4";
pub const KUBE_ROUTER_IMAGE: &str = "docker.io/cloudnativelabs/kube-router:v2.11.1";

/// Operating systems whose user-data is `#cloud-config`.
pub const SUPPORTED_OS: &[&str] = &["ubuntu-24.04", "ubuntu-22.04", "debian-12"];

/// Boot steps every node may run, in their fixed order (see DESIGN.md, on-node contract).
/// `bootstrap.stopAfter` must name one of them.
pub const BOOT_STEPS: &[&str] = &[
    "host-prep",
    "admin-network",
    "packages",
    "runtime",
    "etcd",
    "control-plane",
    "cluster-addons",
    "join",
];

/// A parsed `MAJOR.MINOR.PATCH` Kubernetes version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KubeVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl KubeVersion {
    /// Accepts `1.36.4` or `v1.36.4`; nothing else (no labels like `stable`).
    pub fn parse(text: &str) -> Option<KubeVersion> {
        let text = text.strip_prefix('v').unwrap_or(text);
        let mut parts = text.split('.');
        let mut next = || -> Option<u32> {
            let p = parts.next()?;
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 4 {
                return None;
            }
            p.parse().ok()
        };
        let v = KubeVersion {
            major: next()?,
            minor: next()?,
            patch: next()?,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(v)
    }

    /// The Debian package version on pkgs.k8s.io, e.g. `1.36.4-1.1`.
    pub fn deb_version(&self) -> String {
        format!("{}-1.1", self)
    }

    pub fn release(&self) -> Option<&'static MinorRelease> {
        if self.major != 1 {
            return None;
        }
        RELEASES.iter().find(|r| r.minor == self.minor)
    }
}

impl std::fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// `1.34, 1.35, 1.36` for error hints.
pub fn supported_minors() -> String {
    RELEASES
        .iter()
        .map(|r| format!("1.{}", r.minor))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_prefixed_versions() {
        let v = KubeVersion::parse("v1.36.4").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (1, 36, 4));
        assert_eq!(v.deb_version(), "1.36.4-1.1");
        assert!(KubeVersion::parse("1.36").is_none());
        assert!(KubeVersion::parse("1.36.4.1").is_none());
        assert!(KubeVersion::parse("stable-1").is_none());
        assert!(KubeVersion::parse("1.36.x").is_none());
    }

    #[test]
    fn default_version_is_served() {
        let v = KubeVersion::parse(DEFAULT_KUBERNETES_VERSION).unwrap();
        assert_eq!(v.release().unwrap().latest_patch, v.patch);
    }
}
