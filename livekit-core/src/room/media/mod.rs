//! Media in a room: our published tracks and the remote tracks we
//! subscribed to.
//!
//! - [`publish`]: AddTrack, the sender on the publisher PC, mute and
//!   unpublish, with the events each produces.
//! - [`subscribe`]: matching tracks the server adds to the subscriber PC
//!   with the publications they belong to, subscription control and the
//!   ends of subscriptions.
//! - [`send`]: from a source's 10 ms frames to Opus packets on the wire.
//! - [`receive`]: from RTP packets to a steady 10 ms playout into the
//!   remote track's source.
//!
//! The codec work is sans-IO in [`crate::audio::codec`]; these modules are
//! the glue that drives it from sources, timers and the transport.

mod publish;
mod receive;
mod send;
mod subscribe;

use std::collections::HashMap;
use std::sync::Arc;

use livekit_protocol as proto;
use parking_lot::Mutex;
use tokio::sync::oneshot;

pub use publish::{AudioPublishOptions, TrackPermission};

use crate::track::{LocalAudioTrack, RemoteAudioTrack};
use crate::transport::{AudioSender, RemoteTrack};

/// How long a track the server adds may wait for its publication to be
/// announced before the subscription is reported failed.
const PUBLICATION_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// One of our published tracks.
struct LocalPublication {
    /// As the server described it in `TrackPublishedResponse`.
    info: proto::TrackInfo,
    track: Arc<LocalAudioTrack>,
    /// As the host asked, for publishing again after a full reconnect.
    options: AudioPublishOptions,
    sender: AudioSender,
    /// Stops the encoder and its send task.
    encoder: send::EncoderHandle,
}

/// A remote track we receive.
struct RemoteSubscription {
    identity: String,
    track: Arc<RemoteAudioTrack>,
    /// The transport's side of the track, for its RTP statistics.
    transport: RemoteTrack,
    /// Stops the receive task.
    task: tokio::task::AbortHandle,
}

/// A track the server added before we knew its publication.
struct PendingTrack {
    track: RemoteTrack,
    since: std::time::Instant,
}

/// The media half of a session.
#[derive(Default)]
pub(crate) struct Media {
    /// Published tracks by server SID.
    local: Mutex<HashMap<String, LocalPublication>>,
    /// AddTrack requests waiting for `TrackPublishedResponse`, by cid.
    publishing: Mutex<HashMap<String, oneshot::Sender<proto::TrackInfo>>>,
    /// Subscribed tracks by track SID.
    remote: Mutex<HashMap<String, RemoteSubscription>>,
    /// Tracks waiting for their publication.
    pending: Mutex<Vec<PendingTrack>>,
}
