//! Password hashing off the async runtime: argon2id (OWASP parameters, the crate default:
//! 19 MiB, 2 iterations, 1 lane) for new hashes, and verification of both argon2 and bcrypt
//! (`$2a$`/`$2b$`/`$2y$`, as written by the Node tutorials' bcrypt/bcryptjs). Hashes run on
//! natter's own hashing threads, one per core, behind a semaphore of the same size, so a
//! login storm queues instead of starving the workers or exhausting memory. Those threads
//! run at the lowest scheduling priority (nice 19, on Linux): when the CPU is short, requests
//! that only read or write go first and sign-ins wait, instead of every request waiting
//! a scheduler slice behind a 30 ms hash (a login storm had doubled read p99s).

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::mpsc::RecvTimeoutError;

use anyhow::Context;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use crate::config::HashAlgorithm;
use crate::domain::Password;

/// How much lower the hashing threads' priority is (Linux `nice`, 0-19).
const HASH_THREAD_NICE: i32 = 19;

/// A hashing thread with no job for this long gives its argon2 memory back.
const RELEASE_MEMORY_WHEN_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads: they take jobs from one queue; dropping the last sender ends them.
fn start_hash_threads(count: usize) -> anyhow::Result<std::sync::mpsc::Sender<Job>> {
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    let rx = Arc::new(std::sync::Mutex::new(rx));
    for i in 0..count {
        let rx = rx.clone();
        std::thread::Builder::new()
            .name(format!("natter-hash-{i}"))
            .spawn(move || {
                lower_this_threads_priority();
                loop {
                    // The lock is held only while waiting for the next job.
                    let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv_timeout(RELEASE_MEMORY_WHEN_IDLE);
                    match job {
                        Ok(job) => job(),
                        Err(RecvTimeoutError::Timeout) => release_argon2_memory(),
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            })
            .context("starting a hashing thread")?;
    }
    Ok(tx)
}

#[cfg(target_os = "linux")]
fn lower_this_threads_priority() {
    // On Linux `setpriority(PRIO_PROCESS, tid, …)` sets the nice value of one thread.
    // SAFETY: plain system calls about the calling thread itself.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, HASH_THREAD_NICE) };
    if rc != 0 {
        tracing::debug!("could not lower the hashing thread's priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    jobs: std::sync::mpsc::Sender<Job>,
    algorithm: HashAlgorithm,
    bcrypt_cost: u32,
    /// A real hash of a random password, verified for unknown accounts so that their
    /// login takes as long as a wrong password does.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    pub async fn new(algorithm: HashAlgorithm, bcrypt_cost: u32, concurrency: usize) -> anyhow::Result<Self> {
        let mut hasher = Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            jobs: start_hash_threads(concurrency.max(1))?,
            algorithm,
            bcrypt_cost,
            dummy_hash: Arc::from(""),
        };
        let random = Password::for_login(&hex::encode(rand::random::<[u8; 16]>())).expect("random password is valid");
        hasher.dummy_hash = Arc::from(hasher.hash(random).await?);
        Ok(hasher)
    }

    pub async fn hash(&self, password: Password) -> anyhow::Result<String> {
        let (algorithm, cost) = (self.algorithm, self.bcrypt_cost);
        self.run_blocking(move || match algorithm {
            HashAlgorithm::Argon2 => argon2_hash(password.expose().as_bytes()),
            HashAlgorithm::Bcrypt => bcrypt::hash(password.expose(), cost).context("bcrypt hashing failed"),
        })
        .await
    }

    /// Verifies `password` against `stored`; with `None` (unknown user) it verifies against a
    /// dummy hash and returns false, taking the same time.
    pub async fn verify(&self, password: Password, stored: Option<String>) -> anyhow::Result<bool> {
        let known = stored.filter(|h| !h.is_empty());
        let matches_expected = known.is_some();
        let hash = known.unwrap_or_else(|| self.dummy_hash.to_string());
        let ok = self.run_blocking(move || Ok(verify_hash(password.expose(), &hash))).await?;
        Ok(ok && matches_expected)
    }

    async fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self.permits.acquire().await.context("hasher closed")?;
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            let _ = done.send(outcome);
        });
        self.jobs.send(job).map_err(|_| anyhow::anyhow!("hashing threads stopped"))?;
        match result.await.context("hashing thread stopped")? {
            Ok(outcome) => outcome,
            Err(_) => Err(anyhow::anyhow!("hashing panicked")),
        }
    }
}

fn verify_hash(password: &str, hash: &str) -> bool {
    if hash.starts_with("$argon2") {
        PasswordHash::new(hash).is_ok_and(|parsed| argon2_verify(password.as_bytes(), &parsed))
    } else if hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$") {
        bcrypt::verify(password, hash).unwrap_or(false)
    } else {
        false
    }
}

thread_local! {
    /// A hashing thread's argon2 memory (19 MiB with the default parameters), kept from one
    /// hash to the next while sign-ins keep coming, given back after a second without any.
    /// The `argon2` crate's `hash_password`/`verify_password` allocate it per hash; since
    /// malloc maps blocks that large afresh each time (src/main.rs), every hash then paid
    /// for faulting 19 MiB in: sign-ins measured 24 against 33 per second.
    static ARGON2_MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Frees this thread's argon2 memory (an idle server does not hold 19 MiB per thread).
fn release_argon2_memory() {
    ARGON2_MEMORY.with(|memory| *memory.borrow_mut() = Vec::new());
}

/// Runs `hash` with this thread's argon2 memory, grown to `params` if needed.
fn with_argon2_memory(params: &Params, hash: impl FnOnce(&mut [Block]) -> argon2::Result<()>) -> argon2::Result<()> {
    ARGON2_MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        let blocks = params.block_count();
        if memory.len() < blocks {
            memory.resize(blocks, Block::new());
        }
        hash(&mut memory[..blocks])
    })
}

/// A new argon2id hash in PHC form with the crate's default parameters and a random
/// 16-byte salt: what `Argon2::default().hash_password` writes, on reused memory.
fn argon2_hash(password: &[u8]) -> anyhow::Result<String> {
    let argon2 = Argon2::default();
    let salt_bytes: [u8; 16] = rand::random();
    let salt = Salt::new(&salt_bytes).map_err(|e| anyhow::anyhow!("argon2 salt: {e}"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    with_argon2_memory(argon2.params(), |memory| {
        argon2.hash_password_into_with_memory(password, &salt, &mut out, memory)
    })
    .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))?;
    let hash = PasswordHash {
        algorithm: Algorithm::default().ident(),
        version: Some(Version::default().into()),
        params: ParamsString::try_from(argon2.params()).map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("argon2 output: {e}"))?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches a parsed argon2 hash (any variant, version and parameters it
/// names), as `password_hash`'s `PasswordVerifier` decides it: the password hashed again
/// with the stored salt and parameters, compared in constant time (`Output`'s `==`).
fn argon2_verify(password: &[u8], hash: &PasswordHash) -> bool {
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else {
        return false;
    };
    let version = hash.version.map_or(Ok(Version::default()), Version::try_from);
    let (Ok(version), Ok(params)) = (version, Params::try_from(hash)) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params);
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let out = &mut buffer[..expected.len()];
    with_argon2_memory(argon2.params(), |memory| argon2.hash_password_into_with_memory(password, salt, out, memory))
        .is_ok()
        && Output::new(out).is_ok_and(|computed| computed == *expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> Password {
        Password::for_login(s).unwrap()
    }

    #[tokio::test]
    async fn argon2id_hashes_verify_and_use_owasp_parameters() {
        let hasher = PasswordHasher::new(HashAlgorithm::Argon2, 4, 2).await.unwrap();
        let hash = hasher.hash(pw("correct horse")).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify(pw("correct horse"), Some(hash.clone())).await.unwrap());
        assert!(!hasher.verify(pw("wrong horse"), Some(hash)).await.unwrap());
        assert!(!hasher.verify(pw("correct horse"), None).await.unwrap());
    }

    /// Hashes yield the CPU to request handling: they run at nice 19.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashes_run_at_the_lowest_priority() {
        let hasher = PasswordHasher::new(HashAlgorithm::Argon2, 4, 2).await.unwrap();
        for _ in 0..4 {
            // SAFETY: a plain system call about the calling thread itself.
            let nice = hasher
                .run_blocking(|| Ok(unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }))
                .await
                .unwrap();
            assert_eq!(nice, HASH_THREAD_NICE);
        }
    }

    /// The hashes written and verified on reused memory are the `argon2` crate's own: each
    /// verifies the other's, including hashes with other variants, versions and parameters.
    #[test]
    fn argon2_on_reused_memory_matches_the_crate() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let ours = argon2_hash(b"correct horse").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"wrong horse", &parsed).is_err());
        for (algorithm, version, m, t, p) in [
            (Algorithm::Argon2id, Version::V0x13, 19 * 1024, 2, 1),
            (Algorithm::Argon2i, Version::V0x13, 4096, 3, 2),
            (Algorithm::Argon2d, Version::V0x10, 8, 1, 1),
            (Algorithm::Argon2id, Version::V0x13, 65536, 1, 4),
        ] {
            let params = Params::new(m, t, p, None).unwrap();
            let theirs = Argon2::new(algorithm, version, params).hash_password(b"hunter22").unwrap().to_string();
            assert!(verify_hash("hunter22", &theirs), "{theirs}");
            assert!(!verify_hash("hunter23", &theirs), "{theirs}");
        }
        // The memory grew to the largest (64 MiB) and still serves the default size.
        assert!(verify_hash("correct horse", &ours));
        assert!(!verify_hash("correct horse", "$argon2id$v=19$m=19456,t=2,p=1$bm9zYWx0$"));
    }

    #[tokio::test]
    async fn bcrypt_hashes_from_node_verify() {
        let hasher = PasswordHasher::new(HashAlgorithm::Argon2, 4, 2).await.unwrap();
        let b = bcrypt::hash("hunter22", 4).unwrap();
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            let variant = format!("{prefix}{}", &b[4..]);
            assert!(hasher.verify(pw("hunter22"), Some(variant.clone())).await.unwrap(), "{prefix}");
            assert!(!hasher.verify(pw("hunter23"), Some(variant)).await.unwrap(), "{prefix}");
        }
    }
}
