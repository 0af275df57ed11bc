//! The state file `up` keeps beside the spec (`openstack-state.json`): what the cloud decided
//! (`plan::facts::Facts`: admin ports' MACs, the API floating IP) and the IDs of what `up`
//! made. With the facts, `render` beside a state file writes byte-for-byte the user-data the
//! servers got, without calling a provider. The cloud stays the source of truth for what
//! exists (found by tag); the state file is for people and for `render`. Reads and writes
//! this one file; never plans, never talks to a cloud.

use crate::plan::facts::Facts;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "openstack-state.json";

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
    crate::fsio::dir_of(spec_file).join(FILE_NAME)
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

#[cfg(test)]
mod tests {
    use super::*;

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
