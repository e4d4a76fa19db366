//! Local tracks: creating them over sources, muting, statistics.

use std::sync::Arc;

use livekit_core::audio::source::NativeAudioSource;
use livekit_core::track::{LocalAudioTrack, LocalVideoTrack, TrackCommon};
use livekit_core::video::source::NativeVideoSource;
use tokio::sync::watch;

use super::async_id;
use crate::error::FfiResult;
use crate::proto;
use crate::server::FfiServer;

/// The object behind a track handle.
///
/// Streams created from the handle watch `alive`: dropping the handle drops
/// the sender, which ends them, while the track itself lives on wherever
/// else it is used.
pub enum FfiTrack {
    /// A track over a local audio source.
    LocalAudio {
        /// The engine's track.
        track: Arc<LocalAudioTrack>,
        /// Closed when the handle is dropped.
        alive: watch::Sender<()>,
    },
    /// A track over a local video source.
    LocalVideo {
        /// The engine's track.
        track: Arc<LocalVideoTrack>,
        /// Closed when the handle is dropped.
        alive: watch::Sender<()>,
    },
}

impl FfiTrack {
    fn common(&self) -> &TrackCommon {
        match self {
            Self::LocalAudio { track, .. } => track.common(),
            Self::LocalVideo { track, .. } => track.common(),
        }
    }
}

fn owned_track(server: &FfiServer, track: FfiTrack, kind: proto::TrackKind) -> proto::OwnedTrack {
    let common = track.common();
    let info = proto::TrackInfo {
        sid: common.sid().to_owned(),
        name: common.name().to_owned(),
        kind: kind as i32,
        stream_state: proto::StreamState::StateActive as i32,
        muted: common.is_muted(),
        remote: false,
    };
    let id = server.handles.insert(track);
    proto::OwnedTrack {
        handle: proto::FfiOwnedHandle { id },
        info,
    }
}

/// `CreateAudioTrackRequest`.
pub fn create_audio(
    server: &FfiServer,
    request: proto::CreateAudioTrackRequest,
) -> FfiResult<proto::CreateAudioTrackResponse> {
    let source = server
        .handles
        .get::<NativeAudioSource>(request.source_handle)?;
    let track = FfiTrack::LocalAudio {
        track: Arc::new(LocalAudioTrack::new(request.name, (*source).clone())),
        alive: watch::channel(()).0,
    };
    Ok(proto::CreateAudioTrackResponse {
        track: owned_track(server, track, proto::TrackKind::KindAudio),
    })
}

/// `CreateVideoTrackRequest`.
pub fn create_video(
    server: &FfiServer,
    request: proto::CreateVideoTrackRequest,
) -> FfiResult<proto::CreateVideoTrackResponse> {
    let source = server
        .handles
        .get::<NativeVideoSource>(request.source_handle)?;
    let track = FfiTrack::LocalVideo {
        track: Arc::new(LocalVideoTrack::new(request.name, (*source).clone())),
        alive: watch::channel(()).0,
    };
    Ok(proto::CreateVideoTrackResponse {
        track: owned_track(server, track, proto::TrackKind::KindVideo),
    })
}

/// `LocalTrackMuteRequest` on a track that is not published: only the
/// track's own state changes.
pub fn local_mute(
    server: &FfiServer,
    request: proto::LocalTrackMuteRequest,
) -> FfiResult<proto::LocalTrackMuteResponse> {
    let track = server.handles.get::<FfiTrack>(request.track_handle)?;
    track.common().set_muted(request.mute);
    Ok(proto::LocalTrackMuteResponse {
        muted: track.common().is_muted(),
    })
}

/// `GetStatsRequest`: a track that is not published has no RTP sender to
/// report on, which the callback says.
pub fn get_stats(
    server: &FfiServer,
    request: proto::GetStatsRequest,
) -> FfiResult<proto::GetStatsResponse> {
    server.handles.get::<FfiTrack>(request.track_handle)?;
    let async_id = async_id(server, request.request_async_id);
    server.send_event(proto::ffi_event::Message::GetStats(
        proto::GetStatsCallback {
            async_id,
            error: Some("the track is not published, so it has no statistics".into()),
            stats: Vec::new(),
        },
    ));
    Ok(proto::GetStatsResponse { async_id })
}
