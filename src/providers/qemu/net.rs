//! The VMs' cloud network, in a network namespace of its own that has no link out: a Linux
//! bridge stands for the cluster's Neutron network and its router (the gateway address sits
//! on the bridge), loopback addresses stand for services beyond the router (the metadata
//! service at 169.254.169.254, a package mirror), and each VM's cluster NIC is a tap on the
//! bridge. Every qemu runs inside the namespace, so its user-mode admin NIC may run
//! unrestricted (libslirp offers a DHCP router only then) and still reach nothing but what
//! the namespace holds. Nothing a guest sends can leave the machine.
//!
//! Needs root (ip netns). Knows nothing of Kubernetes.

use super::{QemuError, run};
use std::net::Ipv4Addr;
use std::process::Command;

/// `ip` with `args`, inside namespace `ns` when given.
fn ip(ns: Option<&str>, args: &[&str]) -> Result<(), QemuError> {
    let mut cmd = Command::new("ip");
    if let Some(ns) = ns {
        cmd.args(["-n", ns]);
    }
    run(&format!("ip {}", args.join(" ")), cmd.args(args))
}

pub const BRIDGE: &str = "br-cluster";

/// Create namespace `ns` with loopback up, the bridge holding `gateway` (address/prefix),
/// and `service_addresses` on loopback. Replaces a namespace of that name left behind.
pub fn create(ns: &str, gateway: &str, service_addresses: &[Ipv4Addr]) -> Result<(), QemuError> {
    let _ = destroy(ns);
    ip(None, &["netns", "add", ns])?;
    ip(Some(ns), &["link", "set", "lo", "up"])?;
    ip(Some(ns), &["link", "add", BRIDGE, "type", "bridge"])?;
    ip(Some(ns), &["addr", "add", gateway, "dev", BRIDGE])?;
    ip(Some(ns), &["link", "set", BRIDGE, "up"])?;
    for a in service_addresses {
        ip(Some(ns), &["addr", "add", &format!("{a}/32"), "dev", "lo"])?;
    }
    Ok(())
}

/// A tap named `name` on the bridge, for one VM's cluster NIC.
pub fn add_tap(ns: &str, name: &str) -> Result<(), QemuError> {
    ip(Some(ns), &["tuntap", "add", "dev", name, "mode", "tap"])?;
    ip(Some(ns), &["link", "set", name, "master", BRIDGE, "up"])
}

/// Remove the namespace with everything in it (bridge, taps, addresses).
pub fn destroy(ns: &str) -> Result<(), QemuError> {
    ip(None, &["netns", "del", ns])
}

/// `command` run inside namespace `ns`.
pub fn exec_in(ns: &str, program: &str) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns, program]);
    cmd
}
