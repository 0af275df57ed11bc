//! One function per subcommand: read inputs, call the library, write outputs, print.
//! Shared input/output helpers live here; `secrets`, `render` and `up` have files of their own.

mod openstack;
mod render;
mod secrets;
mod up;

pub use openstack::{UpOpenStackArgs, down_openstack, status_openstack, up_openstack};
pub use render::{RenderArgs, render};
pub use secrets::{secrets_export, secrets_generate, secrets_import, secrets_show};
pub use up::{UpQemuArgs, down_qemu, up_qemu};

use super::Failure;
use super::output;
use crate::compile::{Compiled, compile};
use crate::fsio::{private_dir, write_atomic, write_replace_fast};
use crate::pki::{self, Bundle, KeyAlgorithm, OsEntropy, SystemClock};
use crate::render::Options;
use crate::{profiles, spec};
use std::fs;
use std::path::{Path, PathBuf};

pub(super) type Result<T> = std::result::Result<T, Failure>;

pub(super) fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path)
        .map_err(|e| Failure::user(format!("cannot read {}", path.display())).cause(e))
}

pub(super) fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    write_atomic(path, bytes, mode)
        .map_err(|e| Failure::user(format!("cannot write {}", path.display())).cause(e))
}

pub(super) fn key_algorithm(text: &str) -> Result<KeyAlgorithm> {
    KeyAlgorithm::parse(text).ok_or_else(|| {
        Failure::user(format!("`{text}` is not a key algorithm"))
            .hint("use ECDSA-P256 (default), RSA-2048, RSA-3072 or RSA-4096")
    })
}

pub(super) fn load_spec(name: &str, text: &str) -> Result<spec::ClusterSpec> {
    spec::load(name, text).map_err(|e| {
        Failure::user(e.to_string())
            .hint("fix the fields above; `k8sgen profiles` lists commented examples")
    })
}

pub(super) fn load_secrets(path: &Path) -> Result<Bundle> {
    let text = read_text(path)?;
    Bundle::from_yaml(&path.display().to_string(), &text).map_err(|e| {
        Failure::user(e.to_string()).hint("create one with `k8sgen secrets generate --out FILE`")
    })
}

pub(super) fn save_secrets(path: &Path, bundle: &Bundle) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_dir(dir)
            .map_err(|e| Failure::user(format!("cannot create {}", dir.display())).cause(e))?;
    }
    write(path, bundle.to_yaml().as_bytes(), 0o600)
}

pub(super) fn generate_bundle(alg: KeyAlgorithm) -> Result<Bundle> {
    pki::generate(alg, &SystemClock, &mut OsEntropy).map_err(|e| Failure::internal(e.to_string()))
}

pub(super) fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

pub fn profiles() -> Result<i32> {
    for p in profiles::PROFILES {
        println!("{:<14} {}", p.name, p.summary);
    }
    Ok(0)
}

pub(super) fn profile_text(name: &str) -> Result<&'static str> {
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

/// `-f FILE` → its `secrets.yaml` sibling unless `--secrets` says otherwise.
pub(super) fn secrets_path_for(spec_file: &Path, explicit: Option<&Path>) -> PathBuf {
    explicit.map(Path::to_path_buf).unwrap_or_else(|| {
        spec_file
            .parent()
            .unwrap_or(Path::new("."))
            .join("secrets.yaml")
    })
}

pub(super) fn run_compile(
    spec: &spec::ClusterSpec,
    secrets: &mut Bundle,
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
