//! The credential a configuration names (`auth_type` and the keys clouds.yaml and `OS_*`
//! share) and the Keystone v3 `POST /v3/auth/tokens` body for it (reference §8).

use super::{AuthError, Domain, Method, Named, incomplete};
use crate::providers::openstack::Sensitive;
use serde_json::{Value, json};

/// The method from `auth_type` and the keys clouds.yaml and `OS_*` share (`username`,
/// `project_name`, `application_credential_id`, ...).
pub(super) fn method(
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
