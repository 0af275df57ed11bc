//! `up`, `down` and `status` on OpenStack. Pre-flight checks the cloud before anything is
//! created; `converge` creates what is missing (security groups, server group, ports,
//! floating IP), what Neutron decided goes into the plan (`Plan::with_facts`), the user-data is
//! built from that plan and the missing servers are created; `follow` then only polls.
//! Everything made is named, tagged and marked for the cluster (`design`), so a second run
//! resumes and `down` removes exactly it. Reports progress through `Event`s; never prints.

pub mod cloud;
pub mod converge;
pub mod design;
pub mod follow;
pub mod preflight;
mod rules;
pub mod teardown;
mod token;

use crate::compile::{self, CompileError};
use crate::pki::{self, Clock, Entropy};
use crate::plan::facts::Facts;
use crate::plan::{Plan, PlanError, Role};
use crate::providers::openstack::api::{Api, ApiError, Purpose};
use crate::providers::openstack::auth::AuthError;
use crate::providers::openstack::catalog::MissingEndpoint;
use crate::providers::openstack::keystone::KeystoneError;
use crate::spec::ClusterSpec;
use crate::up::kube::{Kube, KubeError};
use crate::up::progress::NodeState;
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

/// What `up` is given: the cloud, the cluster's inputs, the injected clock and entropy, and
/// where progress goes.
pub struct Inputs<'a> {
    pub conn: &'a Connection,
    pub spec: &'a ClusterSpec,
    /// May gain leaf certificates (the caller saves them when `issued_leaves` is not empty).
    pub secrets: &'a mut pki::Bundle,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub clock: &'a dyn Clock,
    pub entropy: &'a mut dyn Entropy,
    pub options: &'a UpOptions,
    pub report: &'a (dyn Fn(Event) + Sync),
}

/// Bring the cluster to what the spec says, phase by phase; each phase starts from what the
/// ones before it learned, so a second run resumes.
pub fn up(inputs: Inputs) -> Result<UpResult, UpError> {
    let mut run = Run::new(inputs)?;
    run.phase("pre-flight", true);
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

/// The context every phase works in.
struct Run<'a> {
    api: &'a Api,
    project_id: &'a str,
    secrets: &'a mut pki::Bundle,
    clock: &'a dyn Clock,
    entropy: &'a mut dyn Entropy,
    options: &'a UpOptions,
    report: &'a (dyn Fn(Event) + Sync),
    /// The spec's plan, before the cloud's facts.
    plan: Plan,
    phases: Phases,
    issued_leaves: Vec<String>,
}

/// What pre-flight found: the cluster's objects, the cloud's IDs for the spec's names, and
/// servers the spec no longer has.
struct Cloud {
    inventory: cloud::Inventory,
    resolved: preflight::Resolved,
    surplus: Vec<String>,
}

/// What the network phase made that the servers need.
struct Network {
    server_group: String,
    facts: Facts,
}

/// The plan with the cloud's facts, its user-data by node and the cluster's API.
struct Built {
    plan: Plan,
    user_data: BTreeMap<String, Vec<u8>>,
    kube: Kube,
}

impl<'a> Run<'a> {
    fn new(inputs: Inputs<'a>) -> Result<Run<'a>, UpError> {
        let plan = crate::plan::plan(inputs.spec, inputs.secrets, inputs.env)?;
        if !plan.deployable {
            return Err(UpError::NotDeployable(plan.warnings.join("; ")));
        }
        Ok(Run {
            api: &inputs.conn.api,
            project_id: &inputs.conn.project_id,
            secrets: inputs.secrets,
            clock: inputs.clock,
            entropy: inputs.entropy,
            options: inputs.options,
            report: inputs.report,
            plan,
            phases: Phases::default(),
            issued_leaves: Vec::new(),
        })
    }

    fn phase(&mut self, name: &'static str, announce: bool) {
        self.phases.start(name);
        if announce {
            (self.report)(Event::Phase(name));
        }
    }

    fn render_options(&self) -> crate::render::Options {
        crate::render::Options {
            gzip: self.options.gzip,
        }
    }

    /// The plan with `facts`, compiled; leaves it issues are remembered for the caller.
    fn compile(&mut self, facts: &Facts) -> Result<compile::Compiled, UpError> {
        let plan = self.plan.clone().with_facts(facts);
        let options = self.render_options();
        let compiled = compile::build(plan, self.secrets, self.clock, self.entropy, options)?;
        self.issued_leaves
            .extend(compiled.issued_leaves.iter().cloned());
        Ok(compiled)
    }

    /// Check the cloud before anything is created, user-data sizes included.
    fn preflight(&mut self) -> Result<Cloud, UpError> {
        let inventory = cloud::inventory(self.api, &self.plan.cluster_name, Purpose::Converge)?;
        // The user-data's size must be checked before anything exists, but its real bytes
        // need facts only creating ports and the floating IP reveals: compile once with
        // placeholders as long as those facts.
        let sized = self.compile(&placeholder_facts(&self.plan))?;
        let sizes: Vec<(String, usize)> = sized
            .user_data
            .iter()
            .map(|u| (u.node.clone(), u.base64_size()))
            .collect();
        let resolved = preflight::check(self.api, self.project_id, &self.plan, &inventory, &sizes)?
            .map_err(UpError::Preflight)?;
        let surplus = inventory
            .servers
            .keys()
            .filter(|name| !self.plan.nodes.iter().any(|n| &n.name == *name))
            .cloned()
            .collect();
        Ok(Cloud {
            inventory,
            resolved,
            surplus,
        })
    }

    /// Security groups, the masters' server group, ports and the floating IP; what Neutron
    /// decided becomes the plan's facts.
    fn network(&mut self, cloud: &mut Cloud) -> Result<Network, UpError> {
        let (api, plan, report) = (self.api, &self.plan, self.report);
        let inventory = &mut cloud.inventory;
        let groups = converge::security_groups(api, plan, inventory, report)?;
        let server_group = converge::server_group(api, plan, inventory, report)?;
        converge::ports(api, plan, &cloud.resolved, &groups, inventory, report)?;
        let fip = converge::floating_ip(api, plan, &cloud.resolved, inventory, report)?;
        Ok(Network {
            server_group,
            facts: converge::facts(plan, inventory, fip),
        })
    }

    /// The user-data from the plan with the cloud's facts; the state file and the admin
    /// kubeconfig written beside the spec before any server exists.
    fn build(&mut self, cloud: &Cloud, facts: Facts) -> Result<Built, UpError> {
        let compiled = self.compile(&facts)?;
        let state = converge::record(&compiled.plan, &cloud.inventory, &facts, &BTreeMap::new());
        self.save_state(&state)?;
        let kubeconfig = &self.options.kubeconfig_path;
        crate::fsio::write_atomic(kubeconfig, compiled.admin_kubeconfig.as_bytes(), 0o600)
            .map_err(write_error(kubeconfig))?;
        let kube = kube_client(&compiled.plan, self.secrets)?;
        let mut built = Built {
            user_data: by_node(compiled.user_data),
            plan: compiled.plan,
            kube,
        };
        self.refresh_token(cloud, &mut built)?;
        Ok(built)
    }

    /// Workers joining after the rendered token expired get a fresh one, made in the cluster
    /// and rendered into their user-data only.
    fn refresh_token(&mut self, cloud: &Cloud, built: &mut Built) -> Result<(), UpError> {
        let new_workers: Vec<&str> = built
            .plan
            .nodes
            .iter()
            .filter(|n| n.role == Role::Worker && !cloud.inventory.servers.contains_key(&n.name))
            .map(|n| n.name.as_str())
            .collect();
        if new_workers.is_empty() || !token::expired(&built.plan, &cloud.inventory, self.clock) {
            return Ok(());
        }
        (self.report)(Event::Note(
            "the rendered bootstrap token has expired: creating a fresh one for the new workers"
                .into(),
        ));
        let mut fresh = self.secrets.clone();
        fresh.bootstrap_token = pki::generate_token(self.entropy);
        let expiration = token::fresh_expiration(&built.plan, self.clock);
        built.kube.create_bootstrap_token(
            &fresh.bootstrap_token.id,
            fresh.bootstrap_token.secret.expose(),
            expiration.as_deref(),
        )?;
        let mut plan = built.plan.clone();
        plan.token_id = fresh.bootstrap_token.id.clone();
        // The compiler builds whole clusters; only the new workers' documents are kept.
        let options = self.render_options();
        let rebuilt = compile::build(plan, &mut fresh, self.clock, self.entropy, options)?;
        for (node, data) in by_node(rebuilt.user_data) {
            if new_workers.contains(&node.as_str()) {
                built.user_data.insert(node, data);
            }
        }
        Ok(())
    }

    /// The missing servers, while the ports are finished; the state file gets their IDs.
    fn servers(&mut self, cloud: &Cloud, net: &Network, built: &Built) -> Result<usize, UpError> {
        let (api, plan, inventory) = (self.api, &built.plan, &cloud.inventory);
        let concurrency = self.options.concurrency;
        let (servers, ports) = std::thread::scope(|scope| {
            let ports = scope.spawn(|| converge::finish_ports(api, plan, inventory, concurrency));
            let servers = converge::servers(
                api,
                &converge::Placement {
                    plan,
                    resolved: &cloud.resolved,
                    server_group_id: &net.server_group,
                    inventory,
                },
                &built.user_data,
                concurrency,
                self.report,
            );
            (servers, ports.join().expect("port finishing thread"))
        });
        ports?;
        let (server_ids, created) = servers?;
        self.save_state(&converge::record(plan, inventory, &net.facts, &server_ids))?;
        Ok(created)
    }

    /// Servers the spec no longer has, drained and deleted when asked to.
    fn prune(&mut self, cloud: &Cloud, kube: &Kube) -> Result<Vec<String>, UpError> {
        if !self.options.prune || cloud.surplus.is_empty() {
            return Ok(Vec::new());
        }
        self.phase("prune", true);
        teardown::prune(
            self.api,
            kube,
            &cloud.inventory,
            &cloud.surplus,
            self.report,
        )
    }

    /// Only polls, until the nodes reach `options.until` or the timeout.
    fn follow(&mut self, built: &Built) -> Result<follow::Followed, UpError> {
        let o = self.options;
        let watch = follow::Watch {
            until: o.until,
            timeout: o.timeout,
            interval: o.poll_interval,
        };
        Ok(follow::follow(
            self.api,
            &built.plan,
            Some(&built.kube),
            watch,
            self.report,
        )?)
    }

    fn save_state(&self, state: &crate::up::state::Record) -> Result<(), UpError> {
        let path = &self.options.record_path;
        crate::up::state::save(path, state).map_err(write_error(path))
    }
}

/// Placeholders as long as the real facts, so pre-flight's size check holds for them.
fn placeholder_facts(plan: &Plan) -> Facts {
    Facts {
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

/// Each node's user-data bytes, by name.
fn by_node(user_data: Vec<crate::render::UserData>) -> BTreeMap<String, Vec<u8>> {
    user_data.into_iter().map(|u| (u.node, u.bytes)).collect()
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
