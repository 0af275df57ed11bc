//! `#cloud-config` encoder: files (and unit files) become `write_files`, and `runcmd` enables
//! the provisioning-time units and starts the boot unit without blocking cloud-final.
//! Reference §9: permissions are quoted octal strings; `runcmd` items are argv lists. Files
//! the bundle marks `packed` go as `encoding: gz+b64` (cloud-init's `write_files` inflates
//! them) unless the whole document is gzipped anyway.

use crate::bundle::NodeBundle;
use serde::Serialize;

#[derive(Serialize)]
struct CloudConfig {
    /// cloud-init's `apt` module (config stage, before `runcmd`): the archives' mirror. It
    /// writes the sources in the image's own layout (deb822 on Ubuntu 24.04).
    #[serde(skip_serializing_if = "Option::is_none")]
    apt: Option<Apt>,
    write_files: Vec<WriteFile>,
    runcmd: Vec<Vec<String>>,
}

#[derive(Serialize)]
struct Apt {
    primary: Vec<AptMirror>,
    security: Vec<AptMirror>,
}

#[derive(Serialize)]
struct AptMirror {
    arches: Vec<&'static str>,
    uri: String,
}

#[derive(Serialize)]
struct WriteFile {
    path: String,
    owner: String,
    permissions: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<&'static str>,
    content: String,
}

/// `pack_files`: ship the bundle's packed files gzipped.
pub(super) fn encode(bundle: &NodeBundle, pack_files: bool) -> String {
    use base64::Engine;
    let mut write_files: Vec<WriteFile> = bundle
        .files
        .iter()
        .map(|f| {
            let (encoding, content) = if f.packed && pack_files {
                let packed = super::gzip(f.content.as_bytes());
                let text = base64::engine::general_purpose::STANDARD.encode(packed);
                (Some("gz+b64"), text)
            } else {
                (None, f.content.clone())
            };
            WriteFile {
                path: f.path.clone(),
                owner: f.owner.clone(),
                permissions: format!("0{:o}", f.mode),
                encoding,
                content,
            }
        })
        .collect();
    write_files.extend(bundle.units.iter().map(|u| WriteFile {
        path: format!("/etc/systemd/system/{}", u.name),
        owner: "root:root".into(),
        permissions: "0644".into(),
        encoding: None,
        content: u.content.clone(),
    }));
    write_files.sort_by(|a, b| a.path.cmp(&b.path));

    let argv = |parts: &[&str]| parts.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut enable = argv(&["systemctl", "enable"]);
    enable.extend(
        bundle
            .units
            .iter()
            .filter(|u| u.enable)
            .map(|u| u.name.clone()),
    );
    // --no-block: the boot unit runs after cloud-final, which is running this very command.
    let runcmd = vec![
        argv(&["systemctl", "daemon-reload"]),
        enable,
        argv(&["systemctl", "start", "--no-block", &bundle.start_unit]),
    ];
    let mirror = |uri: &str| {
        vec![AptMirror {
            arches: vec!["default"],
            uri: uri.to_string(),
        }]
    };
    let doc = CloudConfig {
        apt: bundle.apt_mirror.as_ref().map(|m| Apt {
            primary: mirror(&m.primary),
            security: mirror(&m.security),
        }),
        write_files,
        runcmd,
    };
    let yaml = serde_saphyr::to_string(&doc).expect("cloud-config serializes");
    format!(
        "#cloud-config\n# k8sgen user-data for {} ({})\n{yaml}",
        bundle.node,
        bundle.role.as_str()
    )
}
