//! k8sgen: compile a cluster spec and a secrets bundle into one self-contained user-data
//! document per node (see DESIGN in README.md for the pipeline).

pub mod bundle;
pub mod catalog;
pub mod cli;
pub mod compile;
pub mod fsio;
pub mod pki;
pub mod plan;
pub mod problem;
pub mod profiles;
pub mod providers;
pub mod render;
pub mod spec;
pub mod templates;
pub mod up;
