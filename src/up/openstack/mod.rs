//! `up`, `down` and `status` on OpenStack. Pre-flight checks the cloud before anything is
//! created; `converge` creates what is missing (security groups, server group, ports,
//! floating IP), what Neutron decided goes into the plan (`Plan::with_facts`), the user-data is
//! built from that plan and the missing servers are created (`servers`); `follow` then only
//! polls. `up` lists the phases; `run` holds what they share and does each.
//! Everything made is named, tagged and marked for the cluster (`design`), so a second run
//! resumes and `down` removes exactly it. Reports progress through `Event`s; never prints.

pub mod cloud;
pub mod converge;
pub mod design;
mod errored;
pub mod follow;
pub mod leftovers;
pub mod preflight;
mod record;
mod rules;
mod run;
pub mod servers;
pub mod teardown;
mod token;

use crate::compile::CompileError;
use crate::pki::{self, Clock, Entropy};
use crate::plan::{Plan, PlanError};
use crate::providers::openstack::api::ApiError;
use crate::providers::openstack::auth::AuthError;
use crate::providers::openstack::catalog::EndpointError;
use crate::providers::openstack::keystone::KeystoneError;
use crate::providers::openstack::tls::Tls;
use crate::spec::ClusterSpec;
use crate::up::kube::{Kube, KubeError};
use crate::up::progress::NodeState;
use std::path::PathBuf;
use std::time::Duration;

pub use cloud::{Connection, connect};

/// What happened, for the CLI to show as progress bars, lines or JSON.
#[derive(Debug, Clone)]
pub enum Event {
    Phase(&'static str),
    Created { kind: &'static str, name: String },
    Deleted { kind: &'static str, name: String },
    ServersToCreate { total: usize },
    ServerCreated { node: String },
    Status { node: String, status: String },
    Boot { node: String, state: NodeState },
    NodeReady { node: String },
    Note(String),
}

/// How far `up` follows the nodes before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Until {
    /// Servers ACTIVE.
    Active,
    /// Every boot script finished (or stopped at `bootstrap.stopAfter`).
    Booted,
    /// `/readyz` ok and every node Ready.
    Ready,
}

#[derive(Debug, thiserror::Error)]
pub enum UpError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Keystone(#[from] KeystoneError),
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("the cloud is not ready for this cluster ({} problem(s))", .0.len())]
    Preflight(Vec<preflight::Problem>),
    #[error("{what}")]
    Conflict { what: String, hint: String },
    #[error("the plan is not deployable: {0}")]
    NotDeployable(String),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Compile(#[from] CompileError),
    #[error(transparent)]
    Kube(#[from] KubeError),
    #[error("cannot write {path}: {detail}")]
    Write { path: String, detail: String },
}

impl UpError {
    pub fn hint(&self) -> String {
        match self {
            UpError::Auth(e) => e.hint(),
            UpError::Keystone(e) => e.hint().into(),
            UpError::Endpoint(e) => e.hint().into(),
            UpError::Api(ApiError::Renewal(e)) => e.hint().into(),
            UpError::Api(e) if e.transient() => {
                "the cloud kept failing; run `k8sgen up` again: it resumes where it stopped".into()
            }
            UpError::Api(_) => "see the cloud's message above".into(),
            UpError::Preflight(p) => p
                .iter()
                .map(|p| format!("{}: {}", p.what, p.hint))
                .collect::<Vec<_>>()
                .join("; "),
            UpError::Conflict { hint, .. } => hint.clone(),
            UpError::NotDeployable(_) => {
                "set the variables the plan names (`k8sgen plan` lists them)".into()
            }
            UpError::Plan(_) | UpError::Compile(_) => "check the spec and secrets".into(),
            UpError::Kube(_) => {
                "is the API reachable from here (floating IP, VPN)? run `k8sgen status`".into()
            }
            UpError::Write { .. } => "check the cluster directory's permissions".into(),
        }
    }
}

pub struct UpOptions {
    pub gzip: bool,
    pub concurrency: usize,
    pub until: Until,
    pub timeout: Duration,
    pub poll_interval: Duration,
    /// Delete servers the spec no longer has (after draining them).
    pub prune: bool,
    pub record_path: PathBuf,
    pub kubeconfig_path: PathBuf,
}

/// What `up` did.
#[derive(Debug)]
pub struct UpResult {
    pub created_servers: usize,
    /// Servers of the cluster the spec no longer has (deleted when `prune`).
    pub surplus: Vec<String>,
    pub pruned: Vec<String>,
    pub followed: follow::Followed,
    /// HTTP calls to the cloud to converge and to poll.
    pub calls: (u64, u64),
    pub issued_leaves: Vec<String>,
    /// Where the Kubernetes API was followed (`admin_server` of the plan).
    pub api_server: String,
    /// Seconds spent in each phase, in order.
    pub phases: Vec<(&'static str, f64)>,
}

/// What `up` is given: the cloud, the cluster's inputs, the injected clock and entropy, and
/// where progress goes.
pub struct Inputs<'a> {
    pub conn: &'a Connection,
    pub spec: &'a ClusterSpec,
    /// May gain leaf certificates (the caller saves them when `issued_leaves` is not empty).
    pub secrets: &'a mut pki::Secrets,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub clock: &'a dyn Clock,
    pub entropy: &'a mut dyn Entropy,
    pub options: &'a UpOptions,
    pub report: &'a (dyn Fn(Event) + Sync),
}

/// Bring the cluster to what the spec says, phase by phase; each phase starts from what the
/// ones before it learned, so a second run resumes.
pub fn up(inputs: Inputs) -> Result<UpResult, UpError> {
    let (report, ca_note) = (inputs.report, occm_ca_note(&inputs.conn.tls, inputs.spec));
    let mut run = run::Run::new(inputs)?;
    run.phase("pre-flight", true);
    if let Some(note) = ca_note {
        report(Event::Note(note));
    }
    let mut cloud = run.preflight()?;
    run.phase("network", true);
    let network = run.network(&mut cloud)?;
    // Building is local work: timed, not announced.
    run.phase("build", false);
    let built = run.build(&cloud, network.facts.clone())?;
    run.phase("servers", true);
    let created_servers = run.servers(&cloud, &network, &built)?;
    let pruned = run.prune(&cloud, &built.kube)?;
    run.phase("follow", true);
    let followed = run.follow(&built)?;
    Ok(UpResult {
        created_servers,
        surplus: cloud
            .surplus
            .into_iter()
            .filter(|s| !pruned.contains(s))
            .collect(),
        pruned,
        followed,
        calls: run.api.calls(),
        issued_leaves: run.issued_leaves,
        phases: run.phases.finish(),
        api_server: built.plan.admin_server.clone(),
    })
}

/// When `up` itself needs help to trust the cloud (a `cacert`, or no verification at all) but
/// the spec gives OCCM no `caFile`: OCCM on the masters then trusts only the host's system
/// CAs (its pod mounts the host's `/etc/ssl/certs` over the image's), and fails on a cloud a private CA certified. A note, not a problem: a
/// `cacert` is often a public chain or a corporate bundle the nodes' system CAs cover, and
/// the nodes may reach other endpoints (`interface: internal`) than this machine does.
pub fn occm_ca_note(tls: &Tls, spec: &ClusterSpec) -> Option<String> {
    if spec.cloud.openstack.ca_file.is_some() {
        return None;
    }
    let why = match (&tls.cacert, tls.verify) {
        (_, false) => "`up` does not verify the cloud's certificate".to_string(),
        (Some(ca), true) => format!("`up` trusts the cloud through the CA in {}", ca.display()),
        (None, true) => return None,
    };
    Some(format!(
        "{why}, but the spec sets no cloud.openstack.caFile: OCCM on the masters trusts only \
         the system CAs and fails on a cloud a private CA certified; set caFile to that CA's \
         PEM file (relative to the spec)"
    ))
}

/// A client for the cluster's API with the admin certificate, trusting only the cluster CA.
pub fn kube_client(plan: &Plan, secrets: &pki::Secrets) -> Result<Kube, UpError> {
    let admin = secrets
        .leaves
        .get(crate::plan::ADMIN_LEAF)
        .ok_or_else(|| UpError::NotDeployable("the secrets hold no admin certificate".into()))?;
    Ok(Kube::new(
        &plan.admin_server,
        &secrets.cluster_ca.cert,
        &admin.cert,
        admin.key.expose(),
    )?)
}
