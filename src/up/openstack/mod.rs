//! `up`, `down` and `status` on OpenStack. Pre-flight checks the cloud before anything is
//! created; `converge` creates what is missing (security groups, server group, ports,
//! floating IP), what Neutron decided goes into the plan (`record::Facts`), the user-data is
//! built from that plan and the missing servers are created; `follow` then only polls.
//! Everything made is named, tagged and marked for the cluster (`design`), so a second run
//! resumes and `down` removes exactly it. Reports progress through `Event`s; never prints.

pub mod cloud;
pub mod converge;
pub mod design;
pub mod follow;
pub mod preflight;
pub mod record;
pub mod teardown;
mod token;

use crate::compile::{self, CompileError};
use crate::pki::{self, Clock, Entropy};
use crate::plan::{Plan, PlanError, Role};
use crate::providers::openstack::api::{ApiError, Purpose};
use crate::providers::openstack::auth::AuthError;
use crate::providers::openstack::catalog::MissingEndpoint;
use crate::providers::openstack::keystone::KeystoneError;
use crate::spec::ClusterSpec;
use crate::up::kube::{Kube, KubeError};
use crate::up::progress::NodeState;
use base64::Engine;
use std::collections::BTreeMap;
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
    Endpoint(#[from] MissingEndpoint),
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
            UpError::Endpoint(_) => {
                "pick the region (region_name / OS_REGION_NAME) and interface that have it".into()
            }
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

/// Placeholders as long as the real facts, so pre-flight's size check holds for them.
fn placeholder_facts(plan: &Plan) -> record::Facts {
    record::Facts {
        admin_macs: if plan.admin_nic.is_some() {
            plan.nodes
                .iter()
                .map(|n| (n.name.clone(), "fa:16:3e:00:00:00".into()))
                .collect()
        } else {
            BTreeMap::new()
        },
        api_floating_ip: plan
            .openstack
            .api_floating_ip
            .then(|| "255.255.255.255".into()),
    }
}

fn encode(user_data: &[crate::render::UserData]) -> BTreeMap<String, String> {
    user_data
        .iter()
        .map(|u| {
            (
                u.node.clone(),
                base64::engine::general_purpose::STANDARD.encode(&u.bytes),
            )
        })
        .collect()
}

/// Bring the cluster to what the spec says. Secrets may gain leaf certificates (the caller
/// saves them when `issued_leaves` is not empty).
#[allow(clippy::too_many_arguments)]
pub fn up(
    conn: &Connection,
    spec: &ClusterSpec,
    secrets: &mut pki::Bundle,
    env: &dyn Fn(&str) -> Option<String>,
    clock: &dyn Clock,
    entropy: &mut dyn Entropy,
    options: &UpOptions,
    report: &(dyn Fn(Event) + Sync),
) -> Result<UpResult, UpError> {
    let api = &conn.api;
    let mut phase = Phases::default();
    let render_options = crate::render::Options { gzip: options.gzip };
    let draft = record::plan_with_facts(spec, secrets, env, &record::Facts::default())?;
    if !draft.deployable {
        return Err(UpError::NotDeployable(draft.warnings.join("; ")));
    }
    let cluster = draft.cluster_name.clone();

    phase.start("pre-flight");
    report(Event::Phase("pre-flight"));
    let mut inventory = cloud::inventory(api, &cluster, Purpose::Converge)?;
    let sized = record::plan_with_facts(spec, secrets, env, &placeholder_facts(&draft))?;
    let sized = compile::build(sized, secrets, clock, entropy, render_options)?;
    let sizes: Vec<(String, usize)> = sized
        .user_data
        .iter()
        .map(|u| (u.node.clone(), u.base64_size()))
        .collect();
    let resolved = preflight::check(api, &conn.project_id, &draft, &inventory, &sizes)?
        .map_err(UpError::Preflight)?;
    let surplus: Vec<String> = inventory
        .servers
        .keys()
        .filter(|name| !draft.nodes.iter().any(|n| &n.name == *name))
        .cloned()
        .collect();

    phase.start("network");
    report(Event::Phase("network"));
    let groups = converge::security_groups(api, &draft, &mut inventory, report)?;
    let server_group = converge::server_group(api, &draft, &mut inventory, report)?;
    converge::ports(api, &draft, &resolved, &groups, &mut inventory, report)?;
    let fip = converge::floating_ip(api, &draft, &resolved, &mut inventory, report)?;

    // What Neutron decided goes into the plan before anything is built.
    phase.start("build");
    let facts = converge::facts(&draft, &inventory, fip);
    let plan = record::plan_with_facts(spec, secrets, env, &facts)?;
    let compiled = compile::build(plan, secrets, clock, entropy, render_options)?;
    let mut issued_leaves = sized.issued_leaves;
    issued_leaves.extend(compiled.issued_leaves.iter().cloned());
    let plan = &compiled.plan;
    let mut user_data = encode(&compiled.user_data);
    let rec = converge::record(plan, &inventory, &facts, &BTreeMap::new());
    record::save(&options.record_path, &rec).map_err(write_error(&options.record_path))?;
    crate::fsio::write_atomic(
        &options.kubeconfig_path,
        compiled.admin_kubeconfig.as_bytes(),
        0o600,
    )
    .map_err(write_error(&options.kubeconfig_path))?;
    let kube = kube_client(plan, secrets)?;

    // Workers joining after the rendered token expired get a fresh one.
    let new_workers: Vec<&str> = plan
        .nodes
        .iter()
        .filter(|n| n.role == Role::Worker && !inventory.servers.contains_key(&n.name))
        .map(|n| n.name.as_str())
        .collect();
    if !new_workers.is_empty() && token::expired(plan, &inventory, clock) {
        report(Event::Note(
            "the rendered bootstrap token has expired: creating a fresh one for the new workers"
                .into(),
        ));
        let mut fresh = secrets.clone();
        fresh.bootstrap_token = pki::generate_token(entropy);
        let expiration = token::fresh_expiration(plan, clock);
        kube.create_bootstrap_token(
            &fresh.bootstrap_token.id,
            fresh.bootstrap_token.secret.expose(),
            expiration.as_deref(),
        )?;
        let mut fresh_plan = compiled.plan.clone();
        fresh_plan.token_id = fresh.bootstrap_token.id.clone();
        let rebuilt = compile::build(fresh_plan, &mut fresh, clock, entropy, render_options)?;
        for u in encode(&rebuilt.user_data) {
            if new_workers.contains(&u.0.as_str()) {
                user_data.insert(u.0, u.1);
            }
        }
    }

    phase.start("servers");
    report(Event::Phase("servers"));
    let (servers, ports) = std::thread::scope(|scope| {
        let ports =
            scope.spawn(|| converge::finish_ports(api, plan, &inventory, options.concurrency));
        let servers = converge::servers(
            api,
            plan,
            &resolved,
            &server_group,
            &inventory,
            &user_data,
            options.concurrency,
            report,
        );
        (servers, ports.join().expect("port finishing thread"))
    });
    ports?;
    let (server_ids, created_servers) = servers?;
    let rec = converge::record(plan, &inventory, &facts, &server_ids);
    record::save(&options.record_path, &rec).map_err(write_error(&options.record_path))?;

    let mut pruned = Vec::new();
    if options.prune && !surplus.is_empty() {
        phase.start("prune");
        report(Event::Phase("prune"));
        pruned = teardown::prune(api, &kube, &inventory, &surplus, report)?;
    }

    phase.start("follow");
    report(Event::Phase("follow"));
    let followed = follow::follow(
        api,
        plan,
        Some(&kube),
        options.until,
        options.timeout,
        options.poll_interval,
        report,
    )?;
    Ok(UpResult {
        created_servers,
        surplus: surplus
            .into_iter()
            .filter(|s| !pruned.contains(s))
            .collect(),
        pruned,
        followed,
        calls: api.calls(),
        issued_leaves,
        phases: phase.finish(),
        api_server: plan.admin_server.clone(),
    })
}

/// Wall time per phase.
#[derive(Default)]
struct Phases {
    done: Vec<(&'static str, f64)>,
    current: Option<(&'static str, std::time::Instant)>,
}

impl Phases {
    fn start(&mut self, name: &'static str) {
        self.close();
        self.current = Some((name, std::time::Instant::now()));
    }
    fn close(&mut self) {
        if let Some((name, t)) = self.current.take() {
            self.done.push((name, t.elapsed().as_secs_f64()));
        }
    }
    fn finish(mut self) -> Vec<(&'static str, f64)> {
        self.close();
        self.done
    }
}

fn write_error(path: &std::path::Path) -> impl Fn(std::io::Error) -> UpError + '_ {
    move |e| UpError::Write {
        path: path.display().to_string(),
        detail: e.to_string(),
    }
}

/// A client for the cluster's API with the admin certificate, trusting only the cluster CA.
pub fn kube_client(plan: &Plan, secrets: &pki::Bundle) -> Result<Kube, UpError> {
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
