//! Creating the servers that do not exist yet, masters first and one at a time through
//! Nova's scheduler, workers in parallel; each create preceded by a look so a rerun creates
//! only what is missing. Takes user-data as built; never builds it, never touches Neutron.

use super::cloud::Inventory;
use super::design::{self, ServerPlace};
use super::preflight::Resolved;
use super::{Event, UpError};
use crate::plan::{NodePlan, Plan};
use crate::providers::openstack::api::{Api, ApiError, Purpose, converge};
use crate::providers::openstack::nova;
use crate::up::pool::parallel;
use std::collections::BTreeMap;

/// Where the servers go: the plan, the cloud's IDs for its names, the masters' server
/// group and the ports already made.
pub struct Placement<'a> {
    pub plan: &'a Plan,
    pub resolved: &'a Resolved,
    pub server_group_id: &'a str,
    pub inventory: &'a Inventory,
}

/// Create the servers that do not exist yet, at most `concurrency` at a time. A create that
/// fails transiently is retried only after listing the cluster's servers again.
pub fn servers(
    api: &Api,
    placement: &Placement,
    user_data: &BTreeMap<String, Vec<u8>>,
    concurrency: usize,
    report: &(dyn Fn(Event) + Sync),
) -> Result<(BTreeMap<String, String>, usize), UpError> {
    let plan = placement.plan;
    let tag = design::cluster_tag(&plan.cluster_name);
    // One fresh look just before creating: a create sent by an interrupted run may have
    // landed since the inventory was read.
    // Servers in ERROR are deleted here and created again below, as if missing.
    let found = nova::servers_tagged(api, &tag, Purpose::Converge)?;
    let existing: BTreeMap<String, String> = super::errored::replace(api, found, report)?
        .into_iter()
        .map(|s| (s.name, s.id))
        .collect();
    // Masters first: each waits for the scheduler to place the one before it (below).
    let mut missing: Vec<&NodePlan> = plan
        .nodes
        .iter()
        .filter(|n| !existing.contains_key(&n.name))
        .collect();
    missing.sort_by_key(|n| !n.role.is_master());
    let master_gate = std::sync::Mutex::new(());
    report(Event::ServersToCreate {
        total: missing.len(),
    });
    let results = parallel(&missing, concurrency, |node| {
        // Group members scheduled at the same moment can both pick a host, fail Nova's
        // late anti-affinity check and run out of retries; one at a time they cannot.
        let _gate = node
            .role
            .is_master()
            .then(|| master_gate.lock().expect("gate"));
        let id = create_server(api, placement, node, &user_data[&node.name])?;
        if node.role.is_master() && !wait_placed(api, &id)? {
            report(Event::Note(format!(
                "Nova has not placed {} after {} s; the next master is sent anyway and \
                 may be refused by the anti-affinity check",
                node.name,
                PLACE_WAIT.as_secs()
            )));
        }
        report(Event::ServerCreated {
            node: node.name.clone(),
        });
        Ok::<_, ApiError>((node.name.clone(), id))
    });
    let created = results.len();
    let mut ids = existing;
    for r in results {
        let (name, id) = r?;
        ids.insert(name, id);
    }
    Ok((ids, created))
}

/// Create `node`'s server unless a look after a failed create finds it; its ID.
fn create_server(
    api: &Api,
    placement: &Placement,
    node: &NodePlan,
    user_data: &[u8],
) -> Result<String, ApiError> {
    let Placement {
        plan,
        resolved,
        server_group_id,
        inventory,
    } = *placement;
    let port_ids: Vec<String> = design::nics(plan)
        .into_iter()
        .map(|nic| {
            inventory.ports[&design::port_name(&node.name, nic)]
                .id
                .clone()
        })
        .collect();
    let place = ServerPlace {
        image_id: &resolved.image_id,
        flavor_id: &resolved.flavor_ids[&node.flavor],
        port_ids,
        server_group_id: Some(server_group_id),
    };
    let (request, group) = design::server_request(plan, node, &place, user_data);
    let tag = design::cluster_tag(&plan.cluster_name);
    // The first look is the list `servers` made; only after a failed create look again.
    let first_look = std::cell::Cell::new(true);
    let (id, _) = converge(
        &api.retry,
        || {
            if first_look.replace(false) {
                return Ok(None);
            }
            Ok(nova::servers_tagged(api, &tag, Purpose::Converge)?
                .into_iter()
                .find(|s| s.name == node.name)
                .map(|s| s.id))
        },
        || nova::create_server(api, &request, group),
    )?;
    Ok(id)
}

/// How long a master may stay in Nova's scheduler before the next one is sent anyway.
const PLACE_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Wait until Nova has placed a server on a host: it left the `scheduling` task state, or
/// the BUILD status altogether. `false` when it still was not placed at `PLACE_WAIT`.
fn wait_placed(api: &Api, id: &str) -> Result<bool, ApiError> {
    let placed = || -> Result<bool, ApiError> {
        let s = nova::server(api, id, Purpose::Poll)?;
        let scheduling = s.task_state.as_deref().is_none_or(|t| t == "scheduling");
        Ok(s.status != "BUILD" || !scheduling)
    };
    poll_until(PLACE_WAIT, std::time::Duration::from_millis(500), placed)
}

/// Ask `done` every `interval` until it says yes (`true`) or `wait` has passed (`false`).
fn poll_until<E>(
    wait: std::time::Duration,
    interval: std::time::Duration,
    mut done: impl FnMut() -> Result<bool, E>,
) -> Result<bool, E> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        if done()? {
            return Ok(true);
        }
        if std::time::Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn polling_says_when_its_deadline_passed() {
        let mut asked = 0;
        let never = poll_until(Duration::from_millis(30), Duration::from_millis(5), || {
            asked += 1;
            Ok::<_, ()>(false)
        });
        assert_eq!(never, Ok(false));
        assert!(asked > 1, "asked {asked} times");
        let mut left = 3;
        let soon = poll_until(Duration::from_secs(60), Duration::from_millis(1), || {
            left -= 1;
            Ok::<_, ()>(left == 0)
        });
        assert_eq!(soon, Ok(true));
        assert_eq!(
            poll_until(Duration::from_secs(60), Duration::ZERO, || Err::<bool, _>(
                "down"
            )),
            Err("down")
        );
    }
}
