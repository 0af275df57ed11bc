//! `k8sgen secrets generate|import|export-pki|show`.

use super::*;

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
