//! What the cluster made in the cloud for itself, which `down` does not delete because `up`
//! did not make it: OCCM's load balancers (Services of type LoadBalancer, named
//! `kube_service_<cluster>_<namespace>_<service>` by cloud-provider-openstack's
//! `GetLoadBalancerName`), Cinder CSI's volumes (metadata `cinder.csi.openstack.org/cluster`
//! = its `--cluster`), and any volume attached to the cluster's servers that outlives them
//! (`delete_on_termination: false`, as every CSI attachment is). Listed so the operator can
//! decide: a persistent volume may hold the only copy of someone's data, and a load balancer
//! may carry a floating IP that DNS points at. Each read is skipped when the cloud's catalog
//! has no such service.

use crate::providers::openstack::api::{Api, ApiError, Service};
use crate::providers::openstack::neutron::q;
use crate::providers::openstack::nova::Server;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One thing left in the cloud, with the command that removes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub kind: &'static str,
    pub name: String,
    pub id: String,
    /// Why it is the cluster's.
    pub why: String,
    pub remove: String,
}

/// The metadata key Cinder CSI sets on every volume it creates (`cinderCSIClusterIDKey`).
pub const CSI_CLUSTER_KEY: &str = "cinder.csi.openstack.org/cluster";

/// The prefix of OCCM's load-balancer names for this cluster (its `--cluster-name` is the
/// cluster's name).
pub fn load_balancer_prefix(cluster: &str) -> String {
    format!("kube_service_{cluster}_")
}

#[derive(Debug, Deserialize)]
struct LoadBalancer {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    project_id: String,
    #[serde(default)]
    vip_address: String,
}

#[derive(Debug, Deserialize)]
struct Volume {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

/// Volumes attached to these servers that Nova will not delete with them, as Nova describes
/// them before the servers go.
pub fn attached(servers: &[&Server]) -> Vec<Leftover> {
    let mut left: Vec<Leftover> = servers
        .iter()
        .flat_map(|s| {
            s.volumes_attached
                .iter()
                .filter(|v| !v.delete_on_termination)
                .map(|v| Leftover {
                    kind: "volume",
                    name: v.id.clone(),
                    id: v.id.clone(),
                    why: format!("was attached to {}", s.name),
                    remove: format!("openstack volume delete {}", v.id),
                })
        })
        .collect();
    left.sort_by(|a, b| a.id.cmp(&b.id));
    left.dedup_by(|a, b| a.id == b.id);
    left
}

/// The items of a list answer that read as `T`; one odd item does not hide the others.
fn items<T: serde::de::DeserializeOwned>(mut value: serde_json::Value, key: &str) -> Vec<T> {
    match value[key].take() {
        serde_json::Value::Array(all) => all
            .into_iter()
            .filter_map(|item| serde_json::from_value(item).ok())
            .collect(),
        _ => Vec::new(),
    }
}

/// The project's load balancers named for this cluster.
fn load_balancers(value: serde_json::Value, cluster: &str, project: &str) -> Vec<Leftover> {
    let prefix = load_balancer_prefix(cluster);
    items::<LoadBalancer>(value, "loadbalancers")
        .into_iter()
        .filter_map(|lb| Some((lb.name.clone()?, lb)))
        .filter(|(name, _)| name.starts_with(&prefix))
        .filter(|(_, lb)| project.is_empty() || lb.project_id == project)
        .map(|(name, lb)| Leftover {
            kind: "load balancer",
            why: format!(
                "OCCM's, for a Service of type LoadBalancer (VIP {})",
                lb.vip_address
            ),
            remove: format!("openstack loadbalancer delete --cascade {}", lb.id),
            name,
            id: lb.id,
        })
        .collect()
}

/// The volumes Cinder CSI made for this cluster.
fn csi_volumes(value: serde_json::Value, cluster: &str) -> Vec<Leftover> {
    items::<Volume>(value, "volumes")
        .into_iter()
        .filter(|v| v.metadata.get(CSI_CLUSTER_KEY).map(String::as_str) == Some(cluster))
        .map(|v| Leftover {
            kind: "volume",
            name: v.name.clone().unwrap_or_else(|| v.id.clone()),
            why: format!("Cinder CSI's, {} GiB", v.size),
            remove: format!("openstack volume delete {}", v.id),
            id: v.id,
        })
        .collect()
}

/// Everything of the cluster's own making still in the cloud: the volumes `attached` found
/// before the servers went, and what Octavia and Cinder hold for it now. A service that
/// will not answer (a role this user lacks) is named in the second list, not an error:
/// `down` has done its own work by then.
pub fn find(api: &Api, cluster: &str, attached: Vec<Leftover>) -> (Vec<Leftover>, Vec<String>) {
    let mut left = attached;
    let mut unread = Vec::new();
    if api.endpoints.load_balancer.is_some() {
        let path = format!("/lbaas/loadbalancers?project_id={}", q(api.project_id()));
        match api.get(Service::LoadBalancer, &path) {
            Ok(answer) => left.extend(load_balancers(answer, cluster, api.project_id())),
            Err(e) => unread.push(format!("load balancers ({})", brief(&e))),
        }
    }
    if api.endpoints.block_storage.is_some() {
        let filter = serde_json::json!({ CSI_CLUSTER_KEY: cluster }).to_string();
        let path = format!("/volumes/detail?metadata={}", q(&filter));
        match api.get(Service::BlockStorage, &path) {
            Ok(answer) => {
                for v in csi_volumes(answer, cluster) {
                    if !left.iter().any(|l| l.id == v.id) {
                        left.push(v);
                    }
                }
            }
            Err(e) => unread.push(format!("volumes ({})", brief(&e))),
        }
    }
    (left, unread)
}

fn brief(e: &ApiError) -> String {
    match e.status() {
        Some(status) => format!("answered {status}"),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn occms_load_balancers_of_this_cluster_only() {
        let answer = json!({"loadbalancers": [
            {"id": "a", "name": "kube_service_demo_default_web", "project_id": "p", "vip_address": "10.0.0.50"},
            {"id": "b", "name": "kube_service_demo2_default_web", "project_id": "p"},
            {"id": "c", "name": "kube_service_demo_kube-system_dns", "project_id": "q"},
            {"id": "d", "name": "hand-made", "project_id": "p"},
            {"id": "e", "name": null, "project_id": "p"},
        ]});
        let left = load_balancers(answer, "demo", "p");
        let ids: Vec<&str> = left.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, ["a"]);
        assert_eq!(left[0].remove, "openstack loadbalancer delete --cascade a");
        assert!(left[0].why.contains("10.0.0.50"));
    }

    #[test]
    fn csi_volumes_by_their_cluster_key() {
        let answer = json!({"volumes": [
            {"id": "v1", "name": "pvc-1", "size": 10, "metadata": {CSI_CLUSTER_KEY: "demo"}},
            {"id": "v2", "name": "pvc-2", "size": 10, "metadata": {CSI_CLUSTER_KEY: "other"}},
            {"id": "v3", "name": null, "size": 1, "metadata": {}},
        ]});
        let left = csi_volumes(answer, "demo");
        assert_eq!(left.len(), 1);
        assert_eq!(
            (left[0].name.as_str(), left[0].remove.as_str()),
            ("pvc-1", "openstack volume delete v1")
        );
    }

    #[test]
    fn attached_volumes_that_outlive_their_server() {
        let server: Server = serde_json::from_value(json!({
            "id": "s", "name": "demo-w-0", "status": "ACTIVE",
            "os-extended-volumes:volumes_attached": [
                {"id": "root", "delete_on_termination": true},
                {"id": "pv", "delete_on_termination": false},
                {"id": "old"},
            ],
        }))
        .unwrap();
        let left = attached(&[&server, &server]);
        let ids: Vec<&str> = left.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, ["old", "pv"], "once each, root volume excluded");
        assert_eq!(left[1].why, "was attached to demo-w-0");
    }
}
