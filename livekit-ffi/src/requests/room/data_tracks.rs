//! Data tracks on the FFI.
//!
//! - `PublishDataTrack` answers at once and later with a callback carrying
//!   an owned local track, or the error. `LocalDataTrackTryPush`,
//!   `…IsPublished` and `…Unpublish` act on it synchronously; dropping its
//!   handle unpublishes it.
//! - Remote tracks arrive as owned handles in the room's
//!   `DataTrackPublished` events. `SubscribeDataTrack` answers at once with
//!   an owned stream handle; the subscription starts in the background.
//!   Frames are pulled: each `DataTrackStreamRead` releases one
//!   `DataTrackStreamEvent` with a frame, and the stream ends with one EOS
//!   event (with the error if the subscription failed). Dropping the
//!   stream's handle ends its subscription, without an EOS.

use std::sync::{Arc, OnceLock};

use livekit_core::room::data_tracks::{
    DataTrackStream, LocalDataTrack, RemoteDataTrack, SubscribeDataTrackError,
};
use tokio::sync::{Semaphore, oneshot};

use super::{async_id, local_room};
use crate::convert::data_track as convert;
use crate::error::{FfiError, FfiResult};
use crate::handles::FfiHandleId;
use crate::proto::{
    self, ffi_event::Message as Event, ffi_request::Message as Req, ffi_response::Message as Res,
    room_event::Message as Ev,
};
use crate::server::FfiServer;

/// Reads a host may have outstanding on one stream; more are ignored
/// (a host waits for each frame before asking for the next).
const MAX_PENDING_READS: usize = 1 << 16;

/// The object behind a local data track handle.
pub struct FfiLocalDataTrack(LocalDataTrack);

/// The object behind a remote data track handle.
pub struct FfiRemoteDataTrack(RemoteDataTrack);

/// The object behind a data track stream handle. Dropping it stops the
/// stream's task, which ends the subscription.
pub struct FfiDataTrackStream {
    /// One permit per read request not yet answered.
    reads: Arc<Semaphore>,
    /// Set when the stream has ended, for reads that come after.
    eos: Arc<OnceLock<proto::DataTrackStreamEos>>,
    _stop: oneshot::Sender<()>,
}

/// Handles the data-track requests.
pub fn handle(server: &'static FfiServer, message: Req) -> FfiResult<Res> {
    Ok(match message {
        Req::PublishDataTrack(r) => Res::PublishDataTrack(publish(server, r)?),
        Req::LocalDataTrackTryPush(r) => Res::LocalDataTrackTryPush(try_push(server, r)?),
        Req::LocalDataTrackUnpublish(r) => {
            local(server, r.track_handle)?.unpublish();
            Res::LocalDataTrackUnpublish(proto::LocalDataTrackUnpublishResponse {})
        }
        Req::LocalDataTrackIsPublished(r) => {
            Res::LocalDataTrackIsPublished(proto::LocalDataTrackIsPublishedResponse {
                is_published: local(server, r.track_handle)?.is_published(),
            })
        }
        Req::RemoteDataTrackIsPublished(r) => {
            Res::RemoteDataTrackIsPublished(proto::RemoteDataTrackIsPublishedResponse {
                is_published: remote(server, r.track_handle)?.is_published(),
            })
        }
        Req::RemoteDataTrackSetPipelineOptions(r) => {
            let track = remote(server, r.track_handle)?;
            if let Some(frames) = r.options.max_partial_frames {
                track.set_max_partial_frames(frames as usize);
            }
            Res::RemoteDataTrackSetPipelineOptions(
                proto::RemoteDataTrackSetPipelineOptionsResponse {},
            )
        }
        Req::SubscribeDataTrack(r) => Res::SubscribeDataTrack(subscribe(server, r)?),
        Req::DataTrackStreamRead(r) => Res::DataTrackStreamRead(read(server, r)?),
        other => {
            return Err(FfiError::invalid(format!(
                "not a data track request: {other:?}"
            )));
        }
    })
}

fn local(server: &FfiServer, handle: FfiHandleId) -> FfiResult<LocalDataTrack> {
    Ok(server.handles.get::<FfiLocalDataTrack>(handle)?.0.clone())
}

fn remote(server: &FfiServer, handle: FfiHandleId) -> FfiResult<RemoteDataTrack> {
    Ok(server.handles.get::<FfiRemoteDataTrack>(handle)?.0.clone())
}

/// `DataTrackPublished` with an owned handle for the host.
pub(super) fn published_event(server: &FfiServer, track: RemoteDataTrack) -> Ev {
    let info = convert::info_to_ffi(track.info());
    let publisher_identity = track.publisher_identity().to_owned();
    let id = server.handles.insert(FfiRemoteDataTrack(track));
    Ev::DataTrackPublished(proto::DataTrackPublished {
        track: proto::OwnedRemoteDataTrack {
            handle: proto::FfiOwnedHandle { id },
            info,
            publisher_identity,
        },
    })
}

/// `PublishDataTrackRequest`: the callback carries the track or the error.
fn publish(
    server: &'static FfiServer,
    request: proto::PublishDataTrackRequest,
) -> FfiResult<proto::PublishDataTrackResponse> {
    let room = local_room(server, request.local_participant_handle)?;
    let async_id = async_id(server, request.request_async_id);
    let options = convert::options_from_ffi(request.options);
    server.runtime().spawn(async move {
        use proto::publish_data_track_callback::Result as Outcome;
        let outcome = match room.room.publish_data_track(options).await {
            Ok(track) => {
                let info = convert::info_to_ffi(track.info());
                let id = server.handles.insert(FfiLocalDataTrack(track));
                Outcome::Track(proto::OwnedLocalDataTrack {
                    handle: proto::FfiOwnedHandle { id },
                    info,
                })
            }
            Err(err) => Outcome::Error(convert::publish_error_to_ffi(&err)),
        };
        server.send_event(Event::PublishDataTrack(proto::PublishDataTrackCallback {
            async_id,
            result: Some(outcome),
        }));
    });
    Ok(proto::PublishDataTrackResponse { async_id })
}

/// `LocalDataTrackTryPushRequest`: queued at once, or refused.
fn try_push(
    server: &FfiServer,
    request: proto::LocalDataTrackTryPushRequest,
) -> FfiResult<proto::LocalDataTrackTryPushResponse> {
    let track = local(server, request.track_handle)?;
    let error = track
        .try_push(convert::frame_from_ffi(request.frame))
        .err()
        .map(|err| convert::push_error_to_ffi(&err));
    Ok(proto::LocalDataTrackTryPushResponse { error })
}

/// `SubscribeDataTrackRequest`: an owned stream handle at once.
fn subscribe(
    server: &'static FfiServer,
    request: proto::SubscribeDataTrackRequest,
) -> FfiResult<proto::SubscribeDataTrackResponse> {
    let track = remote(server, request.track_handle)?;
    let buffer = request.options.buffer_size.map(|frames| frames as usize);
    let reads = Arc::new(Semaphore::new(0));
    let eos = Arc::new(OnceLock::new());
    let (stop, stopped) = oneshot::channel();
    let id = server.handles.next_id();
    server.handles.insert_with_id(
        id,
        Arc::new(FfiDataTrackStream {
            reads: reads.clone(),
            eos: eos.clone(),
            _stop: stop,
        }),
    );
    let stream = StreamTask {
        server,
        id,
        reads,
        eos,
    };
    server.runtime().spawn(stream.run(track, buffer, stopped));
    Ok(proto::SubscribeDataTrackResponse {
        stream: proto::OwnedDataTrackStream {
            handle: proto::FfiOwnedHandle { id },
        },
    })
}

/// `DataTrackStreamReadRequest`: release one frame, or repeat the EOS.
fn read(
    server: &FfiServer,
    request: proto::DataTrackStreamReadRequest,
) -> FfiResult<proto::DataTrackStreamReadResponse> {
    let stream = server
        .handles
        .get::<FfiDataTrackStream>(request.stream_handle)?;
    if let Some(eos) = stream.eos.get() {
        return Ok(proto::DataTrackStreamReadResponse {
            eos_event: Some(eos.clone()),
        });
    }
    if stream.reads.available_permits() < MAX_PENDING_READS {
        stream.reads.add_permits(1);
    }
    Ok(proto::DataTrackStreamReadResponse { eos_event: None })
}

/// The task behind one stream handle.
struct StreamTask {
    server: &'static FfiServer,
    id: FfiHandleId,
    reads: Arc<Semaphore>,
    eos: Arc<OnceLock<proto::DataTrackStreamEos>>,
}

impl StreamTask {
    async fn run(
        self,
        track: RemoteDataTrack,
        buffer: Option<usize>,
        mut stopped: oneshot::Receiver<()>,
    ) {
        let subscribed = tokio::select! {
            _ = &mut stopped => return,
            subscribed = track.subscribe(buffer) => subscribed,
        };
        let mut stream = match subscribed {
            Ok(stream) => stream,
            Err(err) => return self.end(Some(err)),
        };
        loop {
            let next = tokio::select! {
                _ = &mut stopped => return,
                next = self.next(&mut stream) => next,
            };
            match next {
                Some(frame) => self.send(proto::data_track_stream_event::Detail::FrameReceived(
                    proto::DataTrackStreamFrameReceived {
                        frame: convert::frame_to_ffi(frame),
                    },
                )),
                None => return self.end(None),
            }
        }
    }

    /// Wait for a read, then for a frame.
    async fn next(
        &self,
        stream: &mut DataTrackStream,
    ) -> Option<livekit_core::room::data_tracks::DataTrackFrame> {
        // The semaphore is never closed; treat a close as the end anyway.
        self.reads.acquire().await.ok()?.forget();
        stream.recv().await
    }

    fn end(&self, error: Option<SubscribeDataTrackError>) {
        let eos = proto::DataTrackStreamEos {
            error: error.as_ref().map(convert::subscribe_error_to_ffi),
        };
        let _ = self.eos.set(eos.clone());
        self.send(proto::data_track_stream_event::Detail::Eos(eos));
    }

    fn send(&self, detail: proto::data_track_stream_event::Detail) {
        self.server
            .send_event(Event::DataTrackStreamEvent(proto::DataTrackStreamEvent {
                stream_handle: self.id,
                detail: Some(detail),
            }));
    }
}
