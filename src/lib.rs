//! k8sgen: compile a cluster spec and a secrets bundle into one self-contained user-data
//! document per node (see DESIGN in README.md for the pipeline).

pub mod catalog;
pub mod pki;
pub mod spec;
