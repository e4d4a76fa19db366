//! The per-room data queue.
//!
//! Packets are sent one at a time in the order they were requested, so
//! their completions come back in request order as the SDKs expect. Each
//! waits for the publisher's channel to open and for its buffer to drain
//! below the low threshold, which is the backpressure a fast sender gets.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::data::{self, OutgoingData};
use super::error::RoomError;
use super::events::DataKind;
use super::live::Live;
use super::session::{PC_CONNECT_TIMEOUT, Session};

/// One queued packet and where to report its outcome.
pub(crate) struct DataItem {
    pub data: OutgoingData,
    pub kind: DataKind,
    pub destinations: Vec<String>,
    pub done: oneshot::Sender<Result<(), RoomError>>,
}

/// How often a waiting sender re-checks, in case a notification is missed.
const POLL: Duration = Duration::from_millis(20);

/// Start a room's queue; its task ends with the room handle. Each packet
/// goes to the session the room runs on when its turn comes, so packets
/// queued during a full reconnect go out on the new session.
pub(super) fn spawn(live: Weak<Live>) -> mpsc::UnboundedSender<DataItem> {
    let (tx, mut rx) = mpsc::unbounded_channel::<DataItem>();
    tokio::spawn(async move {
        while let Some(item) = rx.recv().await {
            let Some(live) = live.upgrade() else {
                let _ = item.done.send(Err(RoomError::Closed));
                continue;
            };
            let session = live.settled().await;
            drop(live);
            let result = session
                .send_data(item.data, item.kind, item.destinations)
                .await;
            let _ = item.done.send(result);
        }
    });
    tx
}

impl Session {
    async fn send_data(
        self: &Arc<Self>,
        data: OutgoingData,
        kind: DataKind,
        destinations: Vec<String>,
    ) -> Result<(), RoomError> {
        if self.is_closed() {
            return Err(RoomError::Closed);
        }
        self.ensure_publisher().await?;
        let channel = self.channel(kind).clone();
        self.wait_until(
            PC_CONNECT_TIMEOUT,
            || channel.is_open(),
            "the data channel to open",
        )
        .await?;
        let local = self.state.lock().local.clone();
        let sequence = match kind {
            DataKind::Reliable => self.next_sequence(),
            DataKind::Lossy => 0,
        };
        let bytes = data::encode(data, kind, &local, destinations, sequence);
        let limit = self.max_message_size.load(Ordering::Relaxed);
        if bytes.len() as u64 > limit {
            return Err(RoomError::Invalid(format!(
                "data packet of {} bytes is over the negotiated limit of {limit} bytes",
                bytes.len()
            )));
        }
        let threshold = self.threshold(kind);
        self.wait_until(
            Duration::from_secs(60),
            || channel.buffered_amount() <= threshold,
            "the data channel to drain",
        )
        .await?;
        channel.send(bytes.into()).await?;
        Ok(())
    }

    /// Wait for `ready` to hold, woken by channel changes and a short poll.
    pub(crate) async fn wait_until(
        &self,
        limit: Duration,
        ready: impl Fn() -> bool,
        what: &str,
    ) -> Result<(), RoomError> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.channel_change.notified();
            if ready() {
                return Ok(());
            }
            if self.is_closed() {
                return Err(RoomError::Closed);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(RoomError::Timeout(format!("waited too long for {what}")));
            }
            let _ = tokio::time::timeout(POLL, notified).await;
        }
    }
}
