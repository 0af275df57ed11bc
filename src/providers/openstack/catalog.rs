//! Picking an endpoint from a Keystone v3 token's catalog by service type, region and
//! interface (never a hard-coded URL: a compute URL may embed the project id).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Service {
    #[serde(rename = "type")]
    pub service_type: String,
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Endpoint {
    pub interface: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub region_id: Option<String>,
    pub url: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the catalog has no {interface} `{service_type}` endpoint{}; it offers: {offered}", region.as_ref().map(|r| format!(" in region {r}")).unwrap_or_default())]
pub struct MissingEndpoint {
    pub service_type: String,
    pub interface: String,
    pub region: Option<String>,
    pub offered: String,
}

/// The URL of `service_type` for `interface`, in `region` when one is given.
pub fn endpoint(
    catalog: &[Service],
    service_type: &str,
    region: Option<&str>,
    interface: &str,
) -> Result<String, MissingEndpoint> {
    let matches_region = |e: &Endpoint| {
        region.is_none_or(|r| e.region.as_deref() == Some(r) || e.region_id.as_deref() == Some(r))
    };
    catalog
        .iter()
        .filter(|s| s.service_type == service_type)
        .flat_map(|s| &s.endpoints)
        .find(|e| e.interface == interface && matches_region(e))
        .map(|e| e.url.trim_end_matches('/').to_string())
        .ok_or_else(|| {
            let mut offered: Vec<String> = catalog
                .iter()
                .flat_map(|s| {
                    s.endpoints.iter().map(move |e| {
                        format!(
                            "{}/{}/{}",
                            s.service_type,
                            e.interface,
                            e.region.as_deref().unwrap_or("-")
                        )
                    })
                })
                .collect();
            offered.sort();
            offered.dedup();
            MissingEndpoint {
                service_type: service_type.into(),
                interface: interface.into(),
                region: region.map(str::to_string),
                offered: if offered.is_empty() {
                    "nothing".into()
                } else {
                    offered.join(", ")
                },
            }
        })
}
