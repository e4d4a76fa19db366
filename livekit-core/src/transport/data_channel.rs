//! Data channels: a cheap, synchronous-where-possible handle over the
//! engine's asynchronous one, and the task that turns the engine's event
//! stream into ours.
//!
//! The engine answers every question about a channel (label, state,
//! buffered amount) by locking the connection, so each is `async`. The room
//! engine wants to ask them from synchronous code, so the answers are kept
//! here, in [`ChannelState`], and kept current by the channel's pump task
//! from the events it forwards.

use std::sync::Arc;
use std::sync::Weak;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::sync::{Notify, mpsc};
use webrtc::data_channel::{
    DataChannel as EngineChannel, DataChannelEvent as EngineEvent, RTCDataChannelInit,
};
use webrtc::error::Error as EngineError;
use webrtc::peer_connection::{PeerConnection, RTCStatsReportEntry, StatsSelector};

use super::{Result, TransportError};

/// Options of a data channel we create.
#[derive(Debug, Clone, Default)]
pub struct DataChannelOptions {
    /// Deliver messages in order.
    pub ordered: bool,
    /// Give up on a message after this many retransmissions; `None` is
    /// fully reliable.
    pub max_retransmits: Option<u16>,
}

impl DataChannelOptions {
    /// The engine's form of these options.
    pub(crate) fn to_engine(&self) -> RTCDataChannelInit {
        RTCDataChannelInit {
            ordered: self.ordered,
            max_retransmits: self.max_retransmits,
            ..RTCDataChannelInit::default()
        }
    }
}

/// What a data channel reports.
#[derive(Debug)]
pub enum DataChannelEvent {
    /// The channel can carry messages.
    Open,
    /// A binary (or text) message arrived.
    Message(bytes::Bytes),
    /// The buffered amount fell to or below the low threshold.
    BufferedAmountLow,
    /// The channel closed.
    Closed,
}

/// How often the buffered amount is re-read from the engine while it is
/// not zero. The engine reports no event when bytes are acknowledged
/// (only when the amount crosses the low threshold), so the cached value
/// is refreshed on this tick until the buffer is empty.
const BUFFERED_REFRESH: Duration = Duration::from_millis(10);

/// Marks an unknown SCTP stream id in [`ChannelState::stream_id`].
const NO_STREAM_ID: u32 = u32::MAX;

/// What the handle answers synchronously, kept current by the pump.
struct ChannelState {
    label: String,
    /// SCTP stream id, or [`NO_STREAM_ID`].
    stream_id: AtomicU32,
    open: AtomicBool,
    closed: AtomicBool,
    /// Bytes handed to `send` and not yet acknowledged by the peer, as of
    /// the last send or refresh.
    buffered: AtomicU64,
    /// Woken by `send`, so the pump starts refreshing `buffered`.
    sent: Notify,
    /// The low threshold the application asked for.
    threshold: AtomicU64,
    /// `threshold` has not reached the engine yet.
    threshold_dirty: AtomicBool,
    /// Serialises handing `threshold` to the engine, so the last value set
    /// is the one the engine ends up with.
    threshold_apply: tokio::sync::Mutex<()>,
}

/// A data channel on either peer connection. Cheap to clone.
#[derive(Clone)]
pub struct DataChannel {
    engine: Arc<dyn EngineChannel>,
    state: Arc<ChannelState>,
    /// Held only by handles: when every handle is gone and nobody took the
    /// events, the pump's sends fail and the events are dropped instead of
    /// piling up.
    events: Arc<parking_lot::Mutex<Option<mpsc::UnboundedReceiver<DataChannelEvent>>>>,
}

impl std::fmt::Debug for DataChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataChannel")
            .field("label", &self.label())
            .finish()
    }
}

impl DataChannel {
    /// Wrap a channel we created, and start its pump. Must run inside a
    /// Tokio runtime.
    pub(crate) fn local(
        engine: Arc<dyn EngineChannel>,
        label: &str,
        pc: Option<Weak<dyn PeerConnection>>,
    ) -> Self {
        Self::start(engine, label.to_owned(), false, pc)
    }

    /// Wrap a channel the remote side opened (the engine announces those
    /// once they are open), and start its pump. Must run inside a Tokio
    /// runtime.
    pub(crate) async fn remote(
        engine: Arc<dyn EngineChannel>,
        pc: Option<Weak<dyn PeerConnection>>,
    ) -> Self {
        let label = engine.label().await.unwrap_or_default();
        Self::start(engine, label, true, pc)
    }

    fn start(
        engine: Arc<dyn EngineChannel>,
        label: String,
        open: bool,
        pc: Option<Weak<dyn PeerConnection>>,
    ) -> Self {
        let state = Arc::new(ChannelState {
            label,
            stream_id: AtomicU32::new(NO_STREAM_ID),
            open: AtomicBool::new(open),
            closed: AtomicBool::new(false),
            buffered: AtomicU64::new(0),
            sent: Notify::new(),
            threshold: AtomicU64::new(0),
            threshold_dirty: AtomicBool::new(false),
            threshold_apply: tokio::sync::Mutex::new(()),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(pump(Arc::clone(&engine), Arc::clone(&state), tx, pc));
        Self {
            engine,
            state,
            events: Arc::new(parking_lot::Mutex::new(Some(rx))),
        }
    }

    /// A weak view of whether this channel is still waiting to open.
    pub(crate) fn open_watch(&self) -> OpenWatch {
        OpenWatch(Arc::downgrade(&self.state))
    }

    /// The label (`_reliable`, `_lossy`, `_data_track`).
    pub fn label(&self) -> String {
        self.state.label.clone()
    }

    /// The SCTP stream id, once negotiated. A channel we create gets it
    /// when it opens; one the remote side opened has it from the start.
    pub fn id(&self) -> Option<u16> {
        u16::try_from(self.state.stream_id.load(Ordering::Acquire)).ok()
    }

    /// Whether the channel is open.
    pub fn is_open(&self) -> bool {
        self.state.open.load(Ordering::Acquire)
    }

    /// Queue a binary message. Fails when the channel is not open
    /// ([`TransportError::State`]), is closed ([`TransportError::Closed`]),
    /// or the message is larger than the peer accepts
    /// ([`TransportError::Engine`]). Never waits for the peer.
    pub async fn send(&self, data: Bytes) -> Result<()> {
        if self.state.closed.load(Ordering::Acquire) {
            return Err(TransportError::Closed);
        }
        if self.state.threshold_dirty.load(Ordering::Acquire) {
            apply_threshold(&*self.engine, &self.state).await;
        }
        let len = data.len() as u64;
        self.engine
            .send(BytesMut::from(data))
            .await
            .map_err(send_error)?;
        self.state.buffered.fetch_add(len, Ordering::AcqRel);
        self.state.sent.notify_one();
        Ok(())
    }

    /// Bytes queued and not yet acknowledged by the peer.
    ///
    /// Counted up at each [`send`](Self::send) and re-read from the engine
    /// every 10 ms while it is not zero, and when the low threshold is
    /// crossed, so it may lag the engine's own count by that much. It
    /// includes bytes the engine has not packetised yet, and drops when
    /// the peer acknowledges them (not when they are handed to the socket).
    pub fn buffered_amount(&self) -> u64 {
        self.state.buffered.load(Ordering::Acquire)
    }

    /// Set the threshold under which [`DataChannelEvent::BufferedAmountLow`]
    /// fires. It reaches the engine asynchronously, and at the latest before
    /// the next [`send`](Self::send) on this handle. Values above `u32::MAX`
    /// are clamped.
    pub fn set_buffered_amount_low_threshold(&self, bytes: u64) {
        self.state.threshold.store(bytes, Ordering::Release);
        self.state.threshold_dirty.store(true, Ordering::Release);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let engine = Arc::clone(&self.engine);
            let state = Arc::clone(&self.state);
            runtime.spawn(async move { apply_threshold(&*engine, &state).await });
        }
    }

    /// Take the event stream of this channel. Only the first call gets it.
    /// Events are kept from the moment the channel is created, so nothing
    /// is lost by taking the stream late; they are unbounded, so take it.
    pub fn take_events(&self) -> Option<mpsc::UnboundedReceiver<DataChannelEvent>> {
        self.events.lock().take()
    }

    /// Close the channel. [`DataChannelEvent::Closed`] follows once the
    /// closing handshake is done.
    pub async fn close(&self) {
        if self.state.closed.load(Ordering::Acquire) {
            return;
        }
        if let Err(e) = self.engine.close().await {
            log::debug!("data channel {}: close: {e}", self.state.label);
        }
    }
}

/// Whether a channel is still waiting to open, without keeping it alive.
#[derive(Clone)]
pub(crate) struct OpenWatch(Weak<ChannelState>);

impl OpenWatch {
    /// Neither open nor closed yet (and not gone).
    pub(crate) fn is_pending(&self) -> bool {
        self.0.upgrade().is_some_and(|state| {
            !state.open.load(Ordering::Acquire) && !state.closed.load(Ordering::Acquire)
        })
    }
}

/// Hand the requested low threshold to the engine, if it changed.
async fn apply_threshold(engine: &dyn EngineChannel, state: &ChannelState) {
    let _serial = state.threshold_apply.lock().await;
    if !state.threshold_dirty.swap(false, Ordering::AcqRel) {
        return;
    }
    let threshold = state.threshold.load(Ordering::Acquire);
    let threshold = u32::try_from(threshold).unwrap_or(u32::MAX);
    if let Err(e) = engine.set_buffered_amount_low_threshold(threshold).await {
        log::debug!("data channel {}: set threshold: {e}", state.label);
    }
}

/// Our error for a failed send.
fn send_error(e: EngineError) -> TransportError {
    match e {
        EngineError::ErrDataChannelClosed => TransportError::Closed,
        EngineError::ErrDataChannelNotOpen => {
            TransportError::State("data channel not open".to_owned())
        }
        other => TransportError::engine(other),
    }
}

/// Forward the engine's events of one channel, keeping [`ChannelState`]
/// current, until the channel or its connection closes.
///
/// Runs as its own task, so the engine's driver never waits for us: the
/// engine's per-channel queue is bounded, and a full queue makes it stop
/// reading from SCTP. Ours is unbounded, so a slow consumer costs memory
/// rather than throttling the peer (as with libwebrtc's callbacks).
async fn pump(
    engine: Arc<dyn EngineChannel>,
    state: Arc<ChannelState>,
    tx: mpsc::UnboundedSender<DataChannelEvent>,
    pc: Option<Weak<dyn PeerConnection>>,
) {
    if state.open.load(Ordering::Acquire) {
        resolve_stream_id(&*engine, &state, &pc).await;
    }
    // When the cached buffered amount is next re-read. Kept across events,
    // so a steady stream of incoming messages cannot postpone it.
    let mut refresh_at: Option<tokio::time::Instant> = None;
    loop {
        if refresh_at.is_none() && state.buffered.load(Ordering::Acquire) != 0 {
            refresh_at = Some(tokio::time::Instant::now() + BUFFERED_REFRESH);
        }
        let due = refresh_at;
        let wake = async {
            match due {
                Some(at) => tokio::time::sleep_until(at).await,
                // Nothing buffered: the next send starts the ticking.
                None => state.sent.notified().await,
            }
        };
        let event = tokio::select! {
            event = engine.poll() => event,
            () = wake => {
                if due.is_some() {
                    refresh_buffered(&*engine, &state).await;
                    refresh_at = None;
                }
                continue;
            }
        };
        let forward = match event {
            Some(EngineEvent::OnOpen) => {
                resolve_stream_id(&*engine, &state, &pc).await;
                state.open.store(true, Ordering::Release);
                DataChannelEvent::Open
            }
            Some(EngineEvent::OnMessage(message)) => {
                DataChannelEvent::Message(message.data.freeze())
            }
            Some(EngineEvent::OnBufferedAmountLow) => {
                refresh_buffered(&*engine, &state).await;
                DataChannelEvent::BufferedAmountLow
            }
            Some(EngineEvent::OnClose) | None => break,
            Some(_) => continue,
        };
        // A closed receiver is fine: nobody listens, but the engine's
        // queue must still be drained.
        let _ = tx.send(forward);
    }
    state.open.store(false, Ordering::Release);
    state.closed.store(true, Ordering::Release);
    state.buffered.store(0, Ordering::Release);
    let _ = tx.send(DataChannelEvent::Closed);
}

async fn refresh_buffered(engine: &dyn EngineChannel, state: &ChannelState) {
    if let Ok(outstanding) = engine.outstanding_bytes().await {
        state.buffered.store(outstanding as u64, Ordering::Release);
    }
}

/// Find the channel's SCTP stream id in the connection's stats: the engine
/// keeps it there (`RTCDataChannel_<handle>.dataChannelIdentifier`) and
/// nowhere its public API reaches.
async fn resolve_stream_id(
    engine: &dyn EngineChannel,
    state: &ChannelState,
    pc: &Option<Weak<dyn PeerConnection>>,
) {
    if state.stream_id.load(Ordering::Acquire) != NO_STREAM_ID {
        return;
    }
    let Some(pc) = pc.as_ref().and_then(Weak::upgrade) else {
        return;
    };
    let report = pc.get_stats(Instant::now(), StatsSelector::None).await;
    let wanted = format!("RTCDataChannel_{}", engine.id());
    if let Some(RTCStatsReportEntry::DataChannel(stats)) = report.get(&wanted) {
        state
            .stream_id
            .store(u32::from(stats.data_channel_identifier), Ordering::Release);
    }
}
