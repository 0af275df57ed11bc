//! `k8sgen up|down|status --provider openstack`: load spec and secrets, connect, run the
//! library, show its events (progress bars on a terminal, plain lines otherwise, one JSON
//! document with `--output json`), and write the secrets back if leaves were issued.

use super::*;
use crate::up::openstack::{self as os, Event, Until, follow::Followed};
use crate::up::progress::NodeState;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

pub struct UpOpenStackArgs {
    pub file: PathBuf,
    pub secrets: Option<PathBuf>,
    pub cloud: Option<String>,
    pub gzip: bool,
    pub concurrency: usize,
    pub until: Until,
    pub timeout: u64,
    pub poll_interval: u64,
    pub prune: bool,
    pub json: bool,
}

fn up_failure(e: os::UpError) -> Failure {
    let hint = e.hint();
    let internal = matches!(e, os::UpError::Api(_) | os::UpError::Compile(_));
    let mut f = if internal {
        Failure::internal(e.to_string())
    } else {
        Failure::user(e.to_string())
    };
    if let os::UpError::Preflight(problems) = &e {
        for p in problems {
            f = f.cause(format!("{} (fix: {})", p.what, p.hint));
        }
        return f
            .hint("fix the cloud or the spec, then run `k8sgen up` again; nothing was created");
    }
    f.hint(hint)
}

fn connect(spec: &crate::spec::ClusterSpec, cloud: Option<&str>) -> Result<os::Connection> {
    let name = os::cloud::choose_cloud(cloud, &spec.cloud.openstack.cloud, &env_lookup);
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    os::connect(
        name.as_deref(),
        &env_lookup,
        &|p: &Path| std::fs::read_to_string(p).ok(),
        &cwd,
    )
    .map_err(up_failure)
}

/// Shows events: bars on a terminal (stderr), plain lines otherwise, nothing with JSON.
struct Display {
    quiet: bool,
    multi: MultiProgress,
    servers: Mutex<Option<ProgressBar>>,
    nodes: Mutex<BTreeMap<String, ProgressBar>>,
    tty: bool,
}

impl Display {
    fn new(quiet: bool) -> Display {
        let tty = std::io::stderr().is_terminal() && !quiet;
        let multi = MultiProgress::with_draw_target(if tty {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Display {
            quiet,
            multi,
            servers: Mutex::new(None),
            nodes: Mutex::new(BTreeMap::new()),
            tty,
        }
    }

    /// Remove the bars before the summary is printed.
    fn finish(&self) {
        if let Some(bar) = self.servers.lock().expect("bar").take() {
            bar.finish_and_clear();
        }
        for bar in self.nodes.lock().expect("bars").values() {
            bar.finish_and_clear();
        }
        let _ = self.multi.clear();
    }

    fn line(&self, text: String) {
        if self.quiet {
            return;
        }
        if self.tty {
            let _ = self.multi.println(text);
        } else {
            eprintln!("{text}");
        }
    }

    fn node_bar(&self, node: &str) -> Option<ProgressBar> {
        if !self.tty {
            return None;
        }
        let mut nodes = self.nodes.lock().expect("bars");
        Some(
            nodes
                .entry(node.to_string())
                .or_insert_with(|| {
                    let bar = self.multi.add(ProgressBar::new(1));
                    bar.set_style(
                        ProgressStyle::with_template("{prefix:<20} [{bar:20}] {pos}/{len} {msg}")
                            .expect("template")
                            .progress_chars("=> "),
                    );
                    bar.set_prefix(node.to_string());
                    bar
                })
                .clone(),
        )
    }

    fn show(&self, event: Event) {
        match event {
            Event::Phase(p) => self.line(format!("== {p}")),
            Event::Created { kind, name } => self.line(format!("created {kind} {name}")),
            Event::Deleted { kind, name } => self.line(format!("deleted {kind} {name}")),
            Event::Note(n) => self.line(format!("note: {n}")),
            Event::ServersToCreate { total } => {
                if total == 0 {
                    self.line("every server exists already".into());
                } else if self.tty {
                    let bar = self.multi.add(ProgressBar::new(total as u64));
                    bar.set_style(
                        ProgressStyle::with_template(
                            "creating servers [{bar:30}] {pos}/{len} {elapsed}",
                        )
                        .expect("template")
                        .progress_chars("=> "),
                    );
                    *self.servers.lock().expect("bar") = Some(bar);
                } else {
                    self.line(format!("creating {total} server(s)"));
                }
            }
            Event::ServerCreated { node } => match &*self.servers.lock().expect("bar") {
                Some(bar) => bar.inc(1),
                None => self.line(format!("created server {node}")),
            },
            Event::Status { node, status } => match self.node_bar(&node) {
                Some(bar) => bar.set_message(status),
                None => self.line(format!("{node}: {status}")),
            },
            Event::Boot { node, state } => {
                let text = state.to_string();
                match (self.node_bar(&node), &state) {
                    (Some(bar), NodeState::Running(p) | NodeState::Failed(p)) => {
                        bar.set_length(u64::from(p.total));
                        bar.set_position(u64::from(p.index));
                        bar.set_message(text);
                    }
                    (Some(bar), _) => {
                        bar.set_position(bar.length().unwrap_or(1));
                        bar.set_message(text);
                    }
                    (None, _) => self.line(format!("{node}: {text}")),
                }
            }
            Event::NodeReady { node } => match self.node_bar(&node) {
                Some(bar) => bar.finish_with_message("Ready"),
                None => self.line(format!("{node}: Ready")),
            },
        }
    }
}

pub fn up_openstack(args: UpOpenStackArgs) -> Result<i32> {
    let spec = load_spec(&args.file.display().to_string(), &read_text(&args.file)?)?;
    let secrets_path = secrets_path_for(&args.file, args.secrets.as_deref());
    let mut bundle = load_secrets(&secrets_path)?;
    let conn = connect(&spec, args.cloud.as_deref())?;
    let dir = args
        .file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let options = os::UpOptions {
        gzip: args.gzip,
        concurrency: args.concurrency.max(1),
        until: args.until,
        timeout: Duration::from_secs(args.timeout),
        poll_interval: Duration::from_secs(args.poll_interval.max(1)),
        prune: args.prune,
        record_path: crate::up::state::path_for(&args.file),
        kubeconfig_path: dir.join("admin.kubeconfig"),
    };
    let display = Display::new(args.json);
    let started = std::time::Instant::now();
    let result = os::up(os::Inputs {
        conn: &conn,
        spec: &spec,
        secrets: &mut bundle,
        env: &env_lookup,
        clock: &SystemClock,
        entropy: &mut OsEntropy,
        options: &options,
        report: &|e| display.show(e),
    });
    // Leaves issued before a failure are in the user-data already sent: keep them.
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            display.finish();
            return Err(up_failure(e));
        }
    };
    if !result.issued_leaves.is_empty() {
        save_secrets(&secrets_path, &bundle)?;
    }
    display.finish();
    let (nodes, outcome, detail) = match &result.followed {
        Followed::Done(n) => (n, "done", String::new()),
        Followed::Failed { nodes, reason } => (nodes, "failed", reason.clone()),
        Followed::TimedOut { nodes, waiting_for } => (
            nodes,
            "timed-out",
            format!("still waiting for {waiting_for}"),
        ),
    };
    let (converge_calls, poll_calls) = result.calls;
    if args.json {
        let doc = json!({
            "cluster": spec.name,
            "outcome": outcome,
            "detail": detail,
            "createdServers": result.created_servers,
            "surplus": result.surplus,
            "pruned": result.pruned,
            "apiCalls": {"converge": converge_calls, "poll": poll_calls},
            "phases": result.phases.iter().map(|(p, s)| json!({"phase": p, "seconds": s})).collect::<Vec<_>>(),
            "seconds": started.elapsed().as_secs_f64(),
            "kubeconfig": options.kubeconfig_path,
            "record": options.record_path,
            "nodes": nodes.iter().map(|n| json!({
                "name": n.node, "server": n.server, "boot": n.boot.to_string(), "ready": n.kubernetes_ready,
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&doc).expect("json"));
    } else {
        let width = nodes.iter().map(|n| n.node.len()).max().unwrap_or(4);
        for n in nodes {
            let ready = match n.kubernetes_ready {
                Some(true) => " Ready",
                Some(false) => " NotReady",
                None => "",
            };
            println!("{:<width$}  {:<8} {}{ready}", n.node, n.server, n.boot);
        }
        for s in &result.surplus {
            println!(
                "{s:<width$}  not in the spec any more: `k8sgen up --prune` drains and deletes it"
            );
        }
        println!(
            "{outcome}{}{}: {} server(s) created, {converge_calls} API calls to converge, {poll_calls} to poll, {:.1}s; kubeconfig {}",
            if detail.is_empty() { "" } else { " - " },
            detail,
            result.created_servers,
            started.elapsed().as_secs_f64(),
            options.kubeconfig_path.display()
        );
    }
    if let Followed::TimedOut { waiting_for, .. } = &result.followed
        && waiting_for.contains("readyz")
    {
        eprintln!(
            "hint: the API is followed at {}; reach it from here with kubernetes.apiServer.floatingIP \
             or a name in extraSANs, or stop at `--until booted`",
            result.api_server
        );
    } else if outcome != "done" {
        eprintln!(
            "hint: `k8sgen status -f {}` shows each node's last boot step",
            args.file.display()
        );
    }
    Ok(if outcome == "done" { 0 } else { 1 })
}

pub fn down_openstack(file: &Path, cloud: Option<&str>, json: bool) -> Result<i32> {
    let spec = load_spec(&file.display().to_string(), &read_text(file)?)?;
    let conn = connect(&spec, cloud)?;
    let display = Display::new(json);
    let removed = os::teardown::down(&conn.api, &spec.name, Duration::from_secs(300), &|e| {
        display.show(e)
    })
    .map_err(up_failure)?;
    if json {
        let doc = json!({
            "cluster": spec.name,
            "deleted": {
                "servers": removed.servers, "floatingIPs": removed.floating_ips,
                "ports": removed.ports, "serverGroups": removed.server_groups,
                "securityGroups": removed.security_groups,
            },
        });
        println!("{}", serde_json::to_string_pretty(&doc).expect("json"));
    } else {
        println!(
            "deleted {} object(s) of cluster {}: {} server(s), {} port(s), {} floating IP(s), {} server group(s), {} security group(s)",
            removed.total(),
            spec.name,
            removed.servers,
            removed.ports,
            removed.floating_ips,
            removed.server_groups,
            removed.security_groups
        );
    }
    Ok(0)
}

pub fn status_openstack(file: &Path, cloud: Option<&str>, json: bool) -> Result<i32> {
    let spec = load_spec(&file.display().to_string(), &read_text(file)?)?;
    let conn = connect(&spec, cloud)?;
    let (lines, _) = os::teardown::status(&conn.api, &spec.name).map_err(up_failure)?;
    if json {
        let doc: Vec<_> = lines
            .iter()
            .map(|l| json!({"kind": l.kind, "name": l.name, "id": l.id, "detail": l.detail}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&doc).expect("json"));
    } else if lines.is_empty() {
        println!("cluster {} has nothing in this project", spec.name);
    } else {
        let width = lines.iter().map(|l| l.name.len()).max().unwrap_or(4);
        for l in &lines {
            println!("{:<15} {:<width$}  {}  {}", l.kind, l.name, l.id, l.detail);
        }
    }
    Ok(0)
}
