//! Connecting to the cloud and reading what the cluster already has there: one Keystone
//! token, the endpoints from its catalog, and the inventory of the cluster's objects (found
//! by tag, and by the description marker for Neutron objects whose tagging was interrupted).

use super::UpError;
use super::design;
use crate::providers::openstack::api::{Api, Endpoints, Purpose};
use crate::providers::openstack::auth::{self, Origin, Selection};
use crate::providers::openstack::neutron::{self, Filter, FloatingIp, Port, SecurityGroup};
use crate::providers::openstack::nova::{self, Server, ServerGroup};
use crate::providers::openstack::{catalog, keystone};
use std::collections::BTreeMap;
use std::path::Path;

pub struct Connection {
    pub api: Api,
    pub project_id: String,
    /// Where the credentials came from, for messages.
    pub source: String,
}

/// The spec field that names the clouds.yaml entry, for messages.
const SPEC_FIELD: &str = "cloud.openstack.cloud";

/// Which clouds.yaml entry, and who named it: `--cloud`, else `OS_CLOUD`, else the `OS_*`
/// variables (`None`) when `OS_AUTH_URL` is set, else the spec's `cloud.openstack.cloud`.
pub fn choose_cloud(
    flag: Option<&str>,
    spec_cloud: &str,
    spec_file: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<Selection> {
    let selection = |name: String, origin| Selection { name, origin };
    flag.map(Selection::from)
        .or_else(|| env("OS_CLOUD").map(|name| selection(name, Origin::OsCloud)))
        .or_else(|| {
            env("OS_AUTH_URL").is_none().then(|| {
                let origin = Origin::Field {
                    file: spec_file.display().to_string(),
                    field: SPEC_FIELD.into(),
                };
                selection(spec_cloud.to_string(), origin)
            })
        })
}

/// Authenticate with the selected cloud (a name alone counts as given by `--cloud`), or
/// with the `OS_*` variables when there is none.
pub fn connect(
    cloud: Option<impl Into<Selection>>,
    env: &dyn Fn(&str) -> Option<String>,
    read: &dyn Fn(&Path) -> Option<String>,
    cwd: &Path,
) -> Result<Connection, UpError> {
    let cloud = auth::resolve_selected(cloud.map(Into::into), env, read, cwd)?;
    let http = keystone::http_client(&cloud)?;
    let session = keystone::authenticate(&http, &cloud)?;
    let region = cloud.region.as_deref();
    let endpoint =
        |service: &str| catalog::endpoint(&session.catalog, service, region, &cloud.interface);
    let endpoints = Endpoints::new(
        endpoint("compute")?,
        endpoint("network")?,
        endpoint("image")?,
    );
    Ok(Connection {
        api: Api::new(http, session.token, endpoints),
        project_id: session.project_id.unwrap_or_default(),
        source: cloud.source,
    })
}

/// The cluster's objects in the cloud, by name.
#[derive(Debug, Default)]
pub struct Inventory {
    pub servers: BTreeMap<String, Server>,
    pub ports: BTreeMap<String, Port>,
    pub groups: BTreeMap<String, SecurityGroup>,
    pub server_group: Option<ServerGroup>,
    pub floating_ips: Vec<FloatingIp>,
    /// Objects sharing a name that should be unique (reported, never adopted twice).
    pub duplicates: Vec<String>,
}

fn by_name<T>(
    items: Vec<T>,
    id: impl Fn(&T) -> &str,
    name: impl Fn(&T) -> &str,
    duplicates: &mut Vec<String>,
) -> BTreeMap<String, T> {
    let mut map: BTreeMap<String, T> = BTreeMap::new();
    let mut seen_ids = std::collections::BTreeSet::new();
    for item in items {
        if !seen_ids.insert(id(&item).to_string()) {
            continue;
        }
        let key = name(&item).to_string();
        match map.entry(key) {
            std::collections::btree_map::Entry::Occupied(e) => {
                duplicates.push(format!("{} ({})", e.key(), id(&item)))
            }
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(item);
            }
        }
    }
    map
}

/// Read everything of `cluster`: 8 list calls whatever the cluster's size.
pub fn inventory(api: &Api, cluster: &str, purpose: Purpose) -> Result<Inventory, UpError> {
    let tag = design::cluster_tag(cluster);
    let marker = design::marker(cluster);
    let mut duplicates = Vec::new();
    let servers = nova::servers_tagged(api, &tag, purpose)?;
    let servers = by_name(servers, |s| &s.id, |s| &s.name, &mut duplicates);
    let mut ports = neutron::ports(api, Filter::Tag(&tag))?;
    ports.extend(neutron::ports(api, Filter::Description(&marker))?);
    let ports = by_name(ports, |p| &p.id, |p| &p.name, &mut duplicates);
    let mut groups = neutron::security_groups(api, Filter::Tag(&tag))?;
    groups.extend(neutron::security_groups(api, Filter::Description(&marker))?);
    let groups = by_name(groups, |g| &g.id, |g| &g.name, &mut duplicates);
    let group_name = design::server_group_name(cluster);
    let server_group = nova::server_groups(api)?
        .into_iter()
        .find(|g| g.name == group_name);
    let mut fips = neutron::floating_ips(api, Filter::Tag(&tag))?;
    fips.extend(neutron::floating_ips(api, Filter::Description(&marker))?);
    let mut seen = std::collections::BTreeSet::new();
    fips.retain(|f| seen.insert(f.id.clone()));
    Ok(Inventory {
        servers,
        ports,
        groups,
        server_group,
        floating_ips: fips,
        duplicates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chosen(flag: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> Option<Selection> {
        choose_cloud(flag, "spec", Path::new("c/cluster.yaml"), env)
    }

    #[test]
    fn flag_then_os_cloud_then_os_variables_then_the_spec() {
        let flag = chosen(Some("a"), &|_| Some("env".into())).unwrap();
        assert_eq!((flag.name.as_str(), flag.origin), ("a", Origin::Flag));
        let os_cloud = |k: &str| (k == "OS_CLOUD").then(|| "env".to_string());
        let env = chosen(None, &os_cloud).unwrap();
        assert_eq!((env.name.as_str(), env.origin), ("env", Origin::OsCloud));
        let os_vars = |k: &str| (k == "OS_AUTH_URL").then(|| "https://k:5000".to_string());
        assert_eq!(
            chosen(None, &os_vars),
            None,
            "OS_* variables win over the spec"
        );
        let spec = chosen(None, &|_| None).unwrap();
        assert_eq!(spec.name, "spec");
        assert_eq!(
            spec.origin,
            Origin::Field {
                file: "c/cluster.yaml".into(),
                field: "cloud.openstack.cloud".into()
            }
        );
    }
}
