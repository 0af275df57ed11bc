//! `k8sgen up|down|status --provider qemu`: local VMs booted as Nova boots them. Must not
//! reach the VMs itself; `up::qemu` and `providers::qemu` do.

use super::*;
use crate::cli::args::UpArgs;
use crate::providers::qemu::{self as provider, Started};
use crate::up::{progress::NodeState, qemu};

/// The qemu provider's state lives beside the spec: `<cluster dir>/qemu/`.
fn qemu_dir(spec_file: &Path) -> PathBuf {
    crate::fsio::dir_of(spec_file).join("qemu")
}

/// A recorded VM whose process still exists.
fn alive(vm: &Started) -> bool {
    Path::new(&format!("/proc/{}", vm.pid)).exists()
}

fn load_recorded(dir: &Path) -> Result<Vec<Started>> {
    provider::load_started(dir).map_err(|e| Failure::user(e.to_string()))
}

pub fn up_qemu(args: UpArgs) -> Result<ExitStatus> {
    let file = &args.spec.file;
    let image = args.qemu.image.clone().ok_or_else(|| {
        Failure::user("`up --provider qemu` needs --image FILE.qcow2")
            .hint("tests/vm/build-image.sh builds a Debian 12 test image")
    })?;
    let spec = load_spec_file(file)?;
    let secrets_path = secrets_path_for(file, args.secrets.as_deref());
    let mut bundle = load_secrets(&secrets_path)?;
    let dir = qemu_dir(file);
    let running = load_recorded(&dir)?.into_iter().filter(alive).count();
    if running > 0 {
        return Err(
            Failure::user(format!("{running} VM(s) of this cluster are still running")).hint(
                format!(
                    "stop them first: k8sgen down --provider qemu -f {}",
                    file.display()
                ),
            ),
        );
    }
    let plan = crate::plan::plan(&spec, &bundle, &env_lookup)
        .map_err(|e| Failure::internal("cannot plan the cluster").cause(e))?;
    for w in &plan.warnings {
        eprintln!("warning: {w} (local VMs do not need it)");
    }
    let cidr: ipnet::Ipv4Net = spec
        .network
        .cluster
        .cidr
        .parse()
        .map_err(|_| Failure::internal("cluster CIDR did not parse after validation"))?;
    private_dir(&dir)
        .map_err(|e| Failure::user(format!("cannot create {}", dir.display())).cause(e))?;
    let options = qemu::UpOptions {
        state_dir: &dir,
        boot: provider::Boot {
            image,
            kernel: args.qemu.kernel,
            initrd: args.qemu.initrd,
        },
        cluster_cidr: cidr,
        memory_mib: args.qemu.memory,
        services: args.qemu.serve,
    };
    let (compiled, started) =
        qemu::start(plan, &mut bundle, &SystemClock, &mut OsEntropy, &options)
            .map_err(|e| Failure::internal("cannot start the VMs").cause(e))?;
    if !compiled.issued_leaves.is_empty() {
        save_secrets(&secrets_path, &bundle)?;
    }
    print_started(&started, &dir);
    let states = follow(&started, args.timeout);
    let failed = print_outcome(&states, width(&started));
    match failed {
        0 => Ok(ExitStatus::Success),
        n => Err(not_booted(n, states.len(), &dir)),
    }
}

fn width(started: &[Started]) -> usize {
    started.iter().map(|s| s.name.len()).max().unwrap_or(4)
}

fn print_started(started: &[Started], dir: &Path) {
    let accel = match provider::detect_accel() {
        provider::Accel::Kvm => "KVM",
        provider::Accel::Tcg => "TCG (no usable KVM)",
    };
    println!(
        "started {} VM(s) with {accel}; consoles in {}",
        started.len(),
        dir.display()
    );
    for s in started {
        let forwards: Vec<String> = s
            .forwards
            .iter()
            .map(|(h, g)| format!("127.0.0.1:{h}->{g}"))
            .collect();
        println!(
            "  {:<20} pid {:<8} forwards {}",
            s.name,
            s.pid,
            forwards.join(", ")
        );
    }
}

/// Print each progress line as it arrives; the nodes' states at the end or the deadline.
fn follow(started: &[Started], timeout: u64) -> Vec<(String, NodeState)> {
    let width = width(started);
    qemu::follow(started, std::time::Duration::from_secs(timeout), &mut |p| {
        let mark = if p.ok { "ok" } else { "FAILED" };
        println!(
            "{:<width$}  {}/{} {:<15} {:<6} {:>5}s {}",
            p.node, p.index, p.total, p.step, mark, p.elapsed_s, p.detail
        );
    })
    .into_iter()
    .collect()
}

/// One line per node; returns how many did not finish.
fn print_outcome(states: &[(String, NodeState)], width: usize) -> usize {
    let mut failed = 0;
    for (node, state) in states {
        let line = match state {
            NodeState::Done => "done".to_string(),
            NodeState::Stopped(step) => format!("stopped after {step} (bootstrap.stopAfter)"),
            NodeState::Failed(p) => format!("FAILED at {}: {}", p.step, p.detail),
            NodeState::Booting => {
                "no progress line before the deadline (still booting? see its console)".into()
            }
            NodeState::Running(p) | NodeState::Retrying(p) => {
                format!("timed out after step {} ({}s)", p.step, p.elapsed_s)
            }
        };
        if !matches!(state, NodeState::Done | NodeState::Stopped(_)) {
            failed += 1;
        }
        println!("{node:<width$}  {line}");
    }
    failed
}

/// The `error:` a qemu `up` ends with when a node failed or ran out of time.
fn not_booted(failed: usize, total: usize, dir: &Path) -> Failure {
    Failure::user(format!(
        "{failed} of {total} node(s) did not finish their first boot"
    ))
    .hint(format!(
        "each node's serial console is in {}; the lines above say where each stopped",
        dir.display()
    ))
}

pub fn down_qemu(file: &Path) -> Result<ExitStatus> {
    let dir = qemu_dir(file);
    let stopped = provider::stop(&dir, std::time::Duration::from_secs(10))
        .map_err(|e| Failure::user(e.to_string()))?;
    println!(
        "stopped {} VM(s): {}; overlays and seeds removed",
        stopped.len(),
        stopped.join(", ")
    );
    Ok(ExitStatus::Success)
}

/// The VMs `up --provider qemu` recorded in `<cluster dir>/qemu/vms.json`, and whether
/// each process still runs.
pub fn status_qemu(file: &Path, format: OutputFormat) -> Result<ExitStatus> {
    let dir = qemu_dir(file);
    let vms = load_recorded(&dir)?;
    match format {
        OutputFormat::Json => {
            let doc: Vec<_> = vms
                .iter()
                .map(|vm| {
                    serde_json::json!({
                        "name": vm.name, "pid": vm.pid, "running": alive(vm),
                        "console": vm.console, "forwards": vm.forwards,
                    })
                })
                .collect();
            println!("{}", output::pretty(&serde_json::json!(doc)));
        }
        OutputFormat::Text if vms.is_empty() => {
            println!("no VMs recorded in {}", dir.display());
        }
        OutputFormat::Text => {
            let width = width(&vms);
            for vm in &vms {
                let state = if alive(vm) { "running" } else { "stopped" };
                println!("{:<width$}  pid {:<8} {state}", vm.name, vm.pid);
            }
        }
    }
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_that_did_not_finish_ends_with_an_error_line() {
        let f = not_booted(1, 3, Path::new("c/qemu"));
        assert_eq!(f.status(), ExitStatus::Failure);
        let report = f.report();
        assert!(
            report.starts_with("error: 1 of 3 node(s) did not finish their first boot\n"),
            "{report}"
        );
        assert!(report.contains("hint: each node's serial console is in c/qemu"));
    }
}
