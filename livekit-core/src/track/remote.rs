//! Remote tracks: what a room hands out when it subscribes to another
//! participant's publication.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use tokio::sync::watch;

use super::TrackCommon;
use crate::audio::source::NativeAudioSource;

/// Receive-side counters a remote track reports in its statistics, kept by
/// the task that decodes it.
#[derive(Debug, Clone, Default)]
pub struct RemoteTrackStats {
    /// RTP packets received.
    pub packets_received: u64,
    /// Payload bytes received.
    pub bytes_received: u64,
    /// Packets that never arrived.
    pub packets_lost: i64,
    /// Interarrival jitter in seconds.
    pub jitter: f64,
    /// Samples played out, concealment included.
    pub total_samples_received: u64,
    /// Samples synthesised because a packet was missing.
    pub concealed_samples: u64,
    /// Times concealment started.
    pub concealment_events: u64,
    /// Sum of the time each played sample spent buffered, in seconds.
    pub jitter_buffer_delay: f64,
    /// Samples counted in `jitter_buffer_delay`.
    pub jitter_buffer_emitted_count: u64,
    /// The delay the buffer aims for now, in seconds.
    pub jitter_buffer_target_delay: f64,
    /// Energy of the played audio (sum of squared normalised samples times
    /// their duration), as W3C `totalAudioEnergy`.
    pub total_audio_energy: f64,
    /// Seconds of audio played out.
    pub total_samples_duration: f64,
    /// Most recent level, 0..1.
    pub audio_level: f64,
}

/// An audio track of another participant that this room subscribed to.
///
/// Its audio comes out of [`RemoteAudioTrack::source`] in 10 ms frames at
/// 48 kHz, at a steady pace while subscribed, whether or not the publisher
/// is sending (silence fills the gaps, as libwebrtc's playout does).
pub struct RemoteAudioTrack {
    common: TrackCommon,
    source: NativeAudioSource,
    enabled: AtomicBool,
    stats: Mutex<RemoteTrackStats>,
    /// Becomes true when the subscription ends; streams end with it.
    ended: watch::Sender<bool>,
}

impl std::fmt::Debug for RemoteAudioTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteAudioTrack")
            .field("sid", &self.common.sid())
            .field("name", &self.common.name())
            .finish()
    }
}

impl RemoteAudioTrack {
    /// A track named `sid`/`name` whose frames go to `source`.
    pub fn new(sid: String, name: String, source: NativeAudioSource) -> Arc<Self> {
        Arc::new(Self {
            common: TrackCommon::new(sid, name),
            source,
            enabled: AtomicBool::new(true),
            stats: Mutex::new(RemoteTrackStats::default()),
            ended: watch::channel(false).0,
        })
    }

    /// SID, name and the publication's mute state.
    pub fn common(&self) -> &TrackCommon {
        &self.common
    }

    /// Where the decoded audio comes out; streams attach here.
    pub fn source(&self) -> &NativeAudioSource {
        &self.source
    }

    /// Whether decoded audio is delivered. A disabled track keeps its
    /// subscription but its streams get nothing, like a disabled WebRTC
    /// track.
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Enables or disables delivery.
    pub fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::Relaxed);
    }

    /// The latest receive statistics.
    pub fn stats(&self) -> RemoteTrackStats {
        self.stats.lock().clone()
    }

    /// Watches the end of the subscription: true once it ended.
    pub fn ended(&self) -> watch::Receiver<bool> {
        self.ended.subscribe()
    }

    /// Whether the subscription ended.
    pub fn is_ended(&self) -> bool {
        *self.ended.borrow()
    }

    /// Marks the subscription over, ending the track's streams.
    pub fn end(&self) {
        self.ended.send_replace(true);
    }

    /// Replaces the statistics; called by the receiving task.
    pub fn set_stats(&self, stats: RemoteTrackStats) {
        *self.stats.lock() = stats;
    }
}
