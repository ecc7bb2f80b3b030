//! Settings: read once at startup from CLI flags over environment variables over `.env`
//! over defaults, validated, then passed down. No global config.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

use crate::services::rate_limit::RateQuota;

/// The rate limits' defaults (the flags' and `for_tests`').
const RATE_SIGNUP_IP: &str = "10/10m";
const RATE_LOGIN_IP: &str = "30/1m";
const RATE_LOGIN_FAILURES_IP: &str = "20/15m";
const RATE_LOGIN_FAILURES_ACCOUNT: &str = "10/15m";
const RATE_REFRESH_IP: &str = "60/1m";
const RATE_PASSWORD_USER: &str = "5/15m";
const RATE_MESSAGES_USER: &str = "30/10s";
const RATE_UPLOADS_USER: &str = "30/1m";
const RATE_TYPING_USER: &str = "10/5s";
const RATE_SUBSCRIBE_USER: &str = "60/1m";

fn quota(raw: &str) -> RateQuota {
    RateQuota::parse(raw).expect("a valid built-in rate")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HashAlgorithm {
    Argon2,
    Bcrypt,
}

/// Every setting has a safe local default; `validate` refuses unsafe production ones.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// `development` (local defaults) or `production` (refuses unsafe settings).
    #[arg(long, global = true, env = "NATTER_ENV", value_enum, default_value = "development")]
    pub env: Environment,
    /// Interface to listen on.
    #[arg(long, global = true, env = "HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, global = true, env = "PORT", default_value_t = 3000)]
    pub port: u16,
    /// Where the SQLite file, the generated JWT secret and uploads live.
    #[arg(long, global = true, env = "DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// `sqlite://path` or `postgres://…`; default `sqlite://$DATA_DIR/natter.db`.
    #[arg(long, global = true, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Maximum connections in the database pool.
    #[arg(long, global = true, env = "DATABASE_POOL_SIZE", default_value_t = 16)]
    pub database_pool_size: u32,
    /// PostgreSQL: longest a statement may run before the server cancels it (0 = no limit).
    #[arg(long, global = true, env = "DATABASE_STATEMENT_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub database_statement_timeout: Duration,
    /// How many times a query that failed for a transient reason (lost connection,
    /// serialization failure, deadlock, busy database) is retried before it fails.
    #[arg(long, global = true, env = "DATABASE_RETRIES", default_value_t = 3)]
    pub database_retries: u32,
    /// `redis://host:port`: the Socket.IO events and presence of every node go through it
    /// (run many nodes on one PostgreSQL database). Unset: a single node.
    #[arg(long, global = true, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// How long a node's presence record outlives its last heartbeat (cluster mode): a node
    /// that dies stops counting its users online after at most this plus a third of it.
    #[arg(long, global = true, env = "PRESENCE_TTL", default_value = "15s", value_parser = parse_duration)]
    pub presence_ttl: Duration,
    /// The most `getOnlineUsers` bytes per second one node sends (list size × sockets).
    #[arg(long, global = true, env = "PRESENCE_BUDGET", default_value = "16MiB", value_parser = parse_size)]
    pub presence_budget: usize,
    /// On SIGTERM or Ctrl-C: how long in-flight requests may take to finish before natter
    /// exits anyway (it stops accepting and answers `/readyz` 503 at once).
    #[arg(long, global = true, env = "SHUTDOWN_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
    /// How long a checked session is trusted without asking the database again (revocations
    /// take effect at once regardless). 0 disables the cache.
    #[arg(long, global = true, env = "AUTH_CACHE_TTL", default_value = "10s", value_parser = parse_duration)]
    pub auth_cache_ttl: Duration,
    /// Memory for serialised conversation pages (each keyed by its room's version, so never
    /// stale), e.g. `64MiB`; 0 disables the cache.
    #[arg(long, global = true, env = "PAGE_CACHE_SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub page_cache_size: usize,
    /// HMAC secret for access tokens (at least 32 bytes). Generated and kept in DATA_DIR when unset.
    #[arg(long, global = true, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Access token (`jwt` cookie) lifetime, e.g. `15m`.
    #[arg(long, global = true, env = "ACCESS_TOKEN_TTL", default_value = "15m", value_parser = parse_duration)]
    pub access_token_ttl: Duration,
    /// A session's idle timeout: each refresh token lives this long, and each refresh issues
    /// a new one (sliding), e.g. `7d`.
    #[arg(long, global = true, env = "REFRESH_TOKEN_TTL", default_value = "7d", value_parser = parse_duration)]
    pub refresh_token_ttl: Duration,
    /// A session's absolute lifetime: after this long since login it ends, however active
    /// (log in again). `0` for none.
    #[arg(long, global = true, env = "SESSION_MAX_AGE", default_value = "30d", value_parser = parse_duration)]
    pub session_max_age: Duration,
    /// How long an already-rotated refresh token still refreshes (to the same new token), so
    /// that parallel refreshes of one browser or app do not log it out. Reuse after that
    /// revokes the session.
    #[arg(long, global = true, env = "REFRESH_REUSE_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub refresh_reuse_grace: Duration,
    /// Mark cookies `Secure`. Default: true in production, false in development.
    #[arg(long, global = true, env = "COOKIE_SECURE")]
    pub cookie_secure: Option<bool>,
    /// Comma-separated origins allowed to call the API with credentials.
    /// Default in development: ports 5173 (Vite) and 8081 (the JWT-auth tutorial's client) on
    /// localhost and 127.0.0.1; none in production.
    #[arg(long, global = true, env = "CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Option<Vec<String>>,
    /// Directory of a built frontend served at `/` with an `index.html` fallback.
    #[arg(long, global = true, env = "STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// Largest accepted request body, e.g. `10MiB`.
    #[arg(long, global = true, env = "BODY_LIMIT", default_value = "10MiB", value_parser = parse_size)]
    pub body_limit: usize,
    /// Largest accepted image (data URL or upload), e.g. `5MiB`.
    #[arg(long, global = true, env = "MAX_IMAGE_BYTES", default_value = "5MiB", value_parser = parse_size)]
    pub max_image_bytes: usize,
    /// Largest accepted video upload (MP4, WebM, QuickTime, Matroska).
    #[arg(long, global = true, env = "MAX_VIDEO_BYTES", default_value = "512MiB", value_parser = parse_size)]
    pub max_video_bytes: usize,
    /// Largest accepted upload of any other type (served as a download).
    #[arg(long, global = true, env = "MAX_FILE_BYTES", default_value = "25MiB", value_parser = parse_size)]
    pub max_file_bytes: usize,
    /// Where uploads are stored: `file:///path` (default: `DATA_DIR/uploads`) or
    /// `s3://bucket[/prefix]` (any S3-compatible store; see the STORAGE_S3_* settings).
    #[arg(long, global = true, env = "STORAGE_URL")]
    pub storage_url: Option<String>,
    /// S3 endpoint, for MinIO, Ceph, moto, R2…: `http://127.0.0.1:9000`. Default: AWS.
    #[arg(long, global = true, env = "STORAGE_S3_ENDPOINT")]
    pub storage_s3_endpoint: Option<String>,
    /// S3 region (`AWS_REGION` also works).
    #[arg(long, global = true, env = "STORAGE_S3_REGION")]
    pub storage_s3_region: Option<String>,
    /// S3 access key id (`AWS_ACCESS_KEY_ID` also works).
    #[arg(long, global = true, env = "STORAGE_S3_ACCESS_KEY_ID", hide_env_values = true)]
    pub storage_s3_access_key_id: Option<String>,
    /// S3 secret access key (`AWS_SECRET_ACCESS_KEY` also works).
    #[arg(long, global = true, env = "STORAGE_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub storage_s3_secret_access_key: Option<String>,
    /// Path-style requests (`endpoint/bucket/key`), what MinIO, Ceph and moto expect; false
    /// for virtual-hosted style (`bucket.endpoint/key`).
    #[arg(long, global = true, env = "STORAGE_S3_PATH_STYLE", default_value_t = true, action = clap::ArgAction::Set)]
    pub storage_s3_path_style: bool,
    /// Size of each part of a multipart upload to S3 (at least 5MiB, S3's minimum): the
    /// most an upload holds in memory.
    #[arg(long, global = true, env = "STORAGE_PART_SIZE", default_value = "5MiB", value_parser = parse_size)]
    pub storage_part_size: usize,
    /// Minimum password length (6 to 128).
    #[arg(long, global = true, env = "PASSWORD_MIN_LENGTH", default_value_t = 8)]
    pub password_min_length: usize,
    /// Hash for new passwords; both always verify.
    #[arg(long, global = true, env = "PASSWORD_HASH", value_enum, default_value = "argon2")]
    pub password_hash: HashAlgorithm,
    /// bcrypt cost when PASSWORD_HASH=bcrypt.
    #[arg(long, global = true, env = "BCRYPT_COST", default_value_t = 10)]
    pub bcrypt_cost: u32,
    /// Password hashes computed at once (default: number of cores).
    #[arg(long, global = true, env = "HASH_CONCURRENCY")]
    pub hash_concurrency: Option<usize>,
    /// Every rate limit below on (`true`) or off (`false`, e.g. for benchmarks).
    #[arg(long, global = true, env = "RATE_LIMITS", default_value_t = true, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub rate_limits: bool,
    /// Sign-ups per client address (`N/period`, e.g. `10/10m`; `off` for none).
    #[arg(long, global = true, env = "RATE_LIMIT_SIGNUP_IP", default_value = RATE_SIGNUP_IP, value_parser = RateQuota::parse)]
    pub rate_limit_signup_ip: RateQuota,
    /// Login attempts per client address, right or wrong (each costs a password hash).
    #[arg(long, global = true, env = "RATE_LIMIT_LOGIN_IP", default_value = RATE_LOGIN_IP, value_parser = RateQuota::parse)]
    pub rate_limit_login_ip: RateQuota,
    /// Failed logins per client address; with none left the address may not log in until
    /// one is back.
    #[arg(long, global = true, env = "RATE_LIMIT_LOGIN_FAILURES_IP", default_value = RATE_LOGIN_FAILURES_IP, value_parser = RateQuota::parse)]
    pub rate_limit_login_failures_ip: RateQuota,
    /// Login attempts on one account from the addresses that failed on it (together): the
    /// owner at an address that has not failed is not held to it.
    #[arg(long, global = true, env = "RATE_LIMIT_LOGIN_FAILURES_ACCOUNT", default_value = RATE_LOGIN_FAILURES_ACCOUNT, value_parser = RateQuota::parse)]
    pub rate_limit_login_failures_account: RateQuota,
    /// Refresh-token exchanges per client address (every refresh route and the transparent
    /// cookie refresh).
    #[arg(long, global = true, env = "RATE_LIMIT_REFRESH_IP", default_value = RATE_REFRESH_IP, value_parser = RateQuota::parse)]
    pub rate_limit_refresh_ip: RateQuota,
    /// Password changes (right or wrong current password) per user.
    #[arg(long, global = true, env = "RATE_LIMIT_PASSWORD_USER", default_value = RATE_PASSWORD_USER, value_parser = RateQuota::parse)]
    pub rate_limit_password_user: RateQuota,
    /// Messages, room posts, comments and tweets per user, on every surface.
    #[arg(long, global = true, env = "RATE_LIMIT_MESSAGES_USER", default_value = RATE_MESSAGES_USER, value_parser = RateQuota::parse)]
    pub rate_limit_messages_user: RateQuota,
    /// Stored files per user: uploads, data-URL images, avatars, videos and thumbnails.
    #[arg(long, global = true, env = "RATE_LIMIT_UPLOADS_USER", default_value = RATE_UPLOADS_USER, value_parser = RateQuota::parse)]
    pub rate_limit_uploads_user: RateQuota,
    /// Socket.IO `typing` events per user (over the limit: dropped, not fanned out).
    #[arg(long, global = true, env = "RATE_LIMIT_TYPING_USER", default_value = RATE_TYPING_USER, value_parser = RateQuota::parse)]
    pub rate_limit_typing_user: RateQuota,
    /// Socket.IO `subscribe` / `unsubscribe` events per user.
    #[arg(long, global = true, env = "RATE_LIMIT_SUBSCRIBE_USER", default_value = RATE_SUBSCRIBE_USER, value_parser = RateQuota::parse)]
    pub rate_limit_subscribe_user: RateQuota,
    /// Take the client IP from `X-Forwarded-For` (only behind a proxy you run).
    #[arg(long, global = true, env = "TRUST_PROXY", default_value_t = false)]
    pub trust_proxy: bool,
    /// Public base URL (e.g. https://chat.example.com); makes upload URLs absolute.
    #[arg(long, global = true, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Bearer token `/metrics` requires (`Authorization: Bearer <token>`). Unset: `/metrics`
    /// is open in development and refused (403) in production.
    #[arg(long, global = true, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// `text` or `json` log lines.
    #[arg(long, global = true, env = "LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Log filter (tracing EnvFilter syntax).
    #[arg(long, global = true, env = "LOG_LEVEL", default_value = "info")]
    pub log_level: String,
}

impl Settings {
    pub fn db_options(&self) -> crate::db::DbOptions {
        crate::db::DbOptions {
            pool_size: self.database_pool_size,
            statement_timeout: self.database_statement_timeout,
            retries: self.database_retries,
        }
    }

    /// Defaults for tests: random port, no rate limits to trip over, plain-http cookies.
    /// Callers set `data_dir` (and usually nothing else).
    pub fn for_tests() -> Self {
        Self {
            env: Environment::Development,
            host: "127.0.0.1".into(),
            port: 0,
            data_dir: PathBuf::from("./data-test"),
            database_url: None,
            database_pool_size: 8,
            database_statement_timeout: Duration::from_secs(30),
            database_retries: 3,
            redis_url: None,
            presence_ttl: Duration::from_secs(15),
            presence_budget: 16 * 1024 * 1024,
            shutdown_grace: Duration::from_secs(5),
            auth_cache_ttl: Duration::from_secs(10),
            page_cache_size: 64 * 1024 * 1024,
            jwt_secret: Some("test-secret-test-secret-test-secret-0123".into()),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(7 * 24 * 3600),
            session_max_age: Duration::from_secs(30 * 24 * 3600),
            refresh_reuse_grace: Duration::from_secs(10),
            cookie_secure: Some(false),
            cors_origins: None,
            static_dir: None,
            body_limit: 10 * 1024 * 1024,
            max_image_bytes: 5 * 1024 * 1024,
            max_video_bytes: 512 * 1024 * 1024,
            max_file_bytes: 25 * 1024 * 1024,
            storage_url: None,
            storage_s3_endpoint: None,
            storage_s3_region: None,
            storage_s3_access_key_id: None,
            storage_s3_secret_access_key: None,
            storage_s3_path_style: true,
            storage_part_size: 5 * 1024 * 1024,
            password_min_length: 8,
            password_hash: HashAlgorithm::Argon2,
            bcrypt_cost: 4,
            hash_concurrency: None,
            // Off in tests, but set to the defaults, so a test turns `rate_limits` on to try them.
            rate_limits: false,
            rate_limit_signup_ip: quota(RATE_SIGNUP_IP),
            rate_limit_login_ip: quota(RATE_LOGIN_IP),
            rate_limit_login_failures_ip: quota(RATE_LOGIN_FAILURES_IP),
            rate_limit_login_failures_account: quota(RATE_LOGIN_FAILURES_ACCOUNT),
            rate_limit_refresh_ip: quota(RATE_REFRESH_IP),
            rate_limit_password_user: quota(RATE_PASSWORD_USER),
            rate_limit_messages_user: quota(RATE_MESSAGES_USER),
            rate_limit_uploads_user: quota(RATE_UPLOADS_USER),
            rate_limit_typing_user: quota(RATE_TYPING_USER),
            rate_limit_subscribe_user: quota(RATE_SUBSCRIBE_USER),
            trust_proxy: false,
            public_url: None,
            metrics_token: None,
            log_format: LogFormat::Text,
            log_level: "warn".into(),
        }
    }

    pub fn is_production(&self) -> bool {
        self.env == Environment::Production
    }

    pub fn cookie_secure(&self) -> bool {
        self.cookie_secure.unwrap_or(self.is_production())
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("natter.db").display()))
    }

    pub fn cors_origins(&self) -> Vec<String> {
        match &self.cors_origins {
            Some(list) => list.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
            None if self.is_production() => Vec::new(),
            // Vite (the chat tutorial's client) and the JWT-auth tutorial's client.
            None => {
                ["http://localhost:5173", "http://127.0.0.1:5173", "http://localhost:8081", "http://127.0.0.1:8081"]
                    .map(String::from)
                    .to_vec()
            }
        }
    }

    pub fn hash_concurrency(&self) -> usize {
        self.hash_concurrency.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())).max(1)
    }

    pub fn upload_dir(&self) -> PathBuf {
        self.data_dir.join("uploads")
    }

    /// Refuses settings that are unsafe in production or out of range anywhere.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(6..=128).contains(&self.password_min_length) {
            bail!("PASSWORD_MIN_LENGTH must be between 6 and 128");
        }
        if self.access_token_ttl.is_zero() || self.refresh_token_ttl.is_zero() {
            bail!("ACCESS_TOKEN_TTL and REFRESH_TOKEN_TTL must be positive");
        }
        if let Some(secret) = &self.jwt_secret
            && secret.len() < 32
        {
            bail!("JWT_SECRET must be at least 32 bytes");
        }
        if self.storage_part_size < 5 * 1024 * 1024 {
            bail!("STORAGE_PART_SIZE must be at least 5MiB (S3's smallest multipart part)");
        }
        if !(4..=31).contains(&self.bcrypt_cost) {
            bail!("BCRYPT_COST must be between 4 and 31");
        }
        if self.is_production() {
            if self.jwt_secret.is_none() {
                bail!("NATTER_ENV=production requires JWT_SECRET to be set");
            }
            if self.cookie_secure == Some(false) {
                bail!("NATTER_ENV=production refuses COOKIE_SECURE=false");
            }
        }
        Ok(())
    }

    /// The configured JWT secret, or the one kept in `DATA_DIR/jwt_secret`, created on first
    /// use so that sessions survive restarts.
    pub fn resolve_jwt_secret(&self) -> anyhow::Result<Vec<u8>> {
        if let Some(secret) = &self.jwt_secret {
            return Ok(secret.as_bytes().to_vec());
        }
        let path = self.data_dir.join("jwt_secret");
        if let Ok(existing) = std::fs::read_to_string(&path) {
            let existing = existing.trim();
            if existing.len() >= 32 {
                return Ok(existing.as_bytes().to_vec());
            }
        }
        tracing::warn!(
            path = %path.display(),
            "JWT_SECRET is not set: using a generated secret kept in the data directory (set JWT_SECRET in production)"
        );
        let secret = hex::encode(rand::random::<[u8; 32]>());
        write_private(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
        Ok(secret.into_bytes())
    }
}

fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

/// `900`, `900s`, `15m`, `7d`: plain numbers are seconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(raw).map_err(|e| format!("invalid duration {raw:?}: {e}"))
}

/// `10485760`, `10MiB`, `5MB`, `512KiB`.
pub fn parse_size(raw: &str) -> Result<usize, String> {
    let bytes: bytesize::ByteSize = raw.trim().parse().map_err(|e| format!("invalid size {raw:?}: {e}"))?;
    usize::try_from(bytes.as_u64()).map_err(|_| format!("size {raw:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_seconds_and_units() {
        assert_eq!(parse_duration("900"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86400)));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn sizes_accept_bytes_and_units() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("10MiB"), Ok(10 * 1024 * 1024));
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn production_refuses_missing_secret_and_insecure_cookies() {
        let mut s = Settings::for_tests();
        s.env = Environment::Production;
        s.jwt_secret = None;
        s.cookie_secure = None;
        assert!(s.validate().unwrap_err().to_string().contains("JWT_SECRET"));
        s.jwt_secret = Some("x".repeat(40));
        assert!(s.validate().is_ok());
        assert!(s.cookie_secure());
        s.cookie_secure = Some(false);
        assert!(s.validate().unwrap_err().to_string().contains("COOKIE_SECURE"));
    }

    #[test]
    fn generated_secret_is_kept_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Settings::for_tests();
        s.jwt_secret = None;
        s.data_dir = dir.path().to_path_buf();
        let first = s.resolve_jwt_secret().unwrap();
        let second = s.resolve_jwt_secret().unwrap();
        assert_eq!(first, second);
        assert!(first.len() >= 32);
    }
}
