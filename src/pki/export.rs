//! The bundle as kubeadm's `/etc/kubernetes/pki` layout (`secrets export-pki`).
//!
//! Returns files (relative path, text, mode) and leaves the writing to the caller. Leaves
//! keep their bundle names, which already follow kubeadm's layout under a node directory
//! (`demo-cp-0/etcd/peer.crt`) or at the top for shared ones (`apiserver-etcd-client.crt`).

use super::Secrets;

/// One file of the exported layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFile {
    pub path: String,
    pub contents: String,
    pub mode: u32,
}

pub fn export_kubeadm_layout(bundle: &Secrets) -> Vec<ExportFile> {
    let mut files = Vec::new();
    let mut pair = |base: &str, cert: &str, key: &str| {
        files.push(ExportFile {
            path: format!("{base}.crt"),
            contents: cert.to_string(),
            mode: 0o644,
        });
        files.push(ExportFile {
            path: format!("{base}.key"),
            contents: key.to_string(),
            mode: 0o600,
        });
    };
    pair(
        "ca",
        &bundle.cluster_ca.cert,
        bundle.cluster_ca.key.expose(),
    );
    pair(
        "front-proxy-ca",
        &bundle.front_proxy_ca.cert,
        bundle.front_proxy_ca.key.expose(),
    );
    pair("etcd/ca", &bundle.etcd_ca.cert, bundle.etcd_ca.key.expose());
    for (name, leaf) in &bundle.leaves {
        pair(name, &leaf.cert, leaf.key.expose());
    }
    files.push(ExportFile {
        path: "sa.key".into(),
        contents: bundle.service_account.private_key.expose().to_string(),
        mode: 0o600,
    });
    files.push(ExportFile {
        path: "sa.pub".into(),
        contents: bundle.service_account.public_key.clone(),
        mode: 0o644,
    });
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}
