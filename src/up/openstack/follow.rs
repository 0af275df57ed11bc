//! After the creates, `up` only polls: server status (ERROR ends it with Nova's fault
//! message), then each node's console log for the boot script's progress lines (a `failed`
//! line ends it with its detail), then `/readyz` and every node Ready through the Kubernetes
//! API. On the deadline it returns a per-node diagnosis instead of hanging.

use super::design;
use super::{Event, Until};
use crate::plan::Plan;
use crate::providers::openstack::api::{Api, ApiError, Purpose};
use crate::providers::openstack::nova;
use crate::up::kube::Kube;
use crate::up::progress::{self, NodeState};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Where one node ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    pub node: String,
    pub server: String,
    pub boot: NodeState,
    pub kubernetes_ready: Option<bool>,
}

#[derive(Debug)]
pub enum Followed {
    /// Everything reached `until`.
    Done(Vec<NodeStatus>),
    /// A server went ERROR or a boot step failed: stop at once.
    Failed {
        nodes: Vec<NodeStatus>,
        reason: String,
    },
    TimedOut {
        nodes: Vec<NodeStatus>,
        waiting_for: String,
    },
}

/// Lines of console log read per poll: enough to hold the last progress line among
/// cloud-init's own output.
pub const CONSOLE_LINES: u32 = 400;

pub fn follow(
    api: &Api,
    plan: &Plan,
    kube: Option<&Kube>,
    until: Until,
    timeout: Duration,
    interval: Duration,
    report: &dyn Fn(Event),
) -> Result<Followed, ApiError> {
    let deadline = Instant::now() + timeout;
    let tag = design::cluster_tag(&plan.cluster_name);
    let mut boot: BTreeMap<String, NodeState> = plan
        .nodes
        .iter()
        .map(|n| (n.name.clone(), NodeState::Booting))
        .collect();
    let mut status: BTreeMap<String, String> = BTreeMap::new();
    let mut ready: BTreeMap<String, bool> = BTreeMap::new();
    let mut api_ready = false;
    let snapshot = |status: &BTreeMap<String, String>,
                    boot: &BTreeMap<String, NodeState>,
                    ready: &BTreeMap<String, bool>| {
        plan.nodes
            .iter()
            .map(|n| NodeStatus {
                node: n.name.clone(),
                server: status
                    .get(&n.name)
                    .cloned()
                    .unwrap_or_else(|| "MISSING".into()),
                boot: boot[&n.name].clone(),
                kubernetes_ready: ready.get(&n.name).copied(),
            })
            .collect::<Vec<_>>()
    };
    loop {
        let servers = nova::servers_tagged(api, &tag, Purpose::Poll)?;
        for node in &plan.nodes {
            let Some(s) = servers.iter().find(|s| s.name == node.name) else {
                continue;
            };
            if status.get(&node.name) != Some(&s.status) {
                report(Event::Status {
                    node: node.name.clone(),
                    status: s.status.clone(),
                });
                status.insert(node.name.clone(), s.status.clone());
            }
            if s.status == "ERROR" {
                let fault = s
                    .fault
                    .as_ref()
                    .map(|f| f.message.clone())
                    .unwrap_or_else(|| "no fault message".into());
                return Ok(Followed::Failed {
                    reason: format!("server {} is in ERROR: {fault}", node.name),
                    nodes: snapshot(&status, &boot, &ready),
                });
            }
        }
        let all_active = plan
            .nodes
            .iter()
            .all(|n| status.get(&n.name).map(String::as_str) == Some("ACTIVE"));
        if until == Until::Active && all_active {
            return Ok(Followed::Done(snapshot(&status, &boot, &ready)));
        }
        // Console logs of active nodes still booting.
        for node in &plan.nodes {
            if status.get(&node.name).map(String::as_str) != Some("ACTIVE")
                || boot[&node.name].finished()
            {
                continue;
            }
            let Some(s) = servers.iter().find(|s| s.name == node.name) else {
                continue;
            };
            let console = nova::console_log(api, &s.id, CONSOLE_LINES)?;
            let now = progress::state(&console, &node.name);
            let before = &boot[&node.name];
            // The log is read from its tail: never step back because old lines scrolled off.
            let advanced = match (&now, before) {
                (NodeState::Booting, _) => false,
                (NodeState::Running(a), NodeState::Running(b)) => a.index > b.index,
                _ => now != *before,
            };
            if advanced {
                report(Event::Boot {
                    node: node.name.clone(),
                    state: now.clone(),
                });
                boot.insert(node.name.clone(), now.clone());
            }
            if let NodeState::Failed(line) = &now {
                return Ok(Followed::Failed {
                    reason: format!(
                        "{} failed at step {}: {}",
                        node.name, line.step, line.detail
                    ),
                    nodes: snapshot(&status, &boot, &ready),
                });
            }
        }
        let all_booted = boot.values().all(NodeState::finished);
        if until == Until::Booted && all_booted {
            return Ok(Followed::Done(snapshot(&status, &boot, &ready)));
        }
        if until == Until::Ready
            && all_booted
            && let Some(kube) = kube
        {
            if !api_ready && kube.readyz().is_ok() {
                api_ready = true;
                report(Event::Note("the API server answers /readyz: ok".into()));
            }
            if api_ready && let Ok(nodes) = kube.nodes() {
                for n in nodes {
                    if ready.get(&n.name) != Some(&n.ready) && n.ready {
                        report(Event::NodeReady {
                            node: n.name.clone(),
                        });
                    }
                    ready.insert(n.name, n.ready);
                }
                if plan.nodes.iter().all(|n| ready.get(&n.name) == Some(&true)) {
                    return Ok(Followed::Done(snapshot(&status, &boot, &ready)));
                }
            }
        }
        if Instant::now() >= deadline {
            let waiting_for = if !all_active {
                "servers to become ACTIVE"
            } else if !all_booted {
                "boot scripts to finish"
            } else if !api_ready {
                "the API server's /readyz"
            } else {
                "every node to be Ready"
            };
            return Ok(Followed::TimedOut {
                nodes: snapshot(&status, &boot, &ready),
                waiting_for: waiting_for.into(),
            });
        }
        std::thread::sleep(interval.min(deadline.saturating_duration_since(Instant::now())));
    }
}
