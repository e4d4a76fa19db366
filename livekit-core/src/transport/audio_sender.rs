//! Sending audio: [`AudioSender`], one sendonly Opus transceiver on the
//! publisher PC, fed with encoded packets by the room engine.
//!
//! The engine's local track (`TrackLocalStaticRTP`) passes RTP packets
//! through as given, so the packets are made here: sequence numbers, the
//! negotiated payload type (Opus, or RED around Opus when the answer put
//! RED first), and the audio level header extension under its negotiated
//! id. What was negotiated is read back from the engine's sender after each
//! offer/answer round, not at every packet.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use bytes::Bytes;
use webrtc::media_stream::MediaStreamTrack;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::rtp_transceiver::{
    RTCRtpTransceiverDirection, RTCRtpTransceiverInit, RtpSender, RtpTransceiver,
};

use super::config::{OPUS_FMTP, OPUS_PAYLOAD_TYPE, RED_FMTP, RED_PAYLOAD_TYPE, fill_then};
use super::peer::{PeerTransport, Shared};
use super::stats::{StatsEntry, ensure_opus_codec, media_entries};
use super::{PcState, Result, TransportError, red};

/// The RTP header extension that carries a packet's audio level (RFC 6464).
pub(crate) const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// [`SenderInner::last_level`] before the first packet.
const NO_LEVEL: u8 = u8::MAX;

/// Options for a sendonly audio sender on the publisher PC.
#[derive(Debug, Clone, Default)]
pub struct AudioSenderOptions {
    /// The WebRTC track id: LiveKit's cid, which the server matches the
    /// published track by (it reads it from the offer's `a=msid`).
    pub track_id: String,
    /// The media stream id, the first half of `a=msid`.
    pub stream_id: String,
    /// Advertise stereo Opus (`stereo=1;sprop-stereo=1`) in the offer.
    pub stereo: bool,
}

/// One audio sender. Cheap to clone; all clones send on the same stream.
#[derive(Clone)]
pub struct AudioSender {
    inner: Arc<SenderInner>,
}

impl std::fmt::Debug for AudioSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioSender")
            .field("track_id", &self.inner.track_id)
            .field("ssrc", &self.inner.ssrc)
            .finish()
    }
}

struct SenderInner {
    track_id: String,
    ssrc: u32,
    track: Arc<TrackLocalStaticRTP>,
    rtp_sender: Arc<dyn RtpSender>,
    /// The connection's state and negotiation count, without keeping the
    /// connection's event channel alive.
    link: Weak<Shared>,
    removed: AtomicBool,
    /// The audio level of the last packet sent, or [`NO_LEVEL`].
    last_level: AtomicU8,
    /// Held across a packet's send, so packets leave in sequence order.
    send: tokio::sync::Mutex<SendState>,
}

/// What consecutive packets share.
struct SendState {
    next_sequence: u16,
    /// What was negotiated, as of negotiation round `.0`.
    negotiated: Option<(u64, Option<Negotiated>)>,
    /// The previous Opus payload and its timestamp, the redundancy of the
    /// next RED packet.
    previous: Option<(u32, Bytes)>,
}

/// The payload format an offer/answer round settled on for this sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Negotiated {
    /// Opus's payload type (also the block type inside RED).
    opus_pt: u8,
    /// RED's payload type, when RED is the primary codec.
    red_pt: Option<u8>,
    /// The audio level extension's id, when negotiated.
    level_id: Option<u8>,
}

impl PeerTransport {
    /// Add a sendonly Opus transceiver carrying a new local track.
    ///
    /// Negotiation is the caller's: the next [`create_offer`](Self::create_offer)
    /// carries the track (as `a=sendonly` with `a=msid:<stream_id> <track_id>`),
    /// and packets flow once its answer is applied and the connection is up.
    ///
    /// Unless the transport was built with
    /// [`disable_red`](super::TransportConfig::disable_red), the offer lists
    /// RED (RFC 2198) ahead of Opus, as the official clients do by default:
    /// an answer that keeps the offer's order selects it, and every packet
    /// then carries the previous one too.
    pub async fn add_audio_sender(&self, options: AudioSenderOptions) -> Result<AudioSender> {
        self.check_open()?;
        let ssrc = random_u32().max(1);
        let track = fill_then(
            |encoding| {
                MediaStreamTrack::new(
                    options.stream_id.clone(),
                    options.track_id.clone(),
                    options.track_id.clone(),
                    "audio".into(),
                    vec![encoding],
                )
            },
            |encoding| {
                encoding.rtp_coding_parameters.ssrc = Some(ssrc);
                // Naming the codec limits the offer to Opus (and RED, set
                // below), and is what the engine's codec stats go by.
                encoding.codec.mime_type = "audio/opus".to_owned();
                encoding.codec.clock_rate = 48_000;
                encoding.codec.channels = 2;
                encoding.codec.sdp_fmtp_line = OPUS_FMTP.to_owned();
            },
        );
        let track = Arc::new(TrackLocalStaticRTP::new(track));
        let transceiver = self
            .engine()
            .add_transceiver_from_track(
                Arc::clone(&track) as Arc<dyn TrackLocal>,
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Sendonly,
                    streams: vec![options.stream_id.clone()],
                    send_encodings: vec![],
                }),
            )
            .await
            .map_err(TransportError::engine)?;
        if self.shared().red_registered {
            prefer_red(&*transceiver).await?;
        }
        let rtp_sender = transceiver
            .sender()
            .await
            .map_err(TransportError::engine)?
            .ok_or_else(|| TransportError::Engine("transceiver without a sender".to_owned()))?;
        if options.stereo {
            self.shared()
                .stereo
                .lock()
                .push((rtp_sender.id(), Arc::clone(&transceiver)));
        }
        let sequence = random_u32() as u16;
        Ok(AudioSender {
            inner: Arc::new(SenderInner {
                track_id: options.track_id,
                ssrc,
                track,
                rtp_sender,
                link: Arc::downgrade(self.shared()),
                removed: AtomicBool::new(false),
                last_level: AtomicU8::new(NO_LEVEL),
                send: tokio::sync::Mutex::new(SendState {
                    next_sequence: sequence,
                    negotiated: None,
                    previous: None,
                }),
            }),
        })
    }

    /// Remove the sender's track from the connection; its media section
    /// goes inactive at the next negotiation, which is the caller's to
    /// start. Later [`AudioSender::send_opus`] calls fail.
    pub async fn remove_audio_sender(&self, sender: &AudioSender) -> Result<()> {
        self.check_open()?;
        if sender.inner.removed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let sender_id = sender.inner.rtp_sender.id();
        self.shared()
            .stereo
            .lock()
            .retain(|(id, _)| *id != sender_id);
        self.engine()
            .remove_track(&sender.inner.rtp_sender)
            .await
            .map_err(TransportError::engine)
    }
}

impl AudioSender {
    /// The WebRTC track id (LiveKit's cid).
    pub fn track_id(&self) -> &str {
        &self.inner.track_id
    }

    /// The RTP synchronisation source of this sender's packets.
    pub fn ssrc(&self) -> u32 {
        self.inner.ssrc
    }

    /// Send one Opus packet (typically one 20 ms frame).
    ///
    /// `timestamp` is the RTP timestamp at 48 kHz: the caller owns it
    /// because it keeps advancing across DTX gaps. `marker` goes on the
    /// first packet after a silence gap. `level` is the RFC 6464 audio
    /// level (0 loudest, 127 silence) and `voice` its V flag, sent when the
    /// audio level extension was negotiated. Sequence numbers are assigned
    /// here.
    ///
    /// Until the sender is negotiated and the connection is up the packet
    /// is dropped and `Ok` returned: the caller starts sending as soon as it
    /// publishes. When the answer made RED the primary codec, the payload
    /// goes in RED with the previous packet as redundancy.
    ///
    /// Fails with [`TransportError::State`] once the sender was removed or
    /// if the answer has no Opus, and [`TransportError::Closed`] once the
    /// connection is closed.
    pub async fn send_opus(
        &self,
        payload: Bytes,
        timestamp: u32,
        marker: bool,
        level: u8,
        voice: bool,
    ) -> Result<()> {
        let inner = &*self.inner;
        if inner.removed.load(Ordering::Acquire) {
            return Err(TransportError::State("audio sender removed".to_owned()));
        }
        let Some(shared) = inner.link.upgrade() else {
            return Err(TransportError::Closed);
        };
        if shared.is_closed() {
            return Err(TransportError::Closed);
        }
        if shared.state() != PcState::Connected {
            return Ok(());
        }
        let round = shared.negotiation_round();
        drop(shared);
        let mut state = inner.send.lock().await;
        let negotiated = match state.negotiated {
            Some((seen, negotiated)) if seen == round => negotiated,
            _ => {
                let negotiated = inner.negotiated().await?;
                state.negotiated = Some((round, negotiated));
                negotiated
            }
        };
        let Some(negotiated) = negotiated else {
            // Not negotiated yet.
            return Ok(());
        };
        let (payload_type, body) = match negotiated.red_pt {
            Some(red_pt) => {
                let previous: &[(u32, Bytes)] = match &state.previous {
                    Some(p) => std::slice::from_ref(p),
                    None => &[],
                };
                let body = red::pack(negotiated.opus_pt, timestamp, &payload, previous);
                (red_pt, body)
            }
            None => (negotiated.opus_pt, payload.clone()),
        };
        let sequence = state.next_sequence;
        let ssrc = inner.ssrc;
        let packet = fill_then(
            |packet| inner.track.write_rtp(packet),
            |packet| {
                packet.header.version = 2;
                packet.header.payload_type = payload_type;
                packet.header.sequence_number = sequence;
                packet.header.timestamp = timestamp;
                packet.header.ssrc = ssrc;
                packet.header.marker = marker;
                packet.payload = body;
                if let Some(id) = negotiated.level_id {
                    let byte = (u8::from(voice) << 7) | (level & 0x7f);
                    if let Err(e) = packet
                        .header
                        .set_extension(id, Bytes::copy_from_slice(&[byte]))
                    {
                        log::debug!("audio level extension not set: {e}");
                    }
                }
            },
        );
        packet.await.map_err(TransportError::engine)?;
        state.next_sequence = sequence.wrapping_add(1);
        state.previous = Some((timestamp, payload));
        inner.last_level.store(level & 0x7f, Ordering::Release);
        Ok(())
    }

    /// W3C stats of this sender: its outbound-rtp, codec (Opus, also when
    /// it goes in RED) and media-source entries, and remote-inbound-rtp
    /// once the peer has sent receiver reports. Empty once the sender or
    /// its connection is gone.
    ///
    /// The engine has no audio source, so the media-source entry is ours:
    /// the track id, and the level of the last packet sent as its
    /// `audioLevel`. The room engine, which holds the source, knows the rest.
    pub async fn stats(&self) -> Vec<StatsEntry> {
        let Ok(report) = self.inner.rtp_sender.get_stats(Instant::now()).await else {
            return Vec::new();
        };
        let mut entries = media_entries(&report);
        let opus_pt = match self.inner.send.lock().await.negotiated {
            Some((_, Some(negotiated))) => negotiated.opus_pt,
            _ => super::config::OPUS_PAYLOAD_TYPE,
        };
        ensure_opus_codec(&mut entries, opus_pt);
        let source_id = format!("RTCAudioSource_{}", self.inner.ssrc);
        let mut timestamp = None;
        for entry in &mut entries {
            if let StatsEntry::OutboundRtp {
                media_source_id,
                timestamp_ms,
                ..
            } = entry
            {
                if media_source_id.is_empty() {
                    media_source_id.clone_from(&source_id);
                }
                timestamp = Some(*timestamp_ms);
            }
        }
        if let Some(timestamp_ms) = timestamp {
            let level = self.inner.last_level.load(Ordering::Acquire);
            entries.push(StatsEntry::MediaSource {
                id: source_id,
                timestamp_ms,
                track_identifier: self.inner.track_id.clone(),
                kind: "audio".to_owned(),
                audio_level: linear_level(level),
                total_audio_energy: 0.0,
                total_samples_duration: 0.0,
                echo_return_loss: 0.0,
                echo_return_loss_enhancement: 0.0,
                dropped_samples_duration: 0.0,
                dropped_samples_events: 0,
                total_capture_delay: 0.0,
                total_samples_captured: 0,
            });
        }
        entries
    }
}

impl SenderInner {
    /// What the last offer/answer round settled on; `None` before the
    /// first. Fails if the answer left no Opus.
    async fn negotiated(&self) -> Result<Option<Negotiated>> {
        let parameters = self
            .rtp_sender
            .get_parameters()
            .await
            .map_err(TransportError::engine)?;
        let rtp = &parameters.rtp_parameters;
        let payload_type = |mime: &str| {
            rtp.codecs
                .iter()
                .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(mime))
                .map(|c| c.payload_type)
        };
        let Some(primary) = rtp
            .codecs
            .iter()
            .find(|c| !c.rtp_codec.mime_type.eq_ignore_ascii_case("audio/rtx"))
        else {
            return Ok(None);
        };
        let Some(opus_pt) = payload_type("audio/opus") else {
            return Err(TransportError::State(format!(
                "{}: Opus not negotiated",
                self.track_id
            )));
        };
        let red_pt = primary
            .rtp_codec
            .mime_type
            .eq_ignore_ascii_case("audio/red")
            .then_some(primary.payload_type);
        let level_id = rtp
            .header_extensions
            .iter()
            .find(|e| e.uri == AUDIO_LEVEL_URI)
            .and_then(|e| u8::try_from(e.id).ok());
        Ok(Some(Negotiated {
            opus_pt,
            red_pt,
            level_id,
        }))
    }
}

/// An RFC 6464 level (dBov below full scale) as W3C's linear `audioLevel`
/// (1 at full scale); 127, the floor, and no level at all are silence.
fn linear_level(level: u8) -> f64 {
    if level >= 127 {
        0.0
    } else {
        10f64.powf(-f64::from(level) / 20.0)
    }
}

/// Put RED first among the transceiver's codecs, Opus after it. The two
/// must match what `config` registers.
async fn prefer_red(transceiver: &dyn RtpTransceiver) -> Result<()> {
    fill_then(
        |red| {
            fill_then(
                |opus| transceiver.set_codec_preferences(vec![red, opus]),
                |opus| {
                    opus.rtp_codec.mime_type = "audio/opus".to_owned();
                    opus.rtp_codec.clock_rate = 48_000;
                    opus.rtp_codec.channels = 2;
                    opus.rtp_codec.sdp_fmtp_line = OPUS_FMTP.to_owned();
                    opus.payload_type = OPUS_PAYLOAD_TYPE;
                },
            )
        },
        |red| {
            red.rtp_codec.mime_type = "audio/red".to_owned();
            red.rtp_codec.clock_rate = 48_000;
            red.rtp_codec.channels = 2;
            red.rtp_codec.sdp_fmtp_line = RED_FMTP.to_owned();
            red.payload_type = RED_PAYLOAD_TYPE;
        },
    )
    .await
    .map_err(TransportError::engine)
}

/// A random number, from the standard library's per-process hash seed and
/// the clock: SSRCs and initial sequence numbers need to be unpredictable
/// enough not to collide, not cryptographically random.
fn random_u32() -> u32 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.finish() as u32
}
