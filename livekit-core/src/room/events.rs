//! What a room reports to whoever drives it.
//!
//! Events carry snapshots (identities, infos) rather than references into
//! the room, because the consumer may handle them after the room has moved
//! on: a participant named in `ParticipantConnected` may already be gone
//! when the event is forwarded.

use std::collections::HashMap;
use std::sync::Arc;

use livekit_protocol as proto;

use super::data_tracks::RemoteDataTrack;
use super::streams::{ByteStreamReader, ReaderSlot, TextStreamReader};
use crate::track::RemoteAudioTrack;

/// Kind of a data packet, by the channel it travelled on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// Unordered, never retransmitted (`_lossy`).
    Lossy,
    /// Ordered and retransmitted (`_reliable`).
    Reliable,
}

/// The room's connection state, as the SDKs show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Not connected, or connection lost for good.
    Disconnected,
    /// Signal and transports are up.
    Connected,
    /// Trying to get the session back.
    Reconnecting,
}

/// One change in a room, in the order the room saw it.
#[derive(Debug, Clone)]
pub enum RoomEvent {
    /// The connection state changed.
    ConnectionStateChanged(ConnectionState),
    /// The room's SID became known (always sent once after connecting).
    RoomSidChanged(String),
    /// The room's metadata changed.
    RoomMetadataChanged(String),
    /// The server sent new room information.
    RoomUpdated(proto::Room),
    /// A remote participant joined.
    ParticipantConnected(proto::ParticipantInfo),
    /// A remote participant left.
    ParticipantDisconnected {
        /// Who left.
        identity: String,
        /// Why, as the signal protocol's `DisconnectReason`.
        reason: i32,
    },
    /// A remote participant finished joining (state ACTIVE).
    ParticipantActive(String),
    /// Participants changed; infos as the server sent them.
    ParticipantsUpdated(Vec<proto::ParticipantInfo>),
    /// A participant's metadata changed (local or remote).
    ParticipantMetadataChanged {
        /// Whose.
        identity: String,
        /// The new metadata.
        metadata: String,
    },
    /// A participant's name changed (local or remote).
    ParticipantNameChanged {
        /// Whose.
        identity: String,
        /// The new name.
        name: String,
    },
    /// A participant's attributes changed (local or remote).
    ParticipantAttributesChanged {
        /// Whose.
        identity: String,
        /// The full set after the change.
        attributes: HashMap<String, String>,
        /// Only the entries that changed; a removed key has an empty value.
        changed: HashMap<String, String>,
    },
    /// A participant's permissions changed.
    ParticipantPermissionChanged {
        /// Whose.
        identity: String,
        /// The new permissions.
        permission: Option<proto::ParticipantPermission>,
    },
    /// A remote participant published a track.
    TrackPublished {
        /// The publisher.
        identity: String,
        /// The track.
        track: proto::TrackInfo,
    },
    /// A remote participant unpublished a track.
    TrackUnpublished {
        /// The publisher.
        identity: String,
        /// The track's SID.
        sid: String,
    },
    /// One of our tracks was published; comes after the publish call
    /// returned.
    LocalTrackPublished {
        /// The track as the server describes it.
        track: proto::TrackInfo,
    },
    /// One of our tracks was unpublished; comes before the unpublish call
    /// returns.
    LocalTrackUnpublished {
        /// The server's SID of the track.
        sid: String,
    },
    /// A full reconnect published one of our tracks again; the server
    /// gave it a new SID.
    LocalTrackRepublished {
        /// The SID it had before.
        previous_sid: String,
        /// The track as the server now describes it.
        track: proto::TrackInfo,
    },
    /// A remote participant subscribed to one of our tracks (the server
    /// reports the first subscriber).
    LocalTrackSubscribed {
        /// The server's SID of the track.
        sid: String,
    },
    /// We subscribed to a remote track and its media flows.
    TrackSubscribed {
        /// The publisher.
        identity: String,
        /// The publication's description.
        info: proto::TrackInfo,
        /// The track, with its audio source.
        track: Arc<RemoteAudioTrack>,
    },
    /// A subscription ended (unsubscribed, unpublished or the publisher
    /// left); the track's streams end with it.
    TrackUnsubscribed {
        /// The publisher.
        identity: String,
        /// The track's SID.
        sid: String,
    },
    /// A remote track could not be subscribed to.
    TrackSubscriptionFailed {
        /// The publisher.
        identity: String,
        /// The track's SID.
        sid: String,
        /// Why.
        error: String,
    },
    /// A track was muted (local or remote).
    TrackMuted {
        /// The publisher.
        identity: String,
        /// The track's SID.
        sid: String,
    },
    /// A track was unmuted (local or remote).
    TrackUnmuted {
        /// The publisher.
        identity: String,
        /// The track's SID.
        sid: String,
    },
    /// The set of active speakers changed, loudest first.
    ActiveSpeakersChanged(Vec<String>),
    /// A participant's connection quality changed.
    ConnectionQualityChanged {
        /// Whose.
        identity: String,
        /// As the signal protocol's `ConnectionQuality`.
        quality: i32,
    },
    /// User data arrived.
    DataReceived {
        /// The sender, empty when the server sent it.
        identity: String,
        /// The channel it came on.
        kind: DataKind,
        /// The payload.
        payload: Vec<u8>,
        /// The topic, if any.
        topic: Option<String>,
    },
    /// A SIP DTMF tone arrived.
    SipDtmfReceived {
        /// The sender.
        identity: String,
        /// The channel it came on.
        kind: DataKind,
        /// DTMF code.
        code: u32,
        /// DTMF digit.
        digit: String,
    },
    /// A transcription arrived.
    TranscriptionReceived {
        /// The transcribed participant, if known.
        identity: Option<String>,
        /// The transcribed track.
        track_sid: String,
        /// The segments.
        segments: Vec<proto::TranscriptionSegment>,
    },
    /// A chat message arrived (or an edit of one).
    ChatMessageReceived {
        /// The sender.
        identity: String,
        /// The message.
        message: proto::ChatMessage,
    },
    /// A data-stream header arrived, as sent. Hosts that assemble streams
    /// themselves use these raw packet events; they are not reported for
    /// internal topics (RPC).
    StreamHeaderReceived {
        /// The sender; empty when the packet names none.
        identity: String,
        /// The header, inline content included.
        header: proto::data_stream::Header,
    },
    /// A data-stream chunk arrived, as sent.
    StreamChunkReceived {
        /// The sender; empty when the packet names none.
        identity: String,
        /// The chunk.
        chunk: proto::data_stream::Chunk,
    },
    /// A data-stream trailer arrived, as sent.
    StreamTrailerReceived {
        /// The sender; empty when the packet names none.
        identity: String,
        /// The trailer.
        trailer: proto::data_stream::Trailer,
    },
    /// A text stream started arriving; take its reader to read it. Comes
    /// right after the stream's `StreamHeaderReceived`.
    TextStreamOpened {
        /// The sender.
        identity: String,
        /// The reader, for the first consumer to take.
        reader: ReaderSlot<TextStreamReader>,
    },
    /// A byte stream started arriving; take its reader to read it.
    ByteStreamOpened {
        /// The sender.
        identity: String,
        /// The reader, for the first consumer to take.
        reader: ReaderSlot<ByteStreamReader>,
    },
    /// A data channel's buffered-amount-low threshold changed.
    DataChannelThresholdChanged {
        /// Which channel.
        kind: DataKind,
        /// The new threshold in bytes.
        threshold: u64,
    },
    /// A remote participant published a data track (or was already
    /// publishing it when we joined).
    DataTrackPublished(RemoteDataTrack),
    /// A remote data track was unpublished, or its publisher left.
    DataTrackUnpublished {
        /// The publisher.
        identity: String,
        /// The track's SID.
        sid: String,
    },
    /// The connection was lost and the room is resuming it; comes right
    /// after `ConnectionStateChanged(Reconnecting)`. Participants, tracks
    /// and data channels stay as they are meanwhile.
    Reconnecting,
    /// The room resumed its connection; comes right after
    /// `ConnectionStateChanged(Connected)`.
    Reconnected,
    /// The server replaced the token used for reconnecting.
    TokenRefreshed(String),
    /// The room is closed; no more events follow.
    Disconnected {
        /// Why, as the signal protocol's `DisconnectReason`.
        reason: i32,
    },
}
