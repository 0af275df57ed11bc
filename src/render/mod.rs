//! Last stage: `NodeBundle` → user-data bytes. Encoders only: they serialize the IR through
//! serde structs and measure the result against Nova's limit. They never decide what a node
//! gets (that is `bundle`) and never talk to a cloud.

mod cloudinit;

use crate::bundle::NodeBundle;
use flate2::{Compression, GzBuilder};
use std::io::Write;

/// Nova rejects `user_data` whose base64 text is longer than this.
pub const NOVA_USER_DATA_LIMIT: usize = 65_535;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `#cloud-config` YAML (Ubuntu, Debian).
    CloudConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// gzip the whole document (cloud-init detects and inflates it).
    pub gzip: bool,
}

/// One node's user-data, ready for Horizon or `openstack server create --user-data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserData {
    pub node: String,
    pub format: Format,
    pub gzip: bool,
    pub bytes: Vec<u8>,
}

impl UserData {
    pub fn raw_size(&self) -> usize {
        self.bytes.len()
    }
    /// Length of the base64 text Nova stores and limits.
    pub fn base64_size(&self) -> usize {
        self.bytes.len().div_ceil(3) * 4
    }
    pub fn fits_nova(&self) -> bool {
        self.base64_size() <= NOVA_USER_DATA_LIMIT
    }
}

pub fn encode(bundle: &NodeBundle, format: Format, options: Options) -> UserData {
    let text = match format {
        Format::CloudConfig => cloudinit::encode(bundle),
    };
    let bytes = if options.gzip {
        gzip(text.as_bytes())
    } else {
        text.into_bytes()
    };
    UserData {
        node: bundle.node.clone(),
        format,
        gzip: options.gzip,
        bytes,
    }
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
