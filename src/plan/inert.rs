//! Spec settings that the plan accepts but that change nothing for this cluster. `plan`,
//! `render` and `up` print one warning each, so an operator who set one learns it did
//! nothing instead of finding out on a running cluster.

use crate::catalog::{Artifact, Os};
use crate::spec::ClusterSpec;

/// One warning per setting that has no effect on `os`'s nodes with the rest of `spec`.
pub(super) fn warnings(spec: &ClusterSpec, os: Os) -> Vec<String> {
    let mut said = Vec::new();
    let storage = &spec.cloud.openstack.block_storage;
    if !storage.csi {
        for (field, set) in [
            ("volumeType", storage.volume_type.is_some()),
            ("availabilityZone", storage.availability_zone.is_some()),
        ] {
            if set {
                said.push(format!(
                    "cloud.openstack.blockStorage.{field} does nothing with csi: false \
                     (no Cinder CSI driver or StorageClass is installed): remove it, or set csi: true"
                ));
            }
        }
    }
    let runtime = &spec.nodes.runtime;
    if os == Os::Flatcar {
        for (field, set) in [
            ("containerd", runtime.containerd.is_some()),
            ("runc", runtime.runc.is_some()),
        ] {
            if set {
                said.push(format!(
                    "nodes.runtime.{field} does nothing on Flatcar, whose nodes run the \
                     containerd and runc the image ships: remove it"
                ));
            }
        }
    }
    if os == Os::Flatcar && spec.egress.distribution_mirror.is_some() {
        said.push(
            "egress.distributionMirror does nothing on Flatcar, which installs no packages: remove it"
                .to_string(),
        );
    }
    for artifact in Artifact::ALL {
        if spec.kubernetes.checksums.get(artifact).is_some()
            && !Artifact::needed_on(os).contains(&artifact)
        {
            said.push(format!(
                "kubernetes.checksums.{} does nothing on {}, whose nodes download no {} \
                 release file: remove it",
                artifact.as_str(),
                os.as_str(),
                artifact.as_str()
            ));
        }
    }
    said
}
