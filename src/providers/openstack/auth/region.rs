//! What a client configuration says of the region (`OS_REGION_NAME`, an entry's
//! `region_name` or `regions`) and of the endpoint interface, and whether that agrees with the
//! spec's region, which `up` works in and OCCM on the nodes uses.

use super::{AuthError, Cloud, text};
use serde_json::Value;

/// What the client configuration says of the region. `up` works in the spec's region (OCCM
/// on the nodes uses it); this only has to agree with it (`check_region`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegionConfig {
    /// `OS_REGION_NAME`, which python-openstackclient's `--os-region-name` defaults to, with
    /// a clouds.yaml entry as without one.
    pub requested: Option<String>,
    /// A clouds.yaml entry's `regions` list, or its `region_name`.
    pub known: Vec<String>,
    /// Which of the two keys `known` came from, for messages.
    pub known_key: &'static str,
}

/// Whether the client configuration agrees with the spec's region: `OS_REGION_NAME` must be
/// it, and a clouds.yaml entry's `regions`/`region_name` must include it (openstacksdk's own
/// check of a requested region, `config/loader.py` `_get_region`).
pub fn check_region(cloud: &Cloud, spec_region: &str) -> Result<(), AuthError> {
    let refuse = |named: String, value: String| AuthError::Region {
        named,
        value,
        spec: spec_region.to_string(),
    };
    if let Some(requested) = &cloud.region.requested
        && requested != spec_region
    {
        return Err(refuse("OS_REGION_NAME is".into(), requested.clone()));
    }
    let known = &cloud.region.known;
    if !known.is_empty() && !known.iter().any(|r| r == spec_region) {
        return Err(refuse(
            format!("`{}` of {} is", cloud.region.known_key, cloud.source),
            known.join(", "),
        ));
    }
    Ok(())
}

/// `publicURL`, `internalURL`, `adminURL` (Keystone v2 names, still in old openrc files and
/// clouds.yaml) as the v3 interface names.
pub(super) fn interface_name(value: Option<String>) -> String {
    let value = value.unwrap_or_else(|| "public".into());
    match value.strip_suffix("URL") {
        Some(short @ ("public" | "internal" | "admin")) => short.to_string(),
        _ => value,
    }
}

/// A clouds.yaml entry's `regions` (names, or mappings with a `name`), else its
/// `region_name`.
pub(super) fn known_regions(entry: &Value) -> RegionConfig {
    let listed: Vec<String> = entry["regions"]
        .as_array()
        .map(|regions| {
            regions
                .iter()
                .filter_map(|r| text(r).or_else(|| text(&r["name"])))
                .collect()
        })
        .unwrap_or_default();
    if !listed.is_empty() {
        return RegionConfig {
            requested: None,
            known: listed,
            known_key: "regions",
        };
    }
    RegionConfig {
        requested: None,
        known: text(&entry["region_name"]).into_iter().collect(),
        known_key: "region_name",
    }
}
