//! One connected session: the signal client, the two peer connections and
//! the room state, with the tasks that move messages between them.
//!
//! Every room event goes through [`Session::emit`], which holds the state
//! lock while it updates the model and queues the events, so the consumer
//! sees events in the order the model changed.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use livekit_protocol as proto;
use livekit_signaling::{SignalClient, SignalEvent};
use parking_lot::Mutex;
use proto::signal_request::Message as Request;
use proto::signal_response::Message as Response;
use tokio::sync::{Notify, mpsc, oneshot, watch};

use super::data;
use super::data_tracks::{self, DataTracks};
use super::error::RoomError;
use super::events::{ConnectionState, DataKind, RoomEvent};
use super::live::RejoinRequest;
use super::media::Media;
use super::resume::{ResumeCause, ResumeState};
use super::state::RoomState;
use crate::transport::{
    DataChannel, DataChannelEvent, IceCandidateInit, PcState, PeerTransport, Target, TransportEvent,
};

/// Buffered-amount-low threshold both channels start with.
pub const DEFAULT_DC_THRESHOLD: u64 = 2 * 1024 * 1024;

/// How long the peer connections get to connect.
pub const PC_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A request that completes when the server confirms it.
struct PendingUpdate {
    request_id: u32,
    /// Whether a new local participant info shows the change applied.
    applied: Box<dyn Fn(&proto::ParticipantInfo) -> bool + Send>,
    done: oneshot::Sender<Result<(), RoomError>>,
}

/// The live session. Shared by the room handle and its tasks.
pub(crate) struct Session {
    /// Host requests' signal messages, in request order (see
    /// [`Session::queue_signal`]).
    outbox: mpsc::UnboundedSender<Request>,
    pub(super) signal: SignalClient,
    pub(super) publisher: PeerTransport,
    pub(super) subscriber: PeerTransport,
    pub(super) state: Mutex<RoomState>,
    /// Published and subscribed tracks.
    pub(super) media: Media,
    /// Published and known remote data tracks.
    pub(super) data_tracks: DataTracks,
    events: Mutex<Option<mpsc::UnboundedSender<RoomEvent>>>,
    /// Events produced while joining; `None` once joined.
    held_events: Mutex<Option<Vec<RoomEvent>>>,
    pub(super) reliable: DataChannel,
    pub(super) lossy: DataChannel,
    /// Publisher and subscriber PC states, for waiting on them.
    pub_state: watch::Sender<PcState>,
    sub_state: watch::Sender<PcState>,
    /// Signalled when a publisher channel opens or drains.
    pub(super) channel_change: Notify,
    /// Thresholds of `_lossy` and `_reliable`.
    thresholds: [AtomicU64; 2],
    /// Negotiated data-channel message limit; `usize::MAX` for none.
    pub(super) max_message_size: AtomicU64,
    /// The publisher's pending answer, completed by the signal task.
    pub(super) answer_waiter: Mutex<Option<oneshot::Sender<String>>>,
    pub(super) negotiation: tokio::sync::Mutex<bool>,
    pending: Mutex<Vec<PendingUpdate>>,
    /// Publisher candidates gathered before the first offer was sent: the
    /// engine can emit them before `create_offer` returns, and a candidate
    /// must not reach the server ahead of its offer.
    held_candidates: Mutex<Option<Vec<IceCandidateInit>>>,
    sequence: AtomicU32,
    offer_id: AtomicU32,
    closed: watch::Sender<bool>,
    /// What resuming the session needs (see `resume.rs`).
    pub(super) resume: ResumeState,
    /// Where to ask for a full reconnect (see `live.rs`); unset while
    /// joining, when there is nothing to reconnect yet.
    pub(super) rejoin: OnceLock<mpsc::UnboundedSender<RejoinRequest>>,
}

fn kind_index(kind: DataKind) -> usize {
    match kind {
        DataKind::Lossy => 0,
        DataKind::Reliable => 1,
    }
}

impl Session {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        signal: SignalClient,
        publisher: PeerTransport,
        subscriber: PeerTransport,
        state: RoomState,
        events: mpsc::UnboundedSender<RoomEvent>,
        reliable: DataChannel,
        lossy: DataChannel,
    ) -> Arc<Self> {
        let (outbox, mut outgoing) = mpsc::unbounded_channel::<Request>();
        let session = Arc::new(Self {
            outbox,
            signal,
            publisher,
            subscriber,
            state: Mutex::new(state),
            media: Media::default(),
            data_tracks: DataTracks::default(),
            events: Mutex::new(Some(events)),
            held_events: Mutex::new(Some(Vec::new())),
            reliable,
            lossy,
            pub_state: watch::channel(PcState::New).0,
            sub_state: watch::channel(PcState::New).0,
            channel_change: Notify::new(),
            thresholds: [
                AtomicU64::new(DEFAULT_DC_THRESHOLD),
                AtomicU64::new(DEFAULT_DC_THRESHOLD),
            ],
            max_message_size: AtomicU64::new(64_000),
            answer_waiter: Mutex::new(None),
            negotiation: tokio::sync::Mutex::new(false),
            pending: Mutex::new(Vec::new()),
            held_candidates: Mutex::new(Some(Vec::new())),
            sequence: AtomicU32::new(0),
            offer_id: AtomicU32::new(0),
            closed: watch::channel(false).0,
            resume: ResumeState::default(),
            rejoin: OnceLock::new(),
        });
        let weak = Arc::downgrade(&session);
        tokio::spawn(async move {
            while let Some(request) = outgoing.recv().await {
                let Some(session) = weak.upgrade() else {
                    return;
                };
                session.signal.send(request).await;
            }
        });
        session
    }

    /// Queue events for the consumer; a no-op once the room is closed.
    /// While joining they are held, so that the consumer's first event is
    /// the connection state, whatever the server said during the join.
    pub(super) fn emit(&self, events: impl IntoIterator<Item = RoomEvent>) {
        let guard = self.events.lock();
        let mut held = self.held_events.lock();
        if let Some(held) = held.as_mut() {
            held.extend(events);
            return;
        }
        if let Some(tx) = guard.as_ref() {
            for event in events {
                let _ = tx.send(event);
            }
        }
    }

    /// Whether the join is still running (its events are held back).
    pub(super) fn is_joining(&self) -> bool {
        self.held_events.lock().is_some()
    }

    /// The stream this session reports into, while it does.
    pub(super) fn events_sender(&self) -> Option<mpsc::UnboundedSender<RoomEvent>> {
        self.events.lock().clone()
    }

    /// The join is complete: send `first`, then what was held meanwhile,
    /// and send later events straight away.
    pub(super) fn release_events(&self, first: impl IntoIterator<Item = RoomEvent>) {
        let guard = self.events.lock();
        let held = self.held_events.lock().take().unwrap_or_default();
        if let Some(tx) = guard.as_ref() {
            for event in first.into_iter().chain(held) {
                let _ = tx.send(event);
            }
        }
    }

    /// Whether [`Session::close`] ran.
    pub(super) fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Watch [`Session::is_closed`] change.
    pub(super) fn closed_watch(&self) -> watch::Receiver<bool> {
        self.closed.subscribe()
    }

    /// Watch a peer connection's state.
    pub(super) fn pc_state(&self, target: Target) -> watch::Receiver<PcState> {
        match target {
            Target::Publisher => self.pub_state.subscribe(),
            Target::Subscriber => self.sub_state.subscribe(),
        }
    }

    /// Next reliable-packet sequence number, counting from 1.
    pub(super) fn next_sequence(&self) -> u32 {
        self.sequence.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(super) fn next_offer_id(&self) -> u32 {
        self.offer_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Current buffered-amount-low threshold of a channel kind.
    pub(super) fn threshold(&self, kind: DataKind) -> u64 {
        self.thresholds[kind_index(kind)].load(Ordering::Relaxed)
    }

    /// Change a channel's threshold and report it.
    pub(super) fn set_threshold(&self, kind: DataKind, threshold: u64) {
        self.thresholds[kind_index(kind)].store(threshold, Ordering::Relaxed);
        self.channel(kind)
            .set_buffered_amount_low_threshold(threshold);
        self.channel_change.notify_waiters();
        self.emit([RoomEvent::DataChannelThresholdChanged { kind, threshold }]);
    }

    pub(super) fn channel(&self, kind: DataKind) -> &DataChannel {
        match kind {
            DataKind::Lossy => &self.lossy,
            DataKind::Reliable => &self.reliable,
        }
    }

    /// Wait until a peer connection is connected, or fail on timeout,
    /// failure or close.
    pub(super) async fn wait_connected(&self, target: Target) -> Result<(), RoomError> {
        let mut rx = match target {
            Target::Publisher => self.pub_state.subscribe(),
            Target::Subscriber => self.sub_state.subscribe(),
        };
        let mut closed = self.closed.subscribe();
        let wait = async {
            loop {
                match *rx.borrow_and_update() {
                    PcState::Connected => return Ok(()),
                    PcState::Failed => {
                        return Err(RoomError::Transport(format!(
                            "{target:?} connection failed"
                        )));
                    }
                    PcState::Closed => return Err(RoomError::Closed),
                    _ => {}
                }
                tokio::select! {
                    changed = rx.changed() => if changed.is_err() { return Err(RoomError::Closed) },
                    _ = closed.wait_for(|c| *c) => return Err(RoomError::Closed),
                }
            }
        };
        tokio::time::timeout(PC_CONNECT_TIMEOUT, wait)
            .await
            .map_err(|_| {
                RoomError::Timeout(format!(
                    "{target:?} peer connection did not connect in 15 s"
                ))
            })?
    }

    /// Send a signal request; the signal client queues it while resuming.
    pub(super) async fn send_signal(&self, request: Request) {
        self.signal.send(request).await;
    }

    /// Queue a signal request made by the host; these go out in the order
    /// they were queued. Requests the host makes one after the other (set
    /// permissions, then publish) must reach the server in that order, and
    /// each is handled on its own task.
    pub(super) fn queue_signal(&self, request: Request) {
        let _ = self.outbox.send(request);
    }

    /// Register a metadata/name/attributes request and send it.
    pub(super) async fn update_local(
        self: &Arc<Self>,
        update: proto::UpdateParticipantMetadata,
        applied: Box<dyn Fn(&proto::ParticipantInfo) -> bool + Send>,
    ) -> Result<(), RoomError> {
        if self.is_closed() {
            return Err(RoomError::Closed);
        }
        let request_id = self.signal.next_request_id();
        let (done, rx) = oneshot::channel();
        self.pending.lock().push(PendingUpdate {
            request_id,
            applied,
            done,
        });
        self.send_signal(Request::UpdateMetadata(proto::UpdateParticipantMetadata {
            request_id,
            ..update
        }))
        .await;
        match tokio::time::timeout(Duration::from_secs(10), rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(RoomError::Closed),
            Err(_) => {
                self.pending.lock().retain(|p| p.request_id != request_id);
                Err(RoomError::Timeout(
                    "the server did not confirm the update".into(),
                ))
            }
        }
    }

    fn resolve_pending(&self, local: &proto::ParticipantInfo) {
        let mut pending = self.pending.lock();
        let mut i = 0;
        while i < pending.len() {
            if (pending[i].applied)(local) {
                let p = pending.remove(i);
                let _ = p.done.send(Ok(()));
            } else {
                i += 1;
            }
        }
    }

    fn answer_request(&self, response: &proto::RequestResponse) {
        let mut pending = self.pending.lock();
        if let Some(i) = pending
            .iter()
            .position(|p| p.request_id == response.request_id)
        {
            let p = pending.remove(i);
            // The official library completes these requests without
            // looking at the server's verdict; hosts written against it
            // expect no error, so a refusal is logged rather than raised.
            if response.reason != proto::request_response::Reason::Ok as i32 {
                log::warn!(
                    "the server refused request {}: {} ({})",
                    response.request_id,
                    response.message,
                    response.reason
                );
            }
            let result = Ok(());
            let _ = p.done.send(result);
        }
    }

    /// Handle one message from the server.
    pub(super) async fn on_signal(self: &Arc<Self>, message: Response) {
        match message {
            Response::Offer(offer) => match self.subscriber.answer_remote_offer(&offer.sdp).await {
                Ok(sdp) => {
                    self.send_signal(Request::Answer(proto::SessionDescription {
                        r#type: "answer".into(),
                        sdp,
                        id: offer.id,
                        ..Default::default()
                    }))
                    .await;
                }
                Err(err) => log::error!("could not answer the server's offer: {err}"),
            },
            Response::Answer(answer) => {
                if let Some(limit) = data::max_message_size(&answer.sdp) {
                    self.max_message_size.store(limit as u64, Ordering::Relaxed);
                } else {
                    self.max_message_size.store(u64::MAX, Ordering::Relaxed);
                }
                let waiter = self.answer_waiter.lock().take();
                match waiter {
                    Some(tx) => {
                        let _ = tx.send(answer.sdp);
                    }
                    None => {
                        if let Err(err) = self.publisher.set_remote_answer(&answer.sdp).await {
                            log::warn!("unexpected publisher answer not applied: {err}");
                        }
                    }
                }
            }
            Response::Trickle(trickle) => {
                let candidate: IceCandidateInit =
                    match serde_json::from_str(&trickle.candidate_init) {
                        Ok(c) => c,
                        Err(err) => {
                            log::warn!("bad trickle candidate from server: {err}");
                            return;
                        }
                    };
                let pc = if trickle.target == proto::SignalTarget::Subscriber as i32 {
                    &self.subscriber
                } else {
                    &self.publisher
                };
                if let Err(err) = pc.add_ice_candidate(candidate).await {
                    log::warn!("remote candidate not added: {err}");
                }
            }
            Response::Update(update) => {
                self.resume.note_seen(&update.participants);
                let mut state = self.state.lock();
                let events = state.apply_participant_update(&update.participants);
                let local = state.local.clone();
                self.emit(self.with_media_events(events));
                self.emit(self.data_tracks.apply_update(&update.participants, &local));
                drop(state);
                self.resolve_pending(&local);
                self.retry_pending_tracks();
            }
            Response::TrackPublished(published) => self.on_track_published(published),
            Response::TrackSubscribed(subscribed) => {
                self.emit([RoomEvent::LocalTrackSubscribed {
                    sid: subscribed.track_sid,
                }]);
            }
            Response::RoomUpdate(update) => {
                if let Some(room) = update.room {
                    let mut state = self.state.lock();
                    let events = state.apply_room_update(&room);
                    self.emit(events);
                }
            }
            Response::SpeakersChanged(speakers) => {
                let mut state = self.state.lock();
                let events = state.apply_speakers(&speakers.speakers);
                self.emit(events);
            }
            Response::ConnectionQuality(quality) => {
                let state = self.state.lock();
                let events = state.apply_quality(&quality.updates);
                self.emit(events);
            }
            Response::Mute(mute) => self.on_server_mute(&mute.sid, mute.muted),
            Response::RefreshToken(token) => {
                self.emit([RoomEvent::TokenRefreshed(token)]);
            }
            message @ (Response::PublishDataTrackResponse(_)
            | Response::UnpublishDataTrackResponse(_)
            | Response::DataTrackSubscriberHandles(_)) => self.on_data_track_signal(message),
            Response::RequestResponse(response)
                if data_tracks::is_data_track_response(&response) =>
            {
                self.on_data_track_signal(Response::RequestResponse(response))
            }
            Response::RequestResponse(response) => self.answer_request(&response),
            Response::Leave(leave) => {
                use proto::leave_request::Action;
                let action = Action::try_from(leave.action).unwrap_or(Action::Disconnect);
                match action {
                    Action::Resume => self.start_resume(ResumeCause::ServerLeave(leave.reason)),
                    Action::Reconnect => self.request_rejoin(leave.reason).await,
                    Action::Disconnect => self.close(leave.reason, false).await,
                }
            }
            other => log::debug!("ignored signal message {other:?}"),
        }
    }

    /// Handle one event of either peer connection.
    pub(super) async fn on_transport(self: &Arc<Self>, target: Target, event: TransportEvent) {
        match event {
            TransportEvent::IceCandidate(candidate) => {
                if target == Target::Publisher
                    && let Some(held) = self.held_candidates.lock().as_mut()
                {
                    held.push(candidate);
                    return;
                }
                self.trickle(target, candidate).await;
            }
            TransportEvent::State(state) => {
                let tx = match target {
                    Target::Publisher => &self.pub_state,
                    Target::Subscriber => &self.sub_state,
                };
                tx.send_replace(state);
                // The remote end closing reads as Closed, not Failed: either
                // way, a connection we did not close is lost. A resume
                // restarts ICE on a failed one; a closed one makes the
                // resume give up and close the room.
                if matches!(state, PcState::Failed | PcState::Closed) && !self.is_closed() {
                    log::warn!("{target:?} peer connection lost ({state:?}); resuming");
                    self.start_resume(ResumeCause::PeerFailed(target));
                }
            }
            TransportEvent::DataChannel(channel)
                if channel.label() == data_tracks::DATA_TRACK_LABEL =>
            {
                self.resume.note_subscriber_channel(&channel);
                self.spawn_data_track_reader(channel)
            }
            TransportEvent::DataChannel(channel) => {
                self.resume.note_subscriber_channel(&channel);
                self.spawn_channel_reader(channel);
            }
            TransportEvent::Track(track) => self.on_remote_track(track),
        }
    }

    /// Send one local candidate to the server.
    async fn trickle(&self, target: Target, candidate: IceCandidateInit) {
        let candidate_init = match serde_json::to_string(&candidate) {
            Ok(json) => json,
            Err(err) => {
                log::warn!("local candidate not serialisable: {err}");
                return;
            }
        };
        self.send_signal(Request::Trickle(proto::TrickleRequest {
            candidate_init,
            target: target as i32,
            r#final: false,
        }))
        .await;
    }

    /// The first publisher offer is out: send the candidates held until
    /// now, and later ones straight away.
    pub(super) async fn release_candidates(&self) {
        let held = self.held_candidates.lock().take().unwrap_or_default();
        for candidate in held {
            self.trickle(Target::Publisher, candidate).await;
        }
    }

    /// Read a data channel's events until it closes.
    pub(super) fn spawn_channel_reader(self: &Arc<Self>, channel: DataChannel) {
        let Some(mut events) = channel.take_events() else {
            return;
        };
        let kind = data::kind_of_label(&channel.label());
        let session = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let Some(session) = session.upgrade() else {
                    return;
                };
                match event {
                    DataChannelEvent::Message(bytes) => {
                        let Some(kind) = kind else {
                            continue;
                        };
                        let state = session.state.lock();
                        if let Some(event) = data::decode(&bytes, kind, &state) {
                            session.emit([event]);
                        }
                    }
                    DataChannelEvent::Open
                    | DataChannelEvent::BufferedAmountLow
                    | DataChannelEvent::Closed => session.channel_change.notify_waiters(),
                }
            }
        });
    }

    /// Forward signal messages until the signal client is gone. A closed
    /// socket starts a resume; the restarted socket reports on the same
    /// channel, so the task carries on.
    pub(super) fn spawn_signal_task(
        self: &Arc<Self>,
        mut events: mpsc::UnboundedReceiver<SignalEvent>,
    ) {
        let session = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let Some(session) = session.upgrade() else {
                    return;
                };
                match event {
                    SignalEvent::Message(message) => session.on_signal(*message).await,
                    SignalEvent::Close(why) => {
                        if session.is_closed() {
                            return;
                        }
                        // While resuming, this is the replaced socket's own
                        // close (or a new loss the attempt itself notices).
                        if !session.resume.is_active() {
                            log::warn!("signal connection closed: {why}");
                            session.start_resume(ResumeCause::SignalLost);
                        }
                    }
                }
            }
        });
    }

    /// Forward transport events until both transports are gone.
    pub(super) fn spawn_transport_task(
        self: &Arc<Self>,
        mut events: mpsc::UnboundedReceiver<(Target, TransportEvent)>,
    ) {
        let session = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some((target, event)) = events.recv().await {
                let Some(session) = session.upgrade() else {
                    return;
                };
                session.on_transport(target, event).await;
            }
        });
    }

    /// Close the session once: tell the server when we are the ones
    /// leaving, tear down the transports, report the disconnect and end
    /// the event stream.
    pub(super) async fn close(self: &Arc<Self>, reason: i32, notify_server: bool) {
        self.shut_down(reason, notify_server, true).await;
    }

    /// Close the session without a word to the host: a full reconnect
    /// replaces it and carries its event stream on. False if it was
    /// closed already.
    pub(super) async fn retire(self: &Arc<Self>) -> bool {
        let reason = proto::DisconnectReason::StateMismatch as i32;
        self.shut_down(reason, false, false).await
    }

    /// Close once; false if closed already.
    async fn shut_down(self: &Arc<Self>, reason: i32, notify_server: bool, report: bool) -> bool {
        if self.closed.send_replace(true) {
            return false;
        }
        if !report {
            self.events.lock().take();
        }
        self.unpublish_all().await;
        self.stop_subscriptions();
        self.data_tracks.close();
        if notify_server {
            self.send_signal(Request::Leave(proto::LeaveRequest {
                reason,
                action: proto::leave_request::Action::Disconnect as i32,
                ..Default::default()
            }))
            .await;
        }
        for p in self.pending.lock().drain(..) {
            let _ = p.done.send(Err(RoomError::Closed));
        }
        self.answer_waiter.lock().take();
        self.channel_change.notify_waiters();
        self.release_events([]);
        self.emit([
            RoomEvent::ConnectionStateChanged(ConnectionState::Disconnected),
            RoomEvent::Disconnected { reason },
        ]);
        self.events.lock().take();
        let session = self.clone();
        // The signal task may be the caller; closing the signal client waits
        // for that task, so do the teardown on its own task.
        let teardown = tokio::spawn(async move {
            session.signal.close().await;
            session.publisher.close().await;
            session.subscriber.close().await;
        });
        if notify_server {
            let _ = tokio::time::timeout(Duration::from_secs(5), teardown).await;
        }
        true
    }
}
