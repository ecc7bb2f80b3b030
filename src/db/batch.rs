//! Group commit for PostgreSQL writes: concurrent callers' jobs are gathered into batches,
//! each batch is written by one statement (one round trip, one commit), and every caller is
//! answered with its own result once its batch has committed.
//!
//! A batch starts as soon as a job arrives and a slot is free (`IN_FLIGHT` batches at once);
//! whatever arrived while every slot was busy goes into the next one, so a lone writer
//! waits for nothing and concurrent writers share commits.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, oneshot};

/// The most jobs one statement writes.
const MAX_BATCH: usize = 64;
/// Batches written at once (PostgreSQL overlaps one's execution with another's commit).
const IN_FLIGHT: usize = 2;

type Job<J, R> = (J, oneshot::Sender<R>);

/// A queue of jobs `J` answered with `R`, run in batches by a background task.
pub(crate) struct Batcher<J, R> {
    queue: mpsc::UnboundedSender<Job<J, R>>,
}

impl<J, R> std::fmt::Debug for Batcher<J, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

impl<J: Send + 'static, R: Send + 'static> Batcher<J, R> {
    /// Starts the task (on the current runtime) that runs batches with `run`, which
    /// returns one result per job, in the jobs' order.
    pub(crate) fn start<F, Fut>(run: F) -> Self
    where
        F: Fn(Vec<J>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<R>> + Send + 'static,
    {
        let (queue, mut jobs) = mpsc::unbounded_channel::<Job<J, R>>();
        let run = Arc::new(run);
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        tokio::spawn(async move {
            while let Some(first) = jobs.recv().await {
                // Wait for a slot first: what arrives meanwhile joins this batch.
                let Ok(slot) = slots.clone().acquire_owned().await else { break };
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match jobs.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                let run = run.clone();
                tokio::spawn(async move {
                    let (inputs, replies): (Vec<J>, Vec<oneshot::Sender<R>>) = batch.into_iter().unzip();
                    let results = run(inputs).await;
                    debug_assert_eq!(results.len(), replies.len());
                    for (reply, result) in replies.into_iter().zip(results) {
                        // A caller that went away (its request was dropped) is not told.
                        let _ = reply.send(result);
                    }
                    drop(slot);
                });
            }
        });
        Self { queue }
    }

    /// Queues a job and waits for its result; `None` if the batcher's task is gone (the
    /// runtime is shutting down) or dropped the job without an answer.
    pub(crate) async fn submit(&self, job: J) -> Option<R> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((job, reply)).ok()?;
        answer.await.ok()
    }
}
