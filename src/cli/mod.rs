//! Command-line interface: clap definitions and dispatch. The only module that prints.
//! Errors print as `error:` / `caused by:` / `hint:`; exit 0 success, 1 user or input error,
//! 2 internal error. The clap structs stay here; commands call the library.

mod commands;
mod output;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "k8sgen",
    version,
    about = "Compile a cluster spec into self-contained kubeadm user-data for OpenStack"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the embedded profiles.
    Profiles,
    /// Start a cluster directory: DIR/cluster.yaml from a profile and a fresh DIR/secrets.yaml.
    New {
        dir: PathBuf,
        #[arg(long, default_value = "openstack-ha")]
        profile: String,
        #[arg(long, default_value = "ECDSA-P256", value_name = "ALGORITHM")]
        key_algorithm: String,
    },
    /// Manage the secrets bundle.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Print the resolved plan.
    Plan {
        #[arg(short = 'f', long = "file", value_name = "cluster.yaml")]
        file: PathBuf,
        #[arg(long, value_name = "secrets.yaml")]
        secrets: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Create one machine per node and follow their first boot to the end.
    Up {
        #[arg(short = 'f', long = "file", value_name = "cluster.yaml")]
        file: PathBuf,
        #[arg(long, value_name = "secrets.yaml")]
        secrets: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Provider::Openstack)]
        provider: Provider,
        /// qemu: the cloud image every VM boots (through its own overlay).
        #[arg(long, value_name = "FILE.qcow2")]
        image: Option<PathBuf>,
        /// qemu: boot this kernel directly (images without a boot loader).
        #[arg(long, requires = "initrd")]
        kernel: Option<PathBuf>,
        #[arg(long, requires = "kernel")]
        initrd: Option<PathBuf>,
        /// qemu: memory per VM in MiB.
        #[arg(long, default_value_t = 1024)]
        memory: u32,
        /// qemu: serve DIR over HTTP at ADDRESS:PORT inside the VMs' network (a package
        /// mirror, say); repeatable.
        #[arg(long, value_name = "ADDRESS:PORT=DIR", value_parser = parse_service)]
        serve: Vec<crate::providers::qemu::Service>,
        /// Give up following the nodes after this many seconds.
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
        /// openstack: clouds.yaml entry (default: OS_CLOUD, then OS_* variables, then the spec's).
        #[arg(long, env = "OS_CLOUD")]
        cloud: Option<String>,
        /// openstack: gzip each node's cloud-config (about 3x smaller user-data).
        #[arg(long)]
        gzip: bool,
        /// openstack: how many ports/servers to create at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// openstack: follow until servers are ACTIVE, boot scripts finished, or the cluster is Ready.
        #[arg(long, value_enum, default_value_t = UntilArg::Ready)]
        until: UntilArg,
        /// openstack: seconds between polls.
        #[arg(long, default_value_t = 10)]
        poll_interval: u64,
        /// openstack: drain and delete servers the spec no longer has.
        #[arg(long)]
        prune: bool,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Remove exactly what `up` made.
    Down {
        #[arg(short = 'f', long = "file", value_name = "cluster.yaml")]
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Provider::Openstack)]
        provider: Provider,
        /// openstack: clouds.yaml entry (default: OS_CLOUD, then OS_* variables, then the spec's).
        #[arg(long, env = "OS_CLOUD")]
        cloud: Option<String>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// List what the cluster has in the cloud, with each node's last boot step.
    Status {
        #[arg(short = 'f', long = "file", value_name = "cluster.yaml")]
        file: PathBuf,
        #[arg(long, env = "OS_CLOUD")]
        cloud: Option<String>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Internal to `up --provider qemu`: the VMs' metadata service and static file servers.
    #[command(hide = true)]
    QemuHttp {
        #[arg(long)]
        listen: String,
        #[arg(long)]
        root: PathBuf,
        /// Serve ROOT/<client address>/… (the metadata service).
        #[arg(long)]
        per_client: bool,
    },
    /// Write DIR/<node>.user-data for every node and DIR/admin.kubeconfig.
    Render {
        #[arg(
            short = 'f',
            long = "file",
            value_name = "cluster.yaml",
            conflicts_with = "profile",
            required_unless_present = "profile"
        )]
        file: Option<PathBuf>,
        #[arg(long)]
        profile: Option<String>,
        #[arg(long, value_name = "secrets.yaml")]
        secrets: Option<PathBuf>,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// cloud-config: gzip each document (cloud-init inflates it), about 3x smaller.
        /// Ignition: ship the gzip `config.replace` stub even when the config would fit.
        #[arg(long)]
        gzip: bool,
        /// Write nothing; exit 1 if the files in DIR differ from what would be written.
        #[arg(long)]
        check: bool,
        /// User-data format; by default the one `nodes.os` reads (Flatcar: ignition).
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum UntilArg {
    Active,
    Booted,
    Ready,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Provider {
    Openstack,
    Qemu,
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Generate a new bundle (refuses to overwrite one).
    Generate {
        #[arg(long, value_name = "secrets.yaml")]
        out: PathBuf,
        /// RSA-2048, RSA-3072, RSA-4096 or ECDSA-P256 (kubeadm's encryptionAlgorithm names).
        #[arg(long, default_value = "ECDSA-P256", value_name = "ALGORITHM")]
        key_algorithm: String,
        /// Mark the bundle as a test fixture whose keys are public.
        #[arg(long, hide = true)]
        test_only: bool,
    },
    /// Adopt an existing kubeadm PKI directory (e.g. /etc/kubernetes/pki).
    Import {
        dir: PathBuf,
        #[arg(long, value_name = "secrets.yaml")]
        out: PathBuf,
    },
    /// Write the bundle in kubeadm's pki layout into DIR.
    ExportPki {
        dir: PathBuf,
        #[arg(long, value_name = "secrets.yaml")]
        secrets: PathBuf,
    },
    /// Print fingerprints, expiry, token id and discovery hash (never a key or the token secret).
    Show {
        #[arg(long, value_name = "secrets.yaml")]
        secrets: PathBuf,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    CloudConfig,
    Ignition,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    Text,
    Json,
}

/// An error with an exit status and an optional hint.
pub struct Failure {
    pub message: String,
    pub causes: Vec<String>,
    pub hint: Option<String>,
    pub internal: bool,
}

impl Failure {
    pub fn user(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            causes: Vec::new(),
            hint: None,
            internal: false,
        }
    }
    pub fn internal(message: impl Into<String>) -> Failure {
        Failure {
            internal: true,
            ..Failure::user(message)
        }
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Failure {
        self.hint = Some(hint.into());
        self
    }
    pub fn cause(mut self, cause: impl ToString) -> Failure {
        self.causes.push(cause.to_string());
        self
    }
}

/// Run the CLI; returns the process exit status.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Profiles => commands::profiles(),
        Command::New {
            dir,
            profile,
            key_algorithm,
        } => commands::new(&dir, &profile, &key_algorithm),
        Command::Secrets { command } => match command {
            SecretsCommand::Generate {
                out,
                key_algorithm,
                test_only,
            } => commands::secrets_generate(&out, &key_algorithm, test_only),
            SecretsCommand::Import { dir, out } => commands::secrets_import(&dir, &out),
            SecretsCommand::ExportPki { dir, secrets } => commands::secrets_export(&dir, &secrets),
            SecretsCommand::Show { secrets } => commands::secrets_show(&secrets),
        },
        Command::Plan {
            file,
            secrets,
            output,
        } => commands::plan(&file, secrets.as_deref(), output == OutputFormat::Json),
        Command::Up {
            file,
            secrets,
            provider,
            image,
            kernel,
            initrd,
            memory,
            serve,
            timeout,
            cloud,
            gzip,
            concurrency,
            until,
            poll_interval,
            prune,
            output,
        } => match provider {
            Provider::Qemu => commands::up_qemu(commands::UpQemuArgs {
                file,
                secrets,
                image,
                kernel,
                initrd,
                memory,
                serve,
                timeout,
            }),
            Provider::Openstack => commands::up_openstack(commands::UpOpenStackArgs {
                file,
                secrets,
                cloud,
                gzip,
                concurrency,
                until: match until {
                    UntilArg::Active => crate::up::openstack::Until::Active,
                    UntilArg::Booted => crate::up::openstack::Until::Booted,
                    UntilArg::Ready => crate::up::openstack::Until::Ready,
                },
                timeout,
                poll_interval,
                prune,
                json: output == OutputFormat::Json,
            }),
        },
        Command::Down {
            file,
            provider,
            cloud,
            output,
        } => match provider {
            Provider::Qemu => commands::down_qemu(&file),
            Provider::Openstack => {
                commands::down_openstack(&file, cloud.as_deref(), output == OutputFormat::Json)
            }
        },
        Command::Status {
            file,
            cloud,
            output,
        } => commands::status_openstack(&file, cloud.as_deref(), output == OutputFormat::Json),
        Command::QemuHttp {
            listen,
            root,
            per_client,
        } => crate::providers::qemu::http::serve(&listen, &root, per_client)
            .map(|()| 0)
            .map_err(|e| Failure::user(format!("qemu-http on {listen}: {e}"))),
        Command::Render {
            file,
            profile,
            secrets,
            out,
            gzip,
            check,
            format,
        } => commands::render(commands::RenderArgs {
            file,
            profile,
            secrets,
            out,
            gzip,
            check,
            ignition: format.map(|f| f == FormatArg::Ignition),
        }),
    };
    match result {
        Ok(status) => status,
        Err(f) => {
            eprintln!("error: {}", f.message);
            for c in &f.causes {
                eprintln!("caused by: {c}");
            }
            if let Some(h) = &f.hint {
                eprintln!("hint: {h}");
            }
            if f.internal { 2 } else { 1 }
        }
    }
}

/// `ADDRESS:PORT=DIR` for `--serve`.
fn parse_service(text: &str) -> Result<crate::providers::qemu::Service, String> {
    let (listen, dir) = text
        .split_once('=')
        .ok_or("expected ADDRESS:PORT=DIR, e.g. 192.0.2.80:80=mirror/")?;
    let socket: std::net::SocketAddrV4 = listen
        .parse()
        .map_err(|_| format!("`{listen}` is not an IPv4 ADDRESS:PORT"))?;
    Ok(crate::providers::qemu::Service {
        address: *socket.ip(),
        port: socket.port(),
        root: std::fs::canonicalize(dir).map_err(|e| format!("{dir}: {e}"))?,
    })
}
