//! `k8sgen secrets generate|import|export-pki|show`. Must never print a private key or the
//! token secret; `show` prints only what `output::secrets_summary` allows.

use super::*;

pub fn secrets_generate(out: &Path, alg: KeyAlgorithm, test_only: bool) -> Result<ExitStatus> {
    if out.exists() {
        return Err(Failure::user(format!("{} already exists", out.display()))
            .hint("k8sgen never overwrites a secrets bundle; move it away first if you really mean to replace the CAs"));
    }
    let mut bundle = generate_bundle(alg)?;
    bundle.test_only = test_only;
    save_secrets(out, &bundle)?;
    println!("wrote {} ({}, 0600)", out.display(), alg.kubeadm_name());
    Ok(ExitStatus::Success)
}

pub fn secrets_import(dir: &Path, out: &Path) -> Result<ExitStatus> {
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
    Ok(ExitStatus::Success)
}

pub fn secrets_export(dir: &Path, secrets: &Path) -> Result<ExitStatus> {
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
    Ok(ExitStatus::Success)
}

pub fn secrets_show(secrets: &Path, format: OutputFormat) -> Result<ExitStatus> {
    let bundle = load_secrets(secrets)?;
    let summary = output::secrets_summary(&bundle, format)
        .map_err(|e| Failure::user(format!("cannot read {}", secrets.display())).cause(e))?;
    match format {
        OutputFormat::Json => println!("{summary}"),
        OutputFormat::Text => print!("{summary}"),
    }
    Ok(ExitStatus::Success)
}
