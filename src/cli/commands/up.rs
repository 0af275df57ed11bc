//! `k8sgen up|down --provider qemu`.

use super::*;

pub struct UpQemuArgs {
    pub file: PathBuf,
    pub secrets: Option<PathBuf>,
    pub image: Option<PathBuf>,
    pub kernel: Option<PathBuf>,
    pub initrd: Option<PathBuf>,
    pub memory: u32,
    pub serve: Vec<crate::providers::qemu::Service>,
    pub timeout: u64,
}

/// The qemu provider's state lives beside the spec: `<cluster dir>/qemu/`.
fn qemu_dir(spec_file: &Path) -> PathBuf {
    spec_file.parent().unwrap_or(Path::new(".")).join("qemu")
}

pub fn up_qemu(args: UpQemuArgs) -> Result<i32> {
    use crate::providers::qemu as provider;
    use crate::up::{progress::NodeState, qemu};
    let image = args.image.clone().ok_or_else(|| {
        Failure::user("`up --provider qemu` needs --image FILE.qcow2")
            .hint("tests/vm/build-image.sh builds a Debian 12 test image")
    })?;
    let spec = load_spec(&args.file.display().to_string(), &read_text(&args.file)?)?;
    let secrets_path = secrets_path_for(&args.file, args.secrets.as_deref());
    let mut bundle = load_secrets(&secrets_path)?;
    let dir = qemu_dir(&args.file);
    let running: Vec<_> = provider::load_started(&dir)
        .map_err(|e| Failure::user(e.to_string()))?
        .into_iter()
        .filter(|s| Path::new(&format!("/proc/{}", s.pid)).exists())
        .collect();
    if !running.is_empty() {
        return Err(Failure::user(format!(
            "{} VM(s) of this cluster are still running",
            running.len()
        ))
        .hint(format!(
            "stop them first: k8sgen down --provider qemu -f {}",
            args.file.display()
        )));
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
            kernel: args.kernel,
            initrd: args.initrd,
        },
        cluster_cidr: cidr,
        memory_mib: args.memory,
        services: args.serve,
    };
    let (compiled, started) =
        qemu::start(plan, &mut bundle, &SystemClock, &mut OsEntropy, &options)
            .map_err(|e| Failure::internal("cannot start the VMs").cause(e))?;
    if !compiled.issued_leaves.is_empty() {
        save_secrets(&secrets_path, &bundle)?;
    }
    let accel = match provider::detect_accel() {
        provider::Accel::Kvm => "KVM",
        provider::Accel::Tcg => "TCG (no usable KVM)",
    };
    println!(
        "started {} VM(s) with {accel}; consoles in {}",
        started.len(),
        dir.display()
    );
    for s in &started {
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
    let width = started.iter().map(|s| s.name.len()).max().unwrap_or(4);
    let states = qemu::follow(
        &started,
        std::time::Duration::from_secs(args.timeout),
        &mut |p| {
            let mark = if p.ok { "ok" } else { "FAILED" };
            println!(
                "{:<width$}  {}/{} {:<15} {:<6} {:>5}s {}",
                p.node, p.index, p.total, p.step, mark, p.elapsed_s, p.detail
            );
        },
    );
    let mut failed = 0;
    for (node, state) in &states {
        match state {
            NodeState::Done => println!("{node:<width$}  done"),
            NodeState::Stopped(step) => {
                println!("{node:<width$}  stopped after {step} (bootstrap.stopAfter)")
            }
            NodeState::Failed(p) => {
                failed += 1;
                println!("{node:<width$}  FAILED at {}: {}", p.step, p.detail);
            }
            NodeState::Booting => {
                failed += 1;
                println!(
                    "{node:<width$}  no progress line before the deadline (still booting? see its console)"
                );
            }
            NodeState::Running(p) | NodeState::Retrying(p) => {
                failed += 1;
                println!(
                    "{node:<width$}  timed out after step {} ({}s)",
                    p.step, p.elapsed_s
                );
            }
        }
    }
    Ok(if failed == 0 { 0 } else { 1 })
}

pub fn down_qemu(file: &Path) -> Result<i32> {
    let dir = qemu_dir(file);
    let stopped = crate::providers::qemu::stop(&dir, std::time::Duration::from_secs(10))
        .map_err(|e| Failure::user(e.to_string()))?;
    println!(
        "stopped {} VM(s): {}; overlays and seeds removed",
        stopped.len(),
        stopped.join(", ")
    );
    Ok(0)
}
