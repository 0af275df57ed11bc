//! Last stage: `NodeBundle` → user-data bytes. Encoders only: they serialize the IR through
//! serde structs and measure the result against Nova's limit. They never decide what a node
//! gets (that is `bundle`) and never talk to a cloud.

mod cloudinit;
mod ignition;

use crate::bundle::NodeBundle;
use crate::catalog::UserDataFormat;
use flate2::{Compression, GzBuilder};
use std::io::Write;

/// Nova rejects `user_data` whose base64 text is longer than this.
pub const NOVA_USER_DATA_LIMIT: usize = 65_535;

/// What to try when a node's user-data is over Nova's limit, for `render` and `up`'s
/// pre-flight alike. `gzipped`: it already was; `ca_file`: the spec's `cloud.openstack.caFile`
/// puts its certificates into every master's user-data, and a whole system bundle is about
/// 200 KiB on its own.
pub fn over_limit_hint(gzipped: bool, ca_file: bool) -> String {
    let mut tries = Vec::new();
    if ca_file {
        tries.push("keep only the roots the cloud's APIs need in cloud.openstack.caFile");
    }
    if !gzipped {
        tries.push("use --gzip (cloud-init inflates it; about 3x smaller)");
    }
    tries.push(
        "use ECDSA-P256 keys rather than RSA (`secrets generate --key-algorithm ECDSA-P256`)",
    );
    tries.join("; ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// cloud-config: gzip the whole document (cloud-init detects and inflates it).
    /// Ignition: always ship the gzip replace-stub (Ignition does not inflate user-data).
    pub gzip: bool,
}

/// One node's user-data, ready for Horizon or `openstack server create --user-data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserData {
    pub node: String,
    pub format: UserDataFormat,
    pub gzip: bool,
    /// Ignition only: the user-data is a stub whose `config.replace` carries the config.
    pub replace_stub: bool,
    pub bytes: Vec<u8>,
}

impl UserData {
    pub fn raw_size(&self) -> usize {
        self.bytes.len()
    }
    /// Length of the base64 text Nova stores and limits.
    pub fn base64_size(&self) -> usize {
        base64_len(self.bytes.len())
    }
    pub fn fits_nova(&self) -> bool {
        self.base64_size() <= NOVA_USER_DATA_LIMIT
    }
}

pub fn encode(bundle: &NodeBundle, format: UserDataFormat, options: Options) -> UserData {
    let (bytes, gzip_whole, replace_stub) = match format {
        UserDataFormat::CloudConfig => {
            // Packed files are gzipped alone only when the document is not: gzip of gzip
            // saves nothing.
            let text = cloudinit::encode(bundle, !options.gzip);
            if options.gzip {
                (gzip(text.as_bytes()), true, false)
            } else {
                (text.into_bytes(), false, false)
            }
        }
        UserDataFormat::Ignition => {
            let full = ignition::encode(bundle, true);
            if options.gzip || base64_len(full.len()) > NOVA_USER_DATA_LIMIT {
                let inner = ignition::encode(bundle, false);
                (ignition::replace_stub(&inner).into_bytes(), false, true)
            } else {
                (full.into_bytes(), false, false)
            }
        }
    };
    UserData {
        node: bundle.node.clone(),
        format,
        gzip: gzip_whole,
        replace_stub,
        bytes,
    }
}

fn base64_len(raw: usize) -> usize {
    raw.div_ceil(3) * 4
}

/// Deterministic gzip: no file name, mtime 0, so the same input gives the same bytes.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::default());
    encoder
        .write_all(data)
        .expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::over_limit_hint;

    #[test]
    fn the_over_limit_hint_names_what_this_spec_can_change() {
        let plain = over_limit_hint(false, false);
        assert!(
            plain.contains("--gzip") && !plain.contains("caFile"),
            "{plain}"
        );
        let gzipped_with_ca = over_limit_hint(true, true);
        assert!(
            gzipped_with_ca.starts_with("keep only the roots"),
            "{gzipped_with_ca}"
        );
        assert!(!gzipped_with_ca.contains("--gzip"), "{gzipped_with_ca}");
        assert!(gzipped_with_ca.contains("ECDSA-P256"));
    }
}
