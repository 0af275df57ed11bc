//! Command-line interface: parse (`args`), dispatch to one function per subcommand
//! (`commands`), print the outcome (`exit`). The only module that prints. Errors print as
//! `error:` / problems with their `hint:` / `caused by:` / `hint:`; the exit status is an
//! `ExitStatus`, clap's own errors included. The clap structs never leave this module.

mod args;
mod commands;
mod exit;
mod output;

use args::{Cli, Command, Provider, SecretsCommand};
use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};
pub use exit::{ExitStatus, Failure};
use std::process::ExitCode;

/// Run the CLI; returns the process exit status.
pub fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&e).into(),
    };
    match run(cli.command) {
        Ok(status) => status.into(),
        Err(f) => {
            eprint!("{}", f.report());
            f.status().into()
        }
    }
}

/// clap prints its own message; `--help` and `--version` succeed, every other parse error
/// is bad input (clap's default would be 2, which means an internal error here).
fn clap_exit(e: &clap::Error) -> ExitStatus {
    let _ = e.print();
    if e.use_stderr() {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    }
}

fn parse() -> Result<Cli, clap::Error> {
    let matches = Cli::command().try_get_matches()?;
    refuse_other_providers_flags(&matches)?;
    Cli::from_arg_matches(&matches)
}

/// `up`, `down` and `status` keep each provider's flags in a group named after it; a flag
/// of the provider not chosen, typed on the command line, is refused rather than ignored.
fn refuse_other_providers_flags(matches: &ArgMatches) -> Result<(), clap::Error> {
    let Some((name, sub)) = matches.subcommand() else {
        return Ok(());
    };
    let Ok(Some(provider)) = sub.try_get_one::<Provider>("provider") else {
        return Ok(());
    };
    let (chosen, other) = match provider {
        Provider::Openstack => ("openstack", "qemu"),
        Provider::Qemu => ("qemu", "openstack"),
    };
    let mut cli = Cli::command();
    cli.build(); // names the subcommand `k8sgen up` in the usage line of the error
    let Some(command) = cli.find_subcommand_mut(name) else {
        return Ok(());
    };
    let Some(group) = command.get_groups().find(|g| g.get_id() == other) else {
        return Ok(());
    };
    let given = group
        .get_args()
        .filter(|id| sub.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .find_map(|id| command.get_arguments().find(|a| a.get_id() == id))
        .and_then(|arg| arg.get_long())
        .map(str::to_string);
    match given {
        Some(flag) => Err(command.error(
            ErrorKind::ArgumentConflict,
            format!(
                "--{flag} is a flag of --provider {other}; this `{name}` runs --provider {chosen}"
            ),
        )),
        None => Ok(()),
    }
}

fn run(command: Command) -> commands::Result<ExitStatus> {
    match command {
        Command::Profiles { output } => commands::profiles(output),
        Command::New {
            dir,
            profile,
            key_algorithm,
        } => commands::new(&dir, &profile, key_algorithm.into()),
        Command::Secrets { command } => run_secrets(command),
        Command::Plan {
            spec,
            secrets,
            output,
            artifacts,
        } => commands::plan(&spec.file, secrets.as_deref(), output, artifacts),
        Command::Up(args) => match args.provider {
            Provider::Qemu => commands::up_qemu(args),
            Provider::Openstack => commands::up_openstack(args),
        },
        Command::Down {
            spec,
            provider,
            openstack,
        } => match provider {
            Provider::Qemu => commands::down_qemu(&spec.file),
            Provider::Openstack => commands::down_openstack(
                &spec.file,
                openstack.secrets.as_deref(),
                openstack.cloud.as_deref(),
                openstack.output,
            ),
        },
        Command::Status {
            spec,
            provider,
            openstack,
            output,
        } => match provider {
            Provider::Qemu => commands::status_qemu(&spec.file, output),
            Provider::Openstack => commands::status_openstack(
                &spec.file,
                openstack.secrets.as_deref(),
                openstack.cloud.as_deref(),
                output,
            ),
        },
        Command::QemuHttp {
            listen,
            root,
            relay_to,
            per_client,
        } => match (root, relay_to) {
            (_, Some(socket)) => crate::providers::qemu::relay::relay(&listen, &socket),
            (Some(root), None) => crate::providers::qemu::http::serve(&listen, &root, per_client),
            (None, None) => unreachable!("clap requires --root or --relay-to"),
        }
        .map(|()| ExitStatus::Success)
        .map_err(|e| Failure::user(format!("qemu-http on {listen}")).cause(e)),
        Command::Render(args) => commands::render(args),
        Command::Completions { shell } => commands::completions(shell, Cli::command()),
        Command::Man => commands::man(Cli::command()),
    }
}

fn run_secrets(command: SecretsCommand) -> commands::Result<ExitStatus> {
    match command {
        SecretsCommand::Generate {
            secrets,
            key_algorithm,
            test_only,
        } => commands::secrets_generate(&secrets, key_algorithm.into(), test_only),
        SecretsCommand::Import { dir, secrets } => commands::secrets_import(&dir, &secrets),
        SecretsCommand::ExportPki { dir, secrets } => commands::secrets_export(&dir, &secrets),
        SecretsCommand::Show { secrets, output } => commands::secrets_show(&secrets, output),
    }
}

/// `ADDRESS:PORT=DIR` or `ADDRESS:PORT=unix:SOCKET` for `--serve`.
fn parse_service(text: &str) -> Result<crate::providers::qemu::Service, String> {
    use crate::providers::qemu::Backend;
    let (listen, target) = text.split_once('=').ok_or(
        "expected ADDRESS:PORT=DIR or ADDRESS:PORT=unix:SOCKET, e.g. 192.0.2.80:80=mirror/",
    )?;
    let address: std::net::SocketAddrV4 = listen
        .parse()
        .map_err(|_| format!("`{listen}` is not an IPv4 ADDRESS:PORT"))?;
    let absolute = |path: &str| std::fs::canonicalize(path).map_err(|e| format!("{path}: {e}"));
    let backend = match target.strip_prefix("unix:") {
        Some(socket) => Backend::UnixSocket(absolute(socket)?),
        None => Backend::Files(absolute(target)?),
    };
    Ok(crate::providers::qemu::Service {
        address: *address.ip(),
        port: address.port(),
        backend,
    })
}
