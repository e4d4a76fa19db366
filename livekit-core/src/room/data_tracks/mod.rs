//! Data tracks: named streams of application frames (sensor readings,
//! poses, telemetry) that a participant publishes and others subscribe to,
//! carried like media (unordered, never retransmitted, newest wins) rather
//! than like data packets.
//!
//! # How they travel
//!
//! - **Publishing** is signalled: `PublishDataTrackRequest` with a 16-bit
//!   handle we choose, answered by `PublishDataTrackResponse` with the
//!   server's SID (`DTR_…`), or by a `RequestResponse` refusal.
//!   `UnpublishDataTrackRequest` ends it; the server may also end it (an
//!   `UnpublishDataTrackResponse` we did not ask for).
//! - **Discovery**: a participant's published data tracks are listed in its
//!   `ParticipantInfo.data_tracks`, in the JoinResponse and every update.
//!   A new SID is a [`RoomEvent::DataTrackPublished`], a missing one a
//!   [`RoomEvent::DataTrackUnpublished`].
//! - **Subscribing** is explicit (the server's default is not to
//!   auto-subscribe data tracks): `UpdateDataSubscription`, answered by
//!   `DataTrackSubscriberHandles`, the full map from the handles the server
//!   will put on our packets to track SIDs.
//! - **Frames** are split into packets of at most 16,000 bytes (see
//!   `packet`), sent on the publisher PC's `_data_track` channel (created
//!   at join, before the first offer); the server rewrites the
//!   handle per subscriber and forwards them on the subscriber PC's
//!   `_data_track` channel, where they are reassembled.
//!
//! # Modules
//!
//! - `packet`: the v0 wire format; `packetizer` / `depacketizer`: frames
//!   to packets and back.
//! - `local`: [`LocalDataTrack`] and publishing; `remote`:
//!   [`RemoteDataTrack`], discovery, subscriptions and [`DataTrackStream`].
//! - `sender`: the drop-oldest frame queue in front of our channel.
//! - `signal`: the room session's side: starting at join, the signal
//!   messages and the incoming channel.
//!
//! End-to-end encryption of data tracks is not supported: we publish
//! unencrypted tracks, and subscribing to an encrypted one fails.

mod depacketizer;
mod local;
mod packet;
mod packetizer;
mod remote;
mod sender;
mod signal;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use livekit_protocol as proto;
use parking_lot::Mutex;
use proto::signal_request::Message as Request;
use tokio::sync::{mpsc, oneshot};

pub use local::LocalDataTrack;
pub use remote::{DataTrackStream, RemoteDataTrack};
pub(crate) use signal::is_data_track_response;

use super::events::RoomEvent;
use sender::SendQueue;

/// Label of the channels that carry data-track packets, on both PCs.
pub const DATA_TRACK_LABEL: &str = "_data_track";

/// A published data track, as the server described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataTrackInfo {
    /// The server's identifier (`DTR_…`). Changes if the track is
    /// published again.
    pub sid: String,
    /// The publisher's name for it, unique per publisher.
    pub name: String,
    /// The publisher's 16-bit handle (what its packets carry).
    pub pub_handle: u16,
    /// Whether frame payloads are end-to-end encrypted.
    pub uses_e2ee: bool,
    /// The schema frames follow, if the publisher declared one.
    pub schema: Option<proto::DataTrackSchemaId>,
    /// How frames are encoded, if the publisher declared it.
    pub frame_encoding: Option<proto::DataTrackFrameEncoding>,
}

impl DataTrackInfo {
    /// Our view of the server's description; `None` if its handle is not
    /// a valid 16-bit, non-zero handle.
    fn from_proto(info: &proto::DataTrackInfo) -> Option<Self> {
        let pub_handle = u16::try_from(info.pub_handle).ok().filter(|&h| h != 0)?;
        Some(Self {
            sid: info.sid.clone(),
            name: info.name.clone(),
            pub_handle,
            uses_e2ee: info.encryption != proto::encryption::Type::None as i32,
            schema: info.schema.clone(),
            frame_encoding: info.frame_encoding.clone(),
        })
    }
}

/// One application frame: a payload and an optional timestamp of the
/// application's choosing (conventionally Unix milliseconds).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataTrackFrame {
    /// The bytes.
    pub payload: Bytes,
    /// Travels with the frame unchanged.
    pub user_timestamp: Option<u64>,
}

/// What to publish.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataTrackOptions {
    /// Must be non-empty, at most 256 characters and unique among our
    /// tracks (the server checks).
    pub name: String,
    /// The schema frames follow; needs a compatible `frame_encoding`.
    pub schema: Option<proto::DataTrackSchemaId>,
    /// How frames are encoded.
    pub frame_encoding: Option<proto::DataTrackFrameEncoding>,
}

/// Why a data track was not published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishDataTrackError {
    /// Our token may not publish data.
    #[error("not allowed to publish data tracks (the token lacks canPublishData)")]
    NotAllowed,
    /// We already publish a track with this name.
    #[error("a data track with this name is already published")]
    DuplicateName,
    /// The name is empty or too long.
    #[error("invalid data track name (it must be 1 to 256 characters)")]
    InvalidName,
    /// The server did not answer in time.
    #[error("the server did not confirm the data track within 10 s")]
    Timeout,
    /// Every 16-bit handle of this session has been used.
    #[error("no more data tracks can be published in this session")]
    LimitReached,
    /// The room is closed.
    #[error("the room is disconnected")]
    Disconnected,
    /// The schema and frame encoding do not go together.
    #[error("invalid data track schema: {0}")]
    InvalidSchema(String),
    /// The server refused for another reason.
    #[error("the server refused the data track: {0}")]
    Refused(String),
}

/// Why a frame was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushFrameError {
    /// The track was unpublished, by us or the server, or the room closed.
    #[error("the data track is no longer published")]
    TrackUnpublished,
}

/// Why a subscription did not start or ended early.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscribeDataTrackError {
    /// The track is no longer published.
    #[error("the data track is no longer published")]
    Unpublished,
    /// The server did not assign a handle in time.
    #[error("the server did not start the data track subscription within 10 s")]
    Timeout,
    /// The room is closed.
    #[error("the room is disconnected")]
    Disconnected,
    /// The track uses something this library cannot receive.
    #[error("{0}")]
    Unsupported(String),
}

/// The result a pending publish is completed with.
type PublishResult = Result<LocalDataTrack, PublishDataTrackError>;

/// The data-track part of a room session: our publications, the remote
/// ones we know of, and the queues to the server.
#[derive(Default)]
pub(crate) struct DataTracks {
    shared: Arc<Shared>,
    /// Set once our `_data_track` channel exists. It is opened with the
    /// first publication rather than at join: a third channel in the first
    /// offer delayed the first data packet after joining by the engine's
    /// 200 ms timer tick. A failed attempt leaves it unset.
    channel: tokio::sync::OnceCell<()>,
}

/// What the tracks themselves point back to (weakly, so a track handle
/// kept by a host does not keep a closed room alive).
pub(super) struct Shared {
    state: Mutex<State>,
    /// Signal requests, sent in order by the outbox task (so requests can
    /// be made from synchronous code, such as a handle's drop).
    outbox: mpsc::UnboundedSender<Request>,
    outbox_rx: Mutex<Option<mpsc::UnboundedReceiver<Request>>>,
    /// Frames waiting for our `_data_track` channel.
    queue: Arc<SendQueue>,
}

impl Default for Shared {
    fn default() -> Self {
        let (outbox, outbox_rx) = mpsc::unbounded_channel();
        Self {
            state: Mutex::new(State::default()),
            outbox,
            outbox_rx: Mutex::new(Some(outbox_rx)),
            queue: Arc::new(SendQueue::default()),
        }
    }
}

#[derive(Default)]
struct State {
    /// Set by [`DataTracks::close`]; nothing starts afterwards.
    closed: bool,
    /// The last publisher handle handed out; handles are not reused.
    last_handle: u16,
    /// Publications waiting for the server, by handle.
    pending: HashMap<u16, oneshot::Sender<PublishResult>>,
    /// Our published tracks, by handle.
    local: HashMap<u16, Arc<local::LocalShared>>,
    /// Remote tracks, by SID.
    remote: HashMap<String, remote::Entry>,
    /// Subscriber handle (on incoming packets) to SID.
    sub_handles: HashMap<u16, String>,
}

impl Drop for Shared {
    /// A session dropped without closing (outside a runtime) still stops
    /// the sender task.
    fn drop(&mut self) {
        self.queue.close();
    }
}

impl Shared {
    /// Queue a signal request.
    fn signal(&self, request: Request) {
        // Fails only when the outbox task ended with the session.
        let _ = self.outbox.send(request);
    }
}

impl DataTracks {
    /// Publish a track; completes when the server confirms it.
    pub(crate) async fn publish(
        &self,
        options: DataTrackOptions,
    ) -> Result<LocalDataTrack, PublishDataTrackError> {
        local::publish(&self.shared, options).await
    }

    /// Apply participant infos (a JoinResponse's others or an update) and
    /// return the publication events they imply. `local` is excluded.
    pub(crate) fn apply_update(
        &self,
        infos: &[proto::ParticipantInfo],
        local: &proto::ParticipantInfo,
    ) -> Vec<RoomEvent> {
        remote::apply_update(&self.shared, infos, local)
    }

    /// The session closed: fail what is pending, unpublish everything and
    /// end every stream.
    pub(crate) fn close(&self) {
        let mut state = self.shared.state.lock();
        state.closed = true;
        for (_, waiter) in state.pending.drain() {
            let _ = waiter.send(Err(PublishDataTrackError::Disconnected));
        }
        for (_, track) in state.local.drain() {
            track.mark_unpublished();
        }
        for (_, entry) in state.remote.drain() {
            entry.finish(SubscribeDataTrackError::Disconnected);
        }
        state.sub_handles.clear();
        drop(state);
        self.shared.queue.close();
    }
}

impl super::Room {
    /// Publish a data track. Completes when the server has accepted it
    /// (at most 10 s); frames pushed on the returned track go to every
    /// subscriber. Dropping every clone of the track unpublishes it.
    pub async fn publish_data_track(
        &self,
        options: DataTrackOptions,
    ) -> Result<LocalDataTrack, PublishDataTrackError> {
        let session = &self.session();
        // Without the channel the track is still published; its frames
        // are dropped until a later publication opens the channel.
        let opened = session
            .data_tracks
            .channel
            .get_or_try_init(|| session.open_data_track_channel())
            .await;
        if let Err(err) = opened {
            log::warn!("no {DATA_TRACK_LABEL} channel yet, frames cannot be sent: {err}");
        }
        session.data_tracks.publish(options).await
    }
}

/// Check that a declared schema and frame encoding go together, as the
/// official library does before asking the server (which does not check).
fn validate_schema(
    frame_encoding: Option<&proto::DataTrackFrameEncoding>,
    schema: Option<&proto::DataTrackSchemaId>,
) -> Result<(), String> {
    use proto::data_track_frame_encoding::{Value as F, WellKnownFrameEncoding as Fk};
    use proto::data_track_schema_encoding::{Value as S, WellKnownSchemaEncoding as Sk};
    // `None` stands for an encoding that cannot be judged: custom or
    // unspecified.
    let frame = frame_encoding.map(|f| match &f.value {
        Some(F::WellKnown(v)) => Fk::try_from(*v).ok().filter(|k| *k != Fk::Unspecified),
        _ => None,
    });
    let schema_encoding =
        schema.map(
            |s| match s.encoding.as_ref().and_then(|e| e.value.as_ref()) {
                Some(S::WellKnown(v)) => Sk::try_from(*v).ok().filter(|k| *k != Sk::Unspecified),
                _ => None,
            },
        );
    match (frame, schema_encoding) {
        (None, Some(_)) => Err("a schema needs a frame encoding".into()),
        (Some(Some(f)), None) if !matches!(f, Fk::Cbor | Fk::Msgpack | Fk::Json) => {
            Err(format!("frame encoding {} needs a schema", f.as_str_name()))
        }
        (Some(Some(f)), Some(s)) => {
            let fits = matches!(
                (f, s),
                (Fk::Ros1, Some(Sk::Ros1Msg))
                    | (Fk::Cdr, Some(Sk::Ros2Msg | Sk::Ros2Idl | Sk::OmgIdl))
                    | (Fk::Protobuf, Some(Sk::Protobuf))
                    | (Fk::Flatbuffer, Some(Sk::Flatbuffer))
                    | (Fk::Json, Some(Sk::JsonSchema))
            );
            if fits {
                Ok(())
            } else {
                Err(format!(
                    "frame encoding {} cannot be described by schema encoding {}",
                    f.as_str_name(),
                    s.map_or("custom", |s| s.as_str_name())
                ))
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::data_track_frame_encoding::{Value as F, WellKnownFrameEncoding as Fk};
    use proto::data_track_schema_encoding::{Value as S, WellKnownSchemaEncoding as Sk};

    fn frame(k: Fk) -> proto::DataTrackFrameEncoding {
        proto::DataTrackFrameEncoding {
            value: Some(F::WellKnown(k as i32)),
        }
    }

    fn schema(k: Sk) -> proto::DataTrackSchemaId {
        proto::DataTrackSchemaId {
            name: "s".into(),
            encoding: Some(proto::DataTrackSchemaEncoding {
                value: Some(S::WellKnown(k as i32)),
            }),
        }
    }

    #[test]
    fn schema_rules() {
        assert!(validate_schema(None, None).is_ok());
        assert!(validate_schema(Some(&frame(Fk::Json)), None).is_ok());
        assert!(validate_schema(Some(&frame(Fk::Protobuf)), None).is_err());
        assert!(validate_schema(None, Some(&schema(Sk::Protobuf))).is_err());
        assert!(validate_schema(Some(&frame(Fk::Protobuf)), Some(&schema(Sk::Protobuf))).is_ok());
        assert!(validate_schema(Some(&frame(Fk::Cdr)), Some(&schema(Sk::OmgIdl))).is_ok());
        assert!(validate_schema(Some(&frame(Fk::Cdr)), Some(&schema(Sk::Protobuf))).is_err());
        let custom = proto::DataTrackFrameEncoding {
            value: Some(F::Custom("mine".into())),
        };
        assert!(validate_schema(Some(&custom), Some(&schema(Sk::Protobuf))).is_ok());
        assert!(validate_schema(Some(&custom), None).is_ok());
        let unknown = proto::DataTrackFrameEncoding {
            value: Some(F::WellKnown(99)),
        };
        assert!(validate_schema(Some(&unknown), None).is_ok());
    }

    #[test]
    fn info_needs_a_valid_handle() {
        let mut info = proto::DataTrackInfo {
            pub_handle: 7,
            sid: "DTR_a".into(),
            name: "n".into(),
            encryption: proto::encryption::Type::Gcm as i32,
            ..Default::default()
        };
        let ours = DataTrackInfo::from_proto(&info).unwrap();
        assert_eq!(ours.pub_handle, 7);
        assert!(ours.uses_e2ee);
        info.pub_handle = 0;
        assert!(DataTrackInfo::from_proto(&info).is_none());
        info.pub_handle = 70_000;
        assert!(DataTrackInfo::from_proto(&info).is_none());
    }
}
