//! Nova (compute v2.1, microversion `api::COMPUTE_MICROVERSION`) and the one Glance lookup:
//! flavors, images, limits, key pairs, server groups, servers (tags in the create body; a root
//! volume made from the image when asked), the console log, deletes. Takes user-data as opaque
//! bytes (base64 is Nova's wire format, applied here); knows nothing of Kubernetes.

use super::api::{Api, ApiError, Purpose, Service, VOLUME_TYPE_MICROVERSION, field};
use super::neutron::q;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    pub vcpus: u32,
    pub ram: u64,
    /// Root disk in GiB; 0: none of its own, so only volume-backed servers boot from it for
    /// anyone but an admin (Nova's `create:zero_disk_flavor` policy, since Stein).
    #[serde(default)]
    pub disk: u64,
}

/// A Glance v2 image.
#[derive(Debug, Clone, Deserialize)]
pub struct Image {
    pub id: String,
    /// Glance allows an image without a name (`null`), found by its ID.
    #[serde(default)]
    pub name: Option<String>,
    pub status: String,
    /// The smallest root disk it boots from, GiB.
    #[serde(default)]
    pub min_disk: u64,
    /// MiB.
    #[serde(default)]
    pub min_ram: u64,
    /// Bytes of the uploaded file; unknown before the upload.
    #[serde(default)]
    pub size: Option<u64>,
    /// Bytes of the disk it expands to, when Glance computed it.
    #[serde(default)]
    pub virtual_size: Option<u64>,
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
    /// The host as a hash of it and the project, visible to every user: equal for servers
    /// on the same host, which is what anti-affinity needs shown.
    #[serde(rename = "hostId", default)]
    pub host_id: String,
    /// Admin only, microversion >= 2.3.
    #[serde(rename = "OS-EXT-SRV-ATTR:user_data", default)]
    pub user_data: Option<String>,
    #[serde(default)]
    pub created: String,
    /// `scheduling`, `networking`, `spawning`, ... while BUILD.
    #[serde(rename = "OS-EXT-STS:task_state", default)]
    pub task_state: Option<String>,
    /// Volumes attached, with whether Nova deletes each with the server (microversion 2.3).
    #[serde(rename = "os-extended-volumes:volumes_attached", default)]
    pub volumes_attached: Vec<AttachedVolume>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AttachedVolume {
    pub id: String,
    #[serde(default)]
    pub delete_on_termination: bool,
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

/// The image with this ID, if there is one the token may see.
pub fn image_by_id(api: &Api, id: &str) -> Result<Option<Image>, ApiError> {
    let path = format!("/images/{}", q(id));
    match api.get(Service::Image, &path) {
        Ok(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(|e| ApiError::Decode {
                method: "GET".into(),
                url: path,
                detail: e.to_string(),
            }),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
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

/// A server group to create.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ServerGroupRequest {
    pub name: String,
    /// `anti-affinity`, `soft-anti-affinity`, ...
    pub policy: String,
}

pub fn create_server_group(api: &Api, group: &ServerGroupRequest) -> Result<ServerGroup, ApiError> {
    let body = json!({ "server_group": group });
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

/// A server to create. Tags go in the create body (microversion 2.52), so a server is never
/// untagged; ports are made beforehand, so the server only names them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ServerRequest {
    pub name: String,
    /// The image of a server on the flavor's disk; none when it boots from a volume, whose
    /// image is in `block_device_mapping_v2` (Nova takes no `imageRef` then:
    /// nova/api/openstack/compute/servers.py, `_image_from_req_data`).
    #[serde(rename = "imageRef", skip_serializing_if = "Option::is_none")]
    pub image_ref: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub block_device_mapping_v2: Vec<BlockDevice>,
    #[serde(rename = "flavorRef")]
    pub flavor_ref: String,
    pub networks: Vec<PortAttachment>,
    /// Opaque bytes; sent base64-encoded, as Nova wants them.
    #[serde(serialize_with = "base64_bytes")]
    pub user_data: Vec<u8>,
    pub tags: Vec<String>,
    pub metadata: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// Sent only when asked for, so the cloud's default holds otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub config_drive: bool,
}

/// A disk of a new server, as Nova's `block_device_mapping_v2` takes it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BlockDevice {
    pub boot_index: i32,
    pub uuid: String,
    /// `image`: `uuid` is an image Nova copies into the new volume.
    pub source_type: &'static str,
    pub destination_type: &'static str,
    /// GiB.
    pub volume_size: u32,
    /// Needs microversion 2.67 (`api::VOLUME_TYPE_MICROVERSION`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<String>,
    pub delete_on_termination: bool,
}

impl BlockDevice {
    /// The root disk as a new volume of `size` GiB made from `image`, deleted with the
    /// server, so nothing outlives it.
    pub fn root_volume(image: &str, size: u32, volume_type: Option<String>) -> BlockDevice {
        BlockDevice {
            boot_index: 0,
            uuid: image.to_string(),
            source_type: "image",
            destination_type: "volume",
            volume_size: size,
            volume_type,
            delete_on_termination: true,
        }
    }
}

/// One NIC of a new server: an existing port.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PortAttachment {
    pub port: String,
}

fn base64_bytes<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    use base64::Engine;
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// POST /servers, in the server group `group` when given; the new server's id.
pub fn create_server(
    api: &Api,
    server: &ServerRequest,
    group: Option<&str>,
) -> Result<String, ApiError> {
    let mut body = json!({ "server": server });
    if let Some(group) = group {
        body["os:scheduler_hints"] = json!({ "group": group });
    }
    let typed = server
        .block_device_mapping_v2
        .iter()
        .any(|d| d.volume_type.is_some());
    let v = if typed {
        api.create_at(
            Service::Compute,
            "/servers",
            &body,
            VOLUME_TYPE_MICROVERSION,
        )?
    } else {
        api.create(Service::Compute, "/servers", &body)?
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_request_carries_base64_user_data_and_only_what_was_asked() {
        let mut request = ServerRequest {
            name: "n".into(),
            image_ref: Some("i".into()),
            block_device_mapping_v2: Vec::new(),
            flavor_ref: "f".into(),
            networks: vec![PortAttachment { port: "p".into() }],
            user_data: b"ud".to_vec(),
            tags: vec!["t".into()],
            metadata: BTreeMap::new(),
            key_name: None,
            config_drive: false,
        };
        let body = serde_json::to_value(&request).unwrap();
        assert_eq!(body["user_data"], "dWQ=");
        assert_eq!(body["imageRef"], "i");
        assert!(body.get("block_device_mapping_v2").is_none());
        assert_eq!(body["networks"], json!([{"port": "p"}]));
        assert!(body.get("key_name").is_none() && body.get("config_drive").is_none());
        request.key_name = Some("ops".into());
        request.config_drive = true;
        let body = serde_json::to_value(&request).unwrap();
        assert_eq!(
            (&body["key_name"], &body["config_drive"]),
            (&json!("ops"), &json!(true))
        );
    }

    #[test]
    fn a_volume_backed_server_names_its_image_only_in_the_root_volume() {
        let request = ServerRequest {
            name: "n".into(),
            image_ref: None,
            block_device_mapping_v2: vec![BlockDevice::root_volume("img", 20, None)],
            flavor_ref: "f".into(),
            networks: vec![],
            user_data: vec![],
            tags: vec![],
            metadata: BTreeMap::new(),
            key_name: None,
            config_drive: false,
        };
        let body = serde_json::to_value(&request).unwrap();
        assert!(body.get("imageRef").is_none(), "{body}");
        assert_eq!(
            body["block_device_mapping_v2"],
            json!([{
                "boot_index": 0,
                "uuid": "img",
                "source_type": "image",
                "destination_type": "volume",
                "volume_size": 20,
                "delete_on_termination": true,
            }])
        );
        let typed = BlockDevice::root_volume("img", 20, Some("ssd".into()));
        assert_eq!(serde_json::to_value(&typed).unwrap()["volume_type"], "ssd");
    }
}
