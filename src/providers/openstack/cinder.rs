//! Cinder (block storage v3), for the one thing `up` asks of it: the project's volume quotas
//! and their use, before Nova is asked for root volumes. Creates no volume: Nova makes the
//! root volumes from the server create (`nova::BlockDevice`) and deletes them with the
//! servers.

use super::api::{Api, ApiError, Service};
use super::neutron::QuotaUse;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Cinder's name for a quota's use (`in_use`, not Neutron's `used`).
#[derive(Debug, Clone, Copy, Deserialize)]
struct CinderUse {
    limit: i64,
    in_use: i64,
    #[serde(default)]
    reserved: i64,
}

/// `GET /os-quota-sets/{project}?usage=True`: every quota with its use, by name
/// (`volumes`, `gigabytes`, `per_volume_gigabytes`, and per volume type `volumes_<type>`,
/// `gigabytes_<type>`). Entries that are not a quota (the set's `id`) are left out.
pub fn quota_usage(api: &Api, project_id: &str) -> Result<BTreeMap<String, QuotaUse>, ApiError> {
    let path = format!("/os-quota-sets/{project_id}?usage=True");
    let mut v = api.get(Service::BlockStorage, &path)?;
    Ok(quota_set(v["quota_set"].take()))
}

fn quota_set(set: Value) -> BTreeMap<String, QuotaUse> {
    let Value::Object(set) = set else {
        return BTreeMap::new();
    };
    set.into_iter()
        .filter_map(|(name, v)| {
            let u: CinderUse = serde_json::from_value(v).ok()?;
            let used = QuotaUse {
                limit: u.limit,
                used: u.in_use,
                reserved: u.reserved,
            };
            Some((name, used))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Shaped like cinder/api/contrib/quotas.py's answer with usage (a Zed Cinder with one
    /// backend type `lvmdriver-1`).
    #[test]
    fn a_quota_set_is_read_by_name_without_its_id() {
        let set = quota_set(json!({
            "id": "7e2f",
            "volumes": {"limit": 10, "in_use": 2, "reserved": 1, "allocated": 0},
            "gigabytes": {"limit": 1000, "in_use": 40, "reserved": 0, "allocated": 0},
            "per_volume_gigabytes": {"limit": -1, "in_use": 0, "reserved": 0, "allocated": 0},
            "gigabytes_lvmdriver-1": {"limit": -1, "in_use": 40, "reserved": 0, "allocated": 0},
        }));
        assert_eq!(
            set.keys().collect::<Vec<_>>(),
            [
                "gigabytes",
                "gigabytes_lvmdriver-1",
                "per_volume_gigabytes",
                "volumes"
            ]
        );
        let v = set["volumes"];
        assert_eq!((v.limit, v.used, v.reserved), (10, 2, 1));
    }
}
