//! One function per subcommand: read inputs, call the library, write outputs, print.
//! Shared input/output helpers live here; `secrets`, `render`, `up` (qemu) and `openstack`
//! have files of their own. Must not hold clap types beyond the parsed argument structs.

mod display;
mod openstack;
mod render;
mod secrets;
mod up;
mod up_report;

pub use openstack::{down_openstack, status_openstack, up_openstack};
pub use render::render;
pub use secrets::{secrets_export, secrets_generate, secrets_import, secrets_show};
pub use up::{down_qemu, status_qemu, up_qemu};

use super::output::{self, OutputFormat};
use super::{ExitStatus, Failure};
use crate::compile::{Compiled, compile};
use crate::fsio::{private_dir, write_atomic, write_replace_fast};
use crate::pki::{self, KeyAlgorithm, OsEntropy, Secrets, SystemClock};
use crate::render::Options;
use crate::{profiles, spec};
use std::fs;
use std::path::{Path, PathBuf};

pub type Result<T> = std::result::Result<T, Failure>;

pub(super) fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path)
        .map_err(|e| Failure::user(format!("cannot read {}", path.display())).cause(e))
}

pub(super) fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    write_atomic(path, bytes, mode)
        .map_err(|e| Failure::user(format!("cannot write {}", path.display())).cause(e))
}

/// A spec's problems carry their own hints; only a YAML syntax error, which has none, gets
/// the general one, so every `hint:` the user reads fixes one thing.
pub(super) fn load_spec(name: &str, text: &str) -> Result<spec::ClusterSpec> {
    spec::load(name, text).map_err(|e| {
        let f = Failure::user(e.to_string());
        match e {
            spec::SpecError::Syntax { .. } => {
                f.hint("fix the YAML above; `k8sgen profiles` lists commented examples")
            }
            _ => f,
        }
    })
}

/// A spec file, with the files it names read from beside it (`cloud.openstack.caFile`):
/// for the commands that build user-data. `down` and `status` need only the spec itself.
pub(super) fn load_spec_file(file: &Path) -> Result<spec::ClusterSpec> {
    let name = file.display().to_string();
    let mut spec = load_spec(&name, &read_text(file)?)?;
    let dir = crate::fsio::dir_of(file);
    spec::read_files(&mut spec, &name, dir, &|p: &Path| fs::read(p))
        .map_err(|e| Failure::user(e.to_string()))?;
    Ok(spec)
}

pub(super) fn load_secrets(path: &Path) -> Result<Secrets> {
    // A missing file gets the way to make one; a wrong one carries its own hints already.
    let text = read_text(path)
        .map_err(|f| f.hint("create one with `k8sgen secrets generate --secrets FILE`"))?;
    Secrets::from_yaml(&path.display().to_string(), &text).map_err(|e| Failure::user(e.to_string()))
}

pub(super) fn save_secrets(path: &Path, bundle: &Secrets) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_dir(dir)
            .map_err(|e| Failure::user(format!("cannot create {}", dir.display())).cause(e))?;
    }
    write(path, bundle.to_yaml().as_bytes(), 0o600)
}

pub(super) fn generate_bundle(alg: KeyAlgorithm) -> Result<Secrets> {
    pki::generate(alg, &SystemClock, &mut OsEntropy).map_err(|e| Failure::internal(e.to_string()))
}

pub(super) fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

pub fn profiles(format: OutputFormat) -> Result<ExitStatus> {
    print!("{}", output::profiles(format));
    Ok(ExitStatus::Success)
}

/// `completions SHELL`: the script clap_complete derives from the same definition as `--help`.
pub fn completions(shell: clap_complete::Shell, mut cli: clap::Command) -> Result<ExitStatus> {
    clap_complete::generate(shell, &mut cli, "k8sgen", &mut std::io::stdout());
    Ok(ExitStatus::Success)
}

/// `man`: the roff page clap_mangen derives from the same definition as `--help`.
pub fn man(cli: clap::Command) -> Result<ExitStatus> {
    clap_mangen::Man::new(cli)
        .render(&mut std::io::stdout())
        .map_err(|e| Failure::user("cannot write the man page").cause(e))?;
    Ok(ExitStatus::Success)
}

pub(super) fn profile_text(name: &str) -> Result<&'static str> {
    profiles::find(name).map(|p| p.text).ok_or_else(|| {
        Failure::user(format!("no profile named `{name}`"))
            .hint(format!("embedded profiles: {}", profiles::names()))
    })
}

pub fn new(dir: &Path, profile: &str, alg: KeyAlgorithm) -> Result<ExitStatus> {
    let text = profile_text(profile)?;
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
    Ok(ExitStatus::Success)
}

/// `-f FILE` → its `secrets.yaml` sibling unless `--secrets` says otherwise.
pub(super) fn secrets_path_for(spec_file: &Path, explicit: Option<&Path>) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .unwrap_or_else(|| crate::fsio::dir_of(spec_file).join("secrets.yaml"))
}

pub(super) fn run_compile(
    spec: &spec::ClusterSpec,
    secrets: &mut Secrets,
    gzip: bool,
) -> Result<Compiled> {
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

pub(super) fn print_warnings(compiled: &Compiled) {
    for w in &compiled.plan.warnings {
        eprintln!("warning: {w}");
    }
}

pub fn plan(
    file: &Path,
    secrets: Option<&Path>,
    format: OutputFormat,
    artifacts: bool,
) -> Result<ExitStatus> {
    let spec = load_spec_file(file)?;
    let secrets_path = secrets_path_for(file, secrets);
    let mut bundle = load_secrets(&secrets_path)?;
    let compiled = run_compile(&spec, &mut bundle, false)?;
    print_warnings(&compiled);
    if artifacts {
        let list = crate::plan::artifacts::list(&compiled.plan);
        match format {
            OutputFormat::Json => println!("{}", output::artifacts_json(&list)),
            OutputFormat::Text => print!("{}", output::artifacts_text(&list)),
        }
        return Ok(ExitStatus::Success);
    }
    match format {
        OutputFormat::Json => println!("{}", output::plan_json(&compiled)),
        OutputFormat::Text => print!("{}", output::plan_text(&compiled)),
    }
    Ok(ExitStatus::Success)
}
