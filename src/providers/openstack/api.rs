//! One authenticated JSON-over-HTTP channel to the cloud's Nova, Neutron, Glance and (when it
//! has one) Cinder endpoints: the token header, Nova's microversion header, retries of
//! idempotent calls on transient failures (5xx, 429 with Retry-After, connection reset) with
//! capped backoff, and a count of the calls made, which the benchmark reports. Creates are
//! never retried here: the caller looks before it creates again (see `neutron`/`nova`).

use super::Sensitive;
use super::keystone::KeystoneError;
use super::renewal::Tokens;
use crate::providers::http_error::{self, error_chain};
use reqwest::Method;
use reqwest::blocking::Client;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The compute microversion every Nova call asks for: tags in the create body (2.52), server
/// groups with `policy` (2.64), `OS-EXT-SRV-ATTR:user_data` for admins (2.3).
pub const COMPUTE_MICROVERSION: &str = "2.64";

/// The compute microversion of a server create whose root volume names a Cinder type: Nova
/// takes `volume_type` in `block_device_mapping_v2` from 2.67 (Stein) and refuses it before.
/// Only those creates ask for it, so clouds from 2.64 on keep working without a type.
pub const VOLUME_TYPE_MICROVERSION: &str = "2.67";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Compute,
    Network,
    Image,
    /// Octavia, when the catalog has it (`load-balancer`).
    LoadBalancer,
    /// Cinder, when the catalog has it (`block-storage`, `volumev3`): root-volume quotas,
    /// CSI volumes left behind.
    BlockStorage,
}

/// Endpoints from the catalog, without trailing slash. Network and image get their API
/// version appended here (`/v2.0`, `/v2`) unless the catalog already carries it, block
/// storage `/v3` unless its URL has it already (often followed by the project's ID).
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub compute: String,
    pub network: String,
    pub image: String,
    /// Octavia's root with its API version (`/v2`); `None` when the catalog has no Octavia.
    pub load_balancer: Option<String>,
    /// Cinder's v3 root (it carries the project); `None` when the catalog has no Cinder.
    pub block_storage: Option<String>,
}

impl Endpoints {
    pub fn new(compute: String, network: String, image: String) -> Self {
        let versioned = |url: String, v: &str| {
            if url.ends_with(v) {
                url
            } else {
                format!("{url}{v}")
            }
        };
        Endpoints {
            compute,
            network: versioned(network, "/v2.0"),
            image: versioned(image, "/v2"),
            load_balancer: None,
            block_storage: None,
        }
    }

    /// With the optional services the catalog offers.
    pub fn with_optional(
        mut self,
        load_balancer: Option<String>,
        block_storage: Option<String>,
    ) -> Self {
        // Octavia's catalog URL is its root; its API lives under `/v2` (`/v2.0` is the
        // deprecated alias).
        self.load_balancer = load_balancer.map(|url| {
            if url.ends_with("/v2") || url.ends_with("/v2.0") {
                url
            } else {
                format!("{url}/v2")
            }
        });
        self.block_storage = block_storage.map(|url| {
            if url.contains("/v3") {
                url
            } else {
                format!("{url}/v3")
            }
        });
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{method} {url}: no answer ({detail})")]
    Transport {
        method: String,
        url: String,
        detail: String,
    },
    #[error("{method} {url} answered {status}: {message}")]
    Status {
        method: String,
        url: String,
        status: u16,
        message: String,
        /// The service's name for the error (Neutron's `NeutronError.type`), when it gives one.
        kind: Option<String>,
        retry_after: Option<Duration>,
    },
    #[error("{method} {url}: unreadable answer: {detail}")]
    Decode {
        method: String,
        url: String,
        detail: String,
    },
    /// The token was due for renewal, or refused, and Keystone would not give a new one.
    #[error("renewing the Keystone token: {0}")]
    Renewal(#[from] KeystoneError),
}

impl ApiError {
    /// Worth trying again: the cloud may not have seen the request, or failed on its side.
    /// Not 501: the cloud says it cannot do this at all (Nova's console log on a driver
    /// without one, nova/api/openstack/compute/console_output.py), and asking again changes
    /// nothing.
    pub fn transient(&self) -> bool {
        match self {
            ApiError::Transport { .. } => true,
            ApiError::Status { status, .. } => *status == 429 || (*status >= 500 && *status != 501),
            ApiError::Decode { .. } | ApiError::Renewal(_) => false,
        }
    }

    /// The service's name for the error, e.g. `OverQuota` or `IpAddressAlreadyAllocated`.
    pub fn kind(&self) -> Option<&str> {
        match self {
            ApiError::Status { kind, .. } => kind.as_deref(),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// How often and how patiently transient failures are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 8,
            first_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The pause before attempt `n + 1`: the server's Retry-After when it gave one (capped),
    /// else doubling from `first_delay`.
    pub fn delay(&self, n: u32, error: &ApiError) -> Duration {
        if let Some(after) = error.retry_after() {
            return after.min(self.max_delay.max(Duration::from_secs(30)));
        }
        self.first_delay
            .saturating_mul(1u32 << n.min(16))
            .min(self.max_delay)
    }
}

/// Which counter a call goes to: the benchmark reports calls per node without polling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Converge,
    Poll,
}

pub struct Api {
    http: Client,
    tokens: Tokens,
    pub endpoints: Endpoints,
    pub retry: RetryPolicy,
    /// The project the token is scoped to: Neutron lists of the cluster's own objects are
    /// limited to it (see `neutron::Filter`). Empty when the token names none.
    project_id: String,
    converge_calls: AtomicU64,
    poll_calls: AtomicU64,
}

impl Api {
    pub fn new(http: Client, tokens: Tokens, endpoints: Endpoints) -> Self {
        Api {
            http,
            tokens,
            endpoints,
            retry: RetryPolicy::default(),
            project_id: String::new(),
            converge_calls: AtomicU64::new(0),
            poll_calls: AtomicU64::new(0),
        }
    }

    /// The same client, for a token scoped to `project_id`.
    pub fn in_project(mut self, project_id: &str) -> Self {
        self.project_id = project_id.to_string();
        self
    }

    /// The token's project (empty when it names none).
    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// How many times the Keystone token was renewed during the run.
    pub fn token_renewals(&self) -> u64 {
        self.tokens.renewals()
    }

    /// HTTP requests sent so far (each retry counts), for converging and for polling.
    pub fn calls(&self) -> (u64, u64) {
        (
            self.converge_calls.load(Ordering::Relaxed),
            self.poll_calls.load(Ordering::Relaxed),
        )
    }

    fn url(&self, service: Service, path: &str) -> String {
        let base =
            match service {
                Service::Compute => self.endpoints.compute.as_str(),
                Service::Network => self.endpoints.network.as_str(),
                Service::Image => self.endpoints.image.as_str(),
                // Callers look at the endpoint first (pre-flight makes a missing Cinder a
                // problem); a call anyway fails as a transport error naming this.
                Service::LoadBalancer => (self.endpoints.load_balancer.as_deref())
                    .unwrap_or("no-load-balancer-endpoint:"),
                Service::BlockStorage => (self.endpoints.block_storage.as_deref())
                    .unwrap_or("no-block-storage-endpoint:"),
            };
        format!("{base}{path}")
    }

    /// One request, one answer: JSON body (or `Null` for an empty one) on 2xx. A 401 is
    /// answered with a new token and the same request once more: the service refused the
    /// token, not the request, so even a create has not happened.
    pub fn once(
        &self,
        purpose: Purpose,
        method: Method,
        service: Service,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        self.once_at(purpose, method, service, path, body, COMPUTE_MICROVERSION)
    }

    /// `once`, asking Nova for `microversion` (other services ignore it).
    fn once_at(
        &self,
        purpose: Purpose,
        method: Method,
        service: Service,
        path: &str,
        body: Option<&Value>,
        microversion: &str,
    ) -> Result<Value, ApiError> {
        let token = self.tokens.token()?;
        let send = |token: &Sensitive| {
            let request = (purpose, method.clone(), service, path, body);
            self.send(request, token, microversion)
        };
        match send(&token) {
            Err(e) if e.status() == Some(401) => match self.tokens.after_unauthorized(&token)? {
                Some(renewed) => send(&renewed),
                None => Err(e),
            },
            other => other,
        }
    }

    fn send(
        &self,
        (purpose, method, service, path, body): (Purpose, Method, Service, &str, Option<&Value>),
        token: &Sensitive,
        microversion: &str,
    ) -> Result<Value, ApiError> {
        let url = self.url(service, path);
        let counter = match purpose {
            Purpose::Converge => &self.converge_calls,
            Purpose::Poll => &self.poll_calls,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header("X-Auth-Token", token.expose())
            .header("Accept", "application/json");
        if service == Service::Compute {
            request = request
                .header("OpenStack-API-Version", format!("compute {microversion}"))
                .header("X-OpenStack-Nova-API-Version", microversion);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let transport = |detail: String| ApiError::Transport {
            method: method.to_string(),
            url: url.clone(),
            detail,
        };
        let response = request.send().map_err(|e| transport(error_chain(&e)))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().map_err(|e| transport(error_chain(&e)))?;
        if !(200..300).contains(&status) {
            return Err(ApiError::Status {
                method: method.to_string(),
                url,
                status,
                message: http_error::message(&text),
                kind: http_error::kind(&text),
                retry_after,
            });
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| ApiError::Decode {
            method: method.to_string(),
            url,
            detail: e.to_string(),
        })
    }

    /// An idempotent request (GET, PUT, DELETE, or a read-only action), retried on
    /// transient failures.
    pub fn idempotent(
        &self,
        purpose: Purpose,
        method: Method,
        service: Service,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let mut n = 0;
        loop {
            match self.once(purpose, method.clone(), service, path, body) {
                Err(e) if e.transient() && n + 1 < self.retry.attempts => {
                    std::thread::sleep(self.retry.delay(n, &e));
                    n += 1;
                }
                other => return other,
            }
        }
    }

    pub fn get(&self, service: Service, path: &str) -> Result<Value, ApiError> {
        self.idempotent(Purpose::Converge, Method::GET, service, path, None)
    }

    pub fn put(&self, service: Service, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.idempotent(Purpose::Converge, Method::PUT, service, path, Some(body))
    }

    /// DELETE; a resource already gone counts as deleted (`Ok(false)`).
    pub fn delete(&self, service: Service, path: &str) -> Result<bool, ApiError> {
        match self.idempotent(Purpose::Converge, Method::DELETE, service, path, None) {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A create: sent once. Callers recover from a transient failure by looking for what
    /// they asked for before sending it again (`converge`).
    pub fn create(&self, service: Service, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.once(Purpose::Converge, Method::POST, service, path, Some(body))
    }

    /// A create (as `create`) asking Nova for `microversion` instead of the usual one.
    pub fn create_at(
        &self,
        service: Service,
        path: &str,
        body: &Value,
        microversion: &str,
    ) -> Result<Value, ApiError> {
        let post = Method::POST;
        self.once_at(
            Purpose::Converge,
            post,
            service,
            path,
            Some(body),
            microversion,
        )
    }
}

/// Make sure something exists without ever creating it twice: look for it; if absent,
/// create it; when the create fails transiently (it may or may not have happened), wait and
/// look again before another create. Returns the thing and whether this call created it.
pub fn converge<T>(
    retry: &RetryPolicy,
    mut find: impl FnMut() -> Result<Option<T>, ApiError>,
    mut create: impl FnMut() -> Result<T, ApiError>,
) -> Result<(T, bool), ApiError> {
    let mut slot: Option<(T, bool)> = None;
    converge_batch(
        retry,
        &mut slot,
        |slot, _| {
            // Once made, nothing is missing: no look after a create that worked.
            if slot.is_none() {
                *slot = find()?.map(|found| (found, false));
            }
            Ok(if slot.is_some() { vec![] } else { vec![()] })
        },
        |slot, _| {
            *slot = Some((create()?, true));
            Ok(())
        },
        |_| false,
    )?;
    Ok(slot.expect("converge ends with the thing found or made"))
}

/// Whether `missing` should ask the cloud again or may trust what `known` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// First round, or after a create that worked: `known` is up to date.
    Known,
    /// After a failed create that may have happened after all: list again.
    Again,
}

/// The batch form of `converge`: `missing` says what `known` still lacks (listing the
/// cloud again into `known` when told to), `create` makes a batch of it and records what it
/// made in `known`; until nothing is missing. A create failing transiently (or as `retry_also`
/// says) is retried after a pause, only for what a fresh look still finds missing.
pub fn converge_batch<S, R>(
    retry: &RetryPolicy,
    known: &mut S,
    mut missing: impl FnMut(&mut S, Look) -> Result<Vec<R>, ApiError>,
    mut create: impl FnMut(&mut S, Vec<R>) -> Result<(), ApiError>,
    retry_also: impl Fn(&ApiError) -> bool,
) -> Result<(), ApiError> {
    let mut attempt = 0;
    let mut look = Look::Known;
    loop {
        let todo = missing(known, look)?;
        if todo.is_empty() {
            return Ok(());
        }
        match create(known, todo) {
            Ok(()) => look = Look::Known,
            Err(e) if (e.transient() || retry_also(&e)) && attempt + 1 < retry.attempts => {
                std::thread::sleep(retry.delay(attempt, &e));
                attempt += 1;
                look = Look::Again;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The value under `key` of an answer from `url`, typed.
pub(super) fn field<T: DeserializeOwned>(
    mut v: Value,
    key: &str,
    url: &str,
) -> Result<T, ApiError> {
    serde_json::from_value(v[key].take()).map_err(|e| ApiError::Decode {
        method: "GET".into(),
        url: url.to_string(),
        detail: format!("`{key}`: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, after: Option<u64>) -> ApiError {
        ApiError::Status {
            method: "GET".into(),
            url: "u".into(),
            status: code,
            message: String::new(),
            kind: None,
            retry_after: after.map(Duration::from_secs),
        }
    }

    #[test]
    fn transient_failures_are_5xx_but_501_429_and_transport() {
        assert!(status(500, None).transient());
        assert!(status(503, None).transient());
        assert!(status(429, None).transient());
        assert!(!status(404, None).transient());
        assert!(!status(409, None).transient());
        assert!(!status(501, None).transient(), "not implemented stays so");
        assert!(
            ApiError::Transport {
                method: "GET".into(),
                url: "u".into(),
                detail: "reset".into()
            }
            .transient()
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_honours_retry_after() {
        let p = RetryPolicy {
            attempts: 5,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
        };
        let e = status(500, None);
        let delays: Vec<u128> = (0..5).map(|n| p.delay(n, &e).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
        assert_eq!(p.delay(0, &status(429, Some(3))), Duration::from_secs(3));
    }

    #[test]
    fn converge_looks_again_after_a_failed_create() {
        let p = RetryPolicy {
            attempts: 4,
            first_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        };
        // The first create "fails" after the cloud did it: the next look finds it.
        let mut made = false;
        let mut creates = 0;
        let made_ref = std::cell::Cell::new(false);
        let (v, created) = converge(
            &p,
            || Ok(made_ref.get().then_some(7)),
            || {
                creates += 1;
                made_ref.set(true);
                made = true;
                Err(status(502, None))
            },
        )
        .unwrap();
        assert_eq!((v, created, creates), (7, false, 1));
        assert!(made);
    }

    /// A create that worked is the end: no further look (each would be one more call).
    #[test]
    fn converge_does_not_look_after_a_create_that_worked() {
        let p = RetryPolicy {
            attempts: 4,
            first_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        };
        let looks = std::cell::Cell::new(0);
        let made = converge(
            &p,
            || {
                looks.set(looks.get() + 1);
                Ok(None)
            },
            || Ok(7),
        )
        .unwrap();
        assert_eq!((made, looks.get()), ((7, true), 1));
    }

    #[test]
    fn a_batch_sends_again_only_what_a_fresh_look_finds_missing() {
        let p = RetryPolicy {
            attempts: 3,
            first_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        };
        // The cloud holds what was created; the first batch lands half, then fails.
        let cloud = std::cell::RefCell::new(vec![1]);
        let mut sent: Vec<Vec<u32>> = Vec::new();
        let mut known: Vec<u32> = vec![1];
        converge_batch(
            &p,
            &mut known,
            |known, look| {
                if look == Look::Again {
                    *known = cloud.borrow().clone();
                }
                Ok((1..=4).filter(|n| !known.contains(n)).take(2).collect())
            },
            |known, batch| {
                sent.push(batch.clone());
                if sent.len() == 1 {
                    cloud.borrow_mut().push(batch[0]);
                    return Err(status(409, None));
                }
                cloud.borrow_mut().extend(&batch);
                known.extend(batch);
                Ok(())
            },
            |e| e.status() == Some(409),
        )
        .unwrap();
        assert_eq!(sent, [vec![2, 3], vec![3, 4]]);
        assert_eq!(*cloud.borrow(), [1, 2, 3, 4]);
        // Without `retry_also`, the same 409 is final.
        let mut known: Vec<u32> = Vec::new();
        let failed = converge_batch(
            &p,
            &mut known,
            |_, _| Ok(vec![1]),
            |_, _| Err(status(409, None)),
            |_| false,
        );
        assert_eq!(failed.unwrap_err().status(), Some(409));
    }
}
