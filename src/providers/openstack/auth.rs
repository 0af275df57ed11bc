//! Which cloud and which credentials: `clouds.yaml` (selected by `--cloud`, `OS_CLOUD` or the
//! caller, who says where the name came from so an error blames that place; searched in
//! `$OS_CLIENT_CONFIG_FILE`, `./`, `~/.config/openstack/`, `/etc/openstack/`,
//! first found wins, `secure.yaml` from the same places overlaid on it) or else the `OS_*`
//! variables. Password, application-credential and token methods, and the Keystone v3
//! `POST /v3/auth/tokens` body for each (reference §8). Reads through caller-supplied
//! functions, so tests need no real home directory.

use super::Sensitive;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

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
    pub region: Option<String>,
    /// `public` (default), `internal` or `admin`.
    pub interface: String,
    pub cacert: Option<PathBuf>,
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
    #[error("{file} is not valid: {detail}")]
    BadFile { file: String, detail: String },
    #[error("{origin}: {detail}")]
    Incomplete { origin: String, detail: String },
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
        return from_env(env);
    };
    let load = |file: &str| -> Result<Option<(PathBuf, Value)>, AuthError> {
        for path in search_paths(file, env, cwd) {
            if let Some(text) = read(&path) {
                let v: Value = serde_saphyr::from_str(&text).map_err(|e| AuthError::BadFile {
                    file: path.display().to_string(),
                    detail: e.to_string(),
                })?;
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
    if let Some((_, secure)) = load("secure.yaml")? {
        merge(&mut entry, &secure["clouds"][&name]);
    }
    from_entry(&format!("{}: {name}", path.display()), &entry)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A clouds.yaml entry (`auth`, `auth_type`, `region_name`, `interface`, `cacert`).
fn from_entry(source: &str, entry: &Value) -> Result<Cloud, AuthError> {
    let auth = &entry["auth"];
    let get = |key: &str| text(&auth[key]);
    let vars = |key: &str| get(key);
    let method = method(source, text(&entry["auth_type"]), &vars)?;
    Ok(Cloud {
        source: source.into(),
        auth_url: get("auth_url").ok_or_else(|| incomplete(source, "auth.auth_url is missing"))?,
        method,
        region: text(&entry["region_name"]),
        interface: text(&entry["interface"]).unwrap_or_else(|| "public".into()),
        cacert: text(&entry["cacert"]).map(PathBuf::from),
    })
}

/// The `OS_*` variables of an openrc file.
fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Cloud, AuthError> {
    let source = "OS_* variables";
    let get = |key: &str| env(&format!("OS_{}", key.to_uppercase())).filter(|v| !v.is_empty());
    let auth_url = get("auth_url")
        .ok_or_else(|| incomplete(source, "OS_AUTH_URL is not set (and no OS_CLOUD either)"))?;
    Ok(Cloud {
        source: source.into(),
        auth_url,
        method: method(source, get("auth_type"), &get)?,
        region: get("region_name"),
        interface: get("interface").unwrap_or_else(|| "public".into()),
        cacert: get("cacert").map(PathBuf::from),
    })
}

fn incomplete(source: &str, detail: &str) -> AuthError {
    AuthError::Incomplete {
        origin: source.into(),
        detail: detail.into(),
    }
}

/// The method from `auth_type` and the keys clouds.yaml and `OS_*` share (`username`,
/// `project_name`, `application_credential_id`, ...).
fn method(
    source: &str,
    auth_type: Option<String>,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Method, AuthError> {
    let need = |key: &str| get(key).ok_or_else(|| incomplete(source, &format!("{key} is missing")));
    let domain = |prefix: &str| -> Domain {
        get(&format!("{prefix}_domain_id"))
            .map(Domain::Id)
            .or_else(|| get(&format!("{prefix}_domain_name")).map(Domain::Name))
            .or_else(|| get("domain_id").map(Domain::Id))
            .or_else(|| get("domain_name").map(Domain::Name))
            .unwrap_or_else(|| Domain::Name("Default".into()))
    };
    let project = || -> Result<Named, AuthError> {
        if let Some(id) = get("project_id").or_else(|| get("tenant_id")) {
            return Ok(Named::Id(id));
        }
        let name = get("project_name")
            .or_else(|| get("tenant_name"))
            .ok_or_else(|| incomplete(source, "project_id or project_name is missing"))?;
        Ok(Named::Name {
            name,
            domain: domain("project"),
        })
    };
    match auth_type.as_deref().unwrap_or("password") {
        "password" | "v3password" => {
            let user = match get("user_id") {
                Some(id) => Named::Id(id),
                None => Named::Name {
                    name: need("username")?,
                    domain: domain("user"),
                },
            };
            Ok(Method::Password {
                user,
                password: Sensitive::new(need("password")?),
                project: project()?,
            })
        }
        "v3applicationcredential" => Ok(Method::ApplicationCredential {
            id: need("application_credential_id")?,
            secret: Sensitive::new(need("application_credential_secret")?),
        }),
        "token" | "v3token" => Ok(Method::Token {
            token: Sensitive::new(need("token")?),
            project: project()?,
        }),
        other => Err(incomplete(
            source,
            &format!(
                "auth_type `{other}` is not supported (password, v3applicationcredential, v3token)"
            ),
        )),
    }
}

fn named(n: &Named) -> Value {
    let domain = |d: &Domain| match d {
        Domain::Id(id) => json!({"id": id}),
        Domain::Name(name) => json!({"name": name}),
    };
    match n {
        Named::Id(id) => json!({"id": id}),
        Named::Name { name, domain: d } => json!({"name": name, "domain": domain(d)}),
    }
}

/// The body of `POST {auth_url}/v3/auth/tokens` (reference §8). Holds the secret: never log it.
pub fn token_request(method: &Method) -> Value {
    match method {
        Method::Password {
            user,
            password,
            project,
        } => {
            let mut u = named(user);
            u["password"] = json!(password.expose());
            json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": u}},
                "scope": {"project": named(project)},
            }})
        }
        Method::ApplicationCredential { id, secret } => json!({"auth": {
            "identity": {"methods": ["application_credential"],
                         "application_credential": {"id": id, "secret": secret.expose()}},
        }}),
        Method::Token { token, project } => json!({"auth": {
            "identity": {"methods": ["token"], "token": {"id": token.expose()}},
            "scope": {"project": named(project)},
        }}),
    }
}
