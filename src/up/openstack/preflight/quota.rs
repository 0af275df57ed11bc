//! Pre-flight's quota sums: how many objects `up` still has to create (the plan against the
//! inventory) and whether Nova's, Neutron's and (for root volumes) Cinder's quotas leave room
//! for them. Pure arithmetic over answers already fetched; it must not call the cloud itself.

use super::Problem;
use crate::plan::Plan;
use crate::providers::openstack::api::ApiError;
use crate::providers::openstack::neutron::QuotaUse;
use crate::providers::openstack::nova;
use crate::spec::RootVolume;
use crate::up::openstack::cloud::Inventory;
use crate::up::openstack::design::{self, Group};
use std::collections::BTreeMap;

const RAISE: &str = "raise the project's quota or make the cluster smaller";

/// The egress rules Neutron gives every new security group.
const NEW_GROUP_EGRESS_RULES: i64 = 2;

/// Numbers of objects `up` still has to create.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    pub servers: i64,
    pub cores: i64,
    pub ram_mb: i64,
    pub ports: i64,
    pub security_groups: i64,
    pub security_group_rules: i64,
    pub server_groups: i64,
    pub floating_ips: i64,
    /// Root volumes Nova will make with the new servers, and their GiB.
    pub volumes: i64,
    pub volume_gb: i64,
}

/// What is missing compared with the inventory.
pub fn needs(
    plan: &Plan,
    inventory: &Inventory,
    flavors: &BTreeMap<String, nova::Flavor>,
) -> Needs {
    let mut n = Needs::default();
    let cluster = &plan.cluster_name;
    for node in &plan.nodes {
        if !inventory.servers.contains_key(&node.name) {
            n.servers += 1;
            if let Some(f) = flavors.get(&node.flavor) {
                n.cores += i64::from(f.vcpus);
                n.ram_mb += f.ram as i64;
            }
            if let Some(volume) = &plan.openstack.servers.root_volume {
                n.volumes += 1;
                n.volume_gb += i64::from(volume.size);
            }
        }
        for nic in design::nics(plan) {
            if !inventory
                .ports
                .contains_key(&design::port_name(&node.name, nic))
            {
                n.ports += 1;
            }
        }
    }
    for group in Group::ALL {
        if !inventory.groups.contains_key(&group.name(cluster)) {
            n.security_groups += 1;
            // Neutron adds an egress rule per ethertype (IPv4, IPv6) to every new group and
            // checks them against `security_group_rule` like ours
            // (neutron/db/securitygroups_db.py:107-132, Zed).
            n.security_group_rules += NEW_GROUP_EGRESS_RULES
                + design::rules(plan, group)
                    .iter()
                    .filter(|r| r.ingress)
                    .count() as i64;
        }
    }
    n.server_groups = i64::from(inventory.server_group.is_none());
    n.floating_ips = i64::from(plan.openstack.api_floating_ip && inventory.floating_ips.is_empty());
    n
}

/// Nova's absolute limits (`GET /limits`) against what is needed; a negative maximum is
/// unlimited.
pub fn nova_room(limits: &BTreeMap<String, i64>, need: &Needs) -> Vec<Problem> {
    let room = |max: &str, used: &str| -> Option<i64> {
        let max = *limits.get(max)?;
        (max >= 0).then(|| max - limits.get(used).copied().unwrap_or(0))
    };
    [
        (
            "instances",
            need.servers,
            "maxTotalInstances",
            "totalInstancesUsed",
        ),
        ("cores", need.cores, "maxTotalCores", "totalCoresUsed"),
        ("RAM (MB)", need.ram_mb, "maxTotalRAMSize", "totalRAMUsed"),
        (
            "server groups",
            need.server_groups,
            "maxServerGroups",
            "totalServerGroupsUsed",
        ),
    ]
    .into_iter()
    .filter_map(|(what, need, max, used)| {
        let left = room(max, used)?;
        (need > left).then(|| {
            Problem::new(
                format!("Nova quota: {need} more {what} needed, {left} left"),
                RAISE,
            )
        })
    })
    .collect()
}

/// Neutron's quota details against what is needed. A cloud that answers but refuses (its
/// policy, or no `quota_details` extension) is a problem: `up` would otherwise create ports
/// and groups blind to the quota and fail half-way. A cloud that keeps failing is an error.
pub fn neutron_room(
    quota: Result<BTreeMap<String, QuotaUse>, ApiError>,
    need: &Needs,
) -> Result<Vec<Problem>, ApiError> {
    let quota = match readable_quota(quota, "Neutron", "its quota details")? {
        Ok(quota) => quota,
        Err(problem) => return Ok(vec![problem]),
    };
    Ok(shortfalls(
        "Neutron",
        &quota,
        [
            ("port", need.ports),
            ("security_group", need.security_groups),
            ("security_group_rule", need.security_group_rules),
            ("floatingip", need.floating_ips),
        ]
        .map(|(what, need)| (what.to_string(), need)),
    ))
}

/// Cinder's quotas (`os-quota-sets` with usage) against the root volumes still to make: the
/// project's `volumes` and `gigabytes`, the same per volume type when the spec names one and
/// the cloud keeps them, and `per_volume_gigabytes`. Refusals and failures as in
/// `neutron_room`.
pub fn cinder_room(
    quota: Result<BTreeMap<String, QuotaUse>, ApiError>,
    need: &Needs,
    volume: &RootVolume,
) -> Result<Vec<Problem>, ApiError> {
    let quota = match readable_quota(quota, "Cinder", "its volume quotas")? {
        Ok(quota) => quota,
        Err(problem) => return Ok(vec![problem]),
    };
    let mut wanted = vec![
        ("volumes".to_string(), need.volumes),
        ("gigabytes".to_string(), need.volume_gb),
    ];
    if let Some(t) = &volume.volume_type {
        wanted.push((format!("volumes_{t}"), need.volumes));
        wanted.push((format!("gigabytes_{t}"), need.volume_gb));
    }
    let mut problems = shortfalls("Cinder", &quota, wanted);
    let per_volume = quota.get("per_volume_gigabytes").map_or(-1, |q| q.limit);
    if per_volume >= 0 && i64::from(volume.size) > per_volume {
        problems.push(Problem::new(
            format!(
                "Cinder allows volumes of at most {per_volume} GiB (per_volume_gigabytes); cloud.openstack.servers.rootVolume.size is {}",
                volume.size
            ),
            "make the root volume smaller or ask for a larger per-volume quota",
        ));
    }
    Ok(problems)
}

/// A quota answer sorted three ways: readable (the quotas), refused by the cloud's policy or
/// missing an extension (a problem: `up` would otherwise create things blind to the quota
/// and fail half-way), or failing for now (an error that stops pre-flight).
fn readable_quota(
    quota: Result<BTreeMap<String, QuotaUse>, ApiError>,
    service: &str,
    what: &str,
) -> Result<Result<BTreeMap<String, QuotaUse>, Problem>, ApiError> {
    match quota {
        Ok(quota) => Ok(Ok(quota)),
        Err(e) if e.transient() => Err(e),
        Err(e) => Ok(Err(Problem::new(
            format!("{service} did not tell the project's quotas: {e}"),
            format!(
                "ask the cloud's operators to let the project read {what} \
                 (`openstack quota show --usage`); up checks them before creating anything"
            ),
        ))),
    }
}

/// One problem per named quota with less room left (limit − used − reserved) than needed;
/// unlimited (negative) and unknown quotas are skipped.
fn shortfalls(
    service: &str,
    quota: &BTreeMap<String, QuotaUse>,
    wanted: impl IntoIterator<Item = (String, i64)>,
) -> Vec<Problem> {
    wanted
        .into_iter()
        .filter_map(|(what, need)| {
            let q = quota.get(&what).filter(|q| q.limit >= 0)?;
            let left = q.limit - q.used - q.reserved;
            (need > left).then(|| {
                Problem::new(
                    format!("{service} quota: {need} more {what} needed, {left} left"),
                    RAISE,
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16) -> ApiError {
        ApiError::Status {
            method: "GET".into(),
            url: "http://neutron/v2.0/quotas/p/details".into(),
            status,
            message: "Policy doesn't allow get_quota to be performed.".into(),
            kind: None,
            retry_after: None,
        }
    }

    fn need(ports: i64) -> Needs {
        Needs {
            ports,
            ..Needs::default()
        }
    }

    #[test]
    fn a_refused_neutron_quota_read_is_reported_not_dropped() {
        let problems = neutron_room(Err(refused(403)), &need(6)).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .what
                .contains("Neutron did not tell the project's quotas")
                && problems[0].what.contains("answered 403"),
            "{problems:?}"
        );
        assert!(problems[0].hint.contains("quota show --usage"));
    }

    #[test]
    fn a_failing_neutron_stops_preflight_with_its_error() {
        let e = neutron_room(Err(refused(503)), &need(6)).unwrap_err();
        assert_eq!(e.status(), Some(503));
    }

    #[test]
    fn neutron_room_counts_used_and_reserved() {
        let quota = |limit, used, reserved| {
            Ok(BTreeMap::from([(
                "port".to_string(),
                QuotaUse {
                    limit,
                    used,
                    reserved,
                },
            )]))
        };
        assert!(neutron_room(quota(10, 3, 1), &need(6)).unwrap().is_empty());
        let p = neutron_room(quota(10, 4, 1), &need(6)).unwrap();
        assert_eq!(p[0].what, "Neutron quota: 6 more port needed, 5 left");
        assert!(
            neutron_room(quota(-1, 400, 0), &need(6))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn nova_room_ignores_unlimited_and_missing_limits() {
        let limits = BTreeMap::from([
            ("maxTotalInstances".to_string(), 5),
            ("totalInstancesUsed".to_string(), 3),
            ("maxTotalCores".to_string(), -1),
        ]);
        let need = Needs {
            servers: 3,
            cores: 1000,
            ram_mb: 1 << 30,
            ..Needs::default()
        };
        let p = nova_room(&limits, &need);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].what, "Nova quota: 3 more instances needed, 2 left");
    }

    #[test]
    fn new_security_groups_count_their_two_default_egress_rules() {
        let plan = crate::up::openstack::design::tests::plan_of("openstack-ha");
        let ingress: i64 = Group::ALL
            .iter()
            .map(|g| {
                design::rules(&plan, *g)
                    .iter()
                    .filter(|r| r.ingress)
                    .count() as i64
            })
            .sum();
        let n = needs(&plan, &Inventory::default(), &BTreeMap::new());
        assert_eq!(n.security_groups, Group::ALL.len() as i64);
        assert_eq!(
            n.security_group_rules,
            ingress + 2 * Group::ALL.len() as i64
        );
    }

    fn cinder(entries: &[(&str, i64, i64)]) -> Result<BTreeMap<String, QuotaUse>, ApiError> {
        Ok(entries
            .iter()
            .map(|(name, limit, used)| {
                let q = QuotaUse {
                    limit: *limit,
                    used: *used,
                    reserved: 0,
                };
                (name.to_string(), q)
            })
            .collect())
    }

    #[test]
    fn root_volumes_count_against_cinders_volumes_and_gigabytes() {
        let mut plan = crate::up::openstack::design::tests::plan_of("openstack-ha");
        let volume = RootVolume {
            size: 20,
            volume_type: Some("ssd".into()),
            availability_zone: None,
        };
        plan.openstack.servers.root_volume = Some(volume.clone());
        let n = needs(&plan, &Inventory::default(), &BTreeMap::new());
        let servers = plan.nodes.len() as i64;
        assert_eq!((n.volumes, n.volume_gb), (servers, 20 * servers));
        let roomy = cinder(&[("volumes", -1, 0), ("gigabytes", 1000, 0)]);
        assert!(cinder_room(roomy, &n, &volume).unwrap().is_empty());
        let tight = cinder(&[
            ("volumes", 10, 9),
            ("gigabytes", 1000, 990),
            ("gigabytes_ssd", -1, 0),
            ("volumes_ssd", 3, 0),
            ("per_volume_gigabytes", 10, 0),
        ]);
        let p: Vec<String> = cinder_room(tight, &n, &volume)
            .unwrap()
            .into_iter()
            .map(|p| p.what)
            .collect();
        assert_eq!(
            p,
            [
                format!("Cinder quota: {servers} more volumes needed, 1 left"),
                format!("Cinder quota: {} more gigabytes needed, 10 left", 20 * servers),
                format!("Cinder quota: {servers} more volumes_ssd needed, 3 left"),
                "Cinder allows volumes of at most 10 GiB (per_volume_gigabytes); cloud.openstack.servers.rootVolume.size is 20".to_string(),
            ]
        );
        // Without a root volume nothing is needed from Cinder.
        plan.openstack.servers.root_volume = None;
        let n = needs(&plan, &Inventory::default(), &BTreeMap::new());
        assert_eq!((n.volumes, n.volume_gb), (0, 0));
    }

    #[test]
    fn a_refused_cinder_quota_read_is_a_problem_and_a_failing_one_an_error() {
        let volume = RootVolume {
            size: 20,
            volume_type: None,
            availability_zone: None,
        };
        let p = cinder_room(Err(refused(403)), &Needs::default(), &volume).unwrap();
        assert!(
            p[0].what
                .starts_with("Cinder did not tell the project's quotas"),
            "{p:?}"
        );
        let e = cinder_room(Err(refused(503)), &Needs::default(), &volume).unwrap_err();
        assert_eq!(e.status(), Some(503));
    }
}
