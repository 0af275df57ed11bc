//! One function per subcommand: read inputs, call the library, write outputs, print.

use super::Failure;
use super::output;
use crate::compile::{Compiled, compile};
use crate::fsio::{private_dir, write_atomic, write_replace_fast};
use crate::pki::{self, Bundle, KeyAlgorithm, OsEntropy, SystemClock};
use crate::render::Options;
use crate::{profiles, spec};
use std::fs;
use std::path::{Path, PathBuf};

type Result<T> = std::result::Result<T, Failure>;

fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path)
        .map_err(|e| Failure::user(format!("cannot read {}", path.display())).cause(e))
}

fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    write_atomic(path, bytes, mode)
        .map_err(|e| Failure::user(format!("cannot write {}", path.display())).cause(e))
}

fn key_algorithm(text: &str) -> Result<KeyAlgorithm> {
    KeyAlgorithm::parse(text).ok_or_else(|| {
        Failure::user(format!("`{text}` is not a key algorithm"))
            .hint("use ECDSA-P256 (default), RSA-2048, RSA-3072 or RSA-4096")
    })
}

fn load_spec(name: &str, text: &str) -> Result<spec::ClusterSpec> {
    spec::load(name, text).map_err(|e| {
        Failure::user(e.to_string())
            .hint("fix the fields above; `k8sgen profiles` lists commented examples")
    })
}

fn load_secrets(path: &Path) -> Result<Bundle> {
    let text = read_text(path)?;
    Bundle::from_yaml(&path.display().to_string(), &text).map_err(|e| {
        Failure::user(e.to_string()).hint("create one with `k8sgen secrets generate --out FILE`")
    })
}

fn save_secrets(path: &Path, bundle: &Bundle) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_dir(dir)
            .map_err(|e| Failure::user(format!("cannot create {}", dir.display())).cause(e))?;
    }
    write(path, bundle.to_yaml().as_bytes(), 0o600)
}

fn generate_bundle(alg: KeyAlgorithm) -> Result<Bundle> {
    pki::generate(alg, &SystemClock, &mut OsEntropy).map_err(|e| Failure::internal(e.to_string()))
}

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

pub fn profiles() -> Result<i32> {
    for p in profiles::PROFILES {
        println!("{:<14} {}", p.name, p.summary);
    }
    Ok(0)
}

fn profile_text(name: &str) -> Result<&'static str> {
    profiles::find(name).map(|p| p.text).ok_or_else(|| {
        Failure::user(format!("no profile named `{name}`"))
            .hint(format!("embedded profiles: {}", profiles::names()))
    })
}

pub fn new(dir: &Path, profile: &str, alg: &str) -> Result<i32> {
    let text = profile_text(profile)?;
    let alg = key_algorithm(alg)?;
    let spec_path = dir.join("cluster.yaml");
    let secrets_path = dir.join("secrets.yaml");
    if spec_path.exists() || secrets_path.exists() {
        return Err(
            Failure::user(format!("{} already holds a cluster", dir.display()))
                .hint("pick an empty directory; k8sgen never overwrites a secrets bundle"),
        );
    }
    private_dir(dir)
        .map_err(|e| Failure::user(format!("cannot create {}", dir.display())).cause(e))?;
    write(&spec_path, text.as_bytes(), 0o644)?;
    save_secrets(&secrets_path, &generate_bundle(alg)?)?;
    println!(
        "wrote {} and {} (0600)",
        spec_path.display(),
        secrets_path.display()
    );
    println!(
        "next: edit the spec, then `k8sgen render -f {} --out {}`",
        spec_path.display(),
        dir.join("out").display()
    );
    Ok(0)
}

pub fn secrets_generate(out: &Path, alg: &str, test_only: bool) -> Result<i32> {
    let alg = key_algorithm(alg)?;
    if out.exists() {
        return Err(Failure::user(format!("{} already exists", out.display()))
            .hint("k8sgen never overwrites a secrets bundle; move it away first if you really mean to replace the CAs"));
    }
    let mut bundle = generate_bundle(alg)?;
    bundle.test_only = test_only;
    save_secrets(out, &bundle)?;
    println!("wrote {} ({}, 0600)", out.display(), alg.kubeadm_name());
    Ok(0)
}

pub fn secrets_import(dir: &Path, out: &Path) -> Result<i32> {
    if out.exists() {
        return Err(Failure::user(format!("{} already exists", out.display()))
            .hint("k8sgen never overwrites a secrets bundle"));
    }
    let read = |rel: &str| fs::read_to_string(dir.join(rel)).ok();
    let (bundle, generated) = pki::import_kubeadm_dir(&read, &SystemClock, &mut OsEntropy)
        .map_err(|e| Failure::user(format!("cannot import {}", dir.display())).cause(e))?;
    save_secrets(out, &bundle)?;
    println!(
        "imported {} into {} ({})",
        dir.display(),
        out.display(),
        bundle.key_algorithm.kubeadm_name()
    );
    if !generated.is_empty() {
        println!(
            "generated (absent from the directory): {}",
            generated.join(", ")
        );
    }
    Ok(0)
}

pub fn secrets_export(dir: &Path, secrets: &Path) -> Result<i32> {
    let bundle = load_secrets(secrets)?;
    let files = pki::export_kubeadm_layout(&bundle);
    for f in &files {
        let path = dir.join(&f.path);
        if let Some(parent) = path.parent() {
            private_dir(parent).map_err(|e| {
                Failure::user(format!("cannot create {}", parent.display())).cause(e)
            })?;
        }
        write(&path, f.contents.as_bytes(), f.mode)?;
    }
    println!("wrote {} files into {}", files.len(), dir.display());
    Ok(0)
}

pub fn secrets_show(secrets: &Path) -> Result<i32> {
    let bundle = load_secrets(secrets)?;
    print!(
        "{}",
        output::secrets_summary(&bundle).map_err(|e| Failure::user(e.to_string()))?
    );
    Ok(0)
}

/// `-f FILE` → its `secrets.yaml` sibling unless `--secrets` says otherwise.
fn secrets_path_for(spec_file: &Path, explicit: Option<&Path>) -> PathBuf {
    explicit.map(Path::to_path_buf).unwrap_or_else(|| {
        spec_file
            .parent()
            .unwrap_or(Path::new("."))
            .join("secrets.yaml")
    })
}

fn run_compile(spec: &spec::ClusterSpec, secrets: &mut Bundle, gzip: bool) -> Result<Compiled> {
    compile(
        spec,
        secrets,
        &env_lookup,
        &SystemClock,
        &mut OsEntropy,
        Options { gzip },
    )
    .map_err(|e| Failure::internal("cannot compile the cluster").cause(e))
}

fn print_warnings(compiled: &Compiled) {
    for w in &compiled.plan.warnings {
        eprintln!("warning: {w}");
    }
}

pub fn plan(file: &Path, secrets: Option<&Path>, json: bool) -> Result<i32> {
    let spec = load_spec(&file.display().to_string(), &read_text(file)?)?;
    let secrets_path = secrets_path_for(file, secrets);
    let mut bundle = load_secrets(&secrets_path)?;
    let compiled = run_compile(&spec, &mut bundle, false)?;
    print_warnings(&compiled);
    if json {
        println!("{}", output::plan_json(&compiled));
    } else {
        print!("{}", output::plan_text(&compiled));
    }
    Ok(0)
}

pub struct RenderArgs {
    pub file: Option<PathBuf>,
    pub profile: Option<String>,
    pub secrets: Option<PathBuf>,
    pub out: PathBuf,
    pub gzip: bool,
    pub check: bool,
    /// `--format`: Some(true) = ignition, Some(false) = cloud-config, None = from `nodes.os`.
    pub ignition: Option<bool>,
}

pub fn render(args: RenderArgs) -> Result<i32> {
    let (spec_name, spec_text) = match (&args.file, &args.profile) {
        (Some(f), _) => (f.display().to_string(), read_text(f)?),
        (None, Some(p)) => (format!("profile {p}"), profile_text(p)?.to_string()),
        (None, None) => return Err(Failure::user("give -f cluster.yaml or --profile NAME")),
    };
    let spec = load_spec(&spec_name, &spec_text)?;
    let os_reads_ignition = crate::catalog::IGNITION_OS.contains(&spec.nodes.os.as_str());
    if let Some(ignition) = args.ignition
        && ignition != os_reads_ignition
    {
        let (asked, reads) = if ignition {
            ("ignition", "cloud-config")
        } else {
            ("cloud-config", "Ignition")
        };
        return Err(Failure::user(format!(
            "{spec_name}: nodes.os `{}` reads {reads}, not {asked}",
            spec.nodes.os
        ))
        .hint("drop --format (the OS selects it) or change nodes.os (flatcar reads ignition)"));
    }
    let secrets_path = match (&args.secrets, &args.file) {
        (Some(s), _) => s.clone(),
        (None, Some(f)) => secrets_path_for(f, None),
        (None, None) => args.out.join("secrets.yaml"),
    };
    let mut bundle = if secrets_path.exists() {
        if args.profile.is_some() && args.secrets.is_none() {
            eprintln!(
                "note: reusing the secrets bundle {}",
                secrets_path.display()
            );
        }
        load_secrets(&secrets_path)?
    } else if args.file.is_none() && args.secrets.is_none() && !args.check {
        eprintln!(
            "note: generating a new secrets bundle at {} (0600); later runs reuse it",
            secrets_path.display()
        );
        let b = generate_bundle(KeyAlgorithm::EcdsaP256)?;
        private_dir(&args.out)
            .map_err(|e| Failure::user(format!("cannot create {}", args.out.display())).cause(e))?;
        save_secrets(&secrets_path, &b)?;
        b
    } else {
        return Err(
            Failure::user(format!("no secrets bundle at {}", secrets_path.display()))
                .hint("create one with `k8sgen secrets generate --out FILE` or pass --secrets"),
        );
    };
    let compiled = run_compile(&spec, &mut bundle, args.gzip)?;
    print_warnings(&compiled);
    if let Some(over) = compiled.user_data.iter().find(|u| !u.fits_nova()) {
        return Err(Failure::user(format!(
            "user-data for {} is {} bytes of base64, over Nova's limit of {}",
            over.node,
            over.base64_size(),
            crate::render::NOVA_USER_DATA_LIMIT
        ))
        .hint("render with --gzip, and use ECDSA-P256 keys rather than RSA"));
    }

    let mut outputs: Vec<(PathBuf, Vec<u8>)> = compiled
        .user_data
        .iter()
        .map(|u| {
            (
                args.out
                    .join(format!("{}.{}", u.node, u.format.extension())),
                u.bytes.clone(),
            )
        })
        .collect();
    outputs.push((
        args.out.join("admin.kubeconfig"),
        compiled.admin_kubeconfig.clone().into_bytes(),
    ));

    if args.check {
        let stale: Vec<_> = outputs
            .iter()
            .filter(|(path, bytes)| fs::read(path).ok().as_deref() != Some(bytes.as_slice()))
            .map(|(path, _)| path.display().to_string())
            .collect();
        if !compiled.issued_leaves.is_empty() || !stale.is_empty() {
            for s in &stale {
                println!("differs: {s}");
            }
            if !compiled.issued_leaves.is_empty() {
                println!(
                    "the secrets bundle lacks {} leaf certificate(s)",
                    compiled.issued_leaves.len()
                );
            }
            return Ok(1);
        }
        println!(
            "up to date: {} files in {}",
            outputs.len(),
            args.out.display()
        );
        return Ok(0);
    }

    if !compiled.issued_leaves.is_empty() {
        save_secrets(&secrets_path, &bundle)?;
        eprintln!(
            "note: issued {} leaf certificate(s) into {}",
            compiled.issued_leaves.len(),
            secrets_path.display()
        );
    }
    private_dir(&args.out)
        .map_err(|e| Failure::user(format!("cannot create {}", args.out.display())).cause(e))?;
    for (path, bytes) in &outputs {
        if fs::read(path).is_ok_and(|old| &old == bytes) {
            continue; // unchanged: keep the file (and its mtime) as it is
        }
        // Every user-data carries a token or keys: owner-only, like the kubeconfig. They are
        // regenerable from spec + secrets, so no per-file fsync (1,000 nodes stay fast).
        write_replace_fast(path, bytes, 0o600)
            .map_err(|e| Failure::user(format!("cannot write {}", path.display())).cause(e))?;
    }
    print!("{}", output::size_table(&compiled));
    eprintln!(
        "note: user-data stays readable through the metadata service for the life of each VM; \
         k8sgen blocks pod access to it (see README, Security)"
    );
    if !compiled.plan.deployable {
        eprintln!("warning: this plan is NOT deployable as rendered (see warnings above)");
    }
    Ok(0)
}

pub struct UpQemuArgs {
    pub file: PathBuf,
    pub secrets: Option<PathBuf>,
    pub image: Option<PathBuf>,
    pub kernel: Option<PathBuf>,
    pub initrd: Option<PathBuf>,
    pub memory: u32,
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
            NodeState::Running(p) => {
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
