//! Servers Nova left in ERROR. `up` shows each one's fault (read again when Nova has not
//! written it yet), and on a rerun deletes the cluster's ERROR servers, waits until Neutron
//! has released their ports (k8sgen made the ports, so Nova unbinds them rather than deleting
//! them) and leaves the servers missing, for `servers` to create again on the same ports.

use super::{Event, UpError};
use crate::providers::openstack::api::{Api, ApiError, Purpose, Service};
use crate::providers::openstack::neutron::q;
use crate::providers::openstack::nova;
use std::time::{Duration, Instant};

/// Reads of a server in ERROR without a fault, one a second, before saying there is none.
const FAULT_READS: u32 = 5;

/// How long a deleted server's ports may stay bound before `up` gives up.
const RELEASE_WAIT: Duration = Duration::from_secs(120);

/// Nova's fault message for `server`, which is in ERROR. Nova's conductor saves ERROR before
/// it records the fault (nova/scheduler/utils.py, `set_vm_state_and_notify`:
/// `instance.save()`, then `add_instance_fault_from_exc`), so a list may show ERROR without
/// one: read the server again, briefly.
pub fn fault(api: &Api, server: &nova::Server, purpose: Purpose) -> String {
    if let Some(f) = &server.fault {
        return f.message.clone();
    }
    for _ in 0..FAULT_READS {
        std::thread::sleep(Duration::from_secs(1));
        match nova::server(api, &server.id, purpose) {
            Ok(s) => {
                if let Some(f) = s.fault {
                    return f.message;
                }
            }
            Err(_) => break,
        }
    }
    "no fault message".into()
}

/// Delete the servers in ERROR among `servers` (the cluster's), after reporting each one's
/// fault, and wait until their ports are free; the servers left.
pub fn replace(
    api: &Api,
    servers: Vec<nova::Server>,
    report: &(dyn Fn(Event) + Sync),
) -> Result<Vec<nova::Server>, UpError> {
    let (errored, left): (Vec<_>, Vec<_>) = servers.into_iter().partition(|s| s.status == "ERROR");
    for s in &errored {
        let fault = fault(api, s, Purpose::Converge);
        report(Event::Note(format!(
            "server {} is in ERROR: {fault}; deleting it to create it again",
            s.name
        )));
        nova::delete_server(api, &s.id)?;
    }
    let deadline = Instant::now() + RELEASE_WAIT;
    for s in &errored {
        while bound_ports(api, &s.id)? > 0 {
            if Instant::now() >= deadline {
                return Err(UpError::Conflict {
                    what: format!(
                        "the ports of {} (deleted in ERROR) are still bound after {} s",
                        s.name,
                        RELEASE_WAIT.as_secs()
                    ),
                    hint: format!(
                        "`openstack server show {}` says whether Nova is still deleting it; \
                         run `k8sgen up` again once it is gone",
                        s.id
                    ),
                });
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        report(Event::Deleted {
            kind: "server",
            name: s.name.clone(),
        });
    }
    Ok(left)
}

/// How many ports are still bound to server `id` (their `device_id`).
fn bound_ports(api: &Api, id: &str) -> Result<usize, ApiError> {
    let path = format!("/ports?device_id={}&fields=id", q(id));
    let v = api.get(Service::Network, &path)?;
    Ok(v["ports"].as_array().map_or(0, Vec::len))
}
