//! The bounded queue of packets waiting to be sent to a [`Socket`](crate::Socket)'s transport,
//! with a slot for the latest volatile packet.
//!
//! natter patch: this replaces a `tokio::sync::mpsc` channel (buffered packets) plus a
//! `tokio::sync::watch` channel (volatile packets). Both allocate up front whether or not a
//! packet is ever sent: mpsc allocates its slots in blocks of 32 (32 × 168 bytes for a
//! `PacketBuf`), and the watch channel keeps its last value forever. An idle socket held
//! ~6 KiB in them. This queue holds a `VecDeque` that is only allocated while packets wait and
//! is released once the receiver has drained it.
//!
//! The semantics are those of the channels it replaces: a bound shared by queued packets and
//! unused permits (`try_send`/`try_reserve` fail with `Full` beyond it), FIFO order, and once
//! the receiver is closed no new packet or permit is accepted but the queued ones can still
//! be received. A volatile packet overwrites the previous one not yet taken, and is received
//! after the buffered packets.
use std::{
    collections::VecDeque,
    fmt,
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Poll, Waker},
};

use tokio::sync::{
    Notify,
    mpsc::error::{SendError, TrySendError},
};

struct State<T> {
    buf: VecDeque<T>,
    /// Slots held by permits not used yet.
    reserved: usize,
    /// The latest volatile item not taken yet (boxed: most sockets never get one).
    volatile: Option<Box<T>>,
    closed: bool,
    rx_waker: Option<Waker>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    cap: usize,
    /// Wakes the waiters of [`Sender::send`] (on free space) and of [`Sender::closed`].
    notify: Notify,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding the lock leaves the state consistent: every method only
        // does one small update under it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `item` in a slot the caller already owns, and wakes the receiver.
    fn push(&self, mut state: MutexGuard<'_, State<T>>, item: T) {
        state.buf.push_back(item);
        let waker = state.rx_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Creates a queue holding at most `cap` packets (queued or reserved).
pub(crate) fn channel<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    assert!(cap > 0, "the queue bound must be at least 1");
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            buf: VecDeque::new(),
            reserved: 0,
            volatile: None,
            closed: false,
            rx_waker: None,
        }),
        cap,
        notify: Notify::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// The sending half, owned by the [`Socket`](crate::Socket).
pub(crate) struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Queues `item`, or gives it back if the queue is full or closed.
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        let state = self.shared.lock();
        if state.closed {
            return Err(TrySendError::Closed(item));
        }
        if state.buf.len() + state.reserved >= self.shared.cap {
            return Err(TrySendError::Full(item));
        }
        self.shared.push(state, item);
        Ok(())
    }

    /// Reserves one slot, to be filled by [`Permit::send`] (or released when the permit is dropped).
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(TrySendError::Closed(()));
        }
        if state.buf.len() + state.reserved >= self.shared.cap {
            return Err(TrySendError::Full(()));
        }
        state.reserved += 1;
        Ok(Permit {
            shared: &self.shared,
        })
    }

    /// Queues `item`, waiting for a free slot if the queue is full.
    pub async fn send(&self, mut item: T) -> Result<(), SendError<T>> {
        loop {
            let notified = self.shared.notify.notified();
            tokio::pin!(notified);
            // Registered before checking, so a slot freed in between is not missed.
            notified.as_mut().enable();
            match self.try_send(item) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Closed(i)) => return Err(SendError(i)),
                Err(TrySendError::Full(i)) => item = i,
            }
            notified.await;
        }
    }

    /// Replaces the volatile item not taken yet, if any. Returns false if the queue is closed.
    pub fn send_volatile(&self, item: T) -> bool {
        let mut state = self.shared.lock();
        if state.closed {
            return false;
        }
        state.volatile = Some(Box::new(item));
        let waker = state.rx_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }

    /// Whether the receiver was closed.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// Waits until the receiver is closed.
    pub async fn closed(&self) {
        loop {
            let notified = self.shared.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("cap", &self.shared.cap)
            .finish()
    }
}

/// One reserved slot of the queue.
pub(crate) struct Permit<'a, T> {
    shared: &'a Arc<Shared<T>>,
}

impl<T> Permit<'_, T> {
    /// Queues `item` in the reserved slot.
    pub fn send(self, item: T) {
        let mut state = self.shared.lock();
        state.reserved -= 1;
        self.shared.push(state, item);
        std::mem::forget(self);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        // Unused: give the slot back, and tell a sender waiting for one.
        self.shared.lock().reserved -= 1;
        self.shared.notify.notify_waiters();
    }
}

/// The receiving half, held by the transport that currently sends the socket's packets.
pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
    /// Takes the next buffered item, else the volatile one.
    fn take(&self, state: &mut State<T>) -> Option<T> {
        let was_full = state.buf.len() + state.reserved >= self.shared.cap;
        if let Some(item) = state.buf.pop_front() {
            if was_full {
                self.shared.notify.notify_waiters();
            }
            return Some(item);
        }
        state.volatile.take().map(|b| *b)
    }

    /// The next item: `Ready(None)` once the queue is closed and drained.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut state = self.shared.lock();
        if let Some(item) = self.take(&mut state) {
            return Poll::Ready(Some(item));
        }
        if state.closed {
            return Poll::Ready(None);
        }
        // Idle: do not keep the storage a burst of packets needed.
        if state.buf.capacity() > 0 {
            state.buf = VecDeque::new();
        }
        match &mut state.rx_waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Waits for the next item: `None` once the queue is closed and drained.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next item if there is one now.
    pub fn try_recv(&mut self) -> Option<T> {
        let mut state = self.shared.lock();
        self.take(&mut state)
    }

    /// Refuses new items and permits; queued items can still be received.
    pub fn close(&mut self) {
        let mut state = self.shared.lock();
        state.closed = true;
        state.volatile = None;
        drop(state);
        self.shared.notify.notify_waiters();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("Receiver")
            .field("queued", &state.buf.len())
            .field("reserved", &state.reserved)
            .field("closed", &state.closed)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bound_counts_queued_items_and_permits() {
        let (tx, mut rx) = channel::<u32>(2);
        let permit = tx.try_reserve().unwrap();
        tx.try_send(1).unwrap();
        assert!(matches!(tx.try_send(2), Err(TrySendError::Full(2))));
        assert!(matches!(tx.try_reserve(), Err(TrySendError::Full(()))));
        drop(permit);
        tx.try_send(2).unwrap();
        assert_eq!(rx.try_recv(), Some(1));
        assert_eq!(rx.try_recv(), Some(2));
        assert_eq!(rx.try_recv(), None);
    }

    #[test]
    fn permits_keep_the_order_of_sending() {
        let (tx, mut rx) = channel::<u32>(4);
        let a = tx.try_reserve().unwrap();
        let b = tx.try_reserve().unwrap();
        b.send(1);
        tx.try_send(2).unwrap();
        a.send(3);
        assert_eq!(
            [rx.try_recv(), rx.try_recv(), rx.try_recv()],
            [Some(1), Some(2), Some(3)]
        );
    }

    #[test]
    fn volatile_item_is_replaced_and_comes_after_buffered_ones() {
        let (tx, mut rx) = channel::<u32>(4);
        assert!(tx.send_volatile(10));
        assert!(tx.send_volatile(11));
        tx.try_send(1).unwrap();
        assert_eq!(rx.try_recv(), Some(1));
        assert_eq!(rx.try_recv(), Some(11));
        assert_eq!(rx.try_recv(), None);
    }

    #[tokio::test]
    async fn closing_refuses_new_items_but_drains_queued_ones() {
        let (tx, mut rx) = channel::<u32>(4);
        tx.try_send(1).unwrap();
        assert!(!tx.is_closed());
        rx.close();
        assert!(tx.is_closed());
        tokio::time::timeout(Duration::from_secs(1), tx.closed())
            .await
            .unwrap();
        assert!(matches!(tx.try_send(2), Err(TrySendError::Closed(2))));
        assert!(matches!(tx.try_reserve(), Err(TrySendError::Closed(()))));
        assert!(!tx.send_volatile(3));
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn receiver_wakes_on_send_and_frees_storage_when_idle() {
        let (tx, mut rx) = channel::<u32>(64);
        let tx = Arc::new(tx);
        let sender = tx.clone();
        let task = tokio::spawn(async move {
            let mut got = Vec::new();
            while got.len() < 40 {
                got.push(rx.recv().await.unwrap());
            }
            // Idle again: the storage of the burst is released.
            let waker = futures_util::task::noop_waker();
            assert!(rx.poll_recv(&mut Context::from_waker(&waker)).is_pending());
            assert_eq!(rx.shared.lock().buf.capacity(), 0);
            got
        });
        tokio::task::yield_now().await;
        for i in 0..40 {
            sender.try_send(i).unwrap();
        }
        assert_eq!(task.await.unwrap(), (0..40).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn send_waits_for_a_free_slot() {
        let (tx, mut rx) = channel::<u32>(1);
        tx.try_send(1).unwrap();
        let tx = Arc::new(tx);
        let sender = tx.clone();
        let waiting = tokio::spawn(async move { sender.send(2).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        assert_eq!(rx.recv().await, Some(1));
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(rx.recv().await, Some(2));
    }
}
