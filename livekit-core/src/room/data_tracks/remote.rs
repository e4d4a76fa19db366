//! Other participants' data tracks: discovery from participant infos,
//! subscriptions, and the frames delivered to each subscriber stream.
//!
//! One subscription per track serves any number of streams: the first
//! `subscribe` asks the server, later ones share its frames (each stream
//! sees the frames that arrive after it was created). When the last stream
//! goes, we unsubscribe.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use livekit_protocol as proto;
use proto::participant_info::State as ParticipantState;
use proto::signal_request::Message as Request;
use tokio::sync::{broadcast, oneshot};

use super::depacketizer::Depacketizer;
use super::packet;
use super::{DataTrackFrame, DataTrackInfo, Shared, SubscribeDataTrackError};
use crate::room::events::RoomEvent;

/// How long the server gets to assign a subscriber handle.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Frames buffered per subscription unless the subscriber asks otherwise.
pub const DEFAULT_BUFFER_FRAMES: usize = 16;

/// Upper bound on a requested buffer, which is allocated up front.
const MAX_BUFFER_FRAMES: usize = 4096;

/// Upper bound on the partial frames a track reassembles at once.
const MAX_PARTIAL_FRAMES: usize = 1024;

/// What a remote track handle shares with the session.
pub(super) struct RemoteShared {
    info: DataTrackInfo,
    publisher_identity: String,
    published: AtomicBool,
    /// How many partial frames the depacketizer keeps (default 1).
    max_partial_frames: AtomicUsize,
}

type SubscribeResult = Result<broadcast::Receiver<DataTrackFrame>, SubscribeDataTrackError>;

/// Where a track's subscription stands.
enum Subscription {
    None,
    /// Asked the server; waiting for a handle.
    Pending {
        waiters: Vec<oneshot::Sender<SubscribeResult>>,
        buffer: usize,
    },
    Active {
        handle: u16,
        frames: broadcast::Sender<DataTrackFrame>,
        depacketizer: Depacketizer,
    },
}

/// A remote track the session knows of.
pub(super) struct Entry {
    track: Arc<RemoteShared>,
    subscription: Subscription,
}

impl Entry {
    /// The track is gone (unpublished, its publisher left, or the room
    /// closed): pending subscribers get `why`, active streams end.
    pub(super) fn finish(self, why: SubscribeDataTrackError) {
        self.track.published.store(false, Ordering::Release);
        if let Subscription::Pending { waiters, .. } = self.subscription {
            for waiter in waiters {
                let _ = waiter.send(Err(why.clone()));
            }
        }
        // An active subscription's sender drops here, ending its streams.
    }
}

/// A data track another participant publishes. Cheap to clone.
#[derive(Clone)]
pub struct RemoteDataTrack {
    track: Arc<RemoteShared>,
    tracks: Weak<Shared>,
}

impl std::fmt::Debug for RemoteDataTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteDataTrack")
            .field("info", self.info())
            .field("publisher_identity", &self.publisher_identity())
            .finish()
    }
}

impl RemoteDataTrack {
    /// The server's description of the track.
    pub fn info(&self) -> &DataTrackInfo {
        &self.track.info
    }

    /// Who publishes it.
    pub fn publisher_identity(&self) -> &str {
        &self.track.publisher_identity
    }

    /// Whether it is still published.
    pub fn is_published(&self) -> bool {
        self.track.published.load(Ordering::Acquire)
    }

    /// How many frames may be reassembled at once (default 1; more
    /// tolerates reordering between the frames of a fast sender). Applies
    /// to current and later subscriptions from the next packet; 0 counts
    /// as 1.
    pub fn set_max_partial_frames(&self, frames: usize) {
        self.track
            .max_partial_frames
            .store(frames.clamp(1, MAX_PARTIAL_FRAMES), Ordering::Relaxed);
    }

    /// Subscribe: completes when frames can flow (at most 10 s). The
    /// stream buffers up to `buffer_frames` frames (default 16; 0 counts
    /// as 1) and skips the oldest when its reader falls behind. A
    /// subscription already running keeps its buffer size.
    pub async fn subscribe(
        &self,
        buffer_frames: Option<usize>,
    ) -> Result<DataTrackStream, SubscribeDataTrackError> {
        let shared = self
            .tracks
            .upgrade()
            .ok_or(SubscribeDataTrackError::Disconnected)?;
        let sid = self.track.info.sid.clone();
        let buffer = buffer_frames
            .unwrap_or(DEFAULT_BUFFER_FRAMES)
            .clamp(1, MAX_BUFFER_FRAMES);
        let waiting = {
            let mut state = shared.state.lock();
            if state.closed {
                return Err(SubscribeDataTrackError::Disconnected);
            }
            let entry = match state.remote.get_mut(&sid) {
                Some(entry) if Arc::ptr_eq(&entry.track, &self.track) => entry,
                _ => return Err(SubscribeDataTrackError::Unpublished),
            };
            if entry.track.info.uses_e2ee {
                return Err(SubscribeDataTrackError::Unsupported(
                    "this data track is end-to-end encrypted, which this library does not support"
                        .into(),
                ));
            }
            let (tx, rx) = oneshot::channel();
            match &mut entry.subscription {
                Subscription::Active { frames, .. } => {
                    return Ok(DataTrackStream::new(frames.subscribe(), sid, &shared));
                }
                Subscription::Pending { waiters, .. } => waiters.push(tx),
                Subscription::None => {
                    entry.subscription = Subscription::Pending {
                        waiters: vec![tx],
                        buffer,
                    };
                    shared.signal(update_subscription(&sid, true));
                }
            }
            rx
        };
        let outcome = tokio::time::timeout(SUBSCRIBE_TIMEOUT, waiting).await;
        match outcome {
            Ok(Ok(Ok(frames))) => Ok(DataTrackStream::new(frames, sid, &shared)),
            Ok(Ok(Err(err))) => Err(err),
            Ok(Err(_)) => Err(SubscribeDataTrackError::Disconnected),
            Err(_) => {
                shared.drop_unwanted(&sid);
                Err(SubscribeDataTrackError::Timeout)
            }
        }
    }
}

/// Frames of a subscribed track, in arrival order. Dropping the last
/// stream of a track unsubscribes from it.
pub struct DataTrackStream {
    // Declared before the guard: the receiver must be gone when the guard
    // counts the remaining ones.
    frames: broadcast::Receiver<DataTrackFrame>,
    _guard: StreamGuard,
}

impl std::fmt::Debug for DataTrackStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataTrackStream")
            .field("sid", &self._guard.sid)
            .finish()
    }
}

struct StreamGuard {
    sid: String,
    tracks: Weak<Shared>,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if let Some(shared) = self.tracks.upgrade() {
            shared.drop_unwanted(&self.sid);
        }
    }
}

impl DataTrackStream {
    fn new(frames: broadcast::Receiver<DataTrackFrame>, sid: String, shared: &Arc<Shared>) -> Self {
        Self {
            frames,
            _guard: StreamGuard {
                sid,
                tracks: Arc::downgrade(shared),
            },
        }
    }

    /// The next frame; `None` once the track is unpublished or the room
    /// closed. Frames the reader fell too far behind on are skipped.
    pub async fn recv(&mut self) -> Option<DataTrackFrame> {
        loop {
            match self.frames.recv().await {
                Ok(frame) => return Some(frame),
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    log::debug!("data track reader fell behind; skipped {skipped} frames");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// `UpdateDataSubscription` for one track.
fn update_subscription(sid: &str, subscribe: bool) -> Request {
    Request::UpdateDataSubscription(proto::UpdateDataSubscription {
        updates: vec![proto::update_data_subscription::Update {
            track_sid: sid.to_owned(),
            subscribe,
            options: None,
        }],
    })
}

/// See [`super::DataTracks::apply_update`].
pub(super) fn apply_update(
    shared: &Arc<Shared>,
    infos: &[proto::ParticipantInfo],
    local: &proto::ParticipantInfo,
) -> Vec<RoomEvent> {
    let mut events = Vec::new();
    let mut state = shared.state.lock();
    if state.closed {
        return events;
    }
    for info in infos {
        let is_local =
            info.identity == local.identity || (!info.sid.is_empty() && info.sid == local.sid);
        if is_local || info.identity.is_empty() {
            continue;
        }
        // A participant that left publishes nothing, whatever it lists.
        let listed: &[proto::DataTrackInfo] = if info.state == ParticipantState::Disconnected as i32
        {
            &[]
        } else {
            &info.data_tracks
        };
        let mut current = HashSet::new();
        for listed in listed {
            current.insert(listed.sid.as_str());
            if state.remote.contains_key(&listed.sid) {
                continue;
            }
            let Some(track_info) = DataTrackInfo::from_proto(listed) else {
                log::warn!("ignoring a data track with an invalid handle: {listed:?}");
                continue;
            };
            let track = Arc::new(RemoteShared {
                info: track_info,
                publisher_identity: info.identity.clone(),
                published: AtomicBool::new(true),
                max_partial_frames: AtomicUsize::new(1),
            });
            state.remote.insert(
                listed.sid.clone(),
                Entry {
                    track: track.clone(),
                    subscription: Subscription::None,
                },
            );
            events.push(RoomEvent::DataTrackPublished(RemoteDataTrack {
                track,
                tracks: Arc::downgrade(shared),
            }));
        }
        let gone: Vec<String> = state
            .remote
            .iter()
            .filter(|(sid, entry)| {
                entry.track.publisher_identity == info.identity && !current.contains(sid.as_str())
            })
            .map(|(sid, _)| sid.clone())
            .collect();
        for sid in gone {
            if let Some(entry) = state.remote.remove(&sid) {
                if let Subscription::Active { handle, .. } = &entry.subscription {
                    state.sub_handles.remove(handle);
                }
                entry.finish(SubscribeDataTrackError::Unpublished);
                events.push(RoomEvent::DataTrackUnpublished {
                    identity: info.identity.clone(),
                    sid,
                });
            }
        }
    }
    events
}

impl Shared {
    /// The server's full map of subscriber handles: start the pending
    /// subscriptions it names, and follow handle changes of active ones.
    pub(super) fn on_subscriber_handles(&self, message: &proto::DataTrackSubscriberHandles) {
        let mut state = self.state.lock();
        let state = &mut *state;
        for (&handle, published) in &message.sub_handles {
            let Some(handle) = u16::try_from(handle).ok().filter(|&h| h != 0) else {
                log::warn!("invalid data track subscriber handle {handle}");
                continue;
            };
            let sid = &published.track_sid;
            let Some(entry) = state.remote.get_mut(sid) else {
                log::debug!("subscriber handle {handle} for unknown data track {sid}");
                continue;
            };
            match &mut entry.subscription {
                Subscription::None => {
                    log::debug!("subscriber handle for data track {sid} we are not subscribing to");
                }
                Subscription::Active {
                    handle: current, ..
                } => {
                    if *current != handle {
                        state.sub_handles.remove(current);
                        *current = handle;
                        state.sub_handles.insert(handle, sid.clone());
                    }
                }
                Subscription::Pending { waiters, buffer } => {
                    let (frames, _) = broadcast::channel(*buffer);
                    for waiter in waiters.drain(..) {
                        let _ = waiter.send(Ok(frames.subscribe()));
                    }
                    if frames.receiver_count() == 0 {
                        // Every subscriber gave up meanwhile.
                        entry.subscription = Subscription::None;
                        self.signal(update_subscription(sid, false));
                        continue;
                    }
                    entry.subscription = Subscription::Active {
                        handle,
                        frames,
                        depacketizer: Depacketizer::default(),
                    };
                    state.sub_handles.insert(handle, sid.clone());
                }
            }
        }
    }

    /// A packet from the server's `_data_track` channel.
    pub(super) fn on_packet(&self, bytes: &Bytes) {
        let (header, payload) = match packet::parse(bytes) {
            Ok(parsed) => parsed,
            Err(err) => {
                log::debug!("dropping a data track packet: {err}");
                return;
            }
        };
        let mut guard = self.state.lock();
        let state = &mut *guard;
        let Some(sid) = state.sub_handles.get(&header.handle).cloned() else {
            log::trace!("data track packet for unknown handle {}", header.handle);
            return;
        };
        let Some(entry) = state.remote.get_mut(&sid) else {
            return;
        };
        let max_partial = entry.track.max_partial_frames.load(Ordering::Relaxed);
        let Subscription::Active {
            frames,
            depacketizer,
            handle,
        } = &mut entry.subscription
        else {
            return;
        };
        let (frame, dropped) = depacketizer.push(&header, payload, max_partial);
        if let Some(dropped) = dropped {
            log::debug!("data track {sid}: dropped a frame ({dropped:?})");
        }
        let Some(frame) = frame else {
            return;
        };
        if frame.extensions.e2ee.is_some() {
            log::debug!("data track {sid}: dropping an encrypted frame");
            return;
        }
        let frame = DataTrackFrame {
            payload: frame.payload,
            user_timestamp: frame.extensions.user_timestamp,
        };
        if frames.send(frame).is_err() {
            // Nobody reads any more (a subscriber vanished without its
            // stream's guard): stop the flow.
            let handle = *handle;
            entry.subscription = Subscription::None;
            state.sub_handles.remove(&handle);
            self.signal(update_subscription(&sid, false));
        }
    }

    /// Unsubscribe from `sid` if no stream and no waiter wants it any
    /// more.
    fn drop_unwanted(&self, sid: &str) {
        let mut state = self.state.lock();
        let Some(entry) = state.remote.get_mut(sid) else {
            return;
        };
        let unwanted = match &mut entry.subscription {
            Subscription::None => false,
            Subscription::Pending { waiters, .. } => {
                waiters.retain(|w| !w.is_closed());
                waiters.is_empty()
            }
            Subscription::Active { frames, .. } => frames.receiver_count() == 0,
        };
        if !unwanted {
            return;
        }
        let previous = std::mem::replace(&mut entry.subscription, Subscription::None);
        if let Subscription::Active { handle, .. } = previous {
            state.sub_handles.remove(&handle);
        }
        self.signal(update_subscription(sid, false));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room::data_tracks::packetizer::{MTU, Packetizer};

    fn participant(identity: &str, tracks: &[(&str, u32)]) -> proto::ParticipantInfo {
        proto::ParticipantInfo {
            identity: identity.into(),
            sid: format!("PA_{identity}"),
            state: ParticipantState::Active as i32,
            data_tracks: tracks
                .iter()
                .map(|&(sid, handle)| proto::DataTrackInfo {
                    pub_handle: handle,
                    sid: sid.into(),
                    name: format!("name-{sid}"),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn me() -> proto::ParticipantInfo {
        participant("me", &[])
    }

    fn handles(map: &[(u32, &str)]) -> proto::DataTrackSubscriberHandles {
        proto::DataTrackSubscriberHandles {
            sub_handles: map
                .iter()
                .map(|&(handle, sid)| {
                    (
                        handle,
                        proto::data_track_subscriber_handles::PublishedDataTrack {
                            track_sid: sid.into(),
                            ..Default::default()
                        },
                    )
                })
                .collect(),
        }
    }

    fn take_track(events: Vec<RoomEvent>) -> RemoteDataTrack {
        match events.as_slice() {
            [RoomEvent::DataTrackPublished(track)] => track.clone(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn publications_come_and_go_with_participant_infos() {
        let shared = Arc::new(Shared::default());
        // Our own tracks are not announced.
        assert!(apply_update(&shared, &[participant("me", &[("DTR_m", 1)])], &me()).is_empty());
        let track = take_track(apply_update(
            &shared,
            &[participant("a", &[("DTR_1", 1)])],
            &me(),
        ));
        assert_eq!(track.info().sid, "DTR_1");
        assert_eq!(track.publisher_identity(), "a");
        assert!(track.is_published());
        // Listed again: nothing new.
        assert!(apply_update(&shared, &[participant("a", &[("DTR_1", 1)])], &me()).is_empty());
        // Another participant's update does not touch a's tracks.
        assert_eq!(
            apply_update(&shared, &[participant("b", &[("DTR_2", 1)])], &me()).len(),
            1
        );
        let events = apply_update(&shared, &[participant("a", &[])], &me());
        assert!(matches!(
            events.as_slice(),
            [RoomEvent::DataTrackUnpublished { identity, sid }] if identity == "a" && sid == "DTR_1"
        ));
        assert!(!track.is_published());
        // A participant that left publishes nothing, whatever it lists.
        let mut gone = participant("b", &[("DTR_2", 1)]);
        gone.state = ParticipantState::Disconnected as i32;
        assert_eq!(apply_update(&shared, &[gone], &me()).len(), 1);
        // An invalid handle is ignored.
        assert!(apply_update(&shared, &[participant("c", &[("DTR_3", 0)])], &me()).is_empty());
    }

    #[tokio::test]
    async fn a_subscription_delivers_frames_and_ends_with_the_track() {
        let shared = Arc::new(Shared::default());
        let mut outbox = shared.outbox_rx.lock().take().unwrap();
        let track = take_track(apply_update(
            &shared,
            &[participant("a", &[("DTR_1", 7)])],
            &me(),
        ));
        let subscribing = tokio::spawn({
            let track = track.clone();
            async move { track.subscribe(Some(4)).await }
        });
        match outbox.recv().await {
            Some(Request::UpdateDataSubscription(u)) => {
                assert_eq!(u.updates[0].track_sid, "DTR_1");
                assert!(u.updates[0].subscribe);
            }
            other => panic!("unexpected {other:?}"),
        }
        shared.on_subscriber_handles(&handles(&[(300, "DTR_1")]));
        let mut stream = subscribing.await.unwrap().unwrap();
        // A second subscriber shares the subscription: no new request.
        let mut second = track.subscribe(None).await.unwrap();

        // Packets as the server forwards them: our subscriber handle.
        let mut packetizer = Packetizer::new(300, MTU);
        let big: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
        for payload in [&b"one"[..], &big] {
            for packet in packetizer.packetize(payload, Some(9)).unwrap() {
                shared.on_packet(&packet);
            }
        }
        // Packets for another handle, or garbage, are dropped.
        let mut other = Packetizer::new(301, MTU);
        shared.on_packet(&other.packetize(b"x", None).unwrap()[0]);
        shared.on_packet(&Bytes::from_static(&[1, 2, 3]));

        for s in [&mut stream, &mut second] {
            let first = s.recv().await.unwrap();
            assert_eq!(first.payload.as_ref(), b"one");
            assert_eq!(first.user_timestamp, Some(9));
            assert_eq!(s.recv().await.unwrap().payload.as_ref(), big.as_slice());
        }
        drop(second);
        assert!(outbox.try_recv().is_err(), "one stream remains");

        apply_update(&shared, &[participant("a", &[])], &me());
        assert_eq!(stream.recv().await, None);
        assert_eq!(
            track.subscribe(None).await.unwrap_err(),
            SubscribeDataTrackError::Unpublished
        );
    }

    #[tokio::test]
    async fn the_last_stream_dropped_unsubscribes() {
        let shared = Arc::new(Shared::default());
        let mut outbox = shared.outbox_rx.lock().take().unwrap();
        let track = take_track(apply_update(
            &shared,
            &[participant("a", &[("DTR_1", 7)])],
            &me(),
        ));
        let subscribing = tokio::spawn({
            let track = track.clone();
            async move { track.subscribe(None).await }
        });
        let _ = outbox.recv().await;
        shared.on_subscriber_handles(&handles(&[(5, "DTR_1")]));
        let stream = subscribing.await.unwrap().unwrap();
        drop(stream);
        match outbox.try_recv() {
            Ok(Request::UpdateDataSubscription(u)) => assert!(!u.updates[0].subscribe),
            other => panic!("unexpected {other:?}"),
        }
        assert!(shared.state.lock().sub_handles.is_empty());
    }

    #[tokio::test]
    async fn closing_fails_pending_subscriptions() {
        let shared = Arc::new(Shared::default());
        let tracks = super::super::DataTracks {
            shared: shared.clone(),
            channel: Default::default(),
        };
        let track = take_track(apply_update(
            &shared,
            &[participant("a", &[("DTR_1", 7)])],
            &me(),
        ));
        let subscribing = tokio::spawn({
            let track = track.clone();
            async move { track.subscribe(None).await }
        });
        tokio::task::yield_now().await;
        while matches!(
            shared
                .state
                .lock()
                .remote
                .get("DTR_1")
                .map(|e| &e.subscription),
            Some(Subscription::None)
        ) {
            tokio::task::yield_now().await;
        }
        tracks.close();
        assert_eq!(
            subscribing.await.unwrap().unwrap_err(),
            SubscribeDataTrackError::Disconnected
        );
        assert!(!track.is_published());
        assert_eq!(
            track.subscribe(None).await.unwrap_err(),
            SubscribeDataTrackError::Disconnected
        );
    }
}
