//! Ignition v3 encoder (spec 3.3.0: what Flatcar accepts and Debian 12's `ignition-validate`
//! checks). Files become `storage.files` with `data:` URLs, gzip-compressed where that is
//! shorter; units become `systemd.units` (enabled ones with `enabled: true`), so the boot unit
//! starts after `network-online.target` exactly as on the cloud-init path.
//!
//! OpenStack's Ignition provider reads user-data as-is (no gunzip), so when the config would
//! not fit Nova's limit, or when asked, the user-data is a small stub whose
//! `ignition.config.replace` is the real config as a gzip `data:` URL (reference §10).

use super::gzip;
use crate::bundle::NodeBundle;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use sha2::{Digest, Sha512};

pub(super) const SPEC_VERSION: &str = "3.3.0";

#[derive(Serialize)]
struct Config {
    ignition: Meta,
    #[serde(rename = "kernelArguments", skip_serializing_if = "Option::is_none")]
    kernel_arguments: Option<KernelArguments>,
    #[serde(skip_serializing_if = "Option::is_none")]
    storage: Option<Storage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    systemd: Option<Systemd>,
}

#[derive(Serialize)]
struct Meta {
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<ConfigRefs>,
}

#[derive(Serialize)]
struct ConfigRefs {
    replace: Resource,
}

#[derive(Serialize)]
struct Resource {
    source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    compression: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verification: Option<Verification>,
}

#[derive(Serialize)]
struct Verification {
    hash: String,
}

#[derive(Serialize)]
struct KernelArguments {
    #[serde(rename = "shouldNotExist")]
    should_not_exist: Vec<&'static str>,
}

/// Flatcar's OpenStack image logs `core` in on every console (its OEM grub.cfg:
/// `set linux_append="flatcar.autologin"`): anyone who can open the Nova console of a master
/// would get a sudo-capable shell beside the CA keys. Ignition's kargs stage removes the
/// argument from the OEM grub.cfg (Flatcar's `ignition-kargs-helper`, since 3185) and reboots
/// once, before the first real boot.
const REMOVED_KERNEL_ARGUMENTS: &[&str] = &["flatcar.autologin"];

#[derive(Serialize)]
struct Storage {
    files: Vec<File>,
}

#[derive(Serialize)]
struct Name {
    name: String,
}

#[derive(Serialize)]
struct File {
    path: String,
    overwrite: bool,
    /// Decimal, as Ignition wants it (0o644 → 420).
    mode: u32,
    user: Name,
    group: Name,
    contents: Resource,
}

#[derive(Serialize)]
struct Systemd {
    units: Vec<Unit>,
}

#[derive(Serialize)]
struct Unit {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
    contents: String,
}

/// RFC 2397 `data:` URL for `content`: percent-encoded text, or base64 of gzip when that is
/// shorter and allowed (then the resource says `compression: gzip`).
fn data_url(content: &str, allow_gzip: bool) -> Resource {
    let plain = format!("data:,{}", percent_encode(content));
    let packed = format!("data:;base64,{}", STANDARD.encode(gzip(content.as_bytes())));
    if allow_gzip && packed.len() < plain.len() {
        Resource {
            source: packed,
            compression: Some("gzip"),
            verification: None,
        }
    } else {
        Resource {
            source: plain,
            compression: None,
            verification: None,
        }
    }
}

/// Bytes a `data:` URL carries as they are: ASCII alphanumerics and `-._~/:=@`. Everything
/// else (spaces, newlines, `%`, `+`, non-ASCII) is escaped, so the URL stays one opaque token
/// and the goldens stay readable.
const DATA_URL_ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/')
    .remove(b':')
    .remove(b'=')
    .remove(b'@');

fn percent_encode(text: &str) -> String {
    utf8_percent_encode(text, DATA_URL_ESCAPED).to_string()
}

/// The full Ignition config for a bundle, pretty-printed so goldens stay reviewable.
/// `gzip_files`: compress file contents one by one where that is shorter. A config that will
/// itself be gzipped into a stub keeps them plain: gzip of gzip saves nothing.
pub(super) fn encode(bundle: &NodeBundle, gzip_files: bool) -> String {
    let files = bundle
        .files
        .iter()
        .map(|f| {
            let (user, group) = f.owner.split_once(':').unwrap_or((&f.owner, &f.owner));
            File {
                path: f.path.clone(),
                overwrite: true,
                mode: f.mode,
                user: Name { name: user.into() },
                group: Name { name: group.into() },
                contents: data_url(&f.content, gzip_files),
            }
        })
        .collect();
    let units = bundle
        .units
        .iter()
        .map(|u| Unit {
            name: u.name.clone(),
            enabled: u.enable.then_some(true),
            contents: u.content.clone(),
        })
        .collect();
    let config = Config {
        ignition: Meta {
            version: SPEC_VERSION,
            config: None,
        },
        kernel_arguments: Some(KernelArguments {
            should_not_exist: REMOVED_KERNEL_ARGUMENTS.to_vec(),
        }),
        storage: Some(Storage { files }),
        systemd: Some(Systemd { units }),
    };
    serde_json::to_string_pretty(&config).expect("Ignition config serializes") + "\n"
}

/// A stub that replaces itself with `full` (gzip `data:` URL, sha512 of the inflated config).
pub(super) fn replace_stub(full: &str) -> String {
    let hash = Sha512::digest(full.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let config = Config {
        ignition: Meta {
            version: SPEC_VERSION,
            config: Some(ConfigRefs {
                replace: Resource {
                    source: format!("data:;base64,{}", STANDARD.encode(gzip(full.as_bytes()))),
                    compression: Some("gzip"),
                    verification: Some(Verification {
                        hash: format!("sha512-{hash}"),
                    }),
                },
            }),
        },
        kernel_arguments: None,
        storage: None,
        systemd: None,
    };
    serde_json::to_string(&config).expect("Ignition config serializes") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_only_safe_bytes() {
        assert_eq!(percent_encode("a b\n%+é"), "a%20b%0A%25%2B%C3%A9");
        assert_eq!(percent_encode("/etc/x=1:y@z"), "/etc/x=1:y@z");
        // Every ASCII byte: kept exactly when alphanumeric or one of `-._~/:=@`.
        for b in 0u8..128 {
            let text = (b as char).to_string();
            let kept = b.is_ascii_alphanumeric() || b"-._~/:=@".contains(&b);
            let want = if kept {
                text.clone()
            } else {
                format!("%{b:02X}")
            };
            assert_eq!(percent_encode(&text), want, "byte {b}");
        }
    }

    #[test]
    fn short_text_stays_readable_and_long_text_is_gzipped() {
        assert!(data_url("hello\n", true).compression.is_none());
        let long = "repeat this line\n".repeat(50);
        assert!(data_url(&long, false).compression.is_none());
        let r = data_url(&long, true);
        assert_eq!(r.compression, Some("gzip"));
        assert!(r.source.starts_with("data:;base64,H4sI"));
    }
}
