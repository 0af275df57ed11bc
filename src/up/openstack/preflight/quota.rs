//! Pre-flight's quota sums: how many objects `up` still has to create (the plan against the
//! inventory) and whether Nova's and Neutron's quotas leave room for them. Pure arithmetic
//! over answers already fetched; it must not call the cloud itself.

use super::Problem;
use crate::plan::Plan;
use crate::providers::openstack::api::ApiError;
use crate::providers::openstack::neutron::QuotaUse;
use crate::providers::openstack::nova;
use crate::up::openstack::cloud::Inventory;
use crate::up::openstack::design::{self, Group};
use std::collections::BTreeMap;

const RAISE: &str = "raise the project's quota or make the cluster smaller";

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
            // Neutron's two default egress rules come with the group for free.
            n.security_group_rules += design::rules(plan, group)
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
    let quota = match quota {
        Ok(quota) => quota,
        Err(e) if e.transient() => return Err(e),
        Err(e) => {
            return Ok(vec![Problem::new(
                format!("Neutron did not tell the project's quotas: {e}"),
                "ask the cloud's operators to let the project read its quota details \
                 (`openstack quota show --usage`); up checks them before creating anything",
            )]);
        }
    };
    Ok([
        ("port", need.ports),
        ("security_group", need.security_groups),
        ("security_group_rule", need.security_group_rules),
        ("floatingip", need.floating_ips),
    ]
    .into_iter()
    .filter_map(|(what, need)| {
        let q = quota.get(what).filter(|q| q.limit >= 0)?;
        let left = q.limit - q.used - q.reserved;
        (need > left).then(|| {
            Problem::new(
                format!("Neutron quota: {need} more {what} needed, {left} left"),
                RAISE,
            )
        })
    })
    .collect())
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
}
