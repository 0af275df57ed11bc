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
pub enum EndpointError {
    #[error(
        "the catalog has no {interface} `{service_type}` endpoint{}; it offers: {offered}",
        in_region(region)
    )]
    Missing {
        service_type: String,
        interface: String,
        region: Option<String>,
        offered: String,
    },
    /// More than one URL fits: picking the first (catalog order is arbitrary) could create
    /// servers in one region while OCCM looks in another.
    #[error("the catalog has {} {interface} `{service_type}` endpoints{}: {}", urls.len(), in_region(region), urls.join(", "))]
    Ambiguous {
        service_type: String,
        interface: String,
        region: Option<String>,
        /// `url (region)`, sorted.
        urls: Vec<String>,
    },
}

fn in_region(region: &Option<String>) -> String {
    region
        .as_ref()
        .map(|r| format!(" in region {r}"))
        .unwrap_or_default()
}

impl EndpointError {
    pub fn hint(&self) -> &'static str {
        match self {
            EndpointError::Missing { .. } => {
                "set the spec's cloud.openstack.region (and the interface: interface / OS_INTERFACE) to one the catalog offers"
            }
            EndpointError::Ambiguous { region: None, .. } => {
                "name the region (the spec's cloud.openstack.region)"
            }
            EndpointError::Ambiguous { .. } => {
                "the cloud's catalog lists the service twice in one region; ask its operators which endpoint is right"
            }
        }
    }
}

/// The URL of `service_type` for `interface`, in `region` when one is given; an error when
/// none or several (distinct URLs) fit.
pub fn endpoint(
    catalog: &[Service],
    service_type: &str,
    region: Option<&str>,
    interface: &str,
) -> Result<String, EndpointError> {
    let matches_region = |e: &Endpoint| {
        region.is_none_or(|r| e.region.as_deref() == Some(r) || e.region_id.as_deref() == Some(r))
    };
    let mut fits: Vec<(String, String)> = catalog
        .iter()
        .filter(|s| s.service_type == service_type)
        .flat_map(|s| &s.endpoints)
        .filter(|e| e.interface == interface && matches_region(e))
        .map(|e| {
            let region = e.region.as_deref().or(e.region_id.as_deref());
            (
                e.url.trim_end_matches('/').to_string(),
                region.unwrap_or("-").to_string(),
            )
        })
        .collect();
    fits.sort();
    fits.dedup_by(|a, b| a.0 == b.0);
    match fits.len() {
        1 => return Ok(fits.remove(0).0),
        0 => {}
        _ => {
            return Err(EndpointError::Ambiguous {
                service_type: service_type.into(),
                interface: interface.into(),
                region: region.map(str::to_string),
                urls: fits
                    .into_iter()
                    .map(|(url, region)| format!("{url} ({region})"))
                    .collect(),
            });
        }
    }
    let mut offered: Vec<String> = catalog
        .iter()
        .flat_map(|s| {
            s.endpoints.iter().map(move |e| {
                let region = e.region.as_deref().or(e.region_id.as_deref());
                format!(
                    "{}/{}/{}",
                    s.service_type,
                    e.interface,
                    region.unwrap_or("-")
                )
            })
        })
        .collect();
    offered.sort();
    offered.dedup();
    Err(EndpointError::Missing {
        service_type: service_type.into(),
        interface: interface.into(),
        region: region.map(str::to_string),
        offered: if offered.is_empty() {
            "nothing".into()
        } else {
            offered.join(", ")
        },
    })
}

/// The URL of the first of `service_types` the catalog has (`block-storage` before its old
/// name `volumev3`), or `None` when it has none of them: for services a cloud may lack.
pub fn optional_endpoint(
    catalog: &[Service],
    service_types: &[&str],
    region: Option<&str>,
    interface: &str,
) -> Result<Option<String>, EndpointError> {
    for service_type in service_types {
        match endpoint(catalog, service_type, region, interface) {
            Ok(url) => return Ok(Some(url)),
            Err(EndpointError::Missing { .. }) => continue,
            Err(ambiguous) => return Err(ambiguous),
        }
    }
    Ok(None)
}
