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

/// How far to follow and how patiently.
#[derive(Debug, Clone, Copy)]
pub struct Watch {
    pub until: Until,
    pub timeout: Duration,
    /// Pause between polls.
    pub interval: Duration,
}

pub fn follow(
    api: &Api,
    plan: &Plan,
    kube: Option<&Kube>,
    watch: Watch,
    report: &dyn Fn(Event),
) -> Result<Followed, ApiError> {
    let deadline = Instant::now() + watch.timeout;
    let tag = design::cluster_tag(&plan.cluster_name);
    let mut seen = Seen::new(plan);
    loop {
        let servers = nova::servers_tagged(api, &tag, Purpose::Poll)?;
        if let Some(reason) = seen.servers(&servers, report) {
            return Ok(seen.failed(reason));
        }
        if watch.until == Until::Active && seen.all_active() {
            return Ok(Followed::Done(seen.snapshot()));
        }
        if let Some(reason) = seen.consoles(api, &servers, report)? {
            return Ok(seen.failed(reason));
        }
        let all_booted = seen.all_booted();
        if watch.until == Until::Booted && all_booted {
            return Ok(Followed::Done(seen.snapshot()));
        }
        if watch.until == Until::Ready
            && all_booted
            && let Some(kube) = kube
            && seen.kubernetes(kube, report)
        {
            return Ok(Followed::Done(seen.snapshot()));
        }
        if Instant::now() >= deadline {
            return Ok(Followed::TimedOut {
                waiting_for: seen.waiting_for().into(),
                nodes: seen.snapshot(),
            });
        }
        std::thread::sleep(
            watch
                .interval
                .min(deadline.saturating_duration_since(Instant::now())),
        );
    }
}

/// What the polls have shown so far, node by node.
struct Seen<'a> {
    plan: &'a Plan,
    status: BTreeMap<String, String>,
    boot: BTreeMap<String, NodeState>,
    ready: BTreeMap<String, bool>,
    api_ready: bool,
}

impl<'a> Seen<'a> {
    fn new(plan: &'a Plan) -> Seen<'a> {
        Seen {
            plan,
            status: BTreeMap::new(),
            boot: plan
                .nodes
                .iter()
                .map(|n| (n.name.clone(), NodeState::Booting))
                .collect(),
            ready: BTreeMap::new(),
            api_ready: false,
        }
    }

    fn snapshot(&self) -> Vec<NodeStatus> {
        self.plan
            .nodes
            .iter()
            .map(|n| NodeStatus {
                node: n.name.clone(),
                server: self
                    .status
                    .get(&n.name)
                    .cloned()
                    .unwrap_or_else(|| "MISSING".into()),
                boot: self.boot[&n.name].clone(),
                kubernetes_ready: self.ready.get(&n.name).copied(),
            })
            .collect()
    }

    fn failed(&self, reason: String) -> Followed {
        Followed::Failed {
            nodes: self.snapshot(),
            reason,
        }
    }

    fn active(&self, node: &str) -> bool {
        self.status.get(node).map(String::as_str) == Some("ACTIVE")
    }

    fn all_active(&self) -> bool {
        self.plan.nodes.iter().all(|n| self.active(&n.name))
    }

    fn all_booted(&self) -> bool {
        self.boot.values().all(NodeState::finished)
    }

    /// Record each server's status; a server in ERROR is the reason to stop.
    fn servers(&mut self, servers: &[nova::Server], report: &dyn Fn(Event)) -> Option<String> {
        for node in &self.plan.nodes {
            let Some(s) = servers.iter().find(|s| s.name == node.name) else {
                continue;
            };
            if self.status.get(&node.name) != Some(&s.status) {
                report(Event::Status {
                    node: node.name.clone(),
                    status: s.status.clone(),
                });
                self.status.insert(node.name.clone(), s.status.clone());
            }
            if s.status == "ERROR" {
                let fault = s
                    .fault
                    .as_ref()
                    .map(|f| f.message.clone())
                    .unwrap_or_else(|| "no fault message".into());
                return Some(format!("server {} is in ERROR: {fault}", node.name));
            }
        }
        None
    }

    /// Read the console logs of active nodes still booting; a failed step is the reason to
    /// stop.
    fn consoles(
        &mut self,
        api: &Api,
        servers: &[nova::Server],
        report: &dyn Fn(Event),
    ) -> Result<Option<String>, ApiError> {
        for node in &self.plan.nodes {
            if !self.active(&node.name) || self.boot[&node.name].finished() {
                continue;
            }
            let Some(s) = servers.iter().find(|s| s.name == node.name) else {
                continue;
            };
            let console = nova::console_log(api, &s.id, CONSOLE_LINES)?;
            let now = progress::state(&console, &node.name);
            let before = &self.boot[&node.name];
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
                self.boot.insert(node.name.clone(), now.clone());
            }
            if let NodeState::Failed(line) = &now {
                let (step, detail) = (&line.step, &line.detail);
                return Ok(Some(format!(
                    "{} failed at step {step}: {detail}",
                    node.name
                )));
            }
        }
        Ok(None)
    }

    /// `/readyz`, then every node Ready; whether all are.
    fn kubernetes(&mut self, kube: &Kube, report: &dyn Fn(Event)) -> bool {
        if !self.api_ready && kube.readyz().is_ok() {
            self.api_ready = true;
            report(Event::Note("the API server answers /readyz: ok".into()));
        }
        let Some(nodes) = self.api_ready.then(|| kube.nodes().ok()).flatten() else {
            return false;
        };
        for n in nodes {
            if self.ready.get(&n.name) != Some(&n.ready) && n.ready {
                report(Event::NodeReady {
                    node: n.name.clone(),
                });
            }
            self.ready.insert(n.name, n.ready);
        }
        let ready = &self.ready;
        self.plan
            .nodes
            .iter()
            .all(|n| ready.get(&n.name) == Some(&true))
    }

    fn waiting_for(&self) -> &'static str {
        if !self.all_active() {
            "servers to become ACTIVE"
        } else if !self.all_booted() {
            "boot scripts to finish"
        } else if !self.api_ready {
            "the API server's /readyz"
        } else {
            "every node to be Ready"
        }
    }
}
