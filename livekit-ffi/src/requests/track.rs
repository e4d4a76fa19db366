//! Local tracks: creating them over sources, muting, statistics.

use std::sync::{Arc, Weak};

use livekit_core::audio::source::NativeAudioSource;
use livekit_core::track::{LocalAudioTrack, LocalVideoTrack, RemoteAudioTrack, TrackCommon};
use livekit_core::video::source::NativeVideoSource;
use tokio::sync::watch;

use super::async_id;
use super::room::FfiRoom;
use crate::convert;
use crate::error::{FfiError, FfiResult};
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
    /// A remote audio track a room subscribed to.
    RemoteAudio {
        /// The engine's track.
        track: Arc<RemoteAudioTrack>,
        /// The room that receives it, for statistics.
        room: Weak<FfiRoom>,
        /// Closed when the handle is dropped.
        alive: watch::Sender<()>,
    },
}

impl FfiTrack {
    fn common(&self) -> &TrackCommon {
        match self {
            Self::LocalAudio { track, .. } => track.common(),
            Self::LocalVideo { track, .. } => track.common(),
            Self::RemoteAudio { track, .. } => track.common(),
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

/// A handle for a remote audio track a room subscribed to.
pub fn owned_remote_audio(
    server: &FfiServer,
    room: Weak<FfiRoom>,
    track: Arc<RemoteAudioTrack>,
    info: &livekit_protocol::TrackInfo,
) -> proto::OwnedTrack {
    let info = proto::TrackInfo {
        sid: info.sid.clone(),
        name: info.name.clone(),
        kind: proto::TrackKind::KindAudio as i32,
        stream_state: proto::StreamState::StateActive as i32,
        muted: info.muted,
        remote: true,
    };
    let id = server.handles.insert(FfiTrack::RemoteAudio {
        track,
        room,
        alive: watch::channel(()).0,
    });
    proto::OwnedTrack {
        handle: proto::FfiOwnedHandle { id },
        info,
    }
}

/// `LocalTrackMuteRequest`. A published audio track also stops sending,
/// tells the server and raises `TrackMuted`/`TrackUnmuted`, which happens
/// in the background; the answer is the requested state.
pub fn local_mute(
    server: &'static FfiServer,
    request: proto::LocalTrackMuteRequest,
) -> FfiResult<proto::LocalTrackMuteResponse> {
    let track = server.handles.get::<FfiTrack>(request.track_handle)?;
    match &*track {
        FfiTrack::LocalAudio { track, .. } => {
            let rooms = super::room::rooms_publishing(track);
            if rooms.is_empty() {
                track.common().set_muted(request.mute);
            } else {
                let track = track.clone();
                server.runtime().spawn(async move {
                    for room in rooms {
                        room.room.set_track_muted(&track, request.mute).await;
                    }
                });
                return Ok(proto::LocalTrackMuteResponse {
                    muted: request.mute,
                });
            }
        }
        FfiTrack::LocalVideo { track, .. } => {
            track.common().set_muted(request.mute);
        }
        FfiTrack::RemoteAudio { .. } => {
            return Err(FfiError::invalid("LocalTrackMute needs a local track"));
        }
    }
    Ok(proto::LocalTrackMuteResponse {
        muted: track.common().is_muted(),
    })
}

/// `EnableRemoteTrackRequest`: only the local delivery changes.
pub fn enable_remote(
    server: &FfiServer,
    request: proto::EnableRemoteTrackRequest,
) -> FfiResult<proto::EnableRemoteTrackResponse> {
    let track = server.handles.get::<FfiTrack>(request.track_handle)?;
    let FfiTrack::RemoteAudio { track, .. } = &*track else {
        return Err(FfiError::invalid("EnableRemoteTrack needs a remote track"));
    };
    track.set_enabled(request.enabled);
    Ok(proto::EnableRemoteTrackResponse {
        enabled: track.is_enabled(),
    })
}

/// `GetStatsRequest`: the RTP sender's statistics of a published track, or
/// the receiver's of a subscribed one; an error in the callback otherwise.
pub fn get_stats(
    server: &'static FfiServer,
    request: proto::GetStatsRequest,
) -> FfiResult<proto::GetStatsResponse> {
    let track = server.handles.get::<FfiTrack>(request.track_handle)?;
    let async_id = async_id(server, request.request_async_id);
    server.runtime().spawn(async move {
        let result = match &*track {
            FfiTrack::LocalAudio { track, .. } => {
                let rooms = super::room::rooms_publishing(track);
                match rooms.first() {
                    Some(room) => match room.room.local_track_stats(track).await {
                        Some(entries) => Ok(convert::stats::entries_to_ffi(entries)),
                        None => Err("the track is not published"),
                    },
                    None => Err("the track is not published, so it has no statistics"),
                }
            }
            FfiTrack::RemoteAudio { track, room, .. } => {
                let sid = track.common().sid();
                let entries = match room.upgrade() {
                    Some(room) => room.room.remote_track_stats(sid).await,
                    None => None,
                };
                match entries {
                    Some(entries) => Ok(convert::stats::entries_to_ffi(entries)),
                    None => Ok(convert::rtp_stats::remote_audio_to_ffi(sid, &track.stats())),
                }
            }
            FfiTrack::LocalVideo { .. } => {
                Err("the track is not published, so it has no statistics")
            }
        };
        let (error, stats) = match result {
            Ok(stats) => (None, stats),
            Err(error) => (Some(error.to_owned()), Vec::new()),
        };
        server.send_event(proto::ffi_event::Message::GetStats(
            proto::GetStatsCallback {
                async_id,
                error,
                stats,
            },
        ));
    });
    Ok(proto::GetStatsResponse { async_id })
}
