//! Injected clock and randomness, so tests can generate reproducible bundles.
//!
//! Serial numbers and bootstrap tokens draw from `Entropy`; validity periods from `Clock`.
//! Key generation itself uses the crypto backend's RNG (aws-lc-rs offers no seeded keygen);
//! reproducibility of rendered output comes from persisting the bundle, not from reseeding.

use time::OffsetDateTime;

/// Where "now" comes from.
pub trait Clock {
    fn now(&self) -> OffsetDateTime;
}

/// The real wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock stuck at one instant (tests, fixtures).
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// Where random bytes come from.
pub trait Entropy {
    fn fill(&mut self, buf: &mut [u8]);
}

/// The operating system's CSPRNG.
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        // getrandom only fails on exotic platforms without an OS RNG; there is no safe fallback.
        getrandom::fill(buf).expect("the operating system's random number generator failed");
    }
}

/// Deterministic bytes for tests (splitmix64). Never for real secrets.
pub struct SeededEntropy(pub u64);

impl Entropy for SeededEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf.iter_mut() {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            *b = (z ^ (z >> 31)) as u8;
        }
    }
}
