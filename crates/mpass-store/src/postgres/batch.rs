//! Group commit on PostgreSQL: writes that many requests make one at a time (a scan to
//! log) join the others waiting at that moment, and one statement in one transaction
//! writes them all. Each caller is answered after that
//! commit, as it was when every write had a transaction of its own: the durability is the
//! same; the database's work per write is not (one statement, one commit and one round
//! trip for the batch, and each counter row a batch moves is moved once). Reads that every
//! request makes alike (an online check's pass) are batched the same way: one round trip
//! for the reads waiting at that moment.
//!
//! A batch leaves as soon as a slot is free: alone, a write goes at once (it never waits
//! for company); under load the writes that arrive while `in_flight` batches are in the
//! database make up the next one.

use std::future::Future;
use std::sync::Arc;

use mpass_domain::ports::{StoreError, StoreResult};
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Writes waiting for a batch at most; callers beyond it wait for room.
const WAITING: usize = 8192;

type Reply<R> = oneshot::Sender<StoreResult<R>>;

/// A node's handle on one kind of batched write. Cheap to clone; its task ends with the
/// last handle.
pub(super) struct Batcher<T, R> {
    tx: mpsc::Sender<(T, Reply<R>)>,
    what: &'static str,
}

impl<T, R> Clone for Batcher<T, R> {
    fn clone(&self) -> Self {
        Batcher {
            tx: self.tx.clone(),
            what: self.what,
        }
    }
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// Starts the task on the current runtime. `write` gets a batch (at most `max_batch`,
    /// at most `in_flight` batches at once) and answers each of its writes, in order.
    pub(super) fn start<F, Fut>(what: &'static str, in_flight: usize, max_batch: usize, write: F) -> Batcher<T, R>
    where
        F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<StoreResult<R>>> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(WAITING);
        tokio::spawn(run(rx, in_flight, max_batch, write));
        Batcher { tx, what }
    }

    /// Writes `item` with the batch it joins; answers after that batch's commit.
    pub(super) async fn call(&self, item: T) -> StoreResult<R> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Unavailable(format!("the {} batcher has stopped", self.what));
        self.tx.send((item, reply)).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run<T, R, F, Fut>(mut rx: mpsc::Receiver<(T, Reply<R>)>, in_flight: usize, max_batch: usize, write: F)
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<StoreResult<R>>> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(in_flight.max(1)));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = rx.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (items, replies): (Vec<T>, Vec<Reply<R>>) = batch.into_iter().unzip();
        let written = write(items);
        tokio::spawn(async move {
            let results = written.await;
            debug_assert_eq!(results.len(), replies.len(), "one answer per write");
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(result);
            }
            drop(slot);
        });
    }
}
