//! How a peer connection is configured: our configuration types, and their
//! translation into the engine's configuration, media engine, interceptor
//! registry and setting engine.
//!
//! Everything that decides *how* the `webrtc` crate behaves lives here, so
//! that [`super::peer`] only drives a connection and the tuning is in one
//! place, with its reasons next to it. The tuning that matters most is
//! [`JoinTuning`]: it decides how long a join takes.

use std::net::SocketAddr;
use std::time::Duration;

use webrtc::peer_connection::{
    MediaEngine, RTCBundlePolicy, RTCConfiguration, RTCConfigurationBuilder, RTCIceServer,
    RTCIceTransportPolicy, Registry, SettingEngine, SettingEngineBuilder,
    register_default_interceptors,
};

use super::audio_sender::AUDIO_LEVEL_URI;
use super::{Result, TransportError};

/// A STUN or TURN server, as the JoinResponse or `rtc_config` gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IceServer {
    /// `stun:`, `turn:` or `turns:` URLs. The engine (`webrtc` 0.21)
    /// allocates relays over UDP only: `turns:` and `?transport=tcp` URLs
    /// are accepted and skipped.
    pub urls: Vec<String>,
    /// TURN user name; empty for STUN.
    pub username: String,
    /// TURN credential; empty for STUN.
    pub credential: String,
}

/// How to build a peer connection.
#[derive(Debug, Clone, Default)]
pub struct TransportConfig {
    /// Servers to gather candidates from.
    pub ice_servers: Vec<IceServer>,
    /// Only relay candidates (`force_relay`).
    pub relay_only: bool,
    /// Local UDP addresses to bind, one socket each. Empty (the default)
    /// means `0.0.0.0:0`: the engine binds one socket per IPv4 interface
    /// that exists at bind time (and again at every ICE restart), skipping
    /// loopback and link-local addresses. Add `[::]:0` for IPv6 host
    /// candidates. A concrete address is bound as given, loopback included,
    /// which is what the in-process tests use (`127.0.0.1:0`).
    pub udp_addrs: Vec<SocketAddr>,
    /// Do not register RED (RFC 2198, `audio/red`) for audio. RED is
    /// registered by default, after Opus, because LiveKit offers it; when a
    /// remote offer lists RED first the answer may select it, and the
    /// audio arriving on that transceiver is then RED-encapsulated Opus
    /// (payload type 63) that the receiver has to unwrap.
    pub disable_red: bool,
}

impl TransportConfig {
    /// The addresses to hand the engine.
    pub(crate) fn bind_addrs(&self) -> Vec<SocketAddr> {
        if self.udp_addrs.is_empty() {
            vec![SocketAddr::from(([0, 0, 0, 0], 0))]
        } else {
            self.udp_addrs.clone()
        }
    }

    /// The engine's `RTCConfiguration`: our servers, the relay policy, and
    /// max-bundle (LiveKit bundles everything on one transport).
    pub(crate) fn rtc_configuration(&self) -> RTCConfiguration {
        let ice_servers = self
            .ice_servers
            .iter()
            .filter(|server| !server.urls.is_empty())
            .map(|server| RTCIceServer {
                urls: server.urls.clone(),
                username: server.username.clone(),
                credential: server.credential.clone(),
            })
            .collect();
        let policy = if self.relay_only {
            RTCIceTransportPolicy::Relay
        } else {
            RTCIceTransportPolicy::All
        };
        RTCConfigurationBuilder::new()
            .with_ice_servers(ice_servers)
            .with_ice_transport_policy(policy)
            .with_bundle_policy(RTCBundlePolicy::MaxBundle)
            .build()
    }

    /// A media engine with the default codecs (Opus 48k/2 with
    /// `minptime=10;useinbandfec=1`, G722, PCMU, PCMA, VP8, VP9, H264, AV1,
    /// H265 and their RTX), RED for audio unless disabled, the audio level
    /// header extension, and the default
    /// interceptors (NACK, RTCP reports, TWCC receiver, simulcast header
    /// extensions) registered against it.
    pub(crate) fn media_engine(&self) -> Result<(MediaEngine, Registry)> {
        let mut media_engine = MediaEngine::default();
        media_engine
            .register_default_codecs()
            .map_err(TransportError::engine)?;
        if !self.disable_red {
            // RED over Opus, as libwebrtc and LiveKit advertise it. The
            // codec types are not re-exported by `webrtc`, so the value is
            // built by inference from `register_codec`'s signature.
            fill_then(
                |codec| media_engine.register_codec(codec, "audio".into()),
                |codec| {
                    codec.rtp_codec.mime_type = "audio/red".to_owned();
                    codec.rtp_codec.clock_rate = 48_000;
                    codec.rtp_codec.channels = 2;
                    codec.rtp_codec.sdp_fmtp_line = RED_FMTP.to_owned();
                    codec.payload_type = RED_PAYLOAD_TYPE;
                },
            )
            .map_err(TransportError::engine)?;
        }
        // The audio level of each packet (RFC 6464), which LiveKit's
        // server reads for speaker detection. Not among the engine's
        // defaults.
        fill_then(
            |extension| media_engine.register_header_extension(extension, "audio".into(), None),
            |extension| extension.uri = AUDIO_LEVEL_URI.to_owned(),
        )
        .map_err(TransportError::engine)?;
        let registry = register_default_interceptors(Registry::new(), &mut media_engine)
            .map_err(TransportError::engine)?;
        Ok((media_engine, registry))
    }

    /// The setting engine: ICE pacing, the acceptance waits, and fresh
    /// candidates at an ICE restart.
    pub(crate) fn setting_engine(&self, tuning: JoinTuning) -> SettingEngine {
        let mut builder = SettingEngineBuilder::new()
            .with_ice_connection_attempts(tuning.check_interval, tuning.max_binding_requests)
            .with_prflx_acceptance_min_wait(tuning.prflx_acceptance_min_wait)
            // An ICE restart (LiveKit's resume) usually follows a network
            // change. By default the engine keeps the old generation's local
            // candidates and sockets, and then has nothing new to trickle:
            // the re-gathered candidates are duplicates and are not
            // announced, while the restart clears the remote side's list.
            // Discarding rebinds the sockets on the interfaces that exist
            // now and trickles the new candidates, as libwebrtc does.
            .with_discard_local_candidates_during_ice_restart(true);
        if self.relay_only {
            // Every path goes through the relay, so there is nothing better
            // to wait for: the default 2 s wait before a relay pair may be
            // nominated would only delay the join.
            builder = builder
                .with_host_acceptance_min_wait(Some(Duration::ZERO))
                .with_srflx_acceptance_min_wait(Some(Duration::ZERO))
                .with_prflx_acceptance_min_wait(Some(Duration::ZERO))
                .with_relay_acceptance_min_wait(Some(Duration::ZERO));
        }
        builder.build()
    }
}

/// Opus's payload type among the engine's default codecs.
pub(crate) const OPUS_PAYLOAD_TYPE: u8 = 111;

/// Opus's format parameters among the engine's default codecs.
pub(crate) const OPUS_FMTP: &str = "minptime=10;useinbandfec=1";

/// RED's payload type, as libwebrtc and LiveKit number it.
pub(crate) const RED_PAYLOAD_TYPE: u8 = 63;

/// RED's format parameters: two Opus blocks (redundant and primary).
pub(crate) const RED_FMTP: &str = "111/111";

/// Build a `T` by default, let `fill` set its fields, and hand it to
/// `consume`. `consume` comes first so that it fixes `T` (from the engine
/// method it calls) before `fill` names the fields: some engine types
/// (codec parameters, offer options) are not re-exported by `webrtc`, and
/// this builds them without naming them.
pub(crate) fn fill_then<T: Default, R>(
    consume: impl FnOnce(T) -> R,
    fill: impl FnOnce(&mut T),
) -> R {
    let mut value = T::default();
    fill(&mut value);
    consume(value)
}

/// The settings that decide how long a join takes.
///
/// Measured on loopback (two transports in one process, debug build), the
/// engine's defaults take ~0.2-0.4 s to connect and ~0.4-0.6 s (up to
/// 1.2 s) until a data channel is open; with [`JoinTuning::fast`] both take
/// ~20-50 ms. Three things make the difference:
///
/// - **ICE check interval.** The ICE agent of `webrtc` 0.21 (`rtc-ice`) runs
///   its checks from one timer, every `check_interval` (default 200 ms)
///   while checking. The controlling agent pings every pair on one tick,
///   and nominates the pair that answered only on a *later* tick (unless
///   the peer's own check comes in first); the nomination's answer then
///   selects the pair. So connecting costs one or two ticks even when
///   answers take microseconds. We tick every 20 ms. The attempts per pair
///   are scaled up with it so a pair keeps the default time budget
///   (7 × 200 ms = 1.4 s) before it is declared failed: on a real network
///   with 100 ms+ round trips an unscaled count would fail pairs before
///   their first answer came back. Once a pair is selected the agent only
///   sends keepalives (every 2 s), so the fast tick costs traffic only
///   while checking.
/// - **Peer-reflexive acceptance wait.** With trickle ICE the peer's check
///   often arrives before its candidate does, so the pair's remote side is
///   a peer-reflexive candidate, which the agent will not nominate for
///   1 s by default (to give better pairs a chance; it never
///   re-nominates). That address is the peer's real one, usually the very
///   host candidate still on its way through signalling, so we accept it
///   at once.
/// - **Driver flush pokes** (`flush_pokes`), see `peer::request_flush_pokes`:
///   three handshake steps are queued by the engine where its driver only
///   sends them on its next timer tick, up to 200 ms each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JoinTuning {
    /// Time between two rounds of connectivity checks.
    pub check_interval: Option<Duration>,
    /// Checks sent on a pair before it is declared failed.
    pub max_binding_requests: Option<u16>,
    /// How long a pair with a peer-reflexive side waits to be nominated.
    pub prflx_acceptance_min_wait: Option<Duration>,
    /// Wake the driver when the engine leaves packets queued.
    pub flush_pokes: bool,
}

impl JoinTuning {
    /// The check interval we use.
    pub(crate) const CHECK_INTERVAL: Duration = Duration::from_millis(20);

    /// What we use: see the type's documentation.
    pub(crate) fn fast() -> Self {
        Self::with_interval(Self::CHECK_INTERVAL)
    }

    /// Our tuning with a given check interval, the attempts scaled to keep
    /// the 1.4 s budget.
    pub(crate) fn with_interval(check_interval: Duration) -> Self {
        const BUDGET: Duration = Duration::from_millis(1400);
        let interval_ms = check_interval.as_millis().max(1);
        let attempts = BUDGET.as_millis().div_ceil(interval_ms);
        Self {
            check_interval: Some(check_interval),
            max_binding_requests: Some(u16::try_from(attempts).unwrap_or(u16::MAX)),
            prflx_acceptance_min_wait: Some(Duration::ZERO),
            flush_pokes: true,
        }
    }

    /// The engine's defaults, for comparison.
    #[cfg(test)]
    pub(crate) fn engine_default() -> Self {
        Self {
            check_interval: None,
            max_binding_requests: None,
            prflx_acceptance_min_wait: None,
            flush_pokes: false,
        }
    }
}
