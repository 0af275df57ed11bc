//! The summary `up --provider openstack` prints at the end: one line per node and the
//! outcome, or one JSON document with `--output json`. Pure string building: must not
//! print, and must not decide the exit status (`openstack::not_up` does).

use crate::up::openstack::{self as os, follow::Followed};
use serde_json::json;
use std::fmt::Write;

/// What `up` prints at the end, as text or JSON.
pub struct UpReport<'a> {
    pub cluster: &'a str,
    pub result: &'a os::UpResult,
    pub options: &'a os::UpOptions,
    pub seconds: f64,
}

impl UpReport<'_> {
    /// The nodes, and the outcome as a word and a detail.
    fn outcome(&self) -> (&[os::follow::NodeStatus], &'static str, String) {
        match &self.result.followed {
            Followed::Done(n) => (n, "done", String::new()),
            Followed::Failed { nodes, reason } => (nodes, "failed", reason.clone()),
            Followed::TimedOut { nodes, waiting_for } => (
                nodes,
                "timed-out",
                format!("still waiting for {waiting_for}"),
            ),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        let r = self.result;
        let (nodes, outcome, detail) = self.outcome();
        let (converge_calls, poll_calls) = r.calls;
        json!({
            "cluster": self.cluster,
            "outcome": outcome,
            "detail": detail,
            "createdServers": r.created_servers,
            "surplus": r.surplus,
            "pruned": r.pruned,
            "apiCalls": {"converge": converge_calls, "poll": poll_calls},
            "phases": r.phases.iter().map(|(p, s)| json!({"phase": p, "seconds": s})).collect::<Vec<_>>(),
            "seconds": self.seconds,
            "kubeconfig": self.options.kubeconfig_path,
            "record": self.options.record_path,
            "nodes": nodes.iter().map(|n| json!({
                "name": n.node, "server": n.server, "boot": n.boot.to_string(), "ready": n.kubernetes_ready,
            })).collect::<Vec<_>>(),
        })
    }

    pub fn text(&self) -> String {
        let r = self.result;
        let (nodes, outcome, detail) = self.outcome();
        let (converge_calls, poll_calls) = r.calls;
        let mut s = String::new();
        let width = nodes.iter().map(|n| n.node.len()).max().unwrap_or(4);
        for n in nodes {
            let ready = match n.kubernetes_ready {
                Some(true) => " Ready",
                Some(false) => " NotReady",
                None => "",
            };
            let _ = writeln!(s, "{:<width$}  {:<8} {}{ready}", n.node, n.server, n.boot);
        }
        for name in &r.surplus {
            let _ = writeln!(
                s,
                "{name:<width$}  not in the spec any more: `k8sgen up --prune` drains and deletes it"
            );
        }
        let _ = writeln!(
            s,
            "{outcome}{}{}: {} server(s) created, {converge_calls} API calls to converge, {poll_calls} to poll, {:.1}s; kubeconfig {}",
            if detail.is_empty() { "" } else { " - " },
            detail,
            r.created_servers,
            self.seconds,
            self.options.kubeconfig_path.display()
        );
        s
    }
}
