//! Building blocks of spec validation: a collector of `Problem`s that never stops at
//! the first problem, and small predicates (names, CIDRs, UUIDs). No spec knowledge here.

use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

pub use crate::problem::Problem;

pub(super) struct Collector(pub(super) Vec<Problem>);

impl Collector {
    pub(super) fn push(
        &mut self,
        path: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.0.push(Problem::new(path, message.into(), hint));
    }

    pub(super) fn cidr(&mut self, path: &str, text: &str) -> Option<Ipv4Net> {
        match text.parse::<Ipv4Net>() {
            Ok(net) if net != net.trunc() => {
                self.push(
                    path,
                    format!("`{text}` has host bits set"),
                    format!("write the network address: `{}`", net.trunc()),
                );
                None
            }
            Ok(net) => Some(net),
            Err(_) => {
                self.push(
                    path,
                    format!("`{text}` is not an IPv4 CIDR"),
                    "write it as ADDRESS/PREFIX, e.g. `10.0.0.0/24`",
                );
                None
            }
        }
    }

    pub(super) fn address(&mut self, path: &str, text: &str) -> Option<Ipv4Addr> {
        match text.parse::<Ipv4Addr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.push(
                    path,
                    format!("`{text}` is not an IPv4 address"),
                    "write a dotted quad such as `10.0.0.11`",
                );
                None
            }
        }
    }

    pub(super) fn dns_label(&mut self, path: &str, value: &str, max: usize) {
        if !is_dns_label(value, max) {
            self.push(
                path,
                format!("`{value}` is not a valid name"),
                format!(
                    "use 1-{max} lower-case letters, digits and '-', starting with a letter and not ending with '-'"
                ),
            );
        }
    }

    pub(super) fn non_empty(&mut self, path: &str, value: &str, what: &str) {
        if value.trim().is_empty() {
            self.push(path, "must not be empty", format!("give the {what}"));
        }
    }
}

/// DNS-1123 label that also starts with a letter (so it works as a hostname and Nova name).
pub(super) fn is_dns_label(s: &str, max: usize) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= max
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[b.len() - 1] != b'-'
}

pub(super) fn is_dns_name(s: &str) -> bool {
    let s = s.strip_prefix("*.").unwrap_or(s);
    s.len() <= 253
        && s.split('.').all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

pub(super) fn is_env_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_uppercase() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
}

pub(super) fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|c| c.is_ascii_hexdigit()))
}

pub(super) fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

pub(super) fn nth_host(net: &Ipv4Net, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net.network()).saturating_add(n))
}

pub(super) fn is_interface_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert!(is_dns_label("demo-1", 30));
        assert!(!is_dns_label("Demo", 30));
        assert!(!is_dns_label("1demo", 30));
        assert!(!is_dns_label("demo-", 30));
        assert!(!is_dns_label("", 30));
    }

    #[test]
    fn uuids() {
        assert!(is_uuid("0f7b2a5e-4c1d-4e8a-9a0b-1c2d3e4f5a6b"));
        assert!(!is_uuid("public"));
    }
}
