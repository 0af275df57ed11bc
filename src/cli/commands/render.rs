//! `k8sgen render`: compile, check sizes, write or `--check` the outputs.

use super::*;

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
    // After `up`, what the cloud decided (admin MACs, API floating IP) is part of the plan
    // the servers were built from: render that same plan.
    let record = match &args.file {
        Some(f) => {
            let path = crate::up::state::path_for(f);
            crate::up::state::load(&path)
                .map_err(|e| Failure::user(format!("cannot read {}", path.display())).cause(e))?
                .filter(|r| r.cluster == spec.name)
                .map(|r| (path, r))
        }
        None => None,
    };
    let compiled = match &record {
        Some((path, record)) => {
            eprintln!(
                "note: using what `up` recorded in {} (admin MACs, floating IP)",
                path.display()
            );
            let plan = crate::plan::plan(&spec, &bundle, &env_lookup)
                .map_err(|e| Failure::internal("cannot plan the cluster").cause(e))?
                .with_facts(&record.facts);
            crate::compile::build(
                plan,
                &mut bundle,
                &SystemClock,
                &mut OsEntropy,
                Options { gzip: args.gzip },
            )
            .map_err(|e| Failure::internal("cannot compile the cluster").cause(e))?
        }
        None => run_compile(&spec, &mut bundle, args.gzip)?,
    };
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
