//! The TLS keys of either source, as found (`insecure`, `verify`, `cacert`, `cert`, `key` in
//! a clouds.yaml entry; `OS_INSECURE`, `OS_CACERT`, `OS_CERT`, `OS_KEY`), handed to
//! `tls::resolve` for openstacksdk's precedence.

use super::{AuthError, text};
use crate::providers::openstack::tls::{self, Tls};
use serde_json::Value;
use std::path::Path;

/// `insecure`, `verify` (a boolean, or a CA bundle's path as requests takes it), `cacert`,
/// `cert` and `key` of a clouds.yaml entry.
pub(super) fn entry_tls(source: &str, entry: &Value, base: &tls::Base) -> Result<Tls, AuthError> {
    let flag = |field: &str| tls::flag(field, &entry[field]).map_err(|e| not_boolean(source, e));
    let (verify, verify_path) = match (&entry["verify"], flag("verify")) {
        (_, Ok(v)) => (v, None),
        (Value::String(path), Err(_)) => (None, Some(path.clone())),
        (_, Err(e)) => return Err(e),
    };
    let given = tls::Given {
        insecure: flag("insecure")?,
        verify,
        verify_path,
        cacert: text(&entry["cacert"]),
        cert: text(&entry["cert"]),
        key: text(&entry["key"]),
        insecure_name: "insecure: true",
    };
    Ok(tls::resolve(given, base))
}

fn not_boolean(source: &str, e: tls::BadFlag) -> AuthError {
    AuthError::NotBoolean {
        origin: source.into(),
        field: e.field,
        value: e.value,
    }
}

pub(super) fn env_tls(
    source: &str,
    get: &dyn Fn(&str) -> Option<String>,
    home: Option<String>,
    cwd: &Path,
) -> Result<Tls, AuthError> {
    let insecure = get("insecure").map(Value::String).unwrap_or(Value::Null);
    let given = tls::Given {
        insecure: tls::flag("OS_INSECURE", &insecure).map_err(|e| not_boolean(source, e))?,
        cacert: get("cacert"),
        cert: get("cert"),
        key: get("key"),
        insecure_name: "OS_INSECURE",
        ..tls::Given::default()
    };
    Ok(tls::resolve(given, &tls::Base { cwd, home }))
}
