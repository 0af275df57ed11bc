//! Reads the boot script's console progress lines (DESIGN: on-node contract):
//! `k8sgen: node=<name> step=<i>/<n> <step> <ok|failed> elapsed=<s>s [detail]`, plus the
//! `stopped after <step>` line of `bootstrap.stopAfter`. The same parser serves every provider:
//! qemu's console file here, Nova's console log for OpenStack.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressLine {
    pub node: String,
    pub index: u32,
    pub total: u32,
    pub step: String,
    pub ok: bool,
    pub elapsed_s: u64,
    pub detail: String,
}

/// Where a node's boot stands, from everything its console has shown so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeState {
    /// No progress line yet (still booting, or cloud-init has not started the unit).
    Booting,
    Running(ProgressLine),
    /// A step failed, and systemd will run the script again (`run=<n>/<max>` with n < max).
    Retrying(ProgressLine),
    /// The final `done ok` line.
    Done,
    /// `bootstrap.stopAfter` stopped the script after this step.
    Stopped(String),
    Failed(ProgressLine),
}

/// Where the boot stands, in the words `status` and `up` print.
impl std::fmt::Display for NodeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeState::Booting => f.write_str("no progress line yet"),
            NodeState::Running(p) => write!(
                f,
                "step {}/{} {} ok after {}s",
                p.index, p.total, p.step, p.elapsed_s
            ),
            NodeState::Retrying(p) => {
                write!(
                    f,
                    "step {} failed, run again by systemd: {}",
                    p.step, p.detail
                )
            }
            NodeState::Done => f.write_str("boot done"),
            NodeState::Stopped(step) => write!(f, "stopped after {step}"),
            NodeState::Failed(p) => write!(f, "FAILED at {}: {}", p.step, p.detail),
        }
    }
}

impl NodeState {
    pub fn finished(&self) -> bool {
        matches!(
            self,
            NodeState::Done | NodeState::Stopped(_) | NodeState::Failed(_)
        )
    }
}

/// Parse one console line; anything that is not a progress line gives `None`.
pub fn parse_line(line: &str) -> Option<ProgressLine> {
    let rest = &line[line.find("k8sgen: node=")? + "k8sgen: node=".len()..];
    let mut words = rest.split_whitespace();
    let node = words.next()?.to_string();
    let (index, total) = words.next()?.strip_prefix("step=")?.split_once('/')?;
    let step = words.next()?.to_string();
    let ok = match words.next()? {
        "ok" => true,
        "failed" => false,
        _ => return None,
    };
    let elapsed_s = words
        .next()?
        .strip_prefix("elapsed=")?
        .strip_suffix('s')?
        .parse()
        .ok()?;
    Some(ProgressLine {
        node,
        index: index.parse().ok()?,
        total: total.parse().ok()?,
        step,
        ok,
        elapsed_s,
        detail: words.collect::<Vec<_>>().join(" "),
    })
}

/// Every progress line of `node` in a console text, in order.
pub fn lines_for<'a>(console: &'a str, node: &'a str) -> impl Iterator<Item = ProgressLine> + 'a {
    console
        .lines()
        .filter_map(parse_line)
        .filter(move |p| p.node == node)
}

/// A failed line from a run that is not the last (`run=1/3`): systemd restarts the script.
fn will_run_again(p: &ProgressLine) -> bool {
    p.detail
        .split_whitespace()
        .find_map(|w| w.strip_prefix("run="))
        .and_then(|r| r.split_once('/'))
        .and_then(|(n, max)| Some((n.parse::<u32>().ok()?, max.parse::<u32>().ok()?)))
        .is_some_and(|(n, max)| n < max)
}

/// The state of `node` after reading its whole console text.
pub fn state(console: &str, node: &str) -> NodeState {
    let stop_marker = format!("k8sgen: node={node} stopped after ");
    let mut state = NodeState::Booting;
    for line in console.lines() {
        if let Some(at) = line.find(&stop_marker) {
            let step = line[at + stop_marker.len()..]
                .split_whitespace()
                .next()
                .unwrap_or("");
            state = NodeState::Stopped(step.to_string());
            continue;
        }
        if let Some(p) = parse_line(line).filter(|p| p.node == node) {
            state = if !p.ok && will_run_again(&p) {
                NodeState::Retrying(p)
            } else if !p.ok {
                NodeState::Failed(p)
            } else if p.step == "done" {
                NodeState::Done
            } else {
                NodeState::Running(p)
            };
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONSOLE: &str = "\
[   12.3] cloud-init[301]: Cloud-init v. 22.4.2 running 'modules:final'
k8sgen: node=demo-cp-0 step=1/9 host-prep ok elapsed=3s
noise k8sgen: node=demo-cp-1 step=1/9 host-prep ok elapsed=4s
k8sgen: node=demo-cp-0 step=2/9 admin-network ok elapsed=9s dev=enp0s2 address=10.0.2.15/24 default-route=no
k8sgen: node=demo-cp-0 step=5/9 etcd ok elapsed=212s
k8sgen: node=demo-cp-0 stopped after etcd (bootstrap.stopAfter)
";

    #[test]
    fn parses_progress_lines_with_details() {
        let lines: Vec<_> = lines_for(CONSOLE, "demo-cp-0").collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1].step, "admin-network");
        assert_eq!(
            lines[1].detail,
            "dev=enp0s2 address=10.0.2.15/24 default-route=no"
        );
        assert_eq!(
            (lines[2].index, lines[2].total, lines[2].elapsed_s),
            (5, 9, 212)
        );
        assert!(parse_line("k8sgen: node=x step=1/2 host-prep maybe elapsed=1s").is_none());
    }

    #[test]
    fn states() {
        assert_eq!(
            state(CONSOLE, "demo-cp-0"),
            NodeState::Stopped("etcd".into())
        );
        assert!(matches!(state(CONSOLE, "demo-cp-1"), NodeState::Running(_)));
        assert_eq!(state(CONSOLE, "demo-cp-2"), NodeState::Booting);
        let failed = "k8sgen: node=w step=6/7 join failed elapsed=90s attempts=2 log=/var/log/k8sgen/bootstrap.log";
        assert!(
            matches!(state(failed, "w"), NodeState::Failed(p) if p.detail.starts_with("attempts=2"))
        );
        assert_eq!(
            state("k8sgen: node=w step=7/7 done ok elapsed=300s", "w"),
            NodeState::Done
        );
        // systemd runs a failed script again: only the last run's failure is final.
        let first = "k8sgen: node=w step=6/7 join failed elapsed=90s run=1/3 attempts=2 log=x";
        assert!(matches!(state(first, "w"), NodeState::Retrying(_)));
        assert!(!state(first, "w").finished());
        let recovered = format!("{first}\nk8sgen: node=w step=6/7 join ok elapsed=400s");
        assert!(matches!(state(&recovered, "w"), NodeState::Running(_)));
        let last = "k8sgen: node=w step=6/7 join failed elapsed=900s run=3/3 attempts=2 log=x";
        assert!(matches!(state(last, "w"), NodeState::Failed(_)));
    }
}
