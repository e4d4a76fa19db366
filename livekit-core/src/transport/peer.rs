//! The peer connection: [`PeerTransport`] over the engine's
//! `PeerConnection`, and the event handler that reports to the room engine.
//!
//! The engine runs one driver task per connection (spawned on the ambient
//! Tokio runtime when the connection is built) that owns the sockets and
//! calls our [`Handler`] from inside that task. The handler therefore only
//! translates and forwards: it never waits on anything the driver must do.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use webrtc::data_channel::DataChannel as EngineChannel;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceConnectionState,
    RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription, StatsSelector,
};
use webrtc::rtp_transceiver::{RTCRtpSenderId, RtpTransceiver};
use webrtc::runtime::TokioRuntime;

use super::candidates::{IceCandidateInit, Negotiation, first_mid};
use super::config::{JoinTuning, TransportConfig, fill_then};
use super::data_channel::{DataChannel, DataChannelOptions, OpenWatch};
use super::offered_tracks::{OfferedTrack, offered_tracks};
use super::remote_track::RemoteTrack;
use super::stats::{TransportStats, from_report};
use super::stereo::add_stereo;
use super::{PcState, Result, Target, TransportError, TransportEvent};

/// One peer connection.
///
/// Must be built and used inside a Tokio runtime (the engine spawns its
/// driver with `tokio::spawn`). Dropping it without [`close`](Self::close)
/// closes it in the background.
pub struct PeerTransport {
    target: Target,
    pc: Arc<dyn PeerConnection>,
    shared: Arc<Shared>,
    /// Descriptions and held candidates. Every operation that changes the
    /// signalling state holds it, so a candidate is either applied against
    /// the description in force or held for the next one.
    negotiation: tokio::sync::Mutex<Negotiation>,
}

/// State the handler, the transport and its media handles see. Media
/// handles hold it weakly, so they do not keep the event channel open.
pub(super) struct Shared {
    target: Target,
    events: mpsc::UnboundedSender<(Target, TransportEvent)>,
    state: AtomicU8,
    closed: AtomicBool,
    /// Mid of the first media section of the local description, which our
    /// trickled candidates name.
    first_mid: parking_lot::Mutex<Option<String>>,
    /// The connection, for the data channels the remote side opens.
    pc: OnceLock<Weak<dyn PeerConnection>>,
    /// Channels we created, to know when they have all opened.
    local_channels: parking_lot::Mutex<Vec<OpenWatch>>,
    /// Requests for [`request_flush_pokes`], counted.
    poke_requests: AtomicU64,
    /// A [`request_flush_pokes`] loop is running.
    poking: AtomicBool,
    /// [`request_flush_pokes`] is enabled (always, but for comparisons).
    flush_pokes: bool,
    /// Remote descriptions applied so far: media handles re-read what was
    /// negotiated when it changes.
    negotiations: AtomicU64,
    /// Transceivers of stereo audio senders, by sender, whose offers need
    /// the stereo Opus parameters.
    pub(super) stereo: parking_lot::Mutex<Vec<(RTCRtpSenderId, Arc<dyn RtpTransceiver>)>>,
    /// Remote tracks announced and not ended.
    remote_tracks: parking_lot::Mutex<Vec<RemoteTrack>>,
    /// RED is in the media engine (not disabled by the configuration).
    pub(super) red_registered: bool,
}

impl Shared {
    fn emit(&self, event: TransportEvent) {
        // The engine may have dropped its receiver while closing; there is
        // nobody left to tell.
        let _ = self.events.send((self.target, event));
    }

    fn set_state(&self, state: PcState) {
        self.state.store(state as u8, Ordering::Release);
    }

    /// The connection, once built.
    fn pc(&self) -> Option<Weak<dyn PeerConnection>> {
        self.pc.get().cloned()
    }

    /// Whether the transport was closed.
    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Current connection state.
    pub(super) fn state(&self) -> PcState {
        PcState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// How many remote descriptions were applied: changes when what was
    /// negotiated may have.
    pub(super) fn negotiation_round(&self) -> u64 {
        self.negotiations.load(Ordering::Acquire)
    }

    /// Some channel we created has not opened (or closed) yet.
    fn local_channels_pending(&self) -> bool {
        let mut channels = self.local_channels.lock();
        channels.retain(OpenWatch::is_pending);
        !channels.is_empty()
    }
}

/// How often [`request_flush_pokes`] wakes the driver.
const POKE_INTERVAL: Duration = Duration::from_millis(2);

/// How long [`request_flush_pokes`] keeps going for channels that do not open.
const POKE_WINDOW: Duration = Duration::from_secs(2);

/// Wake the engine's driver so it sends what the connection queued while
/// it was dispatching events, now rather than on its next timer.
///
/// The driver of `webrtc` 0.21.1 sends queued packets at the top of each
/// loop iteration, before it dispatches the core's events; packets that
/// handling an event queues wait for the next iteration, which, once ICE
/// is connected, comes with the ICE timer every 200 ms. Three steps of
/// every connection are queued that way: the DTLS ClientHello (when ICE
/// connects, on the DTLS client), the SCTP INIT (when DTLS completes, on
/// the DTLS client) and the data-channel OPENs (when the SCTP association
/// is up, on the side that created the channels). Each can add up to
/// 200 ms to the join.
///
/// Any application call that reaches the driver wakes it for another
/// iteration. The one without side effects is re-applying the current
/// configuration, so this does that: once per request (ICE connected,
/// connection connected; the packets are queued by the time the handler
/// hears of those), and then every 2 ms while a channel we created has not
/// opened, for at most 2 s.
fn request_flush_pokes(shared: &Arc<Shared>) {
    if !shared.flush_pokes {
        return;
    }
    shared.poke_requests.fetch_add(1, Ordering::AcqRel);
    if shared.poking.swap(true, Ordering::AcqRel) {
        // The running loop sees the new request.
        return;
    }
    let Some(pc) = shared.pc() else {
        shared.poking.store(false, Ordering::Release);
        return;
    };
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let mut deadline = tokio::time::Instant::now() + POKE_WINDOW;
        loop {
            let seen = shared.poke_requests.load(Ordering::Acquire);
            let Some(strong) = pc.upgrade() else {
                break;
            };
            if shared.closed.load(Ordering::Acquire) {
                break;
            }
            let configuration = strong.get_configuration().await;
            if strong.set_configuration(configuration).await.is_err() {
                break;
            }
            drop(strong);
            if shared.poke_requests.load(Ordering::Acquire) != seen {
                deadline = tokio::time::Instant::now() + POKE_WINDOW;
                continue;
            }
            if shared.local_channels_pending() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(POKE_INTERVAL).await;
                continue;
            }
            shared.poking.store(false, Ordering::Release);
            // A request that came in after the check above found the loop
            // still running and left it to us.
            if shared.poke_requests.load(Ordering::Acquire) != seen
                && !shared.poking.swap(true, Ordering::AcqRel)
            {
                continue;
            }
            return;
        }
        shared.poking.store(false, Ordering::Release);
    });
}

impl PcState {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => PcState::New,
            1 => PcState::Connecting,
            2 => PcState::Connected,
            3 => PcState::Disconnected,
            4 => PcState::Failed,
            _ => PcState::Closed,
        }
    }

    fn from_engine(state: RTCPeerConnectionState) -> Option<Self> {
        Some(match state {
            RTCPeerConnectionState::New => PcState::New,
            RTCPeerConnectionState::Connecting => PcState::Connecting,
            RTCPeerConnectionState::Connected => PcState::Connected,
            RTCPeerConnectionState::Disconnected => PcState::Disconnected,
            RTCPeerConnectionState::Failed => PcState::Failed,
            RTCPeerConnectionState::Closed => PcState::Closed,
            _ => return None,
        })
    }
}

/// Receives the engine's callbacks, on its driver task.
struct Handler {
    shared: Arc<Shared>,
}

impl Handler {
    fn ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        match event.candidate.to_json() {
            Ok(init) => {
                let mid = self.shared.first_mid.lock().clone();
                self.shared
                    .emit(TransportEvent::IceCandidate(IceCandidateInit::from_engine(
                        init, mid,
                    )));
            }
            Err(e) => log::warn!("{:?}: unusable local candidate: {e}", self.shared.target),
        }
    }

    fn connection_state(&self, state: RTCPeerConnectionState) {
        if self.shared.closed.load(Ordering::Acquire) {
            return;
        }
        if let Some(state) = PcState::from_engine(state) {
            log::debug!("{:?}: connection state {state:?}", self.shared.target);
            if state == PcState::Connected {
                request_flush_pokes(&self.shared);
            }
            self.shared.set_state(state);
            self.shared.emit(TransportEvent::State(state));
        }
    }

    fn ice_connection_state(&self, state: RTCIceConnectionState) {
        if state == RTCIceConnectionState::Connected {
            request_flush_pokes(&self.shared);
        }
    }

    async fn data_channel(&self, channel: Arc<dyn EngineChannel>) {
        let channel = DataChannel::remote(channel, self.shared.pc()).await;
        self.shared.emit(TransportEvent::DataChannel(channel));
    }

    /// The engine announces a remote track at its first packet, once per
    /// track id for the connection's life. A track the remote offer named
    /// was reported already (see `PeerTransport::announce_offered_tracks`)
    /// and gets the engine's track now; any other is reported now.
    async fn track(&self, track: Arc<dyn TrackRemote>) {
        if self.shared.is_closed() {
            return;
        }
        let track_id = track.track_id().await;
        let stream_id = track.stream_id().await;
        let video = track.kind().await.to_string() == "video";
        let pc = self.shared.pc();
        let link = Arc::downgrade(&self.shared);
        let announced = {
            let mut tracks = self.shared.remote_tracks.lock();
            if tracks.iter().any(|known| known.wraps(&track)) {
                return;
            }
            let offered = tracks
                .iter()
                .find(|t| t.track_id() == track_id && !t.is_attached() && !t.is_ended());
            if let Some(offered) = offered {
                offered.attach(track, pc, link);
                return;
            }
            let remote = RemoteTrack::from_engine(track, track_id, stream_id, video, pc, link);
            tracks.retain(|t| !t.is_ended());
            tracks.push(remote.clone());
            remote
        };
        self.shared.emit(TransportEvent::Track(announced));
    }
}

/// The engine's handler trait is declared with `async_trait`; this is what
/// that macro would generate, written out so we need no macro crate.
type HandlerFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

impl PeerConnectionEventHandler for Handler {
    fn on_ice_candidate<'life0, 'async_trait>(
        &'life0 self,
        event: RTCPeerConnectionIceEvent,
    ) -> HandlerFuture<'async_trait>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        self.ice_candidate(event);
        Box::pin(std::future::ready(()))
    }

    fn on_connection_state_change<'life0, 'async_trait>(
        &'life0 self,
        state: RTCPeerConnectionState,
    ) -> HandlerFuture<'async_trait>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        self.connection_state(state);
        Box::pin(std::future::ready(()))
    }

    fn on_ice_connection_state_change<'life0, 'async_trait>(
        &'life0 self,
        state: RTCIceConnectionState,
    ) -> HandlerFuture<'async_trait>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        self.ice_connection_state(state);
        Box::pin(std::future::ready(()))
    }

    fn on_data_channel<'life0, 'async_trait>(
        &'life0 self,
        channel: Arc<dyn EngineChannel>,
    ) -> HandlerFuture<'async_trait>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(self.data_channel(channel))
    }

    fn on_track<'life0, 'async_trait>(
        &'life0 self,
        track: Arc<dyn TrackRemote>,
    ) -> HandlerFuture<'async_trait>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(self.track(track))
    }
}

impl PeerTransport {
    /// Build a peer connection. Its events go to `events`, tagged with
    /// `target`.
    ///
    /// Fails with [`TransportError::State`] outside a Tokio runtime, and
    /// with [`TransportError::Engine`] if the configuration is refused or
    /// no socket can be bound.
    pub async fn new(
        target: Target,
        config: TransportConfig,
        events: mpsc::UnboundedSender<(Target, TransportEvent)>,
    ) -> Result<Self> {
        Self::with_tuning(target, config, events, JoinTuning::fast()).await
    }

    /// [`new`](Self::new) with a given join tuning.
    pub(crate) async fn with_tuning(
        target: Target,
        config: TransportConfig,
        events: mpsc::UnboundedSender<(Target, TransportEvent)>,
        tuning: JoinTuning,
    ) -> Result<Self> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(TransportError::State(
                "a peer connection needs a Tokio runtime".to_owned(),
            ));
        }
        let (media_engine, registry) = config.media_engine()?;
        let red_registered = !config.disable_red;
        let shared = Arc::new(Shared {
            target,
            events,
            state: AtomicU8::new(PcState::New as u8),
            closed: AtomicBool::new(false),
            first_mid: parking_lot::Mutex::new(None),
            pc: OnceLock::new(),
            local_channels: parking_lot::Mutex::new(Vec::new()),
            poke_requests: AtomicU64::new(0),
            poking: AtomicBool::new(false),
            flush_pokes: tuning.flush_pokes,
            negotiations: AtomicU64::new(0),
            stereo: parking_lot::Mutex::new(Vec::new()),
            remote_tracks: parking_lot::Mutex::new(Vec::new()),
            red_registered,
        });
        let handler = Arc::new(Handler {
            shared: Arc::clone(&shared),
        });
        let pc = PeerConnectionBuilder::<SocketAddr>::new()
            .with_configuration(config.rtc_configuration())
            .with_media_engine(media_engine)
            .with_interceptor_registry(registry)
            .with_setting_engine(config.setting_engine(tuning))
            .with_runtime(Arc::new(TokioRuntime))
            .with_handler(handler)
            .with_udp_addrs(config.bind_addrs())
            .build()
            .await
            .map_err(TransportError::engine)?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let _ = shared.pc.set(Arc::downgrade(&pc));
        Ok(Self {
            target,
            pc,
            shared,
            negotiation: tokio::sync::Mutex::new(Negotiation::default()),
        })
    }

    /// Which PC this is.
    pub fn target(&self) -> Target {
        self.target
    }

    /// The engine's connection, for the media modules.
    pub(super) fn engine(&self) -> &Arc<dyn PeerConnection> {
        &self.pc
    }

    /// The state shared with the handler, for the media modules.
    pub(super) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub(super) fn check_open(&self) -> Result<()> {
        if self.shared.closed.load(Ordering::Acquire) {
            Err(TransportError::Closed)
        } else {
            Ok(())
        }
    }

    /// Create a data channel (publisher side). It opens once the connection
    /// is up; watch its events for [`super::DataChannelEvent::Open`].
    pub async fn create_data_channel(
        &self,
        label: &str,
        options: DataChannelOptions,
    ) -> Result<DataChannel> {
        self.check_open()?;
        let channel = self
            .pc
            .create_data_channel(label, Some(options.to_engine()))
            .await
            .map_err(TransportError::engine)?;
        let channel = DataChannel::local(channel, label, self.shared.pc());
        {
            let mut local = self.shared.local_channels.lock();
            local.retain(OpenWatch::is_pending);
            local.push(channel.open_watch());
        }
        if self.state() == PcState::Connected {
            // The association is up: the OPEN may be queued behind the
            // driver's timer like the first ones.
            request_flush_pokes(&self.shared);
        }
        Ok(channel)
    }

    /// Create an offer, set it as the local description and return its SDP.
    ///
    /// The returned SDP carries the stereo Opus parameters of stereo audio
    /// senders, which the engine's own description (see
    /// [`local_sdp`](Self::local_sdp)) cannot: the engine refuses an edited
    /// local description, and only the remote side needs them.
    ///
    /// With `ice_restart` the offer carries new ICE credentials; remote
    /// candidates are then held until its answer is applied, since they
    /// belong to the new ICE generation.
    pub async fn create_offer(&self, ice_restart: bool) -> Result<String> {
        self.check_open()?;
        let mut negotiation = self.negotiation.lock().await;
        // The restart goes in the offer options rather than through
        // `restart_ice()`, which would also start a gathering pass before
        // the new generation is applied.
        let offer = fill_then(
            |options| self.pc.create_offer(Some(options)),
            |options| options.ice_restart = ice_restart,
        )
        .await
        .map_err(TransportError::engine)?;
        self.note_local(&offer.sdp);
        let sdp = self.with_stereo(&offer.sdp).await;
        self.pc
            .set_local_description(offer)
            .await
            .map_err(TransportError::engine)?;
        if ice_restart {
            negotiation.ice_restart_pending = true;
        }
        Ok(sdp)
    }

    /// Apply the remote answer to our offer, then the candidates that were
    /// held for it.
    pub async fn set_remote_answer(&self, sdp: &str) -> Result<()> {
        self.check_open()?;
        let mut negotiation = self.negotiation.lock().await;
        let answer =
            RTCSessionDescription::answer(sdp.to_owned()).map_err(TransportError::engine)?;
        self.pc
            .set_remote_description(answer)
            .await
            .map_err(TransportError::engine)?;
        negotiation.remote_set = true;
        negotiation.ice_restart_pending = false;
        self.shared.negotiations.fetch_add(1, Ordering::AcqRel);
        self.apply_held(&mut negotiation).await;
        Ok(())
    }

    /// The offer's SDP with the stereo Opus parameters in the sections of
    /// stereo senders (see `stereo`).
    async fn with_stereo(&self, offer: &str) -> String {
        let transceivers: Vec<Arc<dyn RtpTransceiver>> = self
            .shared
            .stereo
            .lock()
            .iter()
            .map(|(_, t)| Arc::clone(t))
            .collect();
        if transceivers.is_empty() {
            return offer.to_owned();
        }
        let mut mids = Vec::new();
        for transceiver in transceivers {
            if let Ok(Some(mid)) = transceiver.mid().await {
                mids.push(mid);
            }
        }
        add_stereo(offer, &mids)
    }

    /// End the remote tracks that a remote offer no longer sends: the
    /// engine keeps their streams open. A track named by an earlier offer
    /// ends when no section of this one sends it under the same mid; one
    /// the engine reported by itself ends when its transceiver stopped
    /// receiving.
    async fn end_unreceived_tracks(&self, offered: &[OfferedTrack]) {
        let tracks: Vec<RemoteTrack> = self.shared.remote_tracks.lock().clone();
        let mut unnamed = Vec::new();
        for track in tracks {
            match track.mid() {
                Some(mid) => {
                    let sent = offered
                        .iter()
                        .any(|o| o.mid == mid && o.track_id == track.track_id());
                    if !sent {
                        log::debug!(
                            "{:?}: remote track {} no longer sent",
                            self.target,
                            track.track_id()
                        );
                        track.end();
                    }
                }
                None => unnamed.push(track),
            }
        }
        self.end_unreceived_engine_tracks(&unnamed).await;
        self.shared.remote_tracks.lock().retain(|t| !t.is_ended());
    }

    /// End the tracks among `tracks` whose transceiver no longer receives.
    async fn end_unreceived_engine_tracks(&self, tracks: &[RemoteTrack]) {
        if tracks.is_empty() {
            return;
        }
        let transceivers = self.pc.get_transceivers().await;
        let mut receiving = Vec::new();
        for transceiver in &transceivers {
            let Ok(Some(receiver)) = transceiver.receiver().await else {
                continue;
            };
            let direction = transceiver.current_direction().await;
            if direction.is_ok_and(|d| d.has_recv()) {
                receiving.push(receiver.id());
            }
        }
        for track in tracks {
            if let Some(receiver) = track.receiver()
                && !receiving.contains(&receiver.id())
            {
                log::debug!(
                    "{:?}: remote track {} no longer received",
                    self.target,
                    track.track_id()
                );
                track.end();
            }
        }
    }

    /// Report the tracks a remote offer sends that are not known yet, as
    /// libwebrtc does when the offer is applied; the engine would only
    /// report them at their first packet.
    fn announce_offered_tracks(&self, offered: Vec<OfferedTrack>) {
        let mut announced = Vec::new();
        {
            let mut tracks = self.shared.remote_tracks.lock();
            for offered in offered {
                if tracks.iter().any(|t| t.track_id() == offered.track_id) {
                    continue;
                }
                let track = RemoteTrack::offered(offered);
                tracks.push(track.clone());
                announced.push(track);
            }
        }
        for track in announced {
            self.shared.emit(TransportEvent::Track(track));
        }
    }

    /// Apply a remote offer, create the answer, set it locally and return
    /// its SDP. Candidates held for the offer are applied once it is set.
    ///
    /// Tracks the offer sends that were not known are then reported
    /// ([`TransportEvent::Track`]), and known tracks it no longer sends end.
    pub async fn answer_remote_offer(&self, offer_sdp: &str) -> Result<String> {
        self.check_open()?;
        let mut negotiation = self.negotiation.lock().await;
        let offer =
            RTCSessionDescription::offer(offer_sdp.to_owned()).map_err(TransportError::engine)?;
        self.pc
            .set_remote_description(offer)
            .await
            .map_err(TransportError::engine)?;
        negotiation.remote_set = true;
        self.shared.negotiations.fetch_add(1, Ordering::AcqRel);
        let answer = self
            .pc
            .create_answer(None)
            .await
            .map_err(TransportError::engine)?;
        let sdp = answer.sdp.clone();
        self.note_local(&sdp);
        self.pc
            .set_local_description(answer)
            .await
            .map_err(TransportError::engine)?;
        self.apply_held(&mut negotiation).await;
        let offered = offered_tracks(offer_sdp);
        self.end_unreceived_tracks(&offered).await;
        self.announce_offered_tracks(offered);
        Ok(sdp)
    }

    /// Remember what our candidates must name.
    fn note_local(&self, sdp: &str) {
        if let Some(mid) = first_mid(sdp) {
            *self.shared.first_mid.lock() = Some(mid);
        }
    }

    /// Apply the candidates that were waiting, if they can be applied now.
    /// One that the engine refuses is logged and dropped: it is one path
    /// among several, and the signal protocol has no way to refuse it.
    async fn apply_held(&self, negotiation: &mut Negotiation) {
        for candidate in negotiation.take_ready() {
            if let Err(e) = self.pc.add_ice_candidate(candidate.to_engine()).await {
                log::warn!(
                    "{:?}: held candidate refused: {e} ({})",
                    self.target,
                    candidate.candidate
                );
            }
        }
    }

    /// Add a remote candidate. Candidates that arrive before a remote
    /// description, or while an ICE-restart offer awaits its answer, are
    /// held and applied once the description is set.
    pub async fn add_ice_candidate(&self, candidate: IceCandidateInit) -> Result<()> {
        self.check_open()?;
        if candidate.is_end_of_candidates() {
            return Ok(());
        }
        let mut negotiation = self.negotiation.lock().await;
        if negotiation.must_hold() {
            negotiation.hold(candidate);
            return Ok(());
        }
        self.pc
            .add_ice_candidate(candidate.to_engine())
            .await
            .map_err(TransportError::engine)
    }

    /// The current local description's SDP, if any.
    pub async fn local_sdp(&self) -> Option<String> {
        if self.check_open().is_err() {
            return None;
        }
        self.pc.local_description().await.map(|d| d.sdp)
    }

    /// The current remote description's SDP, if any.
    pub async fn remote_sdp(&self) -> Option<String> {
        if self.check_open().is_err() {
            return None;
        }
        self.pc.remote_description().await.map(|d| d.sdp)
    }

    /// Current connection state.
    pub fn state(&self) -> PcState {
        PcState::from_u8(self.shared.state.load(Ordering::Acquire))
    }

    /// A stats snapshot; empty once closed.
    pub async fn stats(&self) -> TransportStats {
        if self.check_open().is_err() {
            return TransportStats::default();
        }
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        from_report(&report)
    }

    /// Replace the ICE servers and policy, as a resume does with the ones
    /// the server's ReconnectResponse names: credentials of TURN servers
    /// expire, and the next ICE restart gathers from the new list.
    pub async fn set_ice_config(&self, config: &TransportConfig) -> Result<()> {
        self.check_open()?;
        self.pc
            .set_configuration(config.rtc_configuration())
            .await
            .map_err(TransportError::engine)
    }

    /// Close the connection; further calls fail with [`TransportError::Closed`].
    ///
    /// Reports [`PcState::Closed`] once. The engine stops its driver (it
    /// waits up to 100 ms for it), which ends every data channel's event
    /// stream with [`super::DataChannelEvent::Closed`].
    pub async fn close(&self) {
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Err(e) = self.pc.close().await {
            log::debug!("{:?}: close: {e}", self.target);
        }
        self.shared.set_state(PcState::Closed);
        for track in self.shared.remote_tracks.lock().drain(..) {
            track.end();
        }
        self.shared.emit(TransportEvent::State(PcState::Closed));
    }

    /// Candidates held right now (tests watch the holding happen).
    #[cfg(test)]
    pub(crate) async fn held_candidates(&self) -> usize {
        self.negotiation.lock().await.held_len()
    }

    /// Add recvonly audio and video transceivers, so this transport's
    /// offers carry media sections (the engine refuses `sendrecv` without a
    /// track).
    #[cfg(test)]
    pub(crate) async fn add_test_transceivers(&self, audio: usize, video: usize) -> Result<()> {
        use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
        for kind in std::iter::repeat_n("audio", audio).chain(std::iter::repeat_n("video", video)) {
            self.pc
                .add_transceiver_from_kind(
                    kind.into(),
                    Some(RTCRtpTransceiverInit {
                        direction: RTCRtpTransceiverDirection::Recvonly,
                        ..Default::default()
                    }),
                )
                .await
                .map_err(TransportError::engine)?;
        }
        Ok(())
    }
}

impl Drop for PeerTransport {
    fn drop(&mut self) {
        // The engine's driver keeps running (and holds its sockets) until
        // the connection is closed, so close it from a task.
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let pc = Arc::clone(&self.pc);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = pc.close().await;
            });
        }
    }
}
