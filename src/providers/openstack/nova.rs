//! Nova (compute v2.1, microversion `api::COMPUTE_MICROVERSION`) and the one Glance lookup:
//! flavors, images, limits, key pairs, server groups, servers (tags in the create body), the
//! console log, deletes. Takes user-data as opaque base64; knows nothing of Kubernetes.

use super::api::{Api, ApiError, Purpose, Service, field};
use super::neutron::q;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    pub vcpus: u32,
    pub ram: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Image {
    pub id: String,
    pub name: String,
    pub status: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Fault {
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub status: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub fault: Option<Fault>,
    /// Admin only.
    #[serde(rename = "OS-EXT-SRV-ATTR:host", default)]
    pub host: Option<String>,
    /// Admin only, microversion >= 2.3.
    #[serde(rename = "OS-EXT-SRV-ATTR:user_data", default)]
    pub user_data: Option<String>,
    #[serde(default)]
    pub created: String,
    /// `scheduling`, `networking`, `spawning`, ... while BUILD.
    #[serde(rename = "OS-EXT-STS:task_state", default)]
    pub task_state: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerGroup {
    pub id: String,
    pub name: String,
    pub policy: String,
    #[serde(default)]
    pub members: Vec<String>,
}

/// The newest compute microversion the cloud offers, e.g. `2.93`.
pub fn max_microversion(api: &Api) -> Result<String, ApiError> {
    let v = api.get(Service::Compute, "/")?;
    Ok(v["version"]["version"]
        .as_str()
        .unwrap_or("2.1")
        .to_string())
}

pub fn flavors(api: &Api) -> Result<Vec<Flavor>, ApiError> {
    field(
        api.get(Service::Compute, "/flavors/detail")?,
        "flavors",
        "/flavors/detail",
    )
}

pub fn images_named(api: &Api, name: &str) -> Result<Vec<Image>, ApiError> {
    let path = format!("/images?name={}", q(name));
    field(api.get(Service::Image, &path)?, "images", &path)
}

/// Nova's absolute limits (`maxTotalInstances`, `totalInstancesUsed`, ...).
pub fn limits(api: &Api) -> Result<BTreeMap<String, i64>, ApiError> {
    let mut v = api.get(Service::Compute, "/limits")?;
    serde_json::from_value(v["limits"]["absolute"].take()).map_err(|e| ApiError::Decode {
        method: "GET".into(),
        url: "/limits".into(),
        detail: e.to_string(),
    })
}

pub fn keypair_exists(api: &Api, name: &str) -> Result<bool, ApiError> {
    match api.get(Service::Compute, &format!("/os-keypairs/{}", q(name))) {
        Ok(_) => Ok(true),
        Err(e) if e.status() == Some(404) => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn server_groups(api: &Api) -> Result<Vec<ServerGroup>, ApiError> {
    field(
        api.get(Service::Compute, "/os-server-groups")?,
        "server_groups",
        "/os-server-groups",
    )
}

pub fn create_server_group(api: &Api, name: &str, policy: &str) -> Result<ServerGroup, ApiError> {
    let body = json!({"server_group": {"name": name, "policy": policy}});
    field(
        api.create(Service::Compute, "/os-server-groups", &body)?,
        "server_group",
        "/os-server-groups",
    )
}

/// Servers carrying `tag`, with details.
pub fn servers_tagged(api: &Api, tag: &str, purpose: Purpose) -> Result<Vec<Server>, ApiError> {
    let path = format!("/servers/detail?tags={}", q(tag));
    let v = api.idempotent(purpose, Method::GET, Service::Compute, &path, None)?;
    field(v, "servers", &path)
}

pub fn server(api: &Api, id: &str, purpose: Purpose) -> Result<Server, ApiError> {
    let path = format!("/servers/{id}");
    let v = api.idempotent(purpose, Method::GET, Service::Compute, &path, None)?;
    field(v, "server", &path)
}

/// POST /servers with `body` (the `server` object) and scheduler hints; the new server's id.
pub fn create_server(api: &Api, server: &Value, hints: Option<&Value>) -> Result<String, ApiError> {
    let mut body = json!({ "server": server });
    if let Some(hints) = hints {
        body["os:scheduler_hints"] = hints.clone();
    }
    let v = api.create(Service::Compute, "/servers", &body)?;
    v["server"]["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| ApiError::Decode {
            method: "POST".into(),
            url: "/servers".into(),
            detail: "no server id in the answer".into(),
        })
}

/// The last `lines` lines of a server's console log.
pub fn console_log(api: &Api, id: &str, lines: u32) -> Result<String, ApiError> {
    let body = json!({"os-getConsoleOutput": {"length": lines}});
    let v = api.idempotent(
        Purpose::Poll,
        Method::POST,
        Service::Compute,
        &format!("/servers/{id}/action"),
        Some(&body),
    )?;
    Ok(v["output"].as_str().unwrap_or_default().to_string())
}

pub fn delete_server(api: &Api, id: &str) -> Result<bool, ApiError> {
    api.delete(Service::Compute, &format!("/servers/{id}"))
}

pub fn delete_server_group(api: &Api, id: &str) -> Result<bool, ApiError> {
    api.delete(Service::Compute, &format!("/os-server-groups/{id}"))
}
