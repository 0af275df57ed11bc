//! The record `up` keeps beside the spec (`openstack-state.json`): what the cloud decided
//! (admin ports' MACs, the API floating IP) and the IDs of what `up` made. The facts are what
//! turn the spec's plan into the plan the servers were built from, so `render` next to a
//! record writes byte-for-byte the user-data the servers got. The cloud stays the source of
//! truth for what exists (found by tag); the record is for people and for `render`.

use crate::pki;
use crate::plan::{self, Plan, PlanError};
use crate::spec::ClusterSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "openstack-state.json";

/// What Neutron decided that the user-data must carry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Facts {
    /// Node name → MAC of its admin-network port (netplan matches the NIC by it).
    #[serde(default)]
    pub admin_macs: BTreeMap<String, String>,
    /// Floating IP in front of the API: added to the API certificate's names.
    #[serde(rename = "apiFloatingIP", default)]
    pub api_floating_ip: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRecord {
    pub server_id: Option<String>,
    /// NIC (`cluster`, `admin`) → port ID.
    pub ports: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub cluster: String,
    pub tag: String,
    pub facts: Facts,
    pub nodes: BTreeMap<String, NodeRecord>,
    pub security_groups: BTreeMap<String, String>,
    pub server_group: Option<String>,
    pub floating_ip: Option<String>,
}

/// `<dir of cluster.yaml>/openstack-state.json`.
pub fn path_for(spec_file: &Path) -> PathBuf {
    spec_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(FILE_NAME)
}

pub fn load(path: &Path) -> Result<Option<Record>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

pub fn save(path: &Path, record: &Record) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(record).expect("record serializes");
    text.push('\n');
    crate::fsio::write_atomic(path, text.as_bytes(), 0o600)
}

/// The plan the servers are built from: the spec's, with the floating IP among the API
/// server's names and each admin NIC matched by its port's MAC.
pub fn plan_with_facts(
    spec: &ClusterSpec,
    secrets: &pki::Bundle,
    env: &dyn Fn(&str) -> Option<String>,
    facts: &Facts,
) -> Result<Plan, PlanError> {
    let mut spec = spec.clone();
    if let Some(ip) = &facts.api_floating_ip {
        let sans = &mut spec.kubernetes.api_server.extra_sans;
        if !sans.contains(ip) {
            sans.push(ip.clone());
        }
    }
    let mut plan = plan::plan(&spec, secrets, env)?;
    if plan.admin_nic.is_some() {
        for node in &mut plan.nodes {
            if let Some(mac) = facts.admin_macs.get(&node.name) {
                node.admin_mac = Some(mac.clone());
            }
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> (ClusterSpec, pki::Bundle) {
        let spec = crate::spec::load(
            "openstack-ha",
            crate::profiles::find("openstack-ha").unwrap().text,
        )
        .unwrap();
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/secrets.yaml"
        ))
        .unwrap();
        (spec, pki::Bundle::from_yaml("fixture", &text).unwrap())
    }

    #[test]
    fn facts_reach_the_plan() {
        let (spec, bundle) = inputs();
        let facts = Facts {
            admin_macs: [("demo-cp-1".to_string(), "fa:16:3e:12:34:56".to_string())].into(),
            api_floating_ip: Some("203.0.113.9".into()),
        };
        let plan = plan_with_facts(&spec, &bundle, &|_| None, &facts).unwrap();
        assert_eq!(plan.extra_sans, ["203.0.113.9"]);
        assert_eq!(plan.admin_server, "https://203.0.113.9:6443");
        let cp1 = plan.nodes.iter().find(|n| n.name == "demo-cp-1").unwrap();
        assert_eq!(cp1.admin_mac.as_deref(), Some("fa:16:3e:12:34:56"));
        assert!(cp1.api_server_sans.iter().any(|s| s == "203.0.113.9"));
        // No facts: exactly the spec's plan.
        let bare = plan_with_facts(&spec, &bundle, &|_| None, &Facts::default()).unwrap();
        assert_eq!(bare, crate::plan::plan(&spec, &bundle, &|_| None).unwrap());
    }

    #[test]
    fn a_san_already_listed_is_not_added_twice() {
        let (mut spec, bundle) = inputs();
        spec.kubernetes.api_server.extra_sans =
            vec!["api.example.org".into(), "203.0.113.9".into()];
        let facts = Facts {
            api_floating_ip: Some("203.0.113.9".into()),
            ..Facts::default()
        };
        let plan = plan_with_facts(&spec, &bundle, &|_| None, &facts).unwrap();
        assert_eq!(plan.extra_sans, ["api.example.org", "203.0.113.9"]);
        assert_eq!(plan.admin_server, "https://api.example.org:6443");
    }

    #[test]
    fn record_round_trips_and_lives_beside_the_spec() {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("cluster.yaml");
        let path = path_for(&spec);
        assert_eq!(path, dir.path().join(FILE_NAME));
        assert_eq!(load(&path).unwrap(), None);
        let record = Record {
            cluster: "demo".into(),
            tag: "k8sgen-cluster=demo".into(),
            ..Record::default()
        };
        save(&path, &record).unwrap();
        assert_eq!(load(&path).unwrap(), Some(record));
        std::fs::write(&path, "{not json").unwrap();
        assert!(load(&path).unwrap_err().contains(FILE_NAME));
    }
}
