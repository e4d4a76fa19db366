//! Tracks in rooms: publishing and unpublishing, subscription control and
//! permissions, with the orderings the SDKs rely on (brief §3): the
//! PublishTrack callback before `LocalTrackPublished`, and
//! `LocalTrackUnpublished` before the UnpublishTrack callback.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use livekit_core::room::{AudioPublishOptions, TrackPermission};
use parking_lot::Mutex;
use tokio::sync::watch;

use super::connect::owned_publication;
use super::{FfiPublication, FfiRoom, async_id, local_room};
use crate::convert;
use crate::error::{FfiError, FfiResult};
use crate::proto;
use crate::requests::track::FfiTrack;
use crate::server::FfiServer;

/// How long one ordering wait may hold the event forwarder or a callback.
const ORDER_WAIT: Duration = Duration::from_secs(10);

/// What the forwarder and the publish requests tell each other.
#[derive(Default)]
pub struct MediaSync {
    /// SIDs whose PublishTrack callback has been sent.
    published: Mutex<HashSet<String>>,
    /// SIDs whose `LocalTrackUnpublished` has been forwarded.
    unpublished: Mutex<HashSet<String>>,
    /// Bumped on every change of the two sets.
    changed: watch::Sender<u64>,
}

impl MediaSync {
    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    async fn wait(&self, done: impl Fn() -> bool) {
        let mut rx = self.changed.subscribe();
        let _ = tokio::time::timeout(ORDER_WAIT, rx.wait_for(|_| done())).await;
    }

    /// Called by the forwarder before it forwards `LocalTrackPublished`.
    pub(super) async fn wait_published(&self, sid: &str) {
        self.wait(|| self.published.lock().contains(sid)).await;
    }

    /// Called by the forwarder after it forwarded `LocalTrackUnpublished`.
    pub(super) fn mark_unpublished(&self, sid: &str) {
        self.unpublished.lock().insert(sid.to_owned());
        self.published.lock().remove(sid);
        self.bump();
    }
}

/// `PublishTrackRequest`.
pub fn publish_track(
    server: &'static FfiServer,
    request: proto::PublishTrackRequest,
) -> FfiResult<proto::PublishTrackResponse> {
    let room = local_room(server, request.local_participant_handle)?;
    let track = server.handles.get::<FfiTrack>(request.track_handle)?;
    let track = match &*track {
        FfiTrack::LocalAudio { track, .. } => track.clone(),
        FfiTrack::LocalVideo { .. } => {
            return Err(FfiError::Unsupported("publishing video tracks".into()));
        }
        FfiTrack::RemoteAudio { .. } => {
            return Err(FfiError::invalid("a remote track cannot be published"));
        }
    };
    let options = publish_options(&request.options);
    let async_id = async_id(server, request.request_async_id);
    // Queued now, in request order; completed on the runtime.
    let publishing = room.room.publish_audio_track(track, options);
    server.runtime().spawn(async move {
        let message = match publishing.await {
            Ok(info) => proto::publish_track_callback::Message::Publication(owned_publication(
                server, &room, &info, false,
            )),
            Err(err) => proto::publish_track_callback::Message::Error(err.to_string()),
        };
        let sid = match &message {
            proto::publish_track_callback::Message::Publication(p) => Some(p.info.sid.clone()),
            _ => None,
        };
        server.send_event(proto::ffi_event::Message::PublishTrack(
            proto::PublishTrackCallback {
                async_id,
                message: Some(message),
            },
        ));
        if let Some(sid) = sid {
            room.media.published.lock().insert(sid);
            room.media.bump();
        }
    });
    Ok(proto::PublishTrackResponse { async_id })
}

/// The engine's options from the host's.
fn publish_options(options: &proto::TrackPublishOptions) -> AudioPublishOptions {
    let defaults = AudioPublishOptions::default();
    let source = options
        .source
        .and_then(|s| proto::TrackSource::try_from(s).ok())
        .map(|s| convert::track::track_source_from_ffi(s) as i32)
        .unwrap_or(defaults.source);
    AudioPublishOptions {
        source,
        dtx: options.dtx.unwrap_or(defaults.dtx),
        red: options.red.unwrap_or(defaults.red),
        stereo: false,
        bitrate_bps: options
            .audio_encoding
            .as_ref()
            .map(|e| e.max_bitrate.min(u32::MAX as u64) as u32)
            .unwrap_or(defaults.bitrate_bps),
        stream: options.stream.clone().unwrap_or_default(),
        encryption: defaults.encryption,
    }
}

/// `UnpublishTrackRequest`.
pub fn unpublish_track(
    server: &'static FfiServer,
    request: proto::UnpublishTrackRequest,
) -> FfiResult<proto::UnpublishTrackResponse> {
    let room = local_room(server, request.local_participant_handle)?;
    let async_id = async_id(server, request.request_async_id);
    let sid = request.track_sid;
    server.runtime().spawn(async move {
        let error = match room.room.unpublish_track(&sid).await {
            Ok(()) => {
                room.media
                    .wait(|| room.media.unpublished.lock().contains(&sid))
                    .await;
                None
            }
            Err(err) => Some(err.to_string()),
        };
        server.send_event(proto::ffi_event::Message::UnpublishTrack(
            proto::UnpublishTrackCallback { async_id, error },
        ));
    });
    Ok(proto::UnpublishTrackResponse { async_id })
}

/// The publication a handle names, with its room.
fn publication(server: &FfiServer, handle: u64) -> FfiResult<(Arc<FfiRoom>, Arc<FfiPublication>)> {
    let publication = server.handles.get::<FfiPublication>(handle)?;
    let room = publication
        .room
        .upgrade()
        .ok_or_else(|| FfiError::Engine("the room is closed".into()))?;
    Ok((room, publication))
}

/// `SetSubscribedRequest`: fire and forget, like the official library.
pub fn set_subscribed(
    server: &'static FfiServer,
    request: proto::SetSubscribedRequest,
) -> FfiResult<proto::SetSubscribedResponse> {
    let (room, publication) = publication(server, request.publication_handle)?;
    if let Err(err) = room
        .room
        .set_subscribed(&publication.sid, request.subscribe)
    {
        log::warn!("set_subscribed({}): {err}", publication.sid);
    }
    Ok(proto::SetSubscribedResponse {})
}

/// `EnableRemoteTrackPublicationRequest`.
pub fn enable_publication(
    server: &'static FfiServer,
    request: proto::EnableRemoteTrackPublicationRequest,
) -> FfiResult<proto::EnableRemoteTrackPublicationResponse> {
    let (room, publication) = publication(server, request.track_publication_handle)?;
    room.room
        .set_publication_enabled(&publication.sid, request.enabled);
    Ok(proto::EnableRemoteTrackPublicationResponse {})
}

/// `SetTrackSubscriptionPermissionsRequest`: fire and forget.
pub fn set_permissions(
    server: &'static FfiServer,
    request: proto::SetTrackSubscriptionPermissionsRequest,
) -> FfiResult<proto::SetTrackSubscriptionPermissionsResponse> {
    let room = local_room(server, request.local_participant_handle)?;
    let permissions = request
        .permissions
        .into_iter()
        .map(|p| TrackPermission {
            identity: p.participant_identity,
            all_tracks: p.allow_all.unwrap_or(false),
            track_sids: p.allowed_track_sids,
        })
        .collect();
    room.room
        .set_track_permissions(request.all_participants_allowed, permissions);
    Ok(proto::SetTrackSubscriptionPermissionsResponse {})
}

/// The rooms publishing a local track, for mute and statistics.
pub fn rooms_publishing(track: &Arc<livekit_core::track::LocalAudioTrack>) -> Vec<Arc<FfiRoom>> {
    super::rooms()
        .into_iter()
        .filter(|room| {
            room.room
                .local_publications()
                .iter()
                .any(|(_, t)| Arc::ptr_eq(t, track))
        })
        .collect()
}
