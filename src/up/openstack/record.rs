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
