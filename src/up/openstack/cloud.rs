//! Connecting to the cloud and reading what the cluster already has there: a Keystone
//! token (renewed as the run needs), the endpoints from its catalog (Octavia's and Cinder's
//! optional), and the inventory of the cluster's objects (found by tag, and by the
//! description marker for Neutron objects whose tagging was interrupted).

use super::UpError;
use super::design;
use crate::providers::openstack::api::{Api, Endpoints, Purpose};
use crate::providers::openstack::auth::{self, Origin, Selection};
use crate::providers::openstack::neutron::{self, Filter, FloatingIp, Port, SecurityGroup};
use crate::providers::openstack::nova::{self, Server, ServerGroup};
use crate::providers::openstack::renewal::Tokens;
use crate::providers::openstack::tls::Tls;
use crate::providers::openstack::{catalog, keystone};
use std::collections::BTreeMap;
use std::path::Path;

pub struct Connection {
    pub api: Api,
    pub project_id: String,
    /// Where the credentials came from, for messages.
    pub source: String,
    /// What the caller must tell the operator once (TLS verification turned off).
    pub warnings: Vec<String>,
    /// How `up` reaches the cloud over TLS, for the pre-flight note about OCCM's CA.
    pub tls: Tls,
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
/// with the `OS_*` variables when there is none, and take the endpoints of `region` (the
/// spec's, which OCCM uses too; the client configuration must agree with it).
pub fn connect(
    cloud: Option<impl Into<Selection>>,
    region: &str,
    env: &dyn Fn(&str) -> Option<String>,
    read: &dyn Fn(&Path) -> Option<String>,
    cwd: &Path,
) -> Result<Connection, UpError> {
    let cloud = auth::resolve_selected(cloud.map(Into::into), env, read, cwd)?;
    auth::check_region(&cloud, region)?;
    let http = keystone::http_client(&cloud)?;
    let session = keystone::authenticate(&http, &cloud)?;
    let endpoint = |service: &str| {
        catalog::endpoint(&session.catalog, service, Some(region), &cloud.interface)
    };
    let optional = |types: &[&str]| {
        catalog::optional_endpoint(&session.catalog, types, Some(region), &cloud.interface)
    };
    let endpoints = Endpoints::new(
        endpoint("compute")?,
        endpoint("network")?,
        endpoint("image")?,
    )
    .with_optional(
        optional(&["load-balancer"])?,
        optional(&["block-storage", "volumev3"])?,
    );
    let project_id = session.project_id.clone().unwrap_or_default();
    let tokens = match cloud.method {
        // A token made from a token keeps the first one's expiry (Keystone's token
        // provider): renewing it gains nothing.
        auth::Method::Token { .. } => Tokens::fixed(session.token.clone()),
        _ => {
            let (http, cloud) = (http.clone(), cloud.clone());
            Tokens::renewing(
                &session,
                Box::new(move || keystone::authenticate(&http, &cloud)),
            )
        }
    };
    Ok(Connection {
        api: Api::new(http, tokens, endpoints).in_project(&project_id),
        project_id,
        warnings: cloud.tls.warnings(&cloud.source),
        tls: cloud.tls,
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
    /// Objects that matched but belong to another project than the token's (a Neutron that
    /// ignored the `project_id` filter): reported, never adopted or deleted.
    pub foreign: Vec<String>,
    /// Objects of another cluster of the same name (another CA, so another ID) in this
    /// project: `up` refuses to go on, `down` and `status` leave them alone.
    pub others: Vec<String>,
}

/// Whether an object found by the cluster's name is this cluster's: it carries the ID tag,
/// or (its tagging was interrupted) the description marker, which holds the ID.
pub fn is_this(tags: &[String], description: &str, id_tag: &str, marker: &str) -> bool {
    tags.iter().any(|t| t == id_tag) || description == marker
}

/// Whether `name` is a masters' group of a cluster named `cluster`: `<cluster>-masters`
/// (before IDs) or `<cluster>-masters-<12 hex digits>`.
pub fn is_server_group_of(name: &str, cluster: &str) -> bool {
    match name.strip_prefix(&design::server_group_prefix(cluster)) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('-')
            .is_some_and(|id| id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit())),
        None => false,
    }
}

/// Keep the items of this cluster; the others are described in `others`.
fn keep_this<T>(
    items: Vec<T>,
    what: &str,
    (id_tag, marker): (&str, &str),
    describe: impl Fn(&T) -> (&str, &str, &[String], &str),
    others: &mut Vec<String>,
) -> Vec<T> {
    items
        .into_iter()
        .filter(|item| {
            let (name, id, tags, description) = describe(item);
            let this = is_this(tags, description, id_tag, marker);
            if !this {
                others.push(format!("{what} {name} ({id})"));
            }
            this
        })
        .collect()
}

/// Whether an object of `owner` may be adopted or deleted with a token of `project`. An
/// unknown side (empty) cannot be checked and counts as a match: the list was scoped.
pub fn owned(project: &str, owner: &str) -> bool {
    project.is_empty() || owner.is_empty() || project == owner
}

/// Keep the items `project` owns; the others are described in `foreign`.
fn keep_owned<T>(
    items: Vec<T>,
    project: &str,
    what: &str,
    describe: impl Fn(&T) -> (&str, &str, &str),
    foreign: &mut Vec<String>,
) -> Vec<T> {
    items
        .into_iter()
        .filter(|item| {
            let (name, id, owner) = describe(item);
            let mine = owned(project, owner);
            if !mine {
                foreign.push(format!("{what} {name} ({id}) of project {owner}"));
            }
            mine
        })
        .collect()
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

/// Read everything of the cluster `cluster` with ID `id` (`design::cluster_id`): 8 list
/// calls whatever the cluster's size. Objects are found by the name's tag, so that those of
/// a same-named cluster with another ID are seen (and listed in `others`), and by the
/// marker, which holds the ID.
pub fn inventory(
    api: &Api,
    cluster: &str,
    id: &str,
    purpose: Purpose,
) -> Result<Inventory, UpError> {
    let tag = design::cluster_tag(cluster);
    let marker = design::marker(cluster, id);
    let this = (design::id_tag(id), marker.clone());
    let this = (this.0.as_str(), this.1.as_str());
    let project = api.project_id();
    let mut duplicates = Vec::new();
    let mut foreign = Vec::new();
    let mut others = Vec::new();
    let servers = nova::servers_tagged(api, &tag, purpose)?;
    let servers = keep_this(
        servers,
        "server",
        this,
        |s| (&s.name, &s.id, &s.tags, ""),
        &mut others,
    );
    let servers = by_name(servers, |s| &s.id, |s| &s.name, &mut duplicates);
    let mut ports = neutron::ports(api, Filter::Tag(&tag))?;
    ports.extend(neutron::ports(api, Filter::Description(&marker))?);
    let ports = keep_owned(
        ports,
        project,
        "port",
        |p| (&p.name, &p.id, &p.project_id),
        &mut foreign,
    );
    let ports = keep_this(
        ports,
        "port",
        this,
        |p| (&p.name, &p.id, &p.tags, &p.description),
        &mut others,
    );
    let ports = by_name(ports, |p| &p.id, |p| &p.name, &mut duplicates);
    let mut groups = neutron::security_groups(api, Filter::Tag(&tag))?;
    groups.extend(neutron::security_groups(api, Filter::Description(&marker))?);
    let groups = keep_owned(
        groups,
        project,
        "security group",
        |g| (&g.name, &g.id, &g.project_id),
        &mut foreign,
    );
    let groups = keep_this(
        groups,
        "security group",
        this,
        |g| (&g.name, &g.id, &g.tags, &g.description),
        &mut others,
    );
    let groups = by_name(groups, |g| &g.id, |g| &g.name, &mut duplicates);
    let group_name = design::server_group_name(cluster, id);
    // Nova lists only the token's project's groups unless an admin adds `all_projects`
    // (nova/api/openstack/compute/server_groups.py `index`, Zed lines 162-175), and its
    // servers only the project's unless `all_tenants`: both already scoped.
    let mut server_group = None;
    for g in nova::server_groups(api)? {
        if g.name == group_name {
            server_group = Some(g);
        } else if is_server_group_of(&g.name, cluster) {
            others.push(format!("server group {} ({})", g.name, g.id));
        }
    }
    let mut fips = neutron::floating_ips(api, Filter::Tag(&tag))?;
    fips.extend(neutron::floating_ips(api, Filter::Description(&marker))?);
    let mut seen = std::collections::BTreeSet::new();
    fips.retain(|f| seen.insert(f.id.clone()));
    let fips = keep_owned(
        fips,
        project,
        "floating IP",
        |f| (&f.floating_ip_address, &f.id, &f.project_id),
        &mut foreign,
    );
    let fips = keep_this(
        fips,
        "floating IP",
        this,
        |f| (&f.floating_ip_address, &f.id, &f.tags, &f.description),
        &mut others,
    );
    foreign.dedup();
    others.sort();
    others.dedup();
    Ok(Inventory {
        servers,
        ports,
        groups,
        server_group,
        floating_ips: fips,
        duplicates,
        foreign,
        others,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chosen(flag: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> Option<Selection> {
        choose_cloud(flag, "spec", Path::new("c/cluster.yaml"), env)
    }

    #[test]
    fn only_the_token_project_owns_an_object() {
        assert!(owned("p1", "p1"));
        assert!(!owned("p1", "p2"), "another project's object is never ours");
        // Without a project on either side there is nothing to compare; the list was scoped.
        assert!(owned("", "p2"));
        assert!(owned("p1", ""));
        let mut foreign = Vec::new();
        let kept = keep_owned(
            vec![("a", "1", "p1"), ("a", "2", "p2")],
            "p1",
            "port",
            |t| *t,
            &mut foreign,
        );
        assert_eq!(kept, vec![("a", "1", "p1")]);
        assert_eq!(foreign, vec!["port a (2) of project p2"]);
    }

    #[test]
    fn an_object_is_this_clusters_by_its_id_tag_or_marker() {
        let (id_tag, marker) = ("k8sgen-cluster-id=aaa", "k8sgen cluster demo id aaa");
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(is_this(
            &tags(&["k8sgen-cluster=demo", id_tag]),
            "",
            id_tag,
            marker
        ));
        // Tagging interrupted: the marker alone.
        assert!(is_this(&[], marker, id_tag, marker));
        // Same name, another CA.
        let other = tags(&["k8sgen-cluster=demo", "k8sgen-cluster-id=bbb"]);
        assert!(!is_this(
            &other,
            "k8sgen cluster demo id bbb",
            id_tag,
            marker
        ));
        // Made before IDs: the name alone is not enough.
        assert!(!is_this(
            &tags(&["k8sgen-cluster=demo"]),
            "k8sgen cluster demo",
            id_tag,
            marker
        ));
        let mut others = Vec::new();
        let kept = keep_this(
            vec![("a", "1", tags(&[id_tag])), ("a", "2", other)],
            "port",
            (id_tag, marker),
            |t| (t.0, t.1, &t.2, ""),
            &mut others,
        );
        assert_eq!(kept.len(), 1);
        assert_eq!(others, vec!["port a (2)"]);
    }

    #[test]
    fn server_groups_of_a_cluster_name() {
        assert!(is_server_group_of("demo-masters-0123456789ab", "demo"));
        assert!(is_server_group_of("demo-masters", "demo"));
        assert!(!is_server_group_of("demo-masters-x-masters", "demo"));
        assert!(!is_server_group_of("demo2-masters", "demo"));
        assert!(!is_server_group_of("demo-masters-0123456789ab", "de"));
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
