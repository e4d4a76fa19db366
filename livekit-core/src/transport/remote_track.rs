//! Receiving media: [`RemoteTrack`], one track the remote side sends, and
//! the task that reads the engine's packets for it.
//!
//! The engine delivers a remote track's packets through a bounded queue
//! that its driver fills without waiting (it drops when the queue is full).
//! Each track here has a task that empties that queue at once into ours,
//! so the driver never finds it full; ours drops its *oldest* packet when
//! the consumer falls behind, since audio is live and a late packet is
//! worth less than the next one. RED is unwrapped on the way.
//!
//! The engine announces a track at its first packet; a track the remote
//! offer names (`offered_tracks`) is reported when the offer is applied,
//! as libwebrtc does, and the engine's track is attached to it when it
//! comes. The engine never reports the end of a track whose media section
//! a renegotiation turned off (it keeps the stream open until the
//! connection closes), so [`PeerTransport`](super::PeerTransport) ends the
//! tracks that a remote offer no longer sends.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::Notify;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::PeerConnection;
use webrtc::rtp_transceiver::RtpReceiver;

use super::audio_sender::AUDIO_LEVEL_URI;
use super::offered_tracks::OfferedTrack;
use super::peer::Shared;
use super::red;
use super::stats::{StatsEntry, ensure_opus_codec, media_entries};

/// Packets kept for a consumer that falls behind: 5 s of 20 ms audio.
const QUEUE_LIMIT: usize = 256;

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// An audio track.
    Audio,
    /// A video track.
    Video,
}

/// One received RTP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket {
    /// RTP sequence number.
    pub sequence: u16,
    /// RTP timestamp (48 kHz for Opus).
    pub timestamp: u32,
    /// The marker bit: for audio, the first packet after a silence gap.
    pub marker: bool,
    /// The media payload; for RED, its primary block.
    pub payload: Bytes,
    /// The RFC 6464 audio level (0 loudest, 127 silence) and voice flag,
    /// when the packet carries the extension.
    pub audio_level: Option<(u8, bool)>,
    /// RED's redundant blocks with their absolute RTP timestamps, oldest
    /// first; empty for plain packets.
    pub redundancy: Vec<(u32, Bytes)>,
}

/// A track the remote side sends (on the subscriber PC, the server's
/// forwarding of another participant's track). Cheap to clone; all clones
/// read the same packets.
#[derive(Clone)]
pub struct RemoteTrack {
    inner: Arc<TrackInner>,
}

impl std::fmt::Debug for RemoteTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteTrack")
            .field("track_id", &self.inner.track_id)
            .field("stream_id", &self.inner.stream_id)
            .field("kind", &self.inner.kind)
            .finish()
    }
}

struct TrackInner {
    track_id: String,
    stream_id: String,
    kind: MediaKind,
    /// The media section, when the track came from a remote offer.
    mid: Option<String>,
    /// The engine's track, once its first packet arrived.
    engine: OnceLock<Arc<dyn TrackRemote>>,
    /// The engine's receiver of this track, once the pump found it.
    receiver: OnceLock<Arc<dyn RtpReceiver>>,
    queue: parking_lot::Mutex<VecDeque<RtpPacket>>,
    /// Woken for each packet and at the end.
    arrived: Notify,
    ended: AtomicBool,
    /// Tells the pump to stop.
    stop: Notify,
}

impl RemoteTrack {
    fn new(track_id: String, stream_id: String, kind: MediaKind, mid: Option<String>) -> Self {
        Self {
            inner: Arc::new(TrackInner {
                track_id,
                stream_id,
                kind,
                mid,
                engine: OnceLock::new(),
                receiver: OnceLock::new(),
                queue: parking_lot::Mutex::new(VecDeque::new()),
                arrived: Notify::new(),
                ended: AtomicBool::new(false),
                stop: Notify::new(),
            }),
        }
    }

    /// A track a remote offer names, before the engine has it.
    pub(super) fn offered(offered: OfferedTrack) -> Self {
        Self::new(
            offered.track_id,
            offered.stream_id,
            offered.kind,
            Some(offered.mid),
        )
    }

    /// A track the engine announced that no offer named (with its ids and
    /// kind, read from it): wrap it and start its pump. Must run inside a
    /// Tokio runtime.
    pub(super) fn from_engine(
        engine: Arc<dyn TrackRemote>,
        track_id: String,
        stream_id: String,
        video: bool,
        pc: Option<Weak<dyn PeerConnection>>,
        link: Weak<Shared>,
    ) -> Self {
        let kind = if video {
            MediaKind::Video
        } else {
            MediaKind::Audio
        };
        let track = Self::new(track_id, stream_id, kind, None);
        track.attach(engine, pc, link);
        track
    }

    /// Give the track its engine track and start the pump. Must run inside
    /// a Tokio runtime.
    pub(super) fn attach(
        &self,
        engine: Arc<dyn TrackRemote>,
        pc: Option<Weak<dyn PeerConnection>>,
        link: Weak<Shared>,
    ) {
        if self.inner.engine.set(engine).is_ok() {
            tokio::spawn(pump(Arc::clone(&self.inner), pc, link));
        }
    }

    /// Whether the engine's track is attached.
    pub(super) fn is_attached(&self) -> bool {
        self.inner.engine.get().is_some()
    }

    /// The media section, when the track came from a remote offer.
    pub(super) fn mid(&self) -> Option<&str> {
        self.inner.mid.as_deref()
    }

    /// The track id: LiveKit puts the track sid (`TR_…`) here.
    pub fn track_id(&self) -> &str {
        &self.inner.track_id
    }

    /// The stream id: LiveKit's is `<participant sid>|<track sid>`.
    pub fn stream_id(&self) -> &str {
        &self.inner.stream_id
    }

    /// Audio or video.
    pub fn kind(&self) -> MediaKind {
        self.inner.kind
    }

    /// The next packet; `None` once the track ended (the connection closed,
    /// or a renegotiation stopped its media section) and nothing is left.
    pub async fn recv(&self) -> Option<RtpPacket> {
        loop {
            if let Some(packet) = self.inner.queue.lock().pop_front() {
                return Some(packet);
            }
            if self.inner.ended.load(Ordering::Acquire) {
                return None;
            }
            // `notify_one` leaves a permit when nobody waits, so a packet
            // pushed since the check above is not missed.
            self.inner.arrived.notified().await;
        }
    }

    /// W3C stats of this track: inbound-rtp and codec, and
    /// remote-outbound-rtp once the peer has sent sender reports. Empty
    /// until the first packet arrived, and once the connection is gone.
    pub async fn stats(&self) -> Vec<StatsEntry> {
        let Some(receiver) = self.inner.receiver.get() else {
            return Vec::new();
        };
        match receiver.get_stats(Instant::now()).await {
            Ok(report) => {
                let mut entries = media_entries(&report);
                ensure_opus_codec(&mut entries, super::config::OPUS_PAYLOAD_TYPE);
                entries
            }
            Err(_) => Vec::new(),
        }
    }

    /// Whether the track ended.
    pub(super) fn is_ended(&self) -> bool {
        self.inner.ended.load(Ordering::Acquire)
    }

    /// Whether this wraps the engine's `track`.
    pub(super) fn wraps(&self, track: &Arc<dyn TrackRemote>) -> bool {
        self.inner
            .engine
            .get()
            .is_some_and(|engine| std::ptr::addr_eq(Arc::as_ptr(engine), Arc::as_ptr(track)))
    }

    /// The engine's receiver, once known.
    pub(super) fn receiver(&self) -> Option<&Arc<dyn RtpReceiver>> {
        self.inner.receiver.get()
    }

    /// End the track: [`recv`](Self::recv) returns what is queued, then
    /// `None`.
    pub(super) fn end(&self) {
        self.inner.end();
    }
}

impl TrackInner {
    fn push(&self, packet: RtpPacket) {
        {
            let mut queue = self.queue.lock();
            if queue.len() >= QUEUE_LIMIT {
                queue.pop_front();
            }
            queue.push_back(packet);
        }
        self.arrived.notify_one();
    }

    fn end(&self) {
        if self.ended.swap(true, Ordering::AcqRel) {
            return;
        }
        self.stop.notify_one();
        self.arrived.notify_waiters();
        self.arrived.notify_one();
    }
}

/// How to read the packets of one receiver, as last negotiated.
#[derive(Debug, Default)]
struct Formats {
    /// The negotiation round these are from.
    round: u64,
    /// Payload types that are RED.
    red: Vec<u8>,
    /// Every negotiated payload type, to notice a stale view.
    known: Vec<u8>,
    /// The audio level extension's id.
    level_id: Option<u8>,
}

impl Formats {
    async fn read(receiver: &dyn RtpReceiver, round: u64) -> Self {
        let Ok(parameters) = receiver.get_parameters().await else {
            return Self {
                round,
                ..Self::default()
            };
        };
        let rtp = &parameters.rtp_parameters;
        let by_mime: HashMap<u8, bool> = rtp
            .codecs
            .iter()
            .map(|c| {
                let red = c.rtp_codec.mime_type.eq_ignore_ascii_case("audio/red");
                (c.payload_type, red)
            })
            .collect();
        Self {
            round,
            red: by_mime
                .iter()
                .filter(|(_, r)| **r)
                .map(|(pt, _)| *pt)
                .collect(),
            known: by_mime.keys().copied().collect(),
            level_id: rtp
                .header_extensions
                .iter()
                .find(|e| e.uri == AUDIO_LEVEL_URI)
                .and_then(|e| u8::try_from(e.id).ok()),
        }
    }
}

/// Find the engine's receiver of the track (for its negotiated formats and
/// its stats), if not known yet.
async fn resolve_receiver(
    inner: &TrackInner,
    engine: &Arc<dyn TrackRemote>,
    pc: &Option<Weak<dyn PeerConnection>>,
) {
    if inner.receiver.get().is_some() {
        return;
    }
    let Some(pc) = pc.as_ref().and_then(Weak::upgrade) else {
        return;
    };
    let receiver = pc
        .get_receivers()
        .await
        .into_iter()
        .find(|r| std::ptr::addr_eq(Arc::as_ptr(r.track()), Arc::as_ptr(engine)));
    if let Some(receiver) = receiver {
        let _ = inner.receiver.set(receiver);
    }
}

/// Move the engine's packets of one track into ours until the track ends.
async fn pump(inner: Arc<TrackInner>, pc: Option<Weak<dyn PeerConnection>>, link: Weak<Shared>) {
    let Some(engine) = inner.engine.get().cloned() else {
        return;
    };
    let round = || link.upgrade().map_or(0, |s| s.negotiation_round());
    resolve_receiver(&inner, &engine, &pc).await;
    // The round in which a packet of an unknown payload type made us
    // re-read the formats: once per round is enough.
    let mut reread_round = None;
    let mut formats: Option<Formats> = None;
    loop {
        let event = tokio::select! {
            event = engine.poll() => event,
            () = inner.stop.notified() => break,
        };
        let packet = match event {
            Some(TrackRemoteEvent::OnRtpPacket(packet)) => packet,
            Some(TrackRemoteEvent::OnEnded) | None => break,
            Some(_) => continue,
        };
        let header = &packet.header;
        let now = round();
        let stale = match formats.as_ref() {
            None => true,
            Some(f) if f.round != now => true,
            Some(f) => !f.known.contains(&header.payload_type) && reread_round != Some(now),
        };
        if stale {
            if formats.as_ref().is_some_and(|f| f.round == now) {
                reread_round = Some(now);
            }
            resolve_receiver(&inner, &engine, &pc).await;
            formats = Some(match inner.receiver.get() {
                Some(receiver) => Formats::read(&**receiver, now).await,
                // Without the receiver the packets still go through, as
                // they are: plain payload, no level.
                None => Formats {
                    round: now,
                    ..Formats::default()
                },
            });
        }
        let Some(f) = formats.as_ref() else {
            continue;
        };
        let audio_level = f
            .level_id
            .and_then(|id| header.get_extension(id))
            .and_then(|value| value.first().map(|b| (b & 0x7f, b & 0x80 != 0)));
        let (payload, redundancy) = if f.red.contains(&header.payload_type) {
            match red::unpack(&packet.payload, header.timestamp) {
                Some(unpacked) => (unpacked.primary, unpacked.redundancy),
                None => {
                    log::debug!("{}: malformed RED packet dropped", inner.track_id);
                    continue;
                }
            }
        } else {
            (packet.payload.clone(), Vec::new())
        };
        inner.push(RtpPacket {
            sequence: header.sequence_number,
            timestamp: header.timestamp,
            marker: header.marker,
            payload,
            audio_level,
            redundancy,
        });
    }
    inner.end();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(sequence: u16) -> RtpPacket {
        RtpPacket {
            sequence,
            timestamp: u32::from(sequence) * 960,
            marker: false,
            payload: Bytes::from_static(b"opus"),
            audio_level: None,
            redundancy: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_slow_consumer_loses_the_oldest_packets() {
        let track = RemoteTrack::new("TR_a".into(), "PA_a|TR_a".into(), MediaKind::Audio, None);
        let total = QUEUE_LIMIT as u16 + 44;
        for sequence in 0..total {
            track.inner.push(packet(sequence));
        }
        track.end();
        let mut received = Vec::new();
        while let Some(packet) = track.recv().await {
            received.push(packet.sequence);
        }
        let expected: Vec<u16> = (44..total).collect();
        assert_eq!(received, expected);
        // Ended stays ended.
        assert_eq!(track.recv().await, None);
    }

    #[tokio::test]
    async fn recv_wakes_for_a_packet_and_for_the_end() {
        let track = RemoteTrack::new("TR_a".into(), "PA_a|TR_a".into(), MediaKind::Audio, None);
        let reader = tokio::spawn({
            let track = track.clone();
            async move { (track.recv().await, track.recv().await) }
        });
        tokio::task::yield_now().await;
        track.inner.push(packet(7));
        tokio::task::yield_now().await;
        track.end();
        let (first, second) = reader.await.expect("reader");
        assert_eq!(first.map(|p| p.sequence), Some(7));
        assert_eq!(second, None);
    }
}
