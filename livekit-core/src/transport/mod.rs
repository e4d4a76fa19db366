//! WebRTC peer connections, behind an API of our own.
//!
//! This is the only module that names the `webrtc` crate. The room engine
//! talks to [`PeerTransport`] and [`DataChannel`] in terms of SDP strings,
//! trickle candidates and byte messages, so the engine underneath can be
//! replaced (str0m is the fallback) without touching the room model.
//!
//! A LiveKit client holds two transports in dual-PC mode: the *publisher*,
//! which offers, and the *subscriber*, which answers the server's offers.
//! Events of both come back through one channel, tagged with the
//! [`Target`] the engine gave at construction.
//!
//! # Layout
//!
//! - `config`: our configuration types and the engine settings built
//!   from them, including the ICE check pacing that decides join time.
//! - `peer`: [`PeerTransport`] and the handler of the engine's callbacks.
//! - `data_channel`: [`DataChannel`] and the task that forwards its events.
//! - `candidates`: the trickle JSON shape and the remote candidates held
//!   until a description lets them be applied.
//! - `stats`: the W3C stats entries read from the engine's report.
//! - `audio_sender`: [`AudioSender`], the packets of a sendonly Opus track.
//! - `remote_track`: [`RemoteTrack`], the packets of a received track.
//! - `offered_tracks`: the tracks a remote offer sends, read from its text.
//! - `red`: RED (RFC 2198) packing and unpacking.
//! - `stereo`: the stereo Opus parameters written into our offers.
//!
//! # Runtime
//!
//! The engine (`webrtc` 0.21) spawns one driver task per connection on the
//! ambient Tokio runtime, and every data channel here has a small task
//! forwarding its events, so transports must be built and used inside a
//! Tokio runtime. [`PeerTransport::new`] refuses otherwise.
//!
//! # What this layer adds to the engine
//!
//! - Remote candidates are held until a remote description exists, and
//!   while an ICE-restart offer awaits its answer.
//! - Join time: a 20 ms ICE check interval, immediate acceptance of
//!   peer-reflexive pairs, and wake-ups of the engine's driver for the
//!   handshake packets it would otherwise send only on its next 200 ms
//!   timer tick (see `config::JoinTuning`). Loopback join goes from
//!   ~0.4 s connected / ~0.8 s data channel open to ~50 ms for both.
//! - Synchronous answers (state, label, stream id, buffered amount) from
//!   state kept current by the event tasks.

mod audio_sender;
mod candidates;
mod config;
mod data_channel;
#[cfg(test)]
mod media_tests;
mod offered_tracks;
mod peer;
mod red;
mod remote_track;
mod stats;
mod stereo;
#[cfg(test)]
mod tests;

pub use audio_sender::{AudioSender, AudioSenderOptions};
pub use candidates::IceCandidateInit;
pub use config::{IceServer, TransportConfig};
pub use data_channel::{DataChannel, DataChannelEvent, DataChannelOptions};
pub use peer::PeerTransport;
pub use remote_track::{MediaKind, RemoteTrack, RtpPacket};
pub use stats::{StatsEntry, TransportStats};

/// Which of the two peer connections an event or a candidate belongs to.
/// The numbers are the signal protocol's `SignalTarget`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// The PC that offers and carries what we send.
    Publisher = 0,
    /// The PC that answers the server and carries what we receive.
    Subscriber = 1,
}

/// Peer connection state, as W3C `RTCPeerConnectionState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PcState {
    /// Not started.
    New,
    /// ICE or DTLS in progress.
    Connecting,
    /// Media and data can flow.
    Connected,
    /// Connectivity lost, may come back.
    Disconnected,
    /// Connectivity lost for good: the engine resumes.
    Failed,
    /// Closed by us.
    Closed,
}

/// What a transport reports to the engine.
#[derive(Debug)]
pub enum TransportEvent {
    /// A local candidate to trickle to the server.
    IceCandidate(IceCandidateInit),
    /// The peer connection changed state.
    State(PcState),
    /// The remote side opened a data channel (the server does this on the
    /// subscriber PC).
    DataChannel(DataChannel),
    /// The remote side sends a track (the server does this on the
    /// subscriber PC). Reported once per track: when the remote offer that
    /// names it (in `a=msid`) is applied, or at its first packet for a
    /// track no offer named.
    Track(RemoteTrack),
}

/// Errors of the transport layer, carried as text so the engine's
/// callers never see the engine's types.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The WebRTC engine refused an operation.
    #[error("webrtc: {0}")]
    Engine(String),
    /// The operation needs a state the connection is not in.
    #[error("invalid state: {0}")]
    State(String),
    /// The transport has been closed.
    #[error("transport closed")]
    Closed,
}

impl TransportError {
    /// An engine error, as text: the engine's types stay in this module.
    pub(crate) fn engine(error: impl std::fmt::Display) -> Self {
        TransportError::Engine(error.to_string())
    }
}

/// Result of transport operations.
pub type Result<T> = std::result::Result<T, TransportError>;
