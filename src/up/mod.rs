//! `up`/`down`: drive a provider with the compiler's output, then only follow the nodes'
//! progress. Provider facts (here: the VMs' MAC addresses) go into the plan before bundles
//! are built, so the user-data a VM boots is exactly what `render` would write for that plan.

pub mod kube;
pub mod openstack;
pub mod pool;
pub mod progress;
pub mod qemu;
pub mod state;
