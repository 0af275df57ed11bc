//! `k8sgen up|down|status --provider openstack`: load spec and secrets, connect, run the
//! library, show its events (progress bars on a terminal, plain lines otherwise, one JSON
//! document with `--output json`), write the secrets back if leaves were issued, and end
//! with an `error:` when the cluster did not get where `--until` asked. Must not talk to the
//! cloud itself; `up::openstack` does.

use super::display::Display;
use super::up_report::UpReport;
use super::*;
use crate::cli::args::UpArgs;
use crate::providers::openstack::api::ApiError;
use crate::up::openstack::{self as os, follow::Followed};
use serde_json::json;
use std::time::Duration;

fn up_failure(e: os::UpError) -> Failure {
    let hint = e.hint();
    // A renewal Keystone refused is about the credentials, not k8sgen.
    let internal = matches!(e, os::UpError::Api(_) | os::UpError::Compile(_))
        && !matches!(e, os::UpError::Api(ApiError::Renewal(_)));
    let mut f = if internal {
        Failure::internal(e.to_string())
    } else {
        Failure::user(e.to_string())
    };
    if let os::UpError::Preflight(problems) = &e {
        for p in problems {
            f = f.problem(&p.what, &p.hint);
        }
        return f
            .hint("fix the cloud or the spec, then run `k8sgen up` again; nothing was created");
    }
    f.hint(hint)
}

fn connect(
    spec: &crate::spec::ClusterSpec,
    file: &Path,
    cloud: Option<&str>,
) -> Result<os::Connection> {
    let name = os::cloud::choose_cloud(cloud, &spec.cloud.openstack.cloud, file, &env_lookup);
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let conn = os::connect(
        name,
        &spec.cloud.openstack.region,
        &env_lookup,
        &|p: &Path| std::fs::read_to_string(p).ok(),
        &cwd,
    )
    .map_err(up_failure)?;
    for w in &conn.warnings {
        eprintln!("warning: {w}");
    }
    Ok(conn)
}

/// Where `up` writes beside the spec, and how it follows the cluster.
fn up_options(args: &UpArgs) -> os::UpOptions {
    let file = &args.spec.file;
    let o = &args.openstack;
    let dir = crate::fsio::dir_of(file);
    os::UpOptions {
        gzip: o.gzip,
        concurrency: o.concurrency.max(1),
        until: o.until.into(),
        timeout: Duration::from_secs(args.timeout),
        poll_interval: Duration::from_secs(o.poll_interval.max(1)),
        prune: o.prune,
        record_path: crate::up::state::path_for(file),
        kubeconfig_path: dir.join("admin.kubeconfig"),
    }
}

pub fn up_openstack(args: UpArgs) -> Result<ExitStatus> {
    let file = &args.spec.file;
    let spec = load_spec_file(file)?;
    let secrets_path = secrets_path_for(file, args.secrets.as_deref());
    let mut bundle = load_secrets(&secrets_path)?;
    let conn = connect(&spec, file, args.openstack.cloud.as_deref())?;
    let options = up_options(&args);
    let display = Display::new(args.openstack.output == OutputFormat::Json);
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
    display.finish();
    let result = result.map_err(up_failure)?;
    // Leaves issued before a failure are in the user-data already sent: keep them.
    if !result.issued_leaves.is_empty() {
        save_secrets(&secrets_path, &bundle)?;
    }
    let report = UpReport {
        cluster: &spec.name,
        result: &result,
        options: &options,
        seconds: started.elapsed().as_secs_f64(),
    };
    match args.openstack.output {
        OutputFormat::Json => println!("{}", output::pretty(&report.json())),
        OutputFormat::Text => print!("{}", report.text()),
    }
    match not_up(&result.followed, &result.api_server, file) {
        None => Ok(ExitStatus::Success),
        Some(f) => Err(f),
    }
}

/// The `error:` a failed or timed-out `up` ends with, and the hint that fits.
fn not_up(followed: &Followed, api_server: &str, file: &Path) -> Option<Failure> {
    let f = match followed {
        Followed::Done(_) => return None,
        Followed::Failed { reason, .. } => {
            Failure::user(format!("the cluster did not come up: {reason}"))
        }
        Followed::TimedOut { waiting_for, .. } => Failure::user(format!(
            "the cluster did not come up in time: still waiting for {waiting_for}"
        )),
    };
    Some(match followed {
        Followed::TimedOut { waiting_for, .. } if waiting_for.contains("readyz") => f.hint(format!(
            "the API is followed at {api_server}; reach it from here with kubernetes.apiServer.floatingIP \
             or a name in extraSANs, or stop at `--until booted`"
        )),
        _ => f.hint(format!(
            "`k8sgen status -f {}` shows each node's last boot step",
            file.display()
        )),
    })
}

/// The cluster's ID (`design::cluster_id`), from the CA of the secrets bundle (`--secrets`,
/// else the one beside the spec, as for `up`): `down` and `status` must tell this cluster
/// from another of the same name, and the bundle is the cluster's identity itself, present
/// before the first `up` and after an interrupted one (the state record is neither).
fn cluster_id(file: &Path, secrets: Option<&Path>) -> Result<String> {
    let path = secrets_path_for(file, secrets);
    let bundle = load_secrets(&path).map_err(|f| {
        f.hint(
            "`down` and `status` tell this cluster from another of the same name by the CA \
                 of its secrets bundle: pass the one `up` used with --secrets",
        )
    })?;
    let hash = bundle
        .discovery_hash()
        .map_err(|e| Failure::user(e.to_string()))?;
    Ok(os::design::cluster_id(&hash))
}

pub fn down_openstack(
    file: &Path,
    secrets: Option<&Path>,
    cloud: Option<&str>,
    format: OutputFormat,
) -> Result<ExitStatus> {
    let spec = load_spec(&file.display().to_string(), &read_text(file)?)?;
    let id = cluster_id(file, secrets)?;
    let conn = connect(&spec, file, cloud)?;
    let json = format == OutputFormat::Json;
    let display = Display::new(json);
    let wait = Duration::from_secs(300);
    let removed = os::teardown::down(&conn.api, &spec.name, &id, wait, &|e| display.show(e))
        .map_err(up_failure)?;
    if json {
        let doc = json!({
            "cluster": spec.name,
            "deleted": {
                "servers": removed.servers, "floatingIPs": removed.floating_ips,
                "ports": removed.ports, "serverGroups": removed.server_groups,
                "securityGroups": removed.security_groups,
            },
            "left": removed.left.iter().map(|l| json!({
                "kind": l.kind, "name": l.name, "id": l.id, "why": l.why, "remove": l.remove,
            })).collect::<Vec<_>>(),
        });
        println!("{}", output::pretty(&json!(doc)));
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
    Ok(ExitStatus::Success)
}

pub fn status_openstack(
    file: &Path,
    secrets: Option<&Path>,
    cloud: Option<&str>,
    format: OutputFormat,
) -> Result<ExitStatus> {
    let json = format == OutputFormat::Json;
    let spec = load_spec(&file.display().to_string(), &read_text(file)?)?;
    let id = cluster_id(file, secrets)?;
    let conn = connect(&spec, file, cloud)?;
    let (lines, _) = os::teardown::status(&conn.api, &spec.name, &id).map_err(up_failure)?;
    if json {
        let doc: Vec<_> = lines
            .iter()
            .map(|l| json!({"kind": l.kind, "name": l.name, "id": l.id, "detail": l.detail}))
            .collect();
        println!("{}", output::pretty(&json!(doc)));
    } else if lines.is_empty() {
        println!("cluster {} has nothing in this project", spec.name);
    } else {
        let width = lines.iter().map(|l| l.name.len()).max().unwrap_or(4);
        for l in &lines {
            println!("{:<15} {:<width$}  {}  {}", l.kind, l.name, l.id, l.detail);
        }
    }
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failed or timed-out `up` ends with an `error:` line, then the hint that fits.
    #[test]
    fn an_up_that_did_not_finish_is_an_error_with_a_hint() {
        let file = Path::new("c/cluster.yaml");
        let api = "https://192.0.2.10:6443";
        assert!(not_up(&Followed::Done(Vec::new()), api, file).is_none());
        let failed = Followed::Failed {
            nodes: Vec::new(),
            reason: "demo-cp-0: etcd failed".into(),
        };
        let report = not_up(&failed, api, file).unwrap().report();
        assert_eq!(
            report,
            "error: the cluster did not come up: demo-cp-0: etcd failed\n\
             hint: `k8sgen status -f c/cluster.yaml` shows each node's last boot step\n"
        );
        let waiting = Followed::TimedOut {
            nodes: Vec::new(),
            waiting_for: "the API server's /readyz".into(),
        };
        let f = not_up(&waiting, api, file).unwrap();
        assert_eq!(f.status(), ExitStatus::Failure);
        let report = f.report();
        assert!(
            report.starts_with(
                "error: the cluster did not come up in time: still waiting for the API server's /readyz\n"
            ),
            "{report}"
        );
        assert!(report.contains("hint: the API is followed at https://192.0.2.10:6443"));
    }
}
