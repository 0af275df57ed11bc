//! Which cloud and which credentials: `clouds.yaml` (selected by `--cloud`, `OS_CLOUD` or the
//! caller, who says where the name came from so an error blames that place; searched in
//! `$OS_CLIENT_CONFIG_FILE`, `./`, `~/.config/openstack/`, `/etc/openstack/`,
//! first found wins, `secure.yaml` from the same places overlaid on it) or else the `OS_*`
//! variables. Password, application-credential and token methods, and the Keystone v3
//! `POST /v3/auth/tokens` body for each (reference §8). TLS settings (`verify`, `insecure`,
//! `cacert`, `cert`, `key` and their `OS_*` twins) are resolved here and applied by `tls`.
//! Reads through caller-supplied functions, so tests need no real home directory.
//!
//! Parts: `region` (what the configuration says of the region and interface), `method` (the
//! credential and its token request), `tls_settings` (the TLS keys of either source).

mod method;
mod region;
mod tls_settings;

pub use method::token_request;
pub use region::{RegionConfig, check_region};

use super::Sensitive;
use super::tls::{self, Tls};
use method::method;
use region::{interface_name, known_regions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use tls_settings::{entry_tls, env_tls};

/// How to authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    Password {
        user: Named,
        password: Sensitive,
        project: Named,
    },
    /// Scoped to the credential's own project: Keystone refuses an explicit scope.
    ApplicationCredential {
        id: String,
        secret: Sensitive,
    },
    Token {
        token: Sensitive,
        project: Named,
    },
}

/// A user or project by id, or by name within a domain (by name or id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    Id(String),
    Name { name: String, domain: Domain },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Domain {
    Id(String),
    Name(String),
}

/// Everything needed to get a token and pick endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloud {
    /// Where it came from, for messages (`clouds.yaml: mycloud` or `OS_* variables`).
    pub source: String,
    pub auth_url: String,
    pub method: Method,
    pub region: RegionConfig,
    /// `public` (default), `internal` or `admin`.
    pub interface: String,
    pub tls: Tls,
}

/// Who named the cloud, so an error about the name points at the place to change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The `--cloud` flag.
    Flag,
    /// The `OS_CLOUD` variable.
    OsCloud,
    /// A field of a file (the cluster spec's `cloud.openstack.cloud`).
    Field { file: String, field: String },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag => f.write_str("--cloud"),
            Origin::OsCloud => f.write_str("OS_CLOUD"),
            Origin::Field { file, field } => write!(f, "`{field}` in {file}"),
        }
    }
}

/// A clouds.yaml entry's name and who gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub name: String,
    pub origin: Origin,
}

/// A name given directly, as `--cloud` gives it.
impl From<&str> for Selection {
    fn from(name: &str) -> Self {
        Selection {
            name: name.to_string(),
            origin: Origin::Flag,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("no cloud named `{cloud}` in {file} (the name comes from {origin})")]
    UnknownCloud {
        cloud: String,
        origin: Origin,
        file: String,
        known: Vec<String>,
    },
    #[error("{origin} names `{cloud}`, but no clouds.yaml was found")]
    NoCloudsFile { cloud: String, origin: Origin },
    /// `at` is `file:line:column`; `kind` the parser's message alone (see `yaml_error`).
    #[error("{at}: not valid YAML: {kind}")]
    BadFile { at: String, kind: String },
    #[error("{origin}: {detail}")]
    Incomplete { origin: String, detail: String },
    /// The client configuration names another region than the spec.
    #[error("{named} {value}, but the spec's cloud.openstack.region is {spec}")]
    Region {
        named: String,
        value: String,
        spec: String,
    },
    #[error("{origin}: `{field}` is {value}, not a boolean")]
    NotBoolean {
        origin: String,
        field: String,
        value: String,
    },
}

impl AuthError {
    pub fn hint(&self) -> String {
        match self {
            AuthError::UnknownCloud { known, origin, .. } => {
                let change = match origin {
                    Origin::Flag => "pass one of them to --cloud".to_string(),
                    Origin::OsCloud => "set OS_CLOUD to one of them".to_string(),
                    Origin::Field { file, field } => format!(
                        "set `{field}` in {file} to one of them, or pick one with --cloud or OS_CLOUD"
                    ),
                };
                format!("clouds defined there: {}; {change}", known.join(", "))
            }
            AuthError::NoCloudsFile { origin, .. } => {
                let put = "put it in ./clouds.yaml or ~/.config/openstack/clouds.yaml, or set OS_CLIENT_CONFIG_FILE";
                match origin {
                    Origin::Flag => put.into(),
                    Origin::OsCloud => {
                        format!("{put}; or unset OS_CLOUD to use the OS_* variables")
                    }
                    // The spec's name is the last resort: say what would have come first.
                    Origin::Field { field, .. } => format!(
                        "{put}; or source your openrc (OS_AUTH_URL and the rest): `{field}` is used only without --cloud, OS_CLOUD and OS_AUTH_URL"
                    ),
                }
            }
            AuthError::BadFile { .. } => {
                "check the YAML; clouds.yaml has a top-level `clouds:` mapping".into()
            }
            AuthError::Incomplete { .. } => {
                "set the missing value (an openrc file from Horizon sets all OS_* variables)".into()
            }
            AuthError::Region { spec, .. } => format!(
                "make them agree: `up` would create servers in one region while OCCM on the nodes looks in the spec's; change the spec's region, or set {spec} in the client configuration (or drop the region there)"
            ),
            AuthError::NotBoolean { .. } => "write true or false".into(),
        }
    }
}

/// The places clouds.yaml / secure.yaml are searched, in order.
pub fn search_paths(file: &str, env: &dyn Fn(&str) -> Option<String>, cwd: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if file == "clouds.yaml"
        && let Some(explicit) = env("OS_CLIENT_CONFIG_FILE")
    {
        paths.push(PathBuf::from(explicit));
    }
    paths.push(cwd.join(file));
    if let Some(home) = env("HOME") {
        paths.push(Path::new(&home).join(".config/openstack").join(file));
    }
    paths.push(Path::new("/etc/openstack").join(file));
    paths
}

fn merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// Resolve the cloud to use: `cloud` (named by `--cloud`, else `OS_CLOUD`) from
/// clouds.yaml, else `OS_*`.
pub fn resolve(
    cloud: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    read: &dyn Fn(&Path) -> Option<String>,
    cwd: &Path,
) -> Result<Cloud, AuthError> {
    let selection = match cloud {
        Some(name) => Some(Selection::from(name)),
        None => env("OS_CLOUD").map(|name| Selection {
            name,
            origin: Origin::OsCloud,
        }),
    };
    resolve_selected(selection, env, read, cwd)
}

/// Resolve the cloud the caller already selected from clouds.yaml, else (`None`) `OS_*`.
pub fn resolve_selected(
    selection: Option<Selection>,
    env: &dyn Fn(&str) -> Option<String>,
    read: &dyn Fn(&Path) -> Option<String>,
    cwd: &Path,
) -> Result<Cloud, AuthError> {
    let Some(Selection { name, origin }) = selection else {
        return from_env(env, cwd);
    };
    let load = |file: &str| -> Result<Option<(PathBuf, Value)>, AuthError> {
        for path in search_paths(file, env, cwd) {
            if let Some(text) = read(&path) {
                let v: Value = serde_saphyr::from_str(&text)
                    .map_err(|e| yaml_error(&path.display().to_string(), &e))?;
                return Ok(Some((path, v)));
            }
        }
        Ok(None)
    };
    let (path, clouds) = load("clouds.yaml")?.ok_or_else(|| AuthError::NoCloudsFile {
        cloud: name.clone(),
        origin: origin.clone(),
    })?;
    let mut entry = clouds["clouds"][&name].clone();
    if entry.is_null() {
        let mut known: Vec<String> = clouds["clouds"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        known.sort();
        return Err(AuthError::UnknownCloud {
            cloud: name,
            origin,
            file: path.display().to_string(),
            known,
        });
    }
    // A secure.yaml that holds only other clouds leaves this one as it is.
    if let Some((_, secure)) = load("secure.yaml")?
        && !secure["clouds"][&name].is_null()
    {
        merge(&mut entry, &secure["clouds"][&name]);
    }
    let base = tls::Base {
        cwd,
        home: env("HOME"),
    };
    from_entry(&format!("{}: {name}", path.display()), &entry, env, &base)
}

/// A YAML error as `file:line:column` and the kind of error. Never the parser's rendering:
/// it quotes the lines around the error, and those hold the password (secure.yaml holds
/// nothing else). The kind is cut at the first quote, in case a message ever quotes input.
/// (`problem::yaml_syntax` does the same for the compiler's files; providers import nothing
/// internal, DESIGN's dependency rule.)
fn yaml_error(file: &str, e: &serde_saphyr::Error) -> AuthError {
    use serde_saphyr::MessageFormatter;
    let at = match e.location() {
        Some(l) if l.line() > 0 => format!("{file}:{}:{}", l.line(), l.column()),
        _ => file.to_string(),
    };
    let message = serde_saphyr::UserMessageFormatter.format_message(e.without_snippet());
    let kind: String = message
        .split(['"', '\'', '`'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    AuthError::BadFile {
        at,
        kind: kind.trim().trim_end_matches(':').to_string(),
    }
}

pub(super) fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A clouds.yaml entry (`auth`, `auth_type`, `region_name`/`regions`, `interface` and the
/// TLS keys), with `OS_REGION_NAME` as the requested region.
fn from_entry(
    source: &str,
    entry: &Value,
    env: &dyn Fn(&str) -> Option<String>,
    base: &tls::Base,
) -> Result<Cloud, AuthError> {
    let auth = &entry["auth"];
    let get = |key: &str| text(&auth[key]);
    let vars = |key: &str| get(key);
    let method = method(source, text(&entry["auth_type"]), &vars)?;
    let auth_url = get("auth_url").ok_or_else(|| {
        let detail = if text(&entry["profile"]).is_some() {
            "auth.auth_url is missing (vendor `profile:` defaults are not read: copy auth_url and region_name from the vendor's profile)"
        } else {
            "auth.auth_url is missing"
        };
        incomplete(source, detail)
    })?;
    Ok(Cloud {
        source: source.into(),
        auth_url,
        method,
        region: RegionConfig {
            requested: env("OS_REGION_NAME").filter(|r| !r.is_empty()),
            ..known_regions(entry)
        },
        interface: interface_name(
            text(&entry["interface"]).or_else(|| text(&entry["endpoint_type"])),
        ),
        tls: Tls {
            ignored_env: tls::ENV_VARIABLES
                .into_iter()
                .filter(|name| env(name).is_some_and(|v| !v.is_empty()))
                .collect(),
            ..entry_tls(source, entry, base)?
        },
    })
}

/// The `OS_*` variables of an openrc file. Like openstacksdk, `OS_INSECURE`, `OS_CACERT`,
/// `OS_CERT` and `OS_KEY` belong to this cloud only, never to a clouds.yaml entry.
fn from_env(env: &dyn Fn(&str) -> Option<String>, cwd: &Path) -> Result<Cloud, AuthError> {
    let source = "OS_* variables";
    let get = |key: &str| env(&format!("OS_{}", key.to_uppercase())).filter(|v| !v.is_empty());
    let auth_url = get("auth_url")
        .ok_or_else(|| incomplete(source, "OS_AUTH_URL is not set (and no OS_CLOUD either)"))?;
    Ok(Cloud {
        source: source.into(),
        auth_url,
        method: method(source, get("auth_type"), &get)?,
        region: RegionConfig {
            requested: get("region_name"),
            known: vec![],
            known_key: "region_name",
        },
        interface: interface_name(get("interface").or_else(|| get("endpoint_type"))),
        tls: env_tls(source, &get, env("HOME"), cwd)?,
    })
}

pub(super) fn incomplete(source: &str, detail: &str) -> AuthError {
    AuthError::Incomplete {
        origin: source.into(),
        detail: detail.into(),
    }
}
