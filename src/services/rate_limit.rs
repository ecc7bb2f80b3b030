//! Per-IP and per-account limits on password guessing (login, signup). In-process
//! (`governor`'s GCRA): on a cluster each node enforces its own share.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

type Limiter = Arc<DefaultKeyedRateLimiter<String>>;

#[derive(Clone)]
pub struct AuthRateLimits {
    per_ip: Option<Limiter>,
    per_account: Option<Limiter>,
}

fn limiter(per_minute: u32) -> Option<Limiter> {
    NonZeroU32::new(per_minute).map(|n| Arc::new(RateLimiter::keyed(Quota::per_minute(n))))
}

fn check(limiter: &Option<Limiter>, key: String) -> Result<(), ApiError> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    if limiter.len() > 100_000 {
        limiter.retain_recent();
    }
    limiter.check_key(&key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        ApiError::RateLimited { retry_after_secs: wait.as_secs().max(1) }
    })
}

impl AuthRateLimits {
    pub fn new(per_ip_per_minute: u32, per_account_per_minute: u32) -> Self {
        Self { per_ip: limiter(per_ip_per_minute), per_account: limiter(per_account_per_minute) }
    }

    pub fn check_ip(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        match ip {
            Some(ip) => check(&self.per_ip, ip.to_string()),
            None => Ok(()),
        }
    }

    pub fn check_account(&self, identifier: &str) -> Result<(), ApiError> {
        check(&self.per_account, identifier.trim().to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_n_plus_first_attempt_in_a_minute_is_refused_with_a_wait() {
        let limits = AuthRateLimits::new(3, 0);
        let ip = Some("10.0.0.1".parse().unwrap());
        for _ in 0..3 {
            limits.check_ip(ip).unwrap();
        }
        match limits.check_ip(ip) {
            Err(ApiError::RateLimited { retry_after_secs }) => {
                assert!((1..=60).contains(&retry_after_secs))
            }
            other => panic!("expected a rate limit, got {other:?}"),
        }
        limits.check_ip(Some("10.0.0.2".parse().unwrap())).unwrap();
        limits.check_account("anyone").unwrap();
    }
}
