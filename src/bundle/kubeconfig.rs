//! The operator's admin kubeconfig (`render` writes it next to the user-data, 0600): a client
//! certificate issued locally from the cluster CA, in group `kubeadm:cluster-admins`.

use super::{BundleError, kubeadm::to_yaml};
use crate::pki::Secrets;
use crate::plan::{self, Plan};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

pub fn admin_kubeconfig(plan: &Plan, secrets: &Secrets) -> Result<String, BundleError> {
    let admin = secrets
        .leaves
        .get(plan::ADMIN_LEAF)
        .ok_or_else(|| BundleError::MissingLeaf(plan::ADMIN_LEAF.into()))?;
    let cluster = &plan.cluster_name;
    let user = format!("{cluster}-admin");
    Ok(to_yaml(&json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {
            "server": plan.admin_server,
            "certificate-authority-data": STANDARD.encode(&secrets.cluster_ca.cert),
        }}],
        "users": [{"name": user, "user": {
            "client-certificate-data": STANDARD.encode(&admin.cert),
            "client-key-data": STANDARD.encode(admin.key.expose()),
        }}],
        "contexts": [{"name": format!("{user}@{cluster}"), "context": {"cluster": cluster, "user": user}}],
        "current-context": format!("{user}@{cluster}"),
    })))
}
