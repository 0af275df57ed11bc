//! The Keystone token `api` sends, kept valid for runs longer than Keystone's token life
//! (3600 s by default, `[token] expiration`, the same as `up`'s default `--timeout`). Renewed
//! before it expires, as keystoneauth does (fewer than 120 s left), and once more when a
//! service answers 401 anyway (revoked, clocks apart). Shared by the threads that create
//! ports and servers: one renewal at a time, and a thread that saw a 401 on a token another
//! thread already replaced just takes the new one.

use super::Sensitive;
use super::keystone::{KeystoneError, Session};
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

/// How a new token is obtained: authenticate again with the same credentials.
pub type Renew = Box<dyn Fn() -> Result<Session, KeystoneError> + Send + Sync>;

#[derive(Debug, Clone)]
struct Current {
    token: Sensitive,
    issued_at: Option<OffsetDateTime>,
    expires_at: Option<OffsetDateTime>,
}

impl Current {
    fn of(session: &Session) -> Self {
        Current {
            token: session.token.clone(),
            issued_at: session.issued_at,
            expires_at: session.expires_at,
        }
    }
}

pub struct Tokens {
    current: Mutex<Current>,
    renew: Option<Renew>,
    renewals: std::sync::atomic::AtomicU64,
}

/// keystoneauth's margin (`MIN_TOKEN_LIFE_SECONDS`): a token with less left is renewed first.
const MARGIN: Duration = Duration::seconds(120);

/// Whether a token issued at `issued` and expiring at `expires` should be renewed at `now`:
/// fewer than 120 s left, or, for a token that lives less than four minutes in all, less
/// than half its life (else every request would renew it).
pub fn due(issued: Option<OffsetDateTime>, expires: OffsetDateTime, now: OffsetDateTime) -> bool {
    let margin = match issued {
        Some(issued) if expires - issued < MARGIN * 2 => (expires - issued) / 2,
        _ => MARGIN,
    };
    now + margin >= expires
}

impl Tokens {
    /// A token that is never renewed (a 401 stays a 401).
    pub fn fixed(token: Sensitive) -> Self {
        Tokens {
            current: Mutex::new(Current {
                token,
                issued_at: None,
                expires_at: None,
            }),
            renew: None,
            renewals: Default::default(),
        }
    }

    /// The session's token, renewed by `renew` when due or refused.
    pub fn renewing(session: &Session, renew: Renew) -> Self {
        Tokens {
            current: Mutex::new(Current::of(session)),
            renew: Some(renew),
            renewals: Default::default(),
        }
    }

    /// How many times the token was renewed.
    pub fn renewals(&self) -> u64 {
        self.renewals.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        // A thread that panicked while holding the lock left a whole token behind.
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn replace(&self, current: &mut Current) -> Result<(), KeystoneError> {
        let Some(renew) = &self.renew else {
            return Ok(());
        };
        *current = Current::of(&renew()?);
        self.renewals
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// The token to send now, renewed first when it expires soon.
    pub fn token(&self) -> Result<Sensitive, KeystoneError> {
        self.token_at(OffsetDateTime::now_utc())
    }

    pub fn token_at(&self, now: OffsetDateTime) -> Result<Sensitive, KeystoneError> {
        let mut current = self.lock();
        if let Some(expires) = current.expires_at
            && due(current.issued_at, expires, now)
        {
            self.replace(&mut current)?;
        }
        Ok(current.token.clone())
    }

    /// A service refused `refused` with 401: the token to try once more, or `None` when
    /// there is nothing new to try (no renewal here). A token another thread has replaced
    /// meanwhile is not renewed again.
    pub fn after_unauthorized(
        &self,
        refused: &Sensitive,
    ) -> Result<Option<Sensitive>, KeystoneError> {
        let Some(_) = &self.renew else {
            return Ok(None);
        };
        let mut current = self.lock();
        if current.token == *refused {
            self.replace(&mut current)?;
        }
        Ok(Some(current.token.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use time::macros::datetime;

    fn session(token: &str, issued: OffsetDateTime, life: i64) -> Session {
        Session {
            token: Sensitive::new(token),
            project_id: None,
            user_id: "u".into(),
            catalog: vec![],
            issued_at: Some(issued),
            expires_at: Some(issued + Duration::seconds(life)),
        }
    }

    #[test]
    fn an_hour_token_is_renewed_two_minutes_before_it_expires() {
        let issued = datetime!(2026-12-02 00:00 UTC);
        let expires = issued + Duration::hours(1);
        assert!(!due(
            Some(issued),
            expires,
            issued + Duration::seconds(3479)
        ));
        assert!(due(Some(issued), expires, issued + Duration::seconds(3480)));
        assert!(due(Some(issued), expires, expires + Duration::seconds(5)));
        // Without an issue time the margin is keystoneauth's.
        assert!(due(None, expires, expires - Duration::seconds(100)));
        assert!(!due(None, expires, expires - Duration::seconds(200)));
    }

    #[test]
    fn a_short_token_is_renewed_at_half_its_life_not_on_every_request() {
        let issued = datetime!(2026-12-02 00:00 UTC);
        let expires = issued + Duration::seconds(60);
        assert!(!due(Some(issued), expires, issued + Duration::seconds(29)));
        assert!(due(Some(issued), expires, issued + Duration::seconds(30)));
    }

    /// Renewal counts: a counter stands in for Keystone and hands out t1, t2, ...
    fn counting(start: OffsetDateTime, life: i64) -> (Tokens, Arc<AtomicU64>) {
        let made = Arc::new(AtomicU64::new(0));
        let m = made.clone();
        let tokens = Tokens::renewing(
            &session("t0", start, life),
            Box::new(move || {
                let n = m.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(session(&format!("t{n}"), start, life * (n as i64 + 1)))
            }),
        );
        (tokens, made)
    }

    #[test]
    fn the_token_is_renewed_when_due_and_only_then() {
        let start = datetime!(2026-12-02 00:00 UTC);
        let (tokens, made) = counting(start, 3600);
        let at = |s: i64| tokens.token_at(start + Duration::seconds(s)).unwrap();
        assert_eq!(at(10).expose(), "t0");
        assert_eq!(at(3000).expose(), "t0");
        assert_eq!(at(3500).expose(), "t1");
        // The new one lives to 7200 s: no renewal until it is due in turn.
        assert_eq!(at(3600).expose(), "t1");
        assert_eq!(at(7100).expose(), "t2");
        assert_eq!((made.load(Ordering::SeqCst), tokens.renewals()), (2, 2));
    }

    #[test]
    fn a_401_renews_once_and_a_stale_401_takes_the_new_token() {
        let start = datetime!(2026-12-02 00:00 UTC);
        let (tokens, made) = counting(start, 3600);
        let t0 = Sensitive::new("t0");
        let next = tokens.after_unauthorized(&t0).unwrap().unwrap();
        assert_eq!(next.expose(), "t1");
        // Another thread's request with t0 failed too: it gets t1, no second renewal.
        let again = tokens.after_unauthorized(&t0).unwrap().unwrap();
        assert_eq!(again.expose(), "t1");
        assert_eq!(made.load(Ordering::SeqCst), 1);
        // A fixed token has nothing else to offer.
        assert!(
            Tokens::fixed(t0.clone())
                .after_unauthorized(&t0)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_refused_renewal_is_keystones_error() {
        let start = datetime!(2026-12-02 00:00 UTC);
        let tokens = Tokens::renewing(
            &session("t0", start, 3600),
            Box::new(|| {
                Err(KeystoneError::Unauthorized {
                    origin: "clouds.yaml: rig".into(),
                })
            }),
        );
        let err = tokens
            .token_at(start + Duration::seconds(3590))
            .unwrap_err();
        assert!(matches!(err, KeystoneError::Unauthorized { .. }), "{err}");
    }
}
