//! When the bootstrap token rendered into the user-data has expired, and how long a fresh
//! one lives. Both follow the spec's `bootstrap.tokenTTL`; nothing here talks to a cloud.

use super::cloud::Inventory;
use crate::pki::Clock;
use crate::plan::{Plan, Role};
use time::format_description::well_known::Rfc3339;

/// The plan's `tokenTTL` in seconds; `None` for `0`, a token that never expires.
fn ttl(plan: &Plan) -> Option<time::Duration> {
    Some(plan.token_ttl.seconds())
        .filter(|t| *t > 0)
        .and_then(|t| i64::try_from(t).ok())
        .map(time::Duration::seconds)
}

/// The init master's token lives `tokenTTL` from when the server was created.
pub fn expired(plan: &Plan, inventory: &Inventory, clock: &dyn Clock) -> bool {
    let Some(ttl) = ttl(plan) else {
        return false;
    };
    let Some(init) = plan.nodes.iter().find(|n| n.role == Role::Init) else {
        return false;
    };
    let Some(server) = inventory.servers.get(&init.name) else {
        return false;
    };
    let Ok(created) = time::OffsetDateTime::parse(&server.created, &Rfc3339) else {
        return false;
    };
    // Ten minutes of margin: a worker needs time to boot before it joins.
    created
        .checked_add(ttl - time::Duration::minutes(10))
        .is_some_and(|deadline| clock.now() > deadline)
}

/// When a token made now expires (RFC 3339), as the rendered one did: `tokenTTL` from now;
/// `None` when `tokenTTL` is `0` (kubeadm's "never").
pub fn fresh_expiration(plan: &Plan, clock: &dyn Clock) -> Option<String> {
    // A TTL reaching past what a date can hold is a token that never expires.
    let expires = clock.now().checked_add(ttl(plan)?)?;
    expires.format(&Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki;
    use crate::providers::openstack::nova::Server;

    fn plan(ttl: &str) -> Plan {
        let mut spec = crate::spec::load(
            "openstack-ha",
            crate::profiles::find("openstack-ha").unwrap().text,
        )
        .unwrap();
        spec.bootstrap.token_ttl = ttl.into();
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/secrets.yaml"
        ))
        .unwrap();
        let bundle = pki::Secrets::from_yaml("fixture", &text).unwrap();
        crate::plan::plan(&spec, &bundle, &|_| None).unwrap()
    }

    fn with_init_created(created: &str) -> Inventory {
        let server: Server = serde_json::from_value(serde_json::json!({
            "id": "i", "name": "demo-cp-0", "status": "ACTIVE", "created": created,
        }))
        .unwrap();
        let mut inventory = Inventory::default();
        inventory.servers.insert("demo-cp-0".into(), server);
        inventory
    }

    fn at(text: &str) -> pki::FixedClock {
        pki::FixedClock(
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .unwrap(),
        )
    }

    #[test]
    fn the_rendered_token_expires_ttl_after_the_init_master_was_created() {
        let inventory = with_init_created("2026-11-01T10:00:00Z");
        let p = plan("24h");
        assert!(!expired(&p, &inventory, &at("2026-11-02T09:00:00Z")));
        // Ten minutes of margin before the TTL ends.
        assert!(expired(&p, &inventory, &at("2026-11-02T09:55:00Z")));
        assert!(expired(&p, &inventory, &at("2026-11-09T00:00:00Z")));
        // `0` never expires; no init master yet means a fresh cluster.
        assert!(!expired(
            &plan("0"),
            &inventory,
            &at("2027-01-01T00:00:00Z")
        ));
        assert!(!expired(
            &p,
            &Inventory::default(),
            &at("2027-01-01T00:00:00Z")
        ));
    }

    /// Regression: the fresh token for late workers lived 24 h whatever `tokenTTL` said.
    #[test]
    fn a_fresh_token_lives_token_ttl() {
        let now = at("2026-11-01T10:00:00Z");
        assert_eq!(
            fresh_expiration(&plan("2h"), &now).as_deref(),
            Some("2026-11-01T12:00:00Z")
        );
        assert_eq!(
            fresh_expiration(&plan("1h30m"), &now).as_deref(),
            Some("2026-11-01T11:30:00Z")
        );
        assert_eq!(fresh_expiration(&plan("0"), &now), None);
        // Longer than a date can hold: never expires, and nothing panics.
        let forever = plan("999999999999h");
        assert_eq!(fresh_expiration(&forever, &now), None);
        assert!(!expired(
            &forever,
            &with_init_created("2026-11-01T10:00:00Z"),
            &now
        ));
    }
}
