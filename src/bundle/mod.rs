//! Third stage: `Plan` + secrets → `NodeBundle`, the intermediate representation of one
//! node's first boot: a sorted list of files (path, mode, owner, content), the systemd units
//! to install, and the ordered boot steps (already compiled into the boot script file).
//!
//! One builder per role (`master` covers init and joining masters, `worker`) over `common`.
//! Both output formats serialize this same IR; nothing here knows about cloud-init or
//! Ignition, and nothing here talks to a cloud.

mod cinder_csi;
mod common;
mod egress;
mod fluo;
mod kubeadm;
mod kubeconfig;
mod manifests;
mod master;
mod occm;
mod script;
mod worker;

pub use kubeconfig::admin_kubeconfig;

use crate::catalog::BootStep;
use crate::pki::Secrets;
use crate::plan::{NodePlan, Plan, Role};
use crate::templates::TemplateError;
use serde::Serialize;

/// One file the node gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct File {
    pub path: String,
    /// Unix permission bits, e.g. `0o600`.
    pub mode: u32,
    pub owner: String,
    pub content: String,
    /// Holds key material, a token or a credential.
    pub secret: bool,
    /// Large and machine-checked (the boot script, the add-on manifests): the encoder may ship
    /// it compressed to stay inside Nova's user-data limit. Readable copies are pinned in
    /// `golden/*/scripts/` and `golden/*/addons/`.
    pub packed: bool,
}

/// A systemd unit the node gets; `enable` units are enabled at provisioning time, the others
/// are enabled by the boot step that installs what they run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    pub name: String,
    pub content: String,
    pub enable: bool,
}

/// A boot step as the IR records it (its body lives in the boot script).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepInfo {
    pub name: BootStep,
    pub timeout_seconds: u32,
    pub attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeBundle {
    pub node: String,
    pub role: Role,
    /// Sorted by path.
    pub files: Vec<File>,
    /// Sorted by name.
    pub units: Vec<Unit>,
    pub steps: Vec<StepInfo>,
    /// The unit to start once files are in place (the boot script's oneshot unit).
    pub start_unit: String,
    /// Ubuntu/Debian: the distribution's archives from a mirror, set up by the provisioning
    /// agent (cloud-init's `apt` module) before the boot unit starts.
    pub apt_mirror: Option<crate::plan::AptMirror>,
}

pub const BOOTSTRAP_UNIT: &str = "k8sgen-bootstrap.service";

/// Something the bundle needs is missing from the secrets (the plan's leaves were not issued).
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("the secrets bundle has no `{0}` certificate; issue the plan's leaves first")]
    MissingLeaf(String),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("{node}: cannot tell {what} at render time ({hint})")]
    Unresolved {
        node: String,
        what: String,
        hint: String,
    },
}

/// Accumulates a node's files, units and steps in the order a role builder adds them.
#[derive(Default)]
pub(crate) struct Builder {
    files: Vec<File>,
    units: Vec<Unit>,
    steps: Vec<script::Step>,
}

impl Builder {
    fn file(&mut self, path: &str, mode: u32, content: impl Into<String>) {
        self.files.push(File {
            path: path.into(),
            mode,
            owner: "root:root".into(),
            content: content.into(),
            secret: false,
            packed: false,
        });
    }
    fn packed_file(&mut self, path: &str, mode: u32, content: impl Into<String>) {
        self.file(path, mode, content);
        if let Some(f) = self.files.last_mut() {
            f.packed = true;
        }
    }
    fn secret_file(&mut self, path: &str, content: impl Into<String>) {
        self.file(path, 0o600, content);
        if let Some(f) = self.files.last_mut() {
            f.secret = true;
        }
    }
    fn unit(&mut self, name: &str, content: String, enable: bool) {
        self.units.push(Unit {
            name: name.into(),
            content,
            enable,
        });
    }
    fn step(&mut self, step: script::Step) {
        self.steps.push(step);
    }
}

/// Build the bundle for `node`.
pub fn build(plan: &Plan, node: &NodePlan, secrets: &Secrets) -> Result<NodeBundle, BundleError> {
    let mut b = Builder::default();
    egress::files(&mut b, plan);
    common::host_prep(&mut b, plan, node)?;
    common::admin_network(&mut b, plan, node)?;
    common::packages_and_runtime(&mut b, plan, node, secrets)?;
    match node.role {
        Role::Init | Role::ControlPlane => master::build(&mut b, plan, node, secrets)?,
        Role::Worker => worker::build(&mut b, plan, node, secrets)?,
    }
    let script = script::render(plan, node, &b.steps)?;
    // The largest file of every node (about 20 KiB, a third of it comments for whoever reads
    // it on the node): shipped gzipped, it leaves the init master room under Nova's limit.
    b.packed_file(&plan.platform.script_path, 0o700, script);
    b.unit(
        BOOTSTRAP_UNIT,
        crate::templates::render(
            "k8sgen-bootstrap.service",
            serde_json::json!({"role": node.role.as_str(), "script_path": plan.platform.script_path}),
        )?,
        true,
    );
    let mut files = b.files;
    files.sort_by(|a, c| a.path.cmp(&c.path));
    let mut units = b.units;
    units.sort_by(|a, c| a.name.cmp(&c.name));
    Ok(NodeBundle {
        node: node.name.clone(),
        role: node.role,
        files,
        units,
        steps: b
            .steps
            .iter()
            .map(|s| StepInfo {
                name: s.name,
                timeout_seconds: s.timeout_seconds,
                attempts: s.attempts,
            })
            .collect(),
        start_unit: BOOTSTRAP_UNIT.into(),
        apt_mirror: plan.egress.distribution_mirror.clone(),
    })
}
