//! After the creates, `up` only polls: server status (ERROR ends it with Nova's fault
//! message), each node's console log for the boot script's progress lines (a `failed` line
//! ends it with its detail), and `/readyz` and every node Ready through the Kubernetes API.
//! The console log is optional: Nova answers 404, 409 or 501 where the driver has none or is
//! not ready (nova/api/openstack/compute/console_output.py, `expected_errors`), so a read that
//! fails is noted once and never ends `up`, and a node Ready in Kubernetes counts as booted.
//! Console reads are a synchronous RPC to the node's nova-compute each
//! (nova/compute/rpcapi.py, `get_console_output`): short, and slower while nothing changes.
//! On the deadline it returns a per-node diagnosis instead of hanging.

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

/// Lines of console log read when the short tail holds no progress line (and by `status`):
/// enough to hold the last progress line among cloud-init's own output.
pub const CONSOLE_LINES: u32 = 400;

/// Lines of console log read per poll. The state is the last progress line's, so a tail
/// holding one gives what the long read would; a full tail without one is read again long.
pub const CONSOLE_TAIL: u32 = 60;

/// The slowest pace of one node's console reads: the pause doubles from the poll interval
/// up to this while its log shows nothing new, and a failed read waits this long.
const CONSOLE_PAUSE_MAX: Duration = Duration::from_secs(30);

/// The pace of the Kubernetes checks while some node has not booted (its API server is
/// often not up yet, and each check may wait out a connect timeout).
const KUBE_PAUSE: Duration = Duration::from_secs(10);

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
    let mut seen = Seen::new(plan, watch.interval);
    let mut kube_at = Instant::now();
    loop {
        let servers = nova::servers_tagged(api, &tag, Purpose::Poll)?;
        if let Some(reason) = seen.servers(api, &servers, report) {
            return Ok(seen.failed(reason));
        }
        if watch.until == Until::Active && seen.all_active() {
            return Ok(Followed::Done(seen.snapshot()));
        }
        if let Some(reason) = seen.consoles(api, &servers, report) {
            return Ok(seen.failed(reason));
        }
        // Kubernetes on its own, not after the consoles: a node Ready there has booted,
        // whether or not its console log says so.
        if seen.all_active()
            && (watch.until == Until::Ready || !seen.all_booted())
            && let Some(kube) = kube
            && Instant::now() >= kube_at
        {
            let all_ready = seen.kubernetes(kube, report);
            if watch.until == Until::Ready && all_ready {
                return Ok(Followed::Done(seen.snapshot()));
            }
            let pause = if seen.all_booted() {
                watch.interval
            } else {
                KUBE_PAUSE.max(watch.interval)
            };
            kube_at = Instant::now() + pause;
        }
        if watch.until == Until::Booted && seen.all_booted() {
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
    consoles: BTreeMap<String, Console>,
    interval: Duration,
}

/// When to read one node's console log next, and what its failures have shown.
#[derive(Debug, Clone)]
struct Console {
    at: Instant,
    pause: Duration,
    /// A failed read was noted (once per node).
    noted: bool,
    /// 501: the compute driver has no console log; never asked again.
    none: bool,
}

impl<'a> Seen<'a> {
    fn new(plan: &'a Plan, interval: Duration) -> Seen<'a> {
        let now = Instant::now();
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
            consoles: plan
                .nodes
                .iter()
                .map(|n| {
                    let console = Console {
                        at: now,
                        pause: interval,
                        noted: false,
                        none: false,
                    };
                    (n.name.clone(), console)
                })
                .collect(),
            interval,
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
    fn servers(
        &mut self,
        api: &Api,
        servers: &[nova::Server],
        report: &dyn Fn(Event),
    ) -> Option<String> {
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
                let fault = super::errored::fault(api, s, Purpose::Poll);
                return Some(format!(
                    "server {} is in ERROR: {fault}; `k8sgen up` again deletes and recreates it",
                    node.name
                ));
            }
        }
        None
    }

    /// Read the console logs of active nodes still booting, each at its own pace; a failed
    /// step is the reason to stop. A read that fails is noted once and tried again later
    /// (never after a 501).
    fn consoles(
        &mut self,
        api: &Api,
        servers: &[nova::Server],
        report: &dyn Fn(Event),
    ) -> Option<String> {
        for node in &self.plan.nodes {
            if !self.active(&node.name) || self.boot[&node.name].finished() {
                continue;
            }
            let Some(s) = servers.iter().find(|s| s.name == node.name) else {
                continue;
            };
            let Some(console) = self.consoles.get_mut(&node.name) else {
                continue;
            };
            if console.none || Instant::now() < console.at {
                continue;
            }
            let now = match read_state(api, &s.id, &node.name) {
                Ok(now) => now,
                Err(e) => {
                    console.none = e.status() == Some(501);
                    if console.none {
                        report(Event::Note(format!(
                            "no console log for {}: the cloud's compute driver has none; \
                             following it by server status and Node Ready",
                            node.name
                        )));
                    } else if !console.noted {
                        report(Event::Note(format!(
                            "no console log for {} yet ({e}); reading it again every {} s",
                            node.name,
                            CONSOLE_PAUSE_MAX.as_secs()
                        )));
                    }
                    console.noted = true;
                    console.at = Instant::now() + CONSOLE_PAUSE_MAX;
                    continue;
                }
            };
            let before = &self.boot[&node.name];
            // The log is read from its tail: never step back because old lines scrolled off.
            let advanced = match (&now, before) {
                (NodeState::Booting, _) => false,
                (NodeState::Running(a), NodeState::Running(b)) => a.index > b.index,
                _ => now != *before,
            };
            console.pause = if advanced {
                self.interval
            } else {
                (console.pause * 2).clamp(self.interval, CONSOLE_PAUSE_MAX.max(self.interval))
            };
            console.at = Instant::now() + console.pause;
            if advanced {
                report(Event::Boot {
                    node: node.name.clone(),
                    state: now.clone(),
                });
                self.boot.insert(node.name.clone(), now.clone());
            }
            if let NodeState::Failed(line) = &now {
                let (step, detail) = (&line.step, &line.detail);
                return Some(format!("{} failed at step {step}: {detail}", node.name));
            }
        }
        None
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
            // Ready has booted far enough, whatever the console log shows (or lacks).
            if n.ready
                && let Some(boot) = self.boot.get_mut(&n.name)
                && !boot.finished()
            {
                *boot = NodeState::Done;
                report(Event::Boot {
                    node: n.name.clone(),
                    state: NodeState::Done,
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

/// A node's boot state from the tail of its console log, read long only when a full tail
/// holds no progress line: the same state a long read gives, at a fraction of the text.
fn read_state(api: &Api, id: &str, node: &str) -> Result<NodeState, ApiError> {
    let tail = nova::console_log(api, id, CONSOLE_TAIL)?;
    let state = progress::state(&tail, node);
    // Nova keeps the last `length` newline-separated pieces: a log ending in a newline gives
    // one line fewer (nova/compute/manager.py, `_tail_log`).
    if state == NodeState::Booting && tail.lines().count() + 1 >= CONSOLE_TAIL as usize {
        return Ok(progress::state(
            &nova::console_log(api, id, CONSOLE_LINES)?,
            node,
        ));
    }
    Ok(state)
}
