//! How `up`, `down` and `status` on OpenStack show the library's events while they run:
//! progress bars on a terminal (stderr), plain lines otherwise, nothing with `--output json`.
//! Must not decide anything; it only shows what `up::openstack` reports.

use crate::up::openstack::Event;
use crate::up::progress::NodeState;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;

/// Shows events: bars on a terminal (stderr), plain lines otherwise, nothing with JSON.
pub struct Display {
    quiet: bool,
    multi: MultiProgress,
    servers: Mutex<Option<ProgressBar>>,
    nodes: Mutex<BTreeMap<String, ProgressBar>>,
    tty: bool,
}

impl Display {
    pub fn new(quiet: bool) -> Display {
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
    pub fn finish(&self) {
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

    pub fn show(&self, event: Event) {
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
