//! Rooms: joining a LiveKit server, the participant model, room events and
//! data packets.
//!
//! A [`Room`] is one session with one server. It is built from three parts:
//!
//! - the signal client (`livekit-signaling`): a WebSocket carrying the
//!   signal protocol, with ping, token refresh and the server's leave;
//! - two peer connections from [`crate::transport`]: the subscriber, which
//!   answers the server's offers, and the publisher, which carries what we
//!   send, including the `_reliable` and `_lossy` data channels;
//! - the [`state`] model, which turns server updates into [`RoomEvent`]s;
//! - [`streams`]: data streams, reassembled by a stage of the event stream
//!   and sent through the same data queue as other packets.
//!
//! Events come out of one channel in the order the room saw them, so a
//! participant is always announced before anything names it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), livekit_core::room::RoomError> {
//! use livekit_core::room::{Room, RoomOptions};
//! let (room, mut events) = Room::connect("ws://127.0.0.1:7880", "token", RoomOptions::default()).await?;
//! while let Some(event) = events.recv().await {
//!     println!("{event:?}");
//! }
//! # Ok(()) }
//! ```

mod connect;
pub mod data;
pub mod data_tracks;
mod error;
pub mod events;
mod ice;
mod live;
mod media;
mod negotiation;
mod options;
mod resume;
mod sender;
mod session;
mod simulate;
pub mod state;
pub mod streams;

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use livekit_protocol as proto;
use tokio::sync::{mpsc, oneshot};

pub use data::OutgoingData;
pub use error::RoomError;
pub use events::{ConnectionState, DataKind, RoomEvent};
pub use media::{AudioPublishOptions, TrackPermission};
pub use options::RoomOptions;
pub use session::DEFAULT_DC_THRESHOLD;
pub use simulate::SimulateScenario;
pub use streams::{
    ByteStreamInfo, ByteStreamOptions, ByteStreamReader, ByteStreamWriter, StreamError,
    StreamPacket, StreamSender, TextStreamInfo, TextStreamOptions, TextStreamReader,
    TextStreamWriter,
};

use live::Live;
use sender::DataItem;
use session::Session;

use crate::track::{LocalAudioTrack, RemoteAudioTrack};
use crate::transport::{StatsEntry, TransportStats};

/// A connected room. Dropping it leaves the room.
pub struct Room {
    /// The session, replaced by a full reconnect.
    live: Arc<Live>,
    data: mpsc::UnboundedSender<DataItem>,
}

impl std::fmt::Debug for Room {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let session = self.session();
        let state = session.state.lock();
        f.debug_struct("Room")
            .field("name", &state.room.name)
            .field("sid", &state.room.sid)
            .finish()
    }
}

impl Room {
    /// Join the room the token names on the server at `url`
    /// (`ws[s]://` or `http[s]://`). Returns once the primary peer
    /// connection is up; the first events are `ConnectionStateChanged
    /// (Connected)` and `RoomSidChanged`.
    pub async fn connect(
        url: &str,
        token: &str,
        options: RoomOptions,
    ) -> Result<(Room, mpsc::UnboundedReceiver<RoomEvent>), RoomError> {
        let (session, events) = connect::join(url, token, &options).await?;
        let events = streams::router::spawn(events, options.max_stream_payload);
        let live = Live::start(session, url, options);
        let data = sender::spawn(Arc::downgrade(&live));
        Ok((Room { live, data }, events))
    }

    /// The session the room runs on now.
    fn session(&self) -> Arc<Session> {
        self.live.session()
    }

    /// The room as the server last described it.
    pub fn info(&self) -> proto::Room {
        self.session().state.lock().room.clone()
    }

    /// Us, as the server last described us.
    pub fn local_participant(&self) -> proto::ParticipantInfo {
        self.session().state.lock().local.clone()
    }

    /// Everyone else, in join order.
    pub fn remote_participants(&self) -> Vec<proto::ParticipantInfo> {
        self.session().state.lock().remotes().to_vec()
    }

    /// A remote participant by identity.
    pub fn remote_participant(&self, identity: &str) -> Option<proto::ParticipantInfo> {
        self.session().state.lock().remote(identity).cloned()
    }

    /// Queue a data packet. Packets are sent in call order; the receiver
    /// completes when this one has been handed to the channel or failed.
    pub fn publish_data(
        &self,
        data: OutgoingData,
        kind: DataKind,
        destinations: Vec<String>,
    ) -> oneshot::Receiver<Result<(), RoomError>> {
        let (done, rx) = oneshot::channel();
        if let Err(mpsc::error::SendError(item)) = self.data.send(DataItem {
            data,
            kind,
            destinations,
            done,
        }) {
            let _ = item.done.send(Err(RoomError::Closed));
        }
        rx
    }

    /// Sends data streams through this room's data queue. The sender does
    /// not keep the room alive.
    pub fn stream_sender(&self) -> StreamSender {
        StreamSender::new(self.data.clone())
    }

    /// Send `text` as a complete text stream.
    pub async fn send_text(
        &self,
        text: &str,
        options: TextStreamOptions,
    ) -> Result<TextStreamInfo, StreamError> {
        self.stream_sender().send_text(text, options).await
    }

    /// Send `data` as a complete byte stream.
    pub async fn send_bytes(
        &self,
        data: &[u8],
        options: ByteStreamOptions,
    ) -> Result<ByteStreamInfo, StreamError> {
        self.stream_sender().send_bytes(data, options).await
    }

    /// Send a file as a byte stream.
    pub async fn send_file(
        &self,
        path: impl AsRef<std::path::Path>,
        options: ByteStreamOptions,
    ) -> Result<ByteStreamInfo, StreamError> {
        self.stream_sender().send_file(path, options).await
    }

    /// Open a text stream to write bit by bit.
    pub async fn stream_text(
        &self,
        options: TextStreamOptions,
    ) -> Result<TextStreamWriter, StreamError> {
        self.stream_sender().stream_text(options).await
    }

    /// Open a byte stream to write bit by bit.
    pub async fn stream_bytes(
        &self,
        options: ByteStreamOptions,
    ) -> Result<ByteStreamWriter, StreamError> {
        self.stream_sender().stream_bytes(options).await
    }

    /// Set our metadata; completes when the server confirms it.
    pub async fn set_metadata(&self, metadata: String) -> Result<(), RoomError> {
        let session = self.live.settled().await;
        let name = session.state.lock().local.name.clone();
        let expected = metadata.clone();
        session
            .update_local(
                proto::UpdateParticipantMetadata {
                    metadata,
                    name,
                    ..Default::default()
                },
                Box::new(move |p| p.metadata == expected),
            )
            .await
    }

    /// Set our display name; completes when the server confirms it.
    pub async fn set_name(&self, name: String) -> Result<(), RoomError> {
        let session = self.live.settled().await;
        let metadata = session.state.lock().local.metadata.clone();
        let expected = name.clone();
        session
            .update_local(
                proto::UpdateParticipantMetadata {
                    metadata,
                    name,
                    ..Default::default()
                },
                Box::new(move |p| p.name == expected),
            )
            .await
    }

    /// Merge attributes into ours (an empty value deletes the key);
    /// completes when the server confirms it.
    pub async fn set_attributes(
        &self,
        attributes: HashMap<String, String>,
    ) -> Result<(), RoomError> {
        let session = self.live.settled().await;
        let local = session.state.lock().local.clone();
        let expected = attributes.clone();
        session
            .update_local(
                proto::UpdateParticipantMetadata {
                    metadata: local.metadata,
                    name: local.name,
                    attributes,
                    ..Default::default()
                },
                Box::new(move |p| {
                    expected.iter().all(|(k, v)| {
                        if v.is_empty() {
                            !p.attributes.contains_key(k)
                        } else {
                            p.attributes.get(k) == Some(v)
                        }
                    })
                }),
            )
            .await
    }

    /// Publish a local audio track. Returns the server's description of
    /// it; `LocalTrackPublished` follows on the event stream.
    ///
    /// The request is queued when this is called, before the future is
    /// first polled, so it reaches the server after whatever was asked
    /// earlier (permissions, subscriptions). During a full reconnect it
    /// waits for the new session instead.
    pub fn publish_audio_track(
        &self,
        track: Arc<LocalAudioTrack>,
        options: AudioPublishOptions,
    ) -> impl Future<Output = Result<proto::TrackInfo, RoomError>> + Send + 'static {
        let publishing: Pin<Box<dyn Future<Output = _> + Send>> = if self.live.is_rejoining() {
            let live = self.live.clone();
            Box::pin(async move { live.settled().await.publish_audio(track, options).await })
        } else {
            Box::pin(self.session().publish_audio(track, options))
        };
        publishing
    }

    /// Stop publishing the track with server SID `sid`.
    /// `LocalTrackUnpublished` is on the event stream when this returns.
    pub async fn unpublish_track(&self, sid: &str) -> Result<(), RoomError> {
        self.live.settled().await.unpublish(sid).await
    }

    /// Our published tracks, with the local track behind each.
    pub fn local_publications(&self) -> Vec<(proto::TrackInfo, Arc<LocalAudioTrack>)> {
        self.session().local_publications()
    }

    /// Mute or unmute a local track: a published one stops sending, tells
    /// the server and reports `TrackMuted`/`TrackUnmuted`.
    pub async fn set_track_muted(&self, track: &Arc<LocalAudioTrack>, muted: bool) {
        self.live
            .settled()
            .await
            .set_local_muted(track, muted)
            .await
    }

    /// Statistics of a published track's sender; `None` if the track is
    /// not published in this room.
    pub async fn local_track_stats(&self, track: &Arc<LocalAudioTrack>) -> Option<Vec<StatsEntry>> {
        self.session().local_track_stats(track).await
    }

    /// Subscribe to a remote publication, or unsubscribe (which ends the
    /// subscription with `TrackUnsubscribed` at once).
    pub fn set_subscribed(&self, sid: &str, subscribe: bool) -> Result<(), RoomError> {
        self.session().set_subscribed(sid, subscribe)
    }

    /// Ask the server to pause or resume sending a remote publication.
    pub fn set_publication_enabled(&self, sid: &str, enabled: bool) {
        self.session().set_publication_enabled(sid, enabled)
    }

    /// Replace who may subscribe to our tracks.
    pub fn set_track_permissions(&self, all_participants: bool, permissions: Vec<TrackPermission>) {
        self.live
            .set_track_permissions(all_participants, permissions)
    }

    /// Statistics of a subscribed track; `None` if not subscribed.
    pub async fn remote_track_stats(&self, sid: &str) -> Option<Vec<StatsEntry>> {
        self.session().remote_track_stats(sid).await
    }

    /// A remote track we are subscribed to, by SID.
    pub fn remote_track(&self, sid: &str) -> Option<Arc<RemoteAudioTrack>> {
        self.session().remote_track(sid)
    }

    /// The buffered-amount-low threshold of a channel.
    pub fn buffered_amount_low_threshold(&self, kind: DataKind) -> u64 {
        self.session().threshold(kind)
    }

    /// Change a channel's buffered-amount-low threshold; emits
    /// [`RoomEvent::DataChannelThresholdChanged`].
    pub fn set_buffered_amount_low_threshold(&self, kind: DataKind, threshold: u64) {
        self.session().set_threshold(kind, threshold);
    }

    /// Statistics of the publisher and subscriber connections.
    pub async fn session_stats(&self) -> (TransportStats, TransportStats) {
        let publisher = self.session().publisher.stats().await;
        let subscriber = self.session().subscriber.stats().await;
        (publisher, subscriber)
    }

    /// The server's version string.
    pub fn server_version(&self) -> String {
        self.session().signal.join_response().server_version
    }

    /// Make the server (or the client) misbehave in a chosen way, to test
    /// how the room recovers: see [`SimulateScenario`].
    pub async fn simulate_scenario(&self, scenario: SimulateScenario) -> Result<(), RoomError> {
        self.session().simulate_scenario(scenario).await
    }

    /// Whether the room has been closed, by us or by the server.
    pub fn is_closed(&self) -> bool {
        self.session().is_closed() && !self.live.is_rejoining()
    }

    /// Leave the room with `reason` (a signal-protocol `DisconnectReason`).
    /// The event stream ends with `Disconnected`.
    pub async fn disconnect(&self, reason: i32) {
        self.live.leave(reason).await;
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        if self.is_closed() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let live = self.live.clone();
            runtime.spawn(async move {
                live.leave(proto::DisconnectReason::ClientInitiated as i32)
                    .await;
            });
        }
    }
}
