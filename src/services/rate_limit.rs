//! Rate limits: how often one address or one user may sign up, log in, refresh, change a
//! password, post, upload and send Socket.IO events. In-process (`governor`'s GCRA, keyed):
//! on a cluster each node enforces its own share.
//!
//! Failed logins slow the guesser down without locking the account's owner out: an address
//! that fails too often is refused for a while, and an account can be tried only so often
//! from the addresses that have failed on it; an address that has not failed on an account
//! is held only to the general per-address login limit.

use std::fmt::Display;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Settings;
use crate::error::ApiError;

/// `count` events per `period`, all of which may come at once (a burst of `count`); a count
/// of 0 is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateQuota {
    pub count: u32,
    pub period: Duration,
}

impl RateQuota {
    pub const OFF: Self = Self { count: 0, period: Duration::from_secs(1) };

    /// `30/1m`, `5/15m`, `10/5s`; `off` or `0` for none.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("off") || raw == "0" {
            return Ok(Self::OFF);
        }
        let (count, period) =
            raw.split_once('/').ok_or_else(|| format!("invalid rate {raw:?}: expected N/period, e.g. 30/1m"))?;
        let count: u32 = count.trim().parse().map_err(|_| format!("invalid rate {raw:?}: {count:?} is not a count"))?;
        let period = match period.trim() {
            // `30/m` reads as 30 a minute.
            unit @ ("s" | "m" | "h" | "d") => crate::config::parse_duration(&format!("1{unit}"))?,
            other => crate::config::parse_duration(other)?,
        };
        if count > 0 && period.is_zero() {
            return Err(format!("invalid rate {raw:?}: the period must be positive"));
        }
        Ok(Self { count, period })
    }

    fn quota(self) -> Option<Quota> {
        let count = NonZeroU32::new(self.count)?;
        let interval = (self.period / count.get()).max(Duration::from_nanos(1));
        Quota::with_period(interval).map(|q| q.allow_burst(count))
    }
}

/// One limit, keyed by address or user; `None` when off.
#[derive(Clone, Default)]
pub struct Limit(Option<Arc<DefaultKeyedRateLimiter<String>>>);

impl Limit {
    pub fn new(quota: RateQuota) -> Self {
        Self(quota.quota().map(|q| Arc::new(RateLimiter::keyed(q))))
    }

    /// Counts one event of `key`; 429 with the wait when its budget is spent.
    pub fn check(&self, key: &(impl Display + ?Sized)) -> Result<(), ApiError> {
        let Some(limiter) = &self.0 else {
            return Ok(());
        };
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        limiter.check_key(&key.to_string()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            rate_limited(wait)
        })
    }

    /// An address-keyed limit; a request without a known address is not limited by it.
    pub fn check_ip(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        ip.map_or(Ok(()), |ip| self.check(&ip))
    }
}

fn rate_limited(wait: Duration) -> ApiError {
    ApiError::RateLimited { retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64 }
}

/// Remembered moments per key (an address's block, a failed address of an account), bounded:
/// the oldest are forgotten first when it is full.
type Moments = Arc<quick_cache::sync::Cache<String, Instant>>;

const REMEMBERED: usize = 100_000;

/// Every limit of the server (see the `RATE_*` settings).
#[derive(Clone)]
pub struct RateLimits {
    pub signup_ip: Limit,
    pub login_ip: Limit,
    login_failures_ip: Limit,
    login_failures_account: Limit,
    /// How long a failed login marks its address for the account (the account quota's period).
    failure_memory: Duration,
    pub refresh_ip: Limit,
    pub password_user: Limit,
    pub messages_user: Limit,
    pub uploads_user: Limit,
    pub typing_user: Limit,
    pub subscribe_user: Limit,
    /// Address → refused until.
    blocked: Moments,
    /// `account \0 address` → when that address last failed on that account.
    failed: Moments,
}

impl RateLimits {
    pub fn from_settings(s: &Settings) -> Self {
        let on = |q: RateQuota| Limit::new(if s.rate_limits { q } else { RateQuota::OFF });
        Self {
            signup_ip: on(s.rate_limit_signup_ip),
            login_ip: on(s.rate_limit_login_ip),
            login_failures_ip: on(s.rate_limit_login_failures_ip),
            login_failures_account: on(s.rate_limit_login_failures_account),
            failure_memory: s.rate_limit_login_failures_account.period.max(Duration::from_secs(60)),
            refresh_ip: on(s.rate_limit_refresh_ip),
            password_user: on(s.rate_limit_password_user),
            messages_user: on(s.rate_limit_messages_user),
            uploads_user: on(s.rate_limit_uploads_user),
            typing_user: on(s.rate_limit_typing_user),
            subscribe_user: on(s.rate_limit_subscribe_user),
            blocked: Arc::new(quick_cache::sync::Cache::new(REMEMBERED)),
            failed: Arc::new(quick_cache::sync::Cache::new(REMEMBERED)),
        }
    }

    /// Before a login's password is checked: the address's attempts, its block after too
    /// many failures, and, if this address failed on this account before, the account's
    /// budget for such addresses. `account` is the user id when the account exists.
    pub fn admit_login(&self, ip: Option<IpAddr>, account: &str) -> Result<(), ApiError> {
        let Some(ip) = ip else {
            return Ok(());
        };
        self.login_ip.check(&ip)?;
        let ip_key = ip.to_string();
        if let Some(until) = self.blocked.get(&ip_key) {
            let now = Instant::now();
            if until > now {
                return Err(rate_limited(until - now));
            }
            self.blocked.remove(&ip_key);
        }
        let failed_key = format!("{account}\0{ip}");
        if let Some(at) = self.failed.get(&failed_key) {
            if at.elapsed() < self.failure_memory {
                return self.login_failures_account.check(account);
            }
            self.failed.remove(&failed_key);
        }
        Ok(())
    }

    /// After a wrong password: the address is marked for the account, and spends one of its
    /// failures; with none left it is refused until one is back.
    pub fn login_failed(&self, ip: Option<IpAddr>, account: &str) {
        let Some(ip) = ip else {
            return;
        };
        self.failed.insert(format!("{account}\0{ip}"), Instant::now());
        if let Err(ApiError::RateLimited { retry_after_secs }) = self.login_failures_ip.check(&ip) {
            self.blocked.insert(ip.to_string(), Instant::now() + Duration::from_secs(retry_after_secs));
        }
    }

    /// After a correct password: the address is in good standing with the account again.
    pub fn login_succeeded(&self, ip: Option<IpAddr>, account: &str) {
        if let Some(ip) = ip {
            self.failed.remove(&format!("{account}\0{ip}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(raw: &str) -> RateQuota {
        RateQuota::parse(raw).unwrap()
    }

    fn limits(change: impl FnOnce(&mut Settings)) -> RateLimits {
        let mut settings = Settings::for_tests();
        settings.rate_limits = true;
        change(&mut settings);
        RateLimits::from_settings(&settings)
    }

    #[test]
    fn quotas_read_count_slash_period() {
        assert_eq!(quota("30/1m"), RateQuota { count: 30, period: Duration::from_secs(60) });
        assert_eq!(quota("10/m").period, Duration::from_secs(60));
        assert_eq!(quota("5/15m").period, Duration::from_secs(900));
        assert_eq!(quota("off").count, 0);
        assert_eq!(quota("0").count, 0);
        assert_eq!(quota("0/1m").count, 0);
        assert!(RateQuota::parse("30").is_err());
        assert!(RateQuota::parse("x/1m").is_err());
        assert!(RateQuota::parse("3/0s").is_err());
    }

    #[test]
    fn the_burst_is_the_count_then_a_wait_is_given() {
        let limit = Limit::new(quota("3/1m"));
        for _ in 0..3 {
            limit.check(&"a").unwrap();
        }
        match limit.check(&"a") {
            Err(ApiError::RateLimited { retry_after_secs }) => assert!((1..=20).contains(&retry_after_secs)),
            other => panic!("expected a rate limit, got {other:?}"),
        }
        limit.check(&"b").unwrap();
        Limit::new(RateQuota::OFF).check(&"a").unwrap();
    }

    #[test]
    fn failures_from_one_address_do_not_stop_the_owner_at_another() {
        let limits = limits(|s| {
            s.rate_limit_login_ip = quota("100/1m");
            s.rate_limit_login_failures_ip = quota("100/1m");
            s.rate_limit_login_failures_account = quota("3/15m");
        });
        let attacker = Some("10.0.0.66".parse().unwrap());
        let owner = Some("10.0.0.1".parse().unwrap());
        let mut refused = 0;
        for _ in 0..10 {
            match limits.admit_login(attacker, "ann") {
                Ok(()) => limits.login_failed(attacker, "ann"),
                Err(_) => refused += 1,
            }
        }
        // The first failure marks the address; three more attempts spend the account's budget.
        assert_eq!(refused, 6);
        limits.admit_login(owner, "ann").unwrap();
        limits.login_succeeded(owner, "ann");
        limits.admit_login(owner, "ann").unwrap();
        // Other accounts are not affected from the attacker's address either.
        limits.admit_login(attacker, "bob").unwrap();
    }

    #[test]
    fn an_address_that_fails_too_often_is_refused_for_a_while() {
        let limits = limits(|s| {
            s.rate_limit_login_ip = quota("100/1m");
            s.rate_limit_login_failures_ip = quota("3/15m");
            s.rate_limit_login_failures_account = RateQuota::OFF;
        });
        let ip = Some("10.0.0.66".parse().unwrap());
        for account in ["a", "b", "c", "d"] {
            limits.admit_login(ip, account).unwrap();
            limits.login_failed(ip, account);
        }
        match limits.admit_login(ip, "e") {
            Err(ApiError::RateLimited { retry_after_secs }) => assert!(retry_after_secs >= 60),
            other => panic!("expected a block, got {other:?}"),
        }
        limits.admit_login(Some("10.0.0.1".parse().unwrap()), "e").unwrap();
    }

    #[test]
    fn one_setting_turns_every_limit_off() {
        let limits = limits(|s| {
            s.rate_limits = false;
            s.rate_limit_messages_user = quota("1/1h");
        });
        for _ in 0..10 {
            limits.messages_user.check(&"u").unwrap();
        }
    }
}
