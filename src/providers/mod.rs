//! Machine providers: they start and stop machines with opaque user-data bytes and know
//! nothing of Kubernetes, plans or bundles. `up` drives them.

pub mod http_error;
pub mod openstack;
pub mod qemu;
