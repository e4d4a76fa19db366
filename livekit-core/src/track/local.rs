//! Local tracks: a named, mutable handle on a source, which is what gets
//! published to a room and what local streams attach to.

use super::{TrackCommon, random_local_sid};
use crate::audio::source::NativeAudioSource;
use crate::video::source::NativeVideoSource;

/// A local audio track fed by an audio source.
pub struct LocalAudioTrack {
    common: TrackCommon,
    source: NativeAudioSource,
}

impl LocalAudioTrack {
    /// Creates a track over `source`.
    pub fn new(name: impl Into<String>, source: NativeAudioSource) -> Self {
        Self {
            common: TrackCommon::new(random_local_sid(), name.into()),
            source,
        }
    }

    /// Identity and mute state.
    pub fn common(&self) -> &TrackCommon {
        &self.common
    }

    /// The source feeding this track.
    pub fn source(&self) -> &NativeAudioSource {
        &self.source
    }
}

/// A local video track fed by a video source.
pub struct LocalVideoTrack {
    common: TrackCommon,
    source: NativeVideoSource,
}

impl LocalVideoTrack {
    /// Creates a track over `source`.
    pub fn new(name: impl Into<String>, source: NativeVideoSource) -> Self {
        Self {
            common: TrackCommon::new(random_local_sid(), name.into()),
            source,
        }
    }

    /// Identity and mute state.
    pub fn common(&self) -> &TrackCommon {
        &self.common
    }

    /// The source feeding this track.
    pub fn source(&self) -> &NativeVideoSource {
        &self.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mute_reports_changes() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let source = NativeAudioSource::new(48_000, 1, 0, rt.handle().clone()).unwrap();
        let track = LocalAudioTrack::new("mic", source);
        assert!(track.common().sid().starts_with("TR_"));
        assert!(track.common().set_muted(true));
        assert!(!track.common().set_muted(true));
        assert!(track.common().is_muted());
    }
}
