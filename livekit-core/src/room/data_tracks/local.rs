//! Our data tracks: publishing, pushing frames, unpublishing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use livekit_protocol as proto;
use parking_lot::Mutex;
use proto::signal_request::Message as Request;
use tokio::sync::oneshot;

use super::packetizer::{MTU, Packetizer};
use super::{
    DataTrackFrame, DataTrackInfo, DataTrackOptions, PublishDataTrackError, PushFrameError, Shared,
    validate_schema,
};

/// How long the server gets to accept a publication.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

/// State of one of our publications, shared by its handles and the
/// session (which marks it unpublished when the server or a close ends it).
pub(super) struct LocalShared {
    info: DataTrackInfo,
    published: AtomicBool,
    packetizer: Mutex<Packetizer>,
}

impl LocalShared {
    /// The publication ended; later pushes fail.
    pub(super) fn mark_unpublished(&self) {
        self.published.store(false, Ordering::Release);
    }
}

/// A data track we publish. Cheap to clone; dropping the last clone
/// unpublishes it, as with the official library.
#[derive(Clone)]
pub struct LocalDataTrack {
    handle: Arc<Handle>,
}

/// Unpublishes when the last [`LocalDataTrack`] clone goes.
struct Handle {
    track: Arc<LocalShared>,
    tracks: Weak<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        unpublish(&self.track, &self.tracks);
    }
}

impl std::fmt::Debug for LocalDataTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalDataTrack")
            .field("info", self.info())
            .field("published", &self.is_published())
            .finish()
    }
}

impl LocalDataTrack {
    /// The server's description of the track.
    pub fn info(&self) -> &DataTrackInfo {
        &self.handle.track.info
    }

    /// Whether the track is still published.
    pub fn is_published(&self) -> bool {
        self.handle.track.published.load(Ordering::Acquire)
    }

    /// Send a frame to the track's subscribers, without waiting. Frames go
    /// out in push order; if they come faster than the channel drains, the
    /// oldest waiting frames are dropped (newest wins, as for media).
    pub fn try_push(&self, frame: DataTrackFrame) -> Result<(), PushFrameError> {
        let Some(shared) = self.handle.tracks.upgrade() else {
            return Err(PushFrameError::TrackUnpublished);
        };
        if !self.is_published() {
            return Err(PushFrameError::TrackUnpublished);
        }
        let packets = self
            .handle
            .track
            .packetizer
            .lock()
            .packetize(&frame.payload, frame.user_timestamp);
        // The MTU is a constant that holds any header, so this never fails.
        if let Some(packets) = packets {
            shared.queue.push(packets);
        }
        Ok(())
    }

    /// Stop publishing. Subscribers see the track unpublished once the
    /// server has processed it.
    pub fn unpublish(&self) {
        unpublish(&self.handle.track, &self.handle.tracks);
    }
}

/// Mark the track unpublished and tell the server, once.
fn unpublish(track: &LocalShared, tracks: &Weak<Shared>) {
    if !track.published.swap(false, Ordering::AcqRel) {
        return;
    }
    let Some(shared) = tracks.upgrade() else {
        return;
    };
    let handle = track.info.pub_handle;
    shared.state.lock().local.remove(&handle);
    shared.signal(Request::UnpublishDataTrackRequest(
        proto::UnpublishDataTrackRequest {
            pub_handle: u32::from(handle),
        },
    ));
}

/// Ask the server to publish, and wait for its answer.
pub(super) async fn publish(
    shared: &Arc<Shared>,
    options: DataTrackOptions,
) -> Result<LocalDataTrack, PublishDataTrackError> {
    validate_schema(options.frame_encoding.as_ref(), options.schema.as_ref())
        .map_err(PublishDataTrackError::InvalidSchema)?;
    let (tx, rx) = oneshot::channel();
    let handle = {
        let mut state = shared.state.lock();
        if state.closed {
            return Err(PublishDataTrackError::Disconnected);
        }
        let handle = state
            .last_handle
            .checked_add(1)
            .ok_or(PublishDataTrackError::LimitReached)?;
        state.last_handle = handle;
        state.pending.insert(handle, tx);
        handle
    };
    shared.signal(Request::PublishDataTrackRequest(
        proto::PublishDataTrackRequest {
            pub_handle: u32::from(handle),
            name: options.name,
            encryption: proto::encryption::Type::None as i32,
            frame_encoding: options.frame_encoding,
            schema: options.schema,
        },
    ));
    let outcome = tokio::time::timeout(PUBLISH_TIMEOUT, rx).await;
    match outcome {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(PublishDataTrackError::Disconnected),
        Err(_) => {
            shared.state.lock().pending.remove(&handle);
            Err(PublishDataTrackError::Timeout)
        }
    }
}

impl Shared {
    /// The server accepted a publication: complete the pending publish.
    /// A late acceptance (the publish timed out or was cancelled) is
    /// withdrawn at once, so the server does not keep a track nobody
    /// feeds.
    pub(super) fn on_published(self: &Arc<Self>, info: &proto::DataTrackInfo) {
        let Some(info) = DataTrackInfo::from_proto(info) else {
            log::warn!("data track publication with an invalid handle: {info:?}");
            return;
        };
        let handle = info.pub_handle;
        let mut state = self.state.lock();
        let Some(waiter) = state.pending.remove(&handle) else {
            drop(state);
            log::debug!("late data track publication {}; unpublishing it", info.sid);
            self.signal(Request::UnpublishDataTrackRequest(
                proto::UnpublishDataTrackRequest {
                    pub_handle: u32::from(handle),
                },
            ));
            return;
        };
        let track = Arc::new(LocalShared {
            packetizer: Mutex::new(Packetizer::new(handle, MTU)),
            info,
            published: AtomicBool::new(true),
        });
        state.local.insert(handle, track.clone());
        drop(state);
        let track = LocalDataTrack {
            handle: Arc::new(Handle {
                track,
                tracks: Arc::downgrade(self),
            }),
        };
        // If the publish was cancelled meanwhile, dropping the track here
        // unpublishes it.
        let _ = waiter.send(Ok(track));
    }

    /// The server refused a publication.
    pub(super) fn on_publish_refused(&self, handle: u16, error: PublishDataTrackError) {
        let waiter = self.state.lock().pending.remove(&handle);
        match waiter {
            Some(waiter) => {
                let _ = waiter.send(Err(error));
            }
            None => log::debug!("refusal of data track handle {handle} nobody waits for: {error}"),
        }
    }

    /// The server ended a publication (confirming ours, or on its own).
    pub(super) fn on_unpublished(&self, info: &proto::DataTrackInfo) {
        let Ok(handle) = u16::try_from(info.pub_handle) else {
            return;
        };
        if let Some(track) = self.state.lock().local.remove(&handle) {
            log::info!("the server unpublished data track {}", info.sid);
            track.mark_unpublished();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room::data_tracks::packet::parse;

    fn accepted(handle: u32) -> proto::DataTrackInfo {
        proto::DataTrackInfo {
            pub_handle: handle,
            sid: format!("DTR_{handle}"),
            name: "t".into(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn publish_push_and_unpublish() {
        let shared = Arc::new(Shared::default());
        let mut outbox = shared.outbox_rx.lock().take().unwrap();
        let publishing = tokio::spawn({
            let shared = shared.clone();
            async move {
                let options = DataTrackOptions {
                    name: "t".into(),
                    ..Default::default()
                };
                publish(&shared, options).await
            }
        });
        let Some(Request::PublishDataTrackRequest(request)) = outbox.recv().await else {
            panic!("no publish request");
        };
        assert_eq!(request.pub_handle, 1, "handles start at 1");
        assert_eq!(request.name, "t");
        shared.on_published(&accepted(1));
        let track = publishing.await.unwrap().unwrap();
        assert_eq!(track.info().sid, "DTR_1");
        assert!(track.is_published());

        track
            .try_push(DataTrackFrame {
                payload: bytes::Bytes::from_static(b"hello"),
                user_timestamp: Some(3),
            })
            .unwrap();
        let queued = shared.queue.pop().unwrap();
        let (header, payload) = parse(&queued[0]).unwrap();
        assert_eq!(header.handle, 1);
        assert_eq!(payload.as_ref(), b"hello");

        // The last clone going unpublishes, once.
        let clone = track.clone();
        drop(track);
        assert!(clone.is_published());
        drop(clone);
        match outbox.try_recv() {
            Ok(Request::UnpublishDataTrackRequest(r)) => assert_eq!(r.pub_handle, 1),
            other => panic!("unexpected {other:?}"),
        }
        assert!(outbox.try_recv().is_err());
        assert!(shared.state.lock().local.is_empty());
    }

    #[tokio::test]
    async fn server_unpublish_and_late_acceptance() {
        let shared = Arc::new(Shared::default());
        let mut outbox = shared.outbox_rx.lock().take().unwrap();
        let (tx, rx) = oneshot::channel();
        shared.state.lock().pending.insert(4, tx);
        shared.on_published(&accepted(4));
        let track = rx.await.unwrap().unwrap();
        shared.on_unpublished(&accepted(4));
        assert!(!track.is_published());
        assert_eq!(
            track.try_push(DataTrackFrame::default()),
            Err(PushFrameError::TrackUnpublished)
        );
        // Already unpublished by the server: dropping asks nothing more.
        drop(track);
        assert!(outbox.try_recv().is_err());
        // Nobody waits for handle 9 (the publish timed out): withdrawn.
        shared.on_published(&accepted(9));
        assert!(matches!(
            outbox.try_recv(),
            Ok(Request::UnpublishDataTrackRequest(r)) if r.pub_handle == 9
        ));
    }

    #[tokio::test]
    async fn invalid_schema_and_closed_rooms_are_refused_without_asking() {
        let shared = Arc::new(Shared::default());
        let options = DataTrackOptions {
            name: "t".into(),
            schema: Some(proto::DataTrackSchemaId {
                name: "s".into(),
                encoding: None,
            }),
            frame_encoding: None,
        };
        assert!(matches!(
            publish(&shared, options).await,
            Err(PublishDataTrackError::InvalidSchema(_))
        ));
        shared.state.lock().closed = true;
        assert_eq!(
            publish(&shared, DataTrackOptions::default())
                .await
                .unwrap_err(),
            PublishDataTrackError::Disconnected
        );
        assert!(shared.outbox_rx.lock().take().unwrap().try_recv().is_err());
    }
}
