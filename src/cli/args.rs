//! The clap definition of the command line: every subcommand, flag and value enum, and
//! nothing else. `--help`, the shell completions and the man page all come from it. Must
//! not do I/O or reach the library beyond naming its types; `cli::main` dispatches.

use super::exit::EXIT_CODES_HELP;
use super::output::OutputFormat;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "k8sgen",
    version,
    about = "Compile a cluster spec into self-contained kubeadm user-data for OpenStack",
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// List the embedded profiles.
    Profiles {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Start a cluster directory: DIR/cluster.yaml from a profile and a fresh DIR/secrets.yaml.
    New {
        dir: PathBuf,
        #[arg(long, default_value = "openstack-ha")]
        profile: String,
        /// kubeadm's encryptionAlgorithm for every key of the bundle.
        #[arg(long, value_enum, ignore_case = true, default_value_t = KeyAlgorithmArg::EcdsaP256)]
        key_algorithm: KeyAlgorithmArg,
    },
    /// Manage the secrets bundle.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Print the resolved plan.
    Plan {
        #[command(flatten)]
        spec: SpecFile,
        /// The secrets bundle (default: secrets.yaml beside the spec).
        #[arg(long, value_name = "secrets.yaml")]
        secrets: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
        /// List every image, download and package the nodes fetch, with versions and
        /// digests or sha256, instead of the plan: what to put in a mirror.
        #[arg(long)]
        artifacts: bool,
    },
    /// Create one machine per node and follow their first boot to the end.
    Up(UpArgs),
    /// Remove exactly what `up` made.
    Down {
        #[command(flatten)]
        spec: SpecFile,
        #[arg(long, value_enum, default_value_t = Provider::Openstack)]
        provider: Provider,
        #[command(flatten)]
        openstack: OpenStackDown,
    },
    /// List what the cluster has: OpenStack objects with each node's last boot step, or the
    /// local VMs `up --provider qemu` started and whether each still runs.
    Status {
        #[command(flatten)]
        spec: SpecFile,
        #[arg(long, value_enum, default_value_t = Provider::Openstack)]
        provider: Provider,
        #[command(flatten)]
        openstack: OpenStackStatus,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Internal to `up --provider qemu`: the VMs' metadata service, static file servers and
    /// relays to services on this machine.
    #[command(hide = true)]
    QemuHttp {
        #[arg(long)]
        listen: String,
        #[arg(
            long,
            required_unless_present = "relay_to",
            conflicts_with = "relay_to"
        )]
        root: Option<PathBuf>,
        /// Relay each connection to this Unix socket instead of serving files.
        #[arg(long)]
        relay_to: Option<PathBuf>,
        /// Serve ROOT/<client address>/… (the metadata service).
        #[arg(long)]
        per_client: bool,
    },
    /// Write DIR/<node>.user-data for every node and DIR/admin.kubeconfig. The user-data
    /// format is the one `nodes.os` reads (Flatcar: Ignition, DIR/<node>.ign).
    Render(RenderArgs),
    /// Print a shell completion script for k8sgen on stdout.
    Completions { shell: clap_complete::Shell },
    /// Print k8sgen's man page (roff) on stdout.
    Man,
}

/// `-f cluster.yaml`, which every command about one cluster takes.
#[derive(Args)]
pub struct SpecFile {
    /// The cluster spec; its directory holds the secrets, the record and the kubeconfig.
    #[arg(short = 'f', long = "file", value_name = "cluster.yaml")]
    pub file: PathBuf,
}

#[derive(Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub spec: SpecFile,
    /// The secrets bundle (default: secrets.yaml beside the spec).
    #[arg(long, value_name = "secrets.yaml")]
    pub secrets: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Provider::Openstack)]
    pub provider: Provider,
    /// Give up following the nodes after this many seconds.
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
    #[command(flatten)]
    pub qemu: QemuUp,
    #[command(flatten)]
    pub openstack: OpenStackUp,
}

/// The flags only `--provider qemu` reads (group id "qemu": `cli::providers` refuses them
/// with the other provider).
#[derive(Args)]
#[group(id = "qemu", multiple = true)]
#[command(next_help_heading = "With --provider qemu")]
pub struct QemuUp {
    /// The cloud image every VM boots (through its own overlay).
    #[arg(long, value_name = "FILE.qcow2", required_if_eq("provider", "qemu"))]
    pub image: Option<PathBuf>,
    /// Boot this kernel directly (images without a boot loader).
    #[arg(long, requires = "initrd")]
    pub kernel: Option<PathBuf>,
    #[arg(long, requires = "kernel")]
    pub initrd: Option<PathBuf>,
    /// Memory per VM in MiB.
    #[arg(long, default_value_t = 1024)]
    pub memory: u32,
    /// Serve DIR over HTTP at ADDRESS:PORT inside the VMs' network (a package mirror, say),
    /// or with `=unix:SOCKET` relay each connection there to a Unix socket on this machine
    /// (a proxy the VMs must go through, say); repeatable.
    #[arg(long, value_name = "ADDRESS:PORT=DIR|unix:SOCKET", value_parser = super::parse_service)]
    pub serve: Vec<crate::providers::qemu::Service>,
}

/// The flags only `up --provider openstack` reads.
#[derive(Args)]
#[group(id = "openstack", multiple = true)]
#[command(next_help_heading = "With --provider openstack (the default)")]
pub struct OpenStackUp {
    /// clouds.yaml entry (default: OS_CLOUD, then OS_* variables, then the spec's).
    #[arg(long, env = "OS_CLOUD")]
    pub cloud: Option<String>,
    /// Gzip each node's cloud-config (about 3x smaller user-data).
    #[arg(long)]
    pub gzip: bool,
    /// How many ports/servers to create at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Follow until servers are ACTIVE, boot scripts finished, or the cluster is Ready.
    #[arg(long, value_enum, default_value_t = UntilArg::Ready)]
    pub until: UntilArg,
    /// Seconds between polls.
    #[arg(long, default_value_t = 10)]
    pub poll_interval: u64,
    /// Drain and delete servers the spec no longer has.
    #[arg(long)]
    pub prune: bool,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// The flags only `down --provider openstack` reads.
#[derive(Args)]
#[group(id = "openstack", multiple = true)]
#[command(next_help_heading = "With --provider openstack (the default)")]
pub struct OpenStackDown {
    /// clouds.yaml entry (default: OS_CLOUD, then OS_* variables, then the spec's).
    #[arg(long, env = "OS_CLOUD")]
    pub cloud: Option<String>,
    /// The secrets bundle whose CA names the cluster (default: secrets.yaml beside the spec).
    #[arg(long, value_name = "secrets.yaml")]
    pub secrets: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// The flags only `status --provider openstack` reads.
#[derive(Args)]
#[group(id = "openstack", multiple = true)]
#[command(next_help_heading = "With --provider openstack (the default)")]
pub struct OpenStackStatus {
    /// clouds.yaml entry (default: OS_CLOUD, then OS_* variables, then the spec's).
    #[arg(long, env = "OS_CLOUD")]
    pub cloud: Option<String>,
    /// The secrets bundle whose CA names the cluster (default: secrets.yaml beside the spec).
    #[arg(long, value_name = "secrets.yaml")]
    pub secrets: Option<PathBuf>,
}

#[derive(Args)]
pub struct RenderArgs {
    /// The cluster spec; a record of `up` beside it is rendered with (admin MACs, floating IP).
    #[arg(
        short = 'f',
        long = "file",
        value_name = "cluster.yaml",
        conflicts_with = "profile",
        required_unless_present = "profile"
    )]
    pub file: Option<PathBuf>,
    /// An embedded profile instead of a spec file (`k8sgen profiles` lists them).
    #[arg(long)]
    pub profile: Option<String>,
    /// The secrets bundle (default: secrets.yaml beside the spec; with --profile,
    /// DIR/secrets.yaml, generated on the first run).
    #[arg(long, value_name = "secrets.yaml")]
    pub secrets: Option<PathBuf>,
    /// The directory the files are written into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// cloud-config: gzip each document (cloud-init inflates it), about 3x smaller.
    /// Ignition: ship the gzip `config.replace` stub even when the config would fit.
    #[arg(long)]
    pub gzip: bool,
    /// Write nothing; exit 1 if the files in DIR differ from what would be written.
    #[arg(long)]
    pub check: bool,
    /// json: the written user-data files (node, path, bytes, base64 bytes, Nova's limit).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text, conflicts_with = "check")]
    pub output: OutputFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UntilArg {
    Active,
    Booted,
    Ready,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Provider {
    Openstack,
    Qemu,
}

/// kubeadm's `encryptionAlgorithm` names, as `pki::KeyAlgorithm` knows them.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyAlgorithmArg {
    #[value(name = "ECDSA-P256")]
    EcdsaP256,
    #[value(name = "RSA-2048")]
    Rsa2048,
    #[value(name = "RSA-3072")]
    Rsa3072,
    #[value(name = "RSA-4096")]
    Rsa4096,
}

impl From<KeyAlgorithmArg> for crate::pki::KeyAlgorithm {
    fn from(arg: KeyAlgorithmArg) -> Self {
        use crate::pki::KeyAlgorithm as K;
        match arg {
            KeyAlgorithmArg::EcdsaP256 => K::EcdsaP256,
            KeyAlgorithmArg::Rsa2048 => K::Rsa2048,
            KeyAlgorithmArg::Rsa3072 => K::Rsa3072,
            KeyAlgorithmArg::Rsa4096 => K::Rsa4096,
        }
    }
}

impl From<UntilArg> for crate::up::openstack::Until {
    fn from(arg: UntilArg) -> Self {
        use crate::up::openstack::Until;
        match arg {
            UntilArg::Active => Until::Active,
            UntilArg::Booted => Until::Booted,
            UntilArg::Ready => Until::Ready,
        }
    }
}

#[derive(Subcommand)]
pub enum SecretsCommand {
    /// Generate a new bundle (refuses to overwrite one).
    Generate {
        /// The bundle to write (`--out` is the older spelling).
        #[arg(long, alias = "out", value_name = "secrets.yaml")]
        secrets: PathBuf,
        /// kubeadm's encryptionAlgorithm for every key of the bundle.
        #[arg(long, value_enum, ignore_case = true, default_value_t = KeyAlgorithmArg::EcdsaP256)]
        key_algorithm: KeyAlgorithmArg,
        /// Mark the bundle as a test fixture whose keys are public.
        #[arg(long, hide = true)]
        test_only: bool,
    },
    /// Adopt an existing kubeadm PKI directory (e.g. /etc/kubernetes/pki).
    Import {
        dir: PathBuf,
        /// The bundle to write (`--out` is the older spelling).
        #[arg(long, alias = "out", value_name = "secrets.yaml")]
        secrets: PathBuf,
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
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
}
