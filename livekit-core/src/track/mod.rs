//! Tracks: local ones over sources, which get published and which local
//! streams attach to, and remote ones a room subscribed to, whose audio
//! arrives through the network.
//!
//! Both kinds end in the same place for a consumer: a remote audio track
//! owns a [`NativeAudioSource`](crate::audio::source::NativeAudioSource)
//! that its receiver feeds with decoded 10 ms frames, so an audio stream is
//! built the same way on either.

mod local;
mod remote;

use std::sync::atomic::{AtomicBool, Ordering};

use crate::ids::random_id;

pub use local::{LocalAudioTrack, LocalVideoTrack};
pub use remote::{RemoteAudioTrack, RemoteTrackStats};

/// A local track's id until the server assigns its own; it is also the
/// WebRTC track id (the `cid` of the publish request).
fn random_local_sid() -> String {
    random_id("TR_")
}

/// What every track has, whatever its media and side.
#[derive(Debug)]
pub struct TrackCommon {
    sid: String,
    name: String,
    muted: AtomicBool,
}

impl TrackCommon {
    pub(crate) fn new(sid: String, name: String) -> Self {
        Self {
            sid,
            name,
            muted: AtomicBool::new(false),
        }
    }

    /// The track's id; a local one until the server assigns its own.
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// The name given at creation.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the track is muted.
    pub fn is_muted(&self) -> bool {
        self.muted.load(Ordering::Relaxed)
    }

    /// Mutes or unmutes; returns whether the state changed.
    pub fn set_muted(&self, muted: bool) -> bool {
        self.muted.swap(muted, Ordering::Relaxed) != muted
    }
}
