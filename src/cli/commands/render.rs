//! `k8sgen render`: compile, check sizes, write or `--check` the outputs. Must not call a
//! provider: what `up` learned from the cloud arrives through its recorded facts.

use super::*;
use crate::cli::args::RenderArgs;

pub fn render(args: RenderArgs) -> Result<ExitStatus> {
    let spec = match (&args.file, &args.profile) {
        (Some(f), _) => load_spec_file(f)?,
        (None, Some(p)) => load_spec(&format!("profile {p}"), profile_text(p)?)?,
        (None, None) => return Err(Failure::user("give -f cluster.yaml or --profile NAME")),
    };
    let secrets_path = match (&args.secrets, &args.file) {
        (Some(s), _) => s.clone(),
        (None, Some(f)) => secrets_path_for(f, None),
        (None, None) => args.out.join("secrets.yaml"),
    };
    let mut bundle = secrets_for_render(&args, &secrets_path)?;
    let compiled = compile_for_render(&args, &spec, &mut bundle)?;
    print_warnings(&compiled);
    if let Some(over) = compiled.user_data.iter().find(|u| !u.fits_nova()) {
        return Err(Failure::user(format!(
            "user-data for {} is {} bytes of base64, over Nova's limit of {}",
            over.node,
            over.base64_size(),
            crate::render::NOVA_USER_DATA_LIMIT
        ))
        .hint(crate::render::over_limit_hint(
            over.gzip,
            compiled.plan.openstack.ca_file.is_some(),
        )));
    }
    let outputs = outputs(&compiled, &args.out);
    if args.check {
        return Ok(check(&compiled, &outputs, &args.out));
    }
    if !compiled.issued_leaves.is_empty() {
        save_secrets(&secrets_path, &bundle)?;
        eprintln!(
            "note: issued {} leaf certificate(s) into {}",
            compiled.issued_leaves.len(),
            secrets_path.display()
        );
    }
    write_outputs(&outputs, &args.out)?;
    match args.output {
        OutputFormat::Json => println!("{}", output::rendered_json(&compiled, &args.out)),
        OutputFormat::Text => print!("{}", output::size_table(&compiled)),
    }
    eprintln!(
        "note: user-data stays readable through the metadata service for the life of each VM; \
         k8sgen blocks pod access to it (see README, Security)"
    );
    if !compiled.plan.deployable {
        eprintln!("warning: this plan is NOT deployable as rendered (see warnings above)");
    }
    Ok(ExitStatus::Success)
}

/// The bundle at `path`; with `--profile` and no bundle yet, a new one saved there.
fn secrets_for_render(args: &RenderArgs, path: &Path) -> Result<Secrets> {
    if path.exists() {
        if args.profile.is_some() && args.secrets.is_none() {
            eprintln!("note: reusing the secrets bundle {}", path.display());
        }
        return load_secrets(path);
    }
    if args.file.is_some() || args.secrets.is_some() || args.check {
        return Err(
            Failure::user(format!("no secrets bundle at {}", path.display()))
                .hint("create one with `k8sgen secrets generate --secrets FILE` or pass --secrets"),
        );
    }
    eprintln!(
        "note: generating a new secrets bundle at {} (0600); later runs reuse it",
        path.display()
    );
    let b = generate_bundle(KeyAlgorithm::EcdsaP256)?;
    private_dir(&args.out)
        .map_err(|e| Failure::user(format!("cannot create {}", args.out.display())).cause(e))?;
    save_secrets(path, &b)?;
    Ok(b)
}

/// After `up`, what the cloud decided (admin MACs, API floating IP) is part of the plan
/// the servers were built from: render that same plan.
fn compile_for_render(
    args: &RenderArgs,
    spec: &crate::spec::ClusterSpec,
    bundle: &mut Secrets,
) -> Result<Compiled> {
    use crate::up::state;
    let Some(file) = &args.file else {
        return run_compile(spec, bundle, args.gzip);
    };
    let path = state::path_for(file);
    let recorded = state::load(&path)
        .map_err(|e| Failure::user(format!("cannot read {}", path.display())).cause(e))?
        .filter(|r| r.cluster == spec.name);
    let Some(recorded) = recorded else {
        return run_compile(spec, bundle, args.gzip);
    };
    eprintln!(
        "note: using what `up` recorded in {} (admin MACs, floating IP)",
        path.display()
    );
    let plan = crate::plan::plan(spec, bundle, &env_lookup)
        .map_err(|e| Failure::internal("cannot plan the cluster").cause(e))?
        .with_facts(&recorded.facts);
    crate::compile::build(
        plan,
        bundle,
        &SystemClock,
        &mut OsEntropy,
        Options { gzip: args.gzip },
    )
    .map_err(|e| Failure::internal("cannot compile the cluster").cause(e))
}

/// Every file `render` writes: one user-data per node, then the admin kubeconfig.
fn outputs(compiled: &Compiled, out: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut outputs: Vec<(PathBuf, Vec<u8>)> = compiled
        .user_data
        .iter()
        .map(|u| (output::user_data_path(out, u), u.bytes.clone()))
        .collect();
    outputs.push((
        out.join("admin.kubeconfig"),
        compiled.admin_kubeconfig.clone().into_bytes(),
    ));
    outputs
}

/// `--check`: say which files differ (or which leaves are missing) and write nothing.
fn check(compiled: &Compiled, outputs: &[(PathBuf, Vec<u8>)], out: &Path) -> ExitStatus {
    let stale: Vec<_> = outputs
        .iter()
        .filter(|(path, bytes)| fs::read(path).ok().as_deref() != Some(bytes.as_slice()))
        .map(|(path, _)| path.display().to_string())
        .collect();
    if compiled.issued_leaves.is_empty() && stale.is_empty() {
        println!("up to date: {} files in {}", outputs.len(), out.display());
        return ExitStatus::Success;
    }
    for s in &stale {
        println!("differs: {s}");
    }
    if !compiled.issued_leaves.is_empty() {
        println!(
            "the secrets bundle lacks {} leaf certificate(s)",
            compiled.issued_leaves.len()
        );
    }
    ExitStatus::Failure
}

fn write_outputs(outputs: &[(PathBuf, Vec<u8>)], out: &Path) -> Result<()> {
    private_dir(out)
        .map_err(|e| Failure::user(format!("cannot create {}", out.display())).cause(e))?;
    for (path, bytes) in outputs {
        if fs::read(path).is_ok_and(|old| &old == bytes) {
            continue; // unchanged: keep the file (and its mtime) as it is
        }
        // Every user-data carries a token or keys: owner-only, like the kubeconfig. They are
        // regenerable from spec + secrets, so no per-file fsync (1,000 nodes stay fast).
        write_replace_fast(path, bytes, 0o600)
            .map_err(|e| Failure::user(format!("cannot write {}", path.display())).cause(e))?;
    }
    Ok(())
}
