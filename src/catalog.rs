//! Pinned versions and artifacts k8sgen knows how to deploy, the operating systems it renders
//! for and the names of the boot steps, each as a type so no stage compares strings.
//!
//! Leaf data module (imports nothing internal, decides nothing about a cluster): `spec::validate`
//! parses versions, OS names and step names into these types and `plan` resolves every pinned
//! image, package and checksum from them. Changing a pin here
//! changes rendered bytes, so the goldens show every bump.
//!
//! Sources: release binaries and their sha256 as pinned by kubernetes-sigs/kubespray
//! (`roles/kubespray_defaults/vars/main/checksums.yml`, 2026-08), kubeadm's etcd and pause
//! pins per minor, OCCM tags from kubernetes/cloud-provider-openstack releases, kube-router
//! v2.11.1 (reference §6). README's version matrix shows the same table.

/// Everything pinned for one Kubernetes minor. A `None` checksum is one no primary source
/// confirmed when the table was made: the spec supplies it (`kubernetes.checksums`) or
/// `plan` refuses the version, naming where the upstream checksum is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinorRelease {
    pub minor: u32,
    /// Newest patch release known to have packages; used by profiles.
    pub latest_patch: u32,
    /// etcd's minor line is kubeadm's for this Kubernetes minor (`SupportedEtcdVersion`,
    /// as `kubeadm config images list` prints it); the patch is the newest of that line
    /// with a confirmed checksum.
    pub etcd_version: &'static str,
    /// sha256 of `etcd-v<version>-linux-amd64.tar.gz` from the etcd GitHub release.
    pub etcd_sha256: Option<&'static str>,
    /// kubeadm's pause image for the minor (`kubeadm config images list`): containerd's
    /// sandbox image must be the same, or kubelet and containerd disagree on it.
    pub pause_image: &'static str,
    /// kubeadm's CoreDNS image for the minor (`kubeadm config images list`): the
    /// cluster-addons step installs it, so a mirror must hold it.
    pub coredns_image: &'static str,
    pub occm_image: &'static str,
    /// The Cinder CSI driver of the same cloud-provider-openstack release as `occm_image`.
    pub cinder_csi_image: &'static str,
    /// sha256 of the `kubeadm`, `kubelet`, `kubectl` release binaries (linux/amd64) of
    /// `latest_patch`, for Flatcar, where nothing comes from a package manager.
    pub kubeadm_sha256: Option<&'static str>,
    pub kubelet_sha256: Option<&'static str>,
    pub kubectl_sha256: Option<&'static str>,
    /// cri-tools release matching the minor, and the sha256 of its linux-amd64 tarball.
    pub crictl_version: &'static str,
    pub crictl_sha256: Option<&'static str>,
}

/// Minors served, oldest first: the three Kubernetes maintains (1.34 reached end of life
/// with 1.37's release). kubeadm config v1beta4 is read by all three (1.37 removed v1beta3).
///
/// Pins and sources: binaries' sha256 from kubespray `checksums.yml` @46dbdd39 (2026-08-21);
/// etcd lines, pause and CoreDNS images from kubeadm's constants as minikube's generated table
/// (`constants_kubeadm_images.go` @eb25dbc7) records them: 1.35 etcd 3.6.6-0 / pause 3.10.1 /
/// CoreDNS v1.13.1, 1.36 etcd 3.6.8-0 / pause 3.10.2 / v1.14.2, 1.37 etcd 3.7.0-0 / pause
/// 3.10.2 / v1.14.6 (kubernetes PR #140333; `kubeadm config images list` outputs agree).
/// 1.37's etcd 3.7.0 tarball and release binaries have no checksum in any merged source
/// seen (kubespray stops at 1.36.4), so 1.37 needs `kubernetes.checksums`.
pub const RELEASES: &[MinorRelease] = &[
    MinorRelease {
        minor: 35,
        latest_patch: 8,
        etcd_version: "3.6.14",
        etcd_sha256: Some("ffe840ff9295808e88cce2794a18a5ac87f12a5203c8314d0bf6aa119b41bac5"),
        pause_image: "registry.k8s.io/pause:3.10.1",
        coredns_image: "registry.k8s.io/coredns/coredns:v1.13.1",
        occm_image: "registry.k8s.io/provider-os/openstack-cloud-controller-manager:v1.35.0",
        cinder_csi_image: "registry.k8s.io/provider-os/cinder-csi-plugin:v1.35.0",
        kubeadm_sha256: Some("1bbc64a2be5b300880ae9330c6bba592ec2a2b8ecb79c527b0c7cc0f44070e5e"),
        kubelet_sha256: Some("6971b9f95e54dbed67a2271abe6e78f8cc2894494649f3cf39e4b25a82dca923"),
        kubectl_sha256: Some("874d5e72dbb819f43cff16bcd1e4f8bac5b7f2361fe1e55049b0a6c676fb0cbf"),
        crictl_version: "1.35.0",
        crictl_sha256: Some("2e141e5b22cb189c40365a11807d69b76b9b3caced89fac2f4ec879408ce2177"),
    },
    MinorRelease {
        minor: 36,
        latest_patch: 4,
        etcd_version: "3.6.14",
        etcd_sha256: Some("ffe840ff9295808e88cce2794a18a5ac87f12a5203c8314d0bf6aa119b41bac5"),
        pause_image: "registry.k8s.io/pause:3.10.2",
        coredns_image: "registry.k8s.io/coredns/coredns:v1.14.2",
        occm_image: "registry.k8s.io/provider-os/openstack-cloud-controller-manager:v1.36.0",
        cinder_csi_image: "registry.k8s.io/provider-os/cinder-csi-plugin:v1.36.0",
        kubeadm_sha256: Some("10d054585907f2c8bb823c84f6a66b3bd2a474c3d795475f04e9a44f78650fe6"),
        kubelet_sha256: Some("cf2562db46c48ab84cc3791540778ee7fb1a0a008529adbb434723dd02ed8b4b"),
        kubectl_sha256: Some("8b8f088da2dab964f853b38464033b1be15ede2839eca751482357c45abdd05a"),
        crictl_version: "1.36.0",
        crictl_sha256: Some("83855e114566a8a8c44c548d515670f51de3a5e1da8b2effb59870e2f10c25a3"),
    },
    MinorRelease {
        minor: 37,
        latest_patch: 1,
        etcd_version: "3.7.0",
        etcd_sha256: None,
        pause_image: "registry.k8s.io/pause:3.10.2",
        coredns_image: "registry.k8s.io/coredns/coredns:v1.14.6",
        // cloud-provider-openstack has no v1.37 release; v1.36.0 is its newest (2026-05-13).
        occm_image: "registry.k8s.io/provider-os/openstack-cloud-controller-manager:v1.36.0",
        cinder_csi_image: "registry.k8s.io/provider-os/cinder-csi-plugin:v1.36.0",
        kubeadm_sha256: None,
        kubelet_sha256: None,
        kubectl_sha256: None,
        crictl_version: "1.37.0",
        crictl_sha256: None,
    },
];

/// A release artifact k8sgen downloads and checks by sha256 (etcd on every master; the
/// Kubernetes binaries and crictl on Flatcar, where no package manager verifies them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Artifact {
    Etcd,
    Kubeadm,
    Kubelet,
    Kubectl,
    Crictl,
    Containerd,
    Runc,
}

/// The versions a cluster's downloads are at: Kubernetes with its minor's pins, and the
/// container runtime (the spec's `nodes.runtime`, else `CONTAINERD_VERSION`/`RUNC_VERSION`).
#[derive(Debug, Clone, Copy)]
pub struct Versions<'a> {
    pub kube: KubeVersion,
    pub release: &'static MinorRelease,
    pub containerd: &'a str,
    pub runc: &'a str,
}

impl Artifact {
    pub const ALL: [Artifact; 7] = [
        Artifact::Etcd,
        Artifact::Kubeadm,
        Artifact::Kubelet,
        Artifact::Kubectl,
        Artifact::Crictl,
        Artifact::Containerd,
        Artifact::Runc,
    ];

    /// The key under `kubernetes.checksums`.
    pub fn as_str(self) -> &'static str {
        match self {
            Artifact::Etcd => "etcd",
            Artifact::Kubeadm => "kubeadm",
            Artifact::Kubelet => "kubelet",
            Artifact::Kubectl => "kubectl",
            Artifact::Crictl => "crictl",
            Artifact::Containerd => "containerd",
            Artifact::Runc => "runc",
        }
    }

    /// The artifacts an OS's nodes may download: Flatcar ships its own containerd and has no
    /// package manager for Kubernetes; Ubuntu and Debian get Kubernetes from packages and
    /// containerd 2 from its release when the image's is older.
    pub fn needed_on(os: Os) -> &'static [Artifact] {
        if os == Os::Flatcar {
            &Artifact::ALL[..5]
        } else {
            &[Artifact::Etcd, Artifact::Containerd, Artifact::Runc]
        }
    }

    /// The version of the artifact in `v`.
    pub fn version(self, v: &Versions) -> String {
        match self {
            Artifact::Etcd => v.release.etcd_version.to_string(),
            Artifact::Crictl => v.release.crictl_version.to_string(),
            Artifact::Containerd => v.containerd.to_string(),
            Artifact::Runc => v.runc.to_string(),
            _ => v.kube.to_string(),
        }
    }

    /// Where the artifact is downloaded from upstream (linux/amd64).
    pub fn url(self, v: &Versions) -> String {
        let version = self.version(v);
        match self {
            Artifact::Containerd => format!(
                "https://github.com/containerd/containerd/releases/download/v{version}/containerd-{version}-linux-amd64.tar.gz"
            ),
            Artifact::Runc => format!(
                "https://github.com/opencontainers/runc/releases/download/v{version}/runc.amd64"
            ),
            Artifact::Etcd => format!(
                "https://github.com/etcd-io/etcd/releases/download/v{version}/etcd-v{version}-linux-amd64.tar.gz"
            ),
            Artifact::Crictl => format!(
                "https://github.com/kubernetes-sigs/cri-tools/releases/download/v{version}/crictl-v{version}-linux-amd64.tar.gz"
            ),
            _ => format!(
                "https://dl.k8s.io/release/v{version}/bin/linux/amd64/{}",
                self.as_str()
            ),
        }
    }

    /// Where upstream publishes the artifact's sha256, for the hint when k8sgen has none.
    pub fn checksum_source(self, v: &Versions) -> String {
        match self {
            Artifact::Etcd => format!(
                "https://github.com/etcd-io/etcd/releases/download/v{}/SHA256SUMS",
                self.version(v)
            ),
            Artifact::Containerd => format!("{}.sha256sum", self.url(v)),
            Artifact::Runc => format!(
                "https://github.com/opencontainers/runc/releases/download/v{}/runc.sha256sum",
                self.version(v)
            ),
            _ => format!("{}.sha256", self.url(v)),
        }
    }

    /// k8sgen's pinned sha256 for the artifact in `v`, if confirmed. The Kubernetes
    /// binaries' pins are for `latest_patch` only, the runtime's for the catalog's versions.
    pub fn pinned_sha256(self, v: &Versions) -> Option<&'static str> {
        let r = v.release;
        let binary = |sha| {
            if v.kube.patch == r.latest_patch {
                sha
            } else {
                None
            }
        };
        match self {
            Artifact::Etcd => r.etcd_sha256,
            Artifact::Crictl => r.crictl_sha256,
            Artifact::Kubeadm => binary(r.kubeadm_sha256),
            Artifact::Kubelet => binary(r.kubelet_sha256),
            Artifact::Kubectl => binary(r.kubectl_sha256),
            Artifact::Containerd => {
                (v.containerd == CONTAINERD_VERSION).then_some(CONTAINERD_SHA256)
            }
            Artifact::Runc => (v.runc == RUNC_VERSION).then_some(RUNC_SHA256),
        }
    }
}

/// The Kubernetes version new clusters get: the newest patch whose every pin is confirmed.
/// 1.37.1 waits for a confirmed etcd 3.7.0 checksum (see `RELEASES`).
pub const DEFAULT_KUBERNETES_VERSION: &str = "1.36.4";

pub const KUBEADM_API_VERSION: &str = "kubeadm.k8s.io/v1beta4";
pub const KUBE_ROUTER_IMAGE: &str = "docker.io/cloudnativelabs/kube-router:v2.11.1";

/// containerd installed on Ubuntu and Debian nodes whose image has none of major version 2 or
/// later (Debian 12 ships 1.6.20, Ubuntu 24.04 1.7: both past their end of life, and kubelet
/// 1.36 serves them only through a fallback scheduled for removal), with runc; sha256 of the
/// linux-amd64 release files as kubespray pins them (`checksums.yml` @46dbdd39).
pub const CONTAINERD_VERSION: &str = "2.3.4";
pub const CONTAINERD_SHA256: &str =
    "9d68969855fbf676cdb8ed758e420fb048d61f984f61de3e53eddfebe484d168";
pub const RUNC_VERSION: &str = "1.4.3";
pub const RUNC_SHA256: &str = "f6ae8efc0fa40079e1475e97cbe9d1bd3f106a28d6af78a11d9f1bd565515e60";

/// CNI reference plugins (bridge, host-local, portmap) for Flatcar; Ubuntu/Debian get them
/// from the `kubernetes-cni` package that kubelet depends on.
pub const CNI_PLUGINS_VERSION: &str = "1.9.1";
pub const CNI_PLUGINS_SHA256: &str =
    "b98f74a0f8522f0a83867178729c1aa70f2158f90c45a2ca8fa791db1c76b303";

/// The Cinder CSI sidecars, as cloud-provider-openstack v1.36.0 pins them
/// (`manifests/cinder-csi-plugin/`). The snapshotter is left out: it needs the VolumeSnapshot
/// CRDs and snapshot controller, which k8sgen does not install.
pub const CSI_ATTACHER_IMAGE: &str = "registry.k8s.io/sig-storage/csi-attacher:v4.10.0";
pub const CSI_PROVISIONER_IMAGE: &str = "registry.k8s.io/sig-storage/csi-provisioner:v5.3.0";
pub const CSI_RESIZER_IMAGE: &str = "registry.k8s.io/sig-storage/csi-resizer:v1.14.0";
pub const CSI_LIVENESS_PROBE_IMAGE: &str = "registry.k8s.io/sig-storage/livenessprobe:v2.17.0";
pub const CSI_NODE_REGISTRAR_IMAGE: &str =
    "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.15.0";

/// Flatcar has no haproxy package: the node-local API load balancer runs this image through
/// the containerd that Flatcar ships. Pinned by the digest of its multi-arch index, as
/// docker-library/repo-info records it (`repos/haproxy/remote/3.3.15-alpine.md` @a7a7cd9d:
/// OCI index, 8 platforms, all HAPROXY_VERSION=3.3.15), so a node pulls exactly this image
/// and never needs the registry again once it has it.
pub const HAPROXY_IMAGE: &str = "docker.io/library/haproxy:3.3.15-alpine@sha256:92cb3a3f8bcbd229ae7dff8dae897774d6448b38892b955992dc31d2ffa3e996";

/// Flatcar's reboot coordinator (flatcar-linux-update-operator): v0.9.0 is its newest final
/// release (tag 98905b32; v0.10.0 exists only as release candidates), and its
/// `examples/deploy/` manifests at that tag name this image.
pub const FLUO_IMAGE: &str = "ghcr.io/flatcar/flatcar-linux-update-operator:v0.9.0";

/// An operating system k8sgen renders for (`nodes.os`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Ubuntu2404,
    Ubuntu2204,
    Debian12,
    Flatcar,
}

impl Os {
    /// Every supported OS, in the order error hints list them.
    pub const ALL: [Os; 4] = [Os::Ubuntu2404, Os::Ubuntu2204, Os::Debian12, Os::Flatcar];

    /// The name as written in `nodes.os`.
    pub fn as_str(self) -> &'static str {
        match self {
            Os::Ubuntu2404 => "ubuntu-24.04",
            Os::Ubuntu2204 => "ubuntu-22.04",
            Os::Debian12 => "debian-12",
            Os::Flatcar => "flatcar",
        }
    }

    pub fn parse(text: &str) -> Option<Os> {
        Os::ALL.into_iter().find(|os| os.as_str() == text)
    }

    /// Whether the OS reads Ignition (else `#cloud-config`).
    pub fn reads_ignition(self) -> bool {
        self == Os::Flatcar
    }

    /// The user-data format the OS's first-boot agent reads.
    pub fn user_data_format(self) -> UserDataFormat {
        if self.reads_ignition() {
            UserDataFormat::Ignition
        } else {
            UserDataFormat::CloudConfig
        }
    }
}

/// The user-data format a node's OS reads: the plan records it, `render` encodes it. The one
/// type for it (the CLI's `--output` is a different thing: how k8sgen itself reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserDataFormat {
    /// `#cloud-config` YAML (Ubuntu, Debian).
    CloudConfig,
    /// Ignition v3 JSON, spec 3.3.0 (Flatcar).
    Ignition,
}

impl UserDataFormat {
    /// File name extension `render` uses.
    pub fn extension(self) -> &'static str {
        match self {
            UserDataFormat::CloudConfig => "user-data",
            UserDataFormat::Ignition => "ign",
        }
    }
}

/// A boot step of the on-node contract (DESIGN.md). `ALL` is the fixed order every role's
/// steps follow; `bootstrap.stopAfter` names one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BootStep {
    HostPrep,
    AdminNetwork,
    Packages,
    Runtime,
    Etcd,
    Kubernetes,
    ControlPlane,
    ClusterAddons,
    Join,
}

impl BootStep {
    pub const ALL: [BootStep; 9] = [
        BootStep::HostPrep,
        BootStep::AdminNetwork,
        BootStep::Packages,
        BootStep::Runtime,
        BootStep::Etcd,
        BootStep::Kubernetes,
        BootStep::ControlPlane,
        BootStep::ClusterAddons,
        BootStep::Join,
    ];

    /// The name in console progress lines, templates (`steps/<name>.sh`) and the spec.
    pub fn as_str(self) -> &'static str {
        match self {
            BootStep::HostPrep => "host-prep",
            BootStep::AdminNetwork => "admin-network",
            BootStep::Packages => "packages",
            BootStep::Runtime => "runtime",
            BootStep::Etcd => "etcd",
            BootStep::Kubernetes => "kubernetes",
            BootStep::ControlPlane => "control-plane",
            BootStep::ClusterAddons => "cluster-addons",
            BootStep::Join => "join",
        }
    }

    pub fn parse(text: &str) -> Option<BootStep> {
        BootStep::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Display and Serialize as the name, so plans and templates see the text operators write.
macro_rules! named {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    )*};
}
named!(Os, BootStep);

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

    /// The Debian package version as an apt pattern, e.g. `1.36.4-*`: pkgs.k8s.io has
    /// published more than one revision of a version (`1.36.2-1.1`, then `1.36.2-2.1`,
    /// kubernetes/release#4156), and apt's trailing `*` takes the highest one.
    pub fn deb_version(&self) -> String {
        format!("{}-*", self)
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

impl serde::Serialize for KubeVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `1.35, 1.36, 1.37` for error hints.
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
        assert_eq!(v.deb_version(), "1.36.4-*");
        assert!(KubeVersion::parse("1.36").is_none());
        assert!(KubeVersion::parse("1.36.4.1").is_none());
        assert!(KubeVersion::parse("stable-1").is_none());
        assert!(KubeVersion::parse("1.36.x").is_none());
    }

    #[test]
    fn names_parse_back() {
        for os in Os::ALL {
            assert_eq!(Os::parse(os.as_str()), Some(os));
        }
        for step in BootStep::ALL {
            assert_eq!(BootStep::parse(&step.to_string()), Some(step));
        }
        assert_eq!(Os::parse("centos-9"), None);
        assert_eq!(BootStep::parse("done"), None);
        assert!(BootStep::ALL.is_sorted(), "ALL is the boot order");
    }

    #[test]
    fn default_version_is_served() {
        let v = KubeVersion::parse(DEFAULT_KUBERNETES_VERSION).unwrap();
        assert_eq!(v.release().unwrap().latest_patch, v.patch);
    }
}
