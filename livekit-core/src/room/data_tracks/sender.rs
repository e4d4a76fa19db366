//! The way out: frames of all our tracks wait in one small drop-oldest
//! queue, and one task feeds their packets to the publisher's
//! `_data_track` channel while its buffer is under a low threshold.
//!
//! Data tracks carry live data, where a fresh frame is worth more than a
//! late one, so a slow channel costs the oldest waiting frames rather than
//! growing latency. A frame's packets are sent together and never
//! interleaved with another frame's, so the receiver sees whole frames.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::room::session::{PC_CONNECT_TIMEOUT, Session};
use crate::transport::{DataChannel, DataChannelEvent};

/// Frames that may wait; a new frame beyond this evicts the oldest.
const QUEUE_FRAMES: usize = 16;

/// The channel is fed while it holds at most this many unacknowledged
/// bytes (the official library's threshold for this channel).
pub const LOW_THRESHOLD: u64 = 8 * 1024;

/// How often a waiting sender re-checks, in case a wake-up is missed.
const POLL: Duration = Duration::from_millis(5);

/// Encoded frames (each a list of packets) waiting to be sent.
#[derive(Default)]
pub(super) struct SendQueue {
    frames: Mutex<VecDeque<Vec<Bytes>>>,
    wake: Notify,
    closed: AtomicBool,
}

impl SendQueue {
    /// Queue a frame's packets, evicting the oldest frame if full.
    pub(super) fn push(&self, packets: Vec<Bytes>) {
        if self.closed.load(Ordering::Acquire) || packets.is_empty() {
            return;
        }
        let mut frames = self.frames.lock();
        if frames.len() >= QUEUE_FRAMES {
            frames.pop_front();
            log::debug!("data track send queue full; dropped the oldest frame");
        }
        frames.push_back(packets);
        drop(frames);
        self.wake.notify_one();
    }

    /// Stop: the sender task ends and later pushes are ignored.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.frames.lock().clear();
        self.wake.notify_one();
    }

    /// Take the oldest waiting frame, for tests of what gets queued.
    #[cfg(test)]
    pub(super) fn pop(&self) -> Option<Vec<Bytes>> {
        self.frames.lock().pop_front()
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The next frame, or `None` once closed.
    async fn next(&self) -> Option<Vec<Bytes>> {
        loop {
            if self.is_closed() {
                return None;
            }
            if let Some(frame) = self.frames.lock().pop_front() {
                return Some(frame);
            }
            // `notify_one` leaves a permit when nobody waits, so a push
            // between the check and this await is not lost.
            self.wake.notified().await;
        }
    }
}

/// Feed `queue` to `channel` until the queue closes or the session goes.
/// `changed` is woken by the channel's events (open, drained, closed).
pub(super) async fn run(
    queue: Arc<SendQueue>,
    channel: DataChannel,
    changed: Arc<Notify>,
    session: Weak<Session>,
) {
    while let Some(frame) = queue.next().await {
        if !channel.is_open() {
            let Some(live) = session.upgrade() else {
                return;
            };
            // Normally done at join; this also covers a failed first try.
            if let Err(err) = live.ensure_publisher().await {
                log::debug!("data track frame dropped: publisher not connected: {err}");
                continue;
            }
            drop(live);
            if !wait(&queue, &changed, PC_CONNECT_TIMEOUT, || channel.is_open()).await {
                log::debug!("data track frame dropped: the channel did not open");
                continue;
            }
        }
        for packet in frame {
            if !wait(&queue, &changed, PC_CONNECT_TIMEOUT, || {
                channel.buffered_amount() <= LOW_THRESHOLD
            })
            .await
            {
                break;
            }
            if let Err(err) = channel.send(packet).await {
                log::debug!("data track packet not sent: {err}");
                break;
            }
        }
    }
}

/// Wait until `ready`, the queue closes (false) or `limit` passes (false).
async fn wait(
    queue: &SendQueue,
    changed: &Notify,
    limit: Duration,
    ready: impl Fn() -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let notified = changed.notified();
        if ready() {
            return true;
        }
        if queue.is_closed() || tokio::time::Instant::now() >= deadline {
            return false;
        }
        let _ = tokio::time::timeout(POLL, notified).await;
    }
}

/// Turn the channel's events into wake-ups of the sender, and hand any
/// packets the server sends on it to `on_packet` (it uses this channel
/// instead of the subscriber's when the publisher PC is the primary one).
pub(super) async fn watch_channel(
    mut events: tokio::sync::mpsc::UnboundedReceiver<DataChannelEvent>,
    changed: Arc<Notify>,
    on_packet: impl Fn(&Bytes),
) {
    while let Some(event) = events.recv().await {
        match event {
            DataChannelEvent::Message(bytes) => on_packet(&bytes),
            DataChannelEvent::Closed => {
                changed.notify_waiters();
                return;
            }
            DataChannelEvent::Open | DataChannelEvent::BufferedAmountLow => {
                changed.notify_waiters()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(tag: u8) -> Vec<Bytes> {
        vec![Bytes::from(vec![tag])]
    }

    #[tokio::test]
    async fn queue_keeps_the_newest_frames() {
        let queue = SendQueue::default();
        for tag in 0..(QUEUE_FRAMES as u8 + 3) {
            queue.push(frame(tag));
        }
        let first = queue.next().await.unwrap();
        assert_eq!(first[0][0], 3, "the three oldest were evicted");
        queue.close();
        assert!(queue.next().await.is_none());
        queue.push(frame(9));
        assert!(
            queue.frames.lock().is_empty(),
            "nothing is queued after close"
        );
    }

    #[tokio::test]
    async fn a_push_wakes_a_waiting_reader() {
        let queue = Arc::new(SendQueue::default());
        let reader = {
            let queue = queue.clone();
            tokio::spawn(async move { queue.next().await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        queue.push(frame(1));
        let got = tokio::time::timeout(Duration::from_secs(2), reader)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.unwrap()[0][0], 1);
    }
}
