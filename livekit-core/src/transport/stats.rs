//! Statistics in W3C shape, from the engine's `getStats` report.
//!
//! The engine's stats dictionaries are not nameable from outside it (their
//! types live in a crate we do not depend on), but they serialise to the
//! W3C JSON form. So each entry is read through that form, by the W3C
//! member names, which is also what keeps this mapping honest: a member
//! the engine does not fill stays at its default.

use serde_json::Value;
use webrtc::peer_connection::{RTCStatsReport, RTCStatsReportEntry};

/// Statistics of one peer connection, in W3C shape. Only the fields the
/// FFI's stats messages carry.
#[derive(Debug, Clone, Default)]
pub struct TransportStats {
    /// `RTCStats` entries of the connection.
    pub entries: Vec<StatsEntry>,
}

/// One W3C stats dictionary.
#[derive(Debug, Clone)]
pub enum StatsEntry {
    /// `RTCPeerConnectionStats`.
    PeerConnection {
        /// Stats id.
        id: String,
        /// Timestamp in milliseconds since the Unix epoch.
        timestamp_ms: i64,
        /// Data channels opened so far.
        data_channels_opened: u32,
        /// Data channels closed so far.
        data_channels_closed: u32,
    },
    /// `RTCDataChannelStats`.
    DataChannel {
        /// Stats id.
        id: String,
        /// Timestamp in milliseconds since the Unix epoch.
        timestamp_ms: i64,
        /// Channel label.
        label: String,
        /// Sub-protocol.
        protocol: String,
        /// SCTP stream id.
        data_channel_identifier: i32,
        /// "connecting", "open", "closing" or "closed".
        state: String,
        /// Messages sent.
        messages_sent: u32,
        /// Bytes sent.
        bytes_sent: u64,
        /// Messages received.
        messages_received: u32,
        /// Bytes received.
        bytes_received: u64,
    },
    /// `RTCTransportStats`.
    Transport {
        /// Stats id.
        id: String,
        /// Timestamp in milliseconds since the Unix epoch.
        timestamp_ms: i64,
        /// Packets sent.
        packets_sent: u64,
        /// Packets received.
        packets_received: u64,
        /// Bytes sent.
        bytes_sent: u64,
        /// Bytes received.
        bytes_received: u64,
        /// "new", "checking", "connected", ….
        ice_state: String,
        /// "new", "connecting", "connected", ….
        dtls_state: String,
        /// Id of the selected candidate pair's stats.
        selected_candidate_pair_id: String,
    },
    /// `RTCIceCandidatePairStats`.
    CandidatePair {
        /// Stats id.
        id: String,
        /// Timestamp in milliseconds since the Unix epoch.
        timestamp_ms: i64,
        /// Stats id of the local candidate.
        local_candidate_id: String,
        /// Stats id of the remote candidate.
        remote_candidate_id: String,
        /// "frozen", "waiting", "in-progress", "failed" or "succeeded".
        state: String,
        /// Whether the pair was nominated.
        nominated: bool,
        /// Packets sent.
        packets_sent: u64,
        /// Packets received.
        packets_received: u64,
        /// Bytes sent.
        bytes_sent: u64,
        /// Bytes received.
        bytes_received: u64,
        /// Sum of round-trip times in seconds.
        total_round_trip_time: f64,
        /// Latest round-trip time in seconds.
        current_round_trip_time: f64,
        /// Estimated outgoing bitrate, bits per second.
        available_outgoing_bitrate: f64,
        /// Connectivity checks sent and answered.
        requests_sent: u64,
        /// Responses received.
        responses_received: u64,
    },
    /// `RTCIceCandidateStats`, local or remote.
    Candidate {
        /// True for a local candidate.
        local: bool,
        /// Stats id.
        id: String,
        /// Timestamp in milliseconds since the Unix epoch.
        timestamp_ms: i64,
        /// IP address.
        address: String,
        /// Port.
        port: i32,
        /// "udp" or "tcp".
        protocol: String,
        /// "host", "srflx", "prflx" or "relay".
        candidate_type: String,
        /// Priority.
        priority: i32,
    },
    /// `RTCCodecStats`: a codec in use by a sender or receiver.
    Codec {
        /// Stats id.
        id: String,
        /// Timestamp in milliseconds since the Unix epoch.
        timestamp_ms: i64,
        /// RTP payload type.
        payload_type: u32,
        /// Id of the transport's stats.
        transport_id: String,
        /// `audio/opus`, `audio/red`, ….
        mime_type: String,
        /// Clock rate in Hz.
        clock_rate: u32,
        /// Channels (2 for Opus).
        channels: u32,
        /// The `a=fmtp` parameters.
        sdp_fmtp_line: String,
    },
    /// `RTCOutboundRtpStreamStats`: what one sender sent. Video-only
    /// members (frames, resolution, quality limitation) are left out: no
    /// video goes through this layer yet.
    OutboundRtp {
        /// Stats id.
        id: String,
        /// Timestamp in milliseconds since the Unix epoch.
        timestamp_ms: i64,
        /// Synchronisation source.
        ssrc: u32,
        /// "audio" or "video".
        kind: String,
        /// Id of the transport's stats.
        transport_id: String,
        /// Id of the codec's stats.
        codec_id: String,
        /// RTP packets sent.
        packets_sent: u64,
        /// Payload bytes sent.
        bytes_sent: u64,
        /// Media section id.
        mid: String,
        /// Id of the media source's stats.
        media_source_id: String,
        /// Id of the matching remote-inbound-rtp stats.
        remote_id: String,
        /// Simulcast layer id; empty for audio.
        rid: String,
        /// RTP header and padding bytes sent.
        header_bytes_sent: u64,
        /// Packets retransmitted (NACK answers).
        retransmitted_packets_sent: u64,
        /// Bytes retransmitted.
        retransmitted_bytes_sent: u64,
        /// SSRC of the retransmission stream, 0 without one.
        rtx_ssrc: u32,
        /// Encoder target, bits per second.
        target_bitrate: f64,
        /// Sum of the encoder's byte targets.
        total_encoded_bytes_target: u64,
        /// Seconds packets spent queued before being sent, summed.
        total_packet_send_delay: f64,
        /// NACKs received.
        nack_count: u32,
        /// FIRs received.
        fir_count: u32,
        /// PLIs received.
        pli_count: u32,
        /// Encoder name.
        encoder_implementation: String,
        /// Whether the encoding is being sent.
        active: bool,
    },
    /// `RTCInboundRtpStreamStats`: what one receiver received. Video-only
    /// members are left out, as for [`StatsEntry::OutboundRtp`]; the
    /// playout members (samples, concealment, jitter buffer) stay at zero
    /// unless the engine fills them, since playout is not done here.
    InboundRtp {
        /// Stats id.
        id: String,
        /// Timestamp in milliseconds since the Unix epoch.
        timestamp_ms: i64,
        /// Synchronisation source.
        ssrc: u32,
        /// "audio" or "video".
        kind: String,
        /// Id of the transport's stats.
        transport_id: String,
        /// Id of the codec's stats.
        codec_id: String,
        /// RTP packets received.
        packets_received: u64,
        /// Packets lost (may be negative with duplicates, as W3C says).
        packets_lost: i64,
        /// Interarrival jitter in seconds.
        jitter: f64,
        /// The track's id.
        track_identifier: String,
        /// Media section id.
        mid: String,
        /// Id of the matching remote-outbound-rtp stats.
        remote_id: String,
        /// When the last packet arrived, milliseconds since the Unix epoch.
        last_packet_received_timestamp: f64,
        /// RTP header and padding bytes received.
        header_bytes_received: u64,
        /// Packets dropped (late or out of the buffer).
        packets_discarded: u64,
        /// FEC bytes received.
        fec_bytes_received: u64,
        /// FEC packets received.
        fec_packets_received: u64,
        /// FEC packets discarded.
        fec_packets_discarded: u64,
        /// Payload bytes received.
        bytes_received: u64,
        /// NACKs sent.
        nack_count: u32,
        /// FIRs sent.
        fir_count: u32,
        /// PLIs sent.
        pli_count: u32,
        /// Seconds from arrival to decode, summed.
        total_processing_delay: f64,
        /// Estimated playout time, milliseconds since the Unix epoch.
        estimated_playout_timestamp: f64,
        /// Seconds samples spent in the jitter buffer, summed.
        jitter_buffer_delay: f64,
        /// Target jitter buffer delay, summed.
        jitter_buffer_target_delay: f64,
        /// Samples that left the jitter buffer.
        jitter_buffer_emitted_count: u64,
        /// Minimum jitter buffer delay, summed.
        jitter_buffer_minimum_delay: f64,
        /// Audio samples received.
        total_samples_received: u64,
        /// Samples concealed.
        concealed_samples: u64,
        /// Concealed samples that were silent.
        silent_concealed_samples: u64,
        /// Concealment events.
        concealment_events: u64,
        /// Samples inserted to slow playout.
        inserted_samples_for_deceleration: u64,
        /// Samples removed to speed playout.
        removed_samples_for_acceleration: u64,
        /// Audio level, 0..1.
        audio_level: f64,
        /// Audio energy, summed.
        total_audio_energy: f64,
        /// Seconds of audio, summed.
        total_samples_duration: f64,
        /// Decoder name.
        decoder_implementation: String,
        /// Id of the playout stats.
        playout_id: String,
        /// Retransmitted packets received.
        retransmitted_packets_received: u64,
        /// Retransmitted bytes received.
        retransmitted_bytes_received: u64,
        /// SSRC of the retransmission stream, 0 without one.
        rtx_ssrc: u32,
        /// SSRC of the FEC stream, 0 without one.
        fec_ssrc: u32,
    },
    /// `RTCRemoteInboundRtpStreamStats`: what the peer reports having
    /// received of one of our streams (from its receiver reports).
    RemoteInboundRtp {
        /// Stats id.
        id: String,
        /// Timestamp in milliseconds since the Unix epoch.
        timestamp_ms: i64,
        /// Synchronisation source.
        ssrc: u32,
        /// "audio" or "video".
        kind: String,
        /// Id of the transport's stats.
        transport_id: String,
        /// Id of the codec's stats.
        codec_id: String,
        /// Packets the peer received.
        packets_received: u64,
        /// Packets the peer lost.
        packets_lost: i64,
        /// Jitter the peer measured, seconds.
        jitter: f64,
        /// Id of our outbound-rtp stats.
        local_id: String,
        /// Latest round-trip time, seconds.
        round_trip_time: f64,
        /// Sum of round-trip times, seconds.
        total_round_trip_time: f64,
        /// Fraction lost in the last report.
        fraction_lost: f64,
        /// Round-trip time measurements.
        round_trip_time_measurements: u64,
    },
    /// `RTCRemoteOutboundRtpStreamStats`: what the peer reports having
    /// sent on a stream we receive (from its sender reports).
    RemoteOutboundRtp {
        /// Stats id.
        id: String,
        /// Timestamp in milliseconds since the Unix epoch.
        timestamp_ms: i64,
        /// Synchronisation source.
        ssrc: u32,
        /// "audio" or "video".
        kind: String,
        /// Id of the transport's stats.
        transport_id: String,
        /// Id of the codec's stats.
        codec_id: String,
        /// Packets the peer sent.
        packets_sent: u64,
        /// Bytes the peer sent.
        bytes_sent: u64,
        /// Id of our inbound-rtp stats.
        local_id: String,
        /// The peer's clock at the report, milliseconds since the Unix epoch.
        remote_timestamp: f64,
        /// Sender reports received.
        reports_sent: u64,
        /// Latest round-trip time, seconds.
        round_trip_time: f64,
        /// Sum of round-trip times, seconds.
        total_round_trip_time: f64,
        /// Round-trip time measurements.
        round_trip_time_measurements: u64,
    },
    /// `RTCAudioSourceStats` (a media-source entry of kind audio): the
    /// source behind one of our senders.
    MediaSource {
        /// Stats id.
        id: String,
        /// Timestamp in milliseconds since the Unix epoch.
        timestamp_ms: i64,
        /// The track's id.
        track_identifier: String,
        /// "audio".
        kind: String,
        /// Audio level, 0..1.
        audio_level: f64,
        /// Audio energy, summed.
        total_audio_energy: f64,
        /// Seconds of audio, summed.
        total_samples_duration: f64,
        /// Echo return loss, dB.
        echo_return_loss: f64,
        /// Echo return loss enhancement, dB.
        echo_return_loss_enhancement: f64,
        /// Seconds of dropped samples.
        dropped_samples_duration: f64,
        /// Drop events.
        dropped_samples_events: u32,
        /// Capture delay, summed.
        total_capture_delay: f64,
        /// Samples captured.
        total_samples_captured: u64,
    },
}

/// Our entries for a whole connection's report: connection, transport,
/// candidates and data channels, and the RTP entries of its senders and
/// receivers ([`media_entries`]), so session statistics include audio.
/// Certificates are left out.
pub(crate) fn from_report(report: &RTCStatsReport) -> TransportStats {
    let entries = report
        .iter()
        .filter_map(|entry| {
            let (kind, json) = match entry {
                RTCStatsReportEntry::PeerConnection(s) => (Kind::PeerConnection, to_json(s)),
                RTCStatsReportEntry::DataChannel(s) => (Kind::DataChannel, to_json(s)),
                RTCStatsReportEntry::Transport(s) => (Kind::Transport, to_json(s)),
                RTCStatsReportEntry::IceCandidatePair(s) => (Kind::CandidatePair, to_json(s)),
                RTCStatsReportEntry::LocalCandidate(s) => {
                    (Kind::Candidate { local: true }, to_json(s))
                }
                RTCStatsReportEntry::RemoteCandidate(s) => {
                    (Kind::Candidate { local: false }, to_json(s))
                }
                _ => return None,
            };
            Some(entry_from_json(kind, &json?))
        })
        .chain(media_entries(report))
        .collect();
    TransportStats { entries }
}

/// The media entries of a sender's or receiver's report: RTP streams,
/// their codecs and audio sources. The connection-level entries are left
/// to [`from_report`].
pub(crate) fn media_entries(report: &RTCStatsReport) -> Vec<StatsEntry> {
    report
        .iter()
        .filter_map(|entry| {
            let (kind, json) = match entry {
                RTCStatsReportEntry::Codec(s) => (Kind::Codec, to_json(s)),
                RTCStatsReportEntry::OutboundRtp(s) => (Kind::OutboundRtp, to_json(s)),
                RTCStatsReportEntry::InboundRtp(s) => (Kind::InboundRtp, to_json(s)),
                RTCStatsReportEntry::RemoteInboundRtp(s) => (Kind::RemoteInboundRtp, to_json(s)),
                RTCStatsReportEntry::RemoteOutboundRtp(s) => (Kind::RemoteOutboundRtp, to_json(s)),
                RTCStatsReportEntry::AudioSource(s) => (Kind::MediaSource, to_json(s)),
                _ => return None,
            };
            Some(entry_from_json(kind, &json?))
        })
        .collect()
}

/// Adds an Opus `codec` entry when the engine's report has none, and
/// links RTP entries that name no codec to it. Against a LiveKit server
/// the engine may report a sender's stream without its codec, and a RED
/// stream only as `audio/red`; hosts look for the Opus entry, which
/// libwebrtc reports in both cases.
pub(crate) fn ensure_opus_codec(entries: &mut Vec<StatsEntry>, payload_type: u8) {
    let has_opus = entries.iter().any(|e| {
        matches!(e, StatsEntry::Codec { mime_type, .. } if mime_type.eq_ignore_ascii_case("audio/opus"))
    });
    if has_opus {
        return;
    }
    let mut link = None;
    for entry in entries.iter_mut() {
        if let StatsEntry::OutboundRtp {
            codec_id,
            transport_id,
            timestamp_ms,
            ..
        }
        | StatsEntry::InboundRtp {
            codec_id,
            transport_id,
            timestamp_ms,
            ..
        } = entry
        {
            let id = format!("COT_{payload_type}");
            if codec_id.is_empty() {
                codec_id.clone_from(&id);
            }
            link = Some((id, transport_id.clone(), *timestamp_ms));
        }
    }
    let Some((id, transport_id, timestamp_ms)) = link else {
        return;
    };
    entries.push(StatsEntry::Codec {
        id,
        timestamp_ms,
        payload_type: payload_type.into(),
        transport_id,
        mime_type: "audio/opus".into(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: super::config::OPUS_FMTP.into(),
    });
}

/// Which of our entries a JSON dictionary becomes.
#[derive(Debug, Clone, Copy)]
enum Kind {
    PeerConnection,
    DataChannel,
    Transport,
    CandidatePair,
    Candidate { local: bool },
    Codec,
    OutboundRtp,
    InboundRtp,
    RemoteInboundRtp,
    RemoteOutboundRtp,
    MediaSource,
}

fn to_json<T: serde::Serialize>(stats: &T) -> Option<Value> {
    serde_json::to_value(stats)
        .inspect_err(|e| log::debug!("stats entry not serialisable: {e}"))
        .ok()
}

/// Reads W3C members out of one dictionary, with defaults for the absent.
struct Dict<'a>(&'a Value);

impl Dict<'_> {
    fn string(&self, key: &str) -> String {
        match self.0.get(key) {
            // The engine's enums serialise an unset value as its Rust name.
            Some(Value::String(s)) if s != "Unspecified" => s.clone(),
            _ => String::new(),
        }
    }

    fn u64(&self, key: &str) -> u64 {
        let value = self.0.get(key);
        value
            .and_then(Value::as_u64)
            .or_else(|| value.and_then(Value::as_f64).map(|f| f.max(0.0) as u64))
            .unwrap_or(0)
    }

    fn u32(&self, key: &str) -> u32 {
        u32::try_from(self.u64(key)).unwrap_or(u32::MAX)
    }

    fn i32(&self, key: &str) -> i32 {
        i32::try_from(self.u64(key)).unwrap_or(i32::MAX)
    }

    fn f64(&self, key: &str) -> f64 {
        self.0.get(key).and_then(Value::as_f64).unwrap_or(0.0)
    }

    fn i64(&self, key: &str) -> i64 {
        let value = self.0.get(key);
        value
            .and_then(Value::as_i64)
            .or_else(|| value.and_then(Value::as_f64).map(|f| f as i64))
            .unwrap_or(0)
    }

    /// A media kind, which the engine writes as its Rust name (`Audio`).
    fn kind(&self, key: &str) -> String {
        self.string(key).to_ascii_lowercase()
    }

    /// A point in time the engine writes as seconds since the Unix epoch,
    /// in milliseconds as W3C has it.
    fn time_ms(&self, key: &str) -> f64 {
        self.f64(key) * 1000.0
    }

    fn bool(&self, key: &str) -> bool {
        self.0.get(key).and_then(Value::as_bool).unwrap_or(false)
    }

    /// The engine writes `timestamp` as seconds since the Unix epoch (with
    /// millisecond precision), though W3C says milliseconds.
    fn timestamp_ms(&self) -> i64 {
        (self.f64("timestamp") * 1000.0).round() as i64
    }
}

fn entry_from_json(kind: Kind, json: &Value) -> StatsEntry {
    let d = Dict(json);
    let id = d.string("id");
    let timestamp_ms = d.timestamp_ms();
    match kind {
        Kind::PeerConnection => StatsEntry::PeerConnection {
            id,
            timestamp_ms,
            data_channels_opened: d.u32("dataChannelsOpened"),
            data_channels_closed: d.u32("dataChannelsClosed"),
        },
        Kind::DataChannel => StatsEntry::DataChannel {
            id,
            timestamp_ms,
            label: d.string("label"),
            protocol: d.string("protocol"),
            data_channel_identifier: d.i32("dataChannelIdentifier"),
            state: d.string("state"),
            messages_sent: d.u32("messagesSent"),
            bytes_sent: d.u64("bytesSent"),
            messages_received: d.u32("messagesReceived"),
            bytes_received: d.u64("bytesReceived"),
        },
        Kind::Transport => StatsEntry::Transport {
            id,
            timestamp_ms,
            packets_sent: d.u64("packetsSent"),
            packets_received: d.u64("packetsReceived"),
            bytes_sent: d.u64("bytesSent"),
            bytes_received: d.u64("bytesReceived"),
            ice_state: d.string("iceState"),
            dtls_state: d.string("dtlsState"),
            selected_candidate_pair_id: d.string("selectedCandidatePairId"),
        },
        Kind::CandidatePair => StatsEntry::CandidatePair {
            id,
            timestamp_ms,
            local_candidate_id: d.string("localCandidateId"),
            remote_candidate_id: d.string("remoteCandidateId"),
            state: d.string("state"),
            nominated: d.bool("nominated"),
            packets_sent: d.u64("packetsSent"),
            packets_received: d.u64("packetsReceived"),
            bytes_sent: d.u64("bytesSent"),
            bytes_received: d.u64("bytesReceived"),
            total_round_trip_time: d.f64("totalRoundTripTime"),
            current_round_trip_time: d.f64("currentRoundTripTime"),
            available_outgoing_bitrate: d.f64("availableOutgoingBitrate"),
            requests_sent: d.u64("requestsSent"),
            responses_received: d.u64("responsesReceived"),
        },
        Kind::Candidate { local } => StatsEntry::Candidate {
            local,
            id,
            timestamp_ms,
            address: d.string("address"),
            port: d.i32("port"),
            protocol: d.string("protocol"),
            candidate_type: d.string("candidateType"),
            priority: d.i32("priority"),
        },
        Kind::Codec => StatsEntry::Codec {
            id,
            timestamp_ms,
            payload_type: d.u32("payloadType"),
            transport_id: d.string("transportId"),
            mime_type: d.string("mimeType"),
            clock_rate: d.u32("clockRate"),
            channels: d.u32("channels"),
            sdp_fmtp_line: d.string("sdpFmtpLine"),
        },
        Kind::OutboundRtp => StatsEntry::OutboundRtp {
            id,
            timestamp_ms,
            ssrc: d.u32("ssrc"),
            kind: d.kind("kind"),
            transport_id: d.string("transportId"),
            codec_id: d.string("codecId"),
            packets_sent: d.u64("packetsSent"),
            bytes_sent: d.u64("bytesSent"),
            mid: d.string("mid"),
            media_source_id: d.string("mediaSourceId"),
            remote_id: d.string("remoteId"),
            rid: d.string("rid"),
            header_bytes_sent: d.u64("headerBytesSent"),
            retransmitted_packets_sent: d.u64("retransmittedPacketsSent"),
            retransmitted_bytes_sent: d.u64("retransmittedBytesSent"),
            rtx_ssrc: d.u32("rtxSsrc"),
            target_bitrate: d.f64("targetBitrate"),
            total_encoded_bytes_target: d.u64("totalEncodedBytesTarget"),
            total_packet_send_delay: d.f64("totalPacketSendDelay"),
            nack_count: d.u32("nackCount"),
            fir_count: d.u32("firCount"),
            pli_count: d.u32("pliCount"),
            encoder_implementation: d.string("encoderImplementation"),
            active: d.bool("active"),
        },
        Kind::InboundRtp => StatsEntry::InboundRtp {
            id,
            timestamp_ms,
            ssrc: d.u32("ssrc"),
            kind: d.kind("kind"),
            transport_id: d.string("transportId"),
            codec_id: d.string("codecId"),
            packets_received: d.u64("packetsReceived"),
            packets_lost: d.i64("packetsLost"),
            jitter: d.f64("jitter"),
            track_identifier: d.string("trackIdentifier"),
            mid: d.string("mid"),
            remote_id: d.string("remoteId"),
            last_packet_received_timestamp: d.time_ms("lastPacketReceivedTimestamp"),
            header_bytes_received: d.u64("headerBytesReceived"),
            packets_discarded: d.u64("packetsDiscarded"),
            fec_bytes_received: d.u64("fecBytesReceived"),
            fec_packets_received: d.u64("fecPacketsReceived"),
            fec_packets_discarded: d.u64("fecPacketsDiscarded"),
            bytes_received: d.u64("bytesReceived"),
            nack_count: d.u32("nackCount"),
            fir_count: d.u32("firCount"),
            pli_count: d.u32("pliCount"),
            total_processing_delay: d.f64("totalProcessingDelay"),
            estimated_playout_timestamp: d.time_ms("estimatedPlayoutTimestamp"),
            jitter_buffer_delay: d.f64("jitterBufferDelay"),
            jitter_buffer_target_delay: d.f64("jitterBufferTargetDelay"),
            jitter_buffer_emitted_count: d.u64("jitterBufferEmittedCount"),
            jitter_buffer_minimum_delay: d.f64("jitterBufferMinimumDelay"),
            total_samples_received: d.u64("totalSamplesReceived"),
            concealed_samples: d.u64("concealedSamples"),
            silent_concealed_samples: d.u64("silentConcealedSamples"),
            concealment_events: d.u64("concealmentEvents"),
            inserted_samples_for_deceleration: d.u64("insertedSamplesForDeceleration"),
            removed_samples_for_acceleration: d.u64("removedSamplesForAcceleration"),
            audio_level: d.f64("audioLevel"),
            total_audio_energy: d.f64("totalAudioEnergy"),
            total_samples_duration: d.f64("totalSamplesDuration"),
            decoder_implementation: d.string("decoderImplementation"),
            playout_id: d.string("playoutId"),
            retransmitted_packets_received: d.u64("retransmittedPacketsReceived"),
            retransmitted_bytes_received: d.u64("retransmittedBytesReceived"),
            rtx_ssrc: d.u32("rtxSsrc"),
            fec_ssrc: d.u32("fecSsrc"),
        },
        Kind::RemoteInboundRtp => StatsEntry::RemoteInboundRtp {
            id,
            timestamp_ms,
            ssrc: d.u32("ssrc"),
            kind: d.kind("kind"),
            transport_id: d.string("transportId"),
            codec_id: d.string("codecId"),
            packets_received: d.u64("packetsReceived"),
            packets_lost: d.i64("packetsLost"),
            jitter: d.f64("jitter"),
            local_id: d.string("localId"),
            round_trip_time: d.f64("roundTripTime"),
            total_round_trip_time: d.f64("totalRoundTripTime"),
            fraction_lost: d.f64("fractionLost"),
            round_trip_time_measurements: d.u64("roundTripTimeMeasurements"),
        },
        Kind::RemoteOutboundRtp => StatsEntry::RemoteOutboundRtp {
            id,
            timestamp_ms,
            ssrc: d.u32("ssrc"),
            kind: d.kind("kind"),
            transport_id: d.string("transportId"),
            codec_id: d.string("codecId"),
            packets_sent: d.u64("packetsSent"),
            bytes_sent: d.u64("bytesSent"),
            local_id: d.string("localId"),
            remote_timestamp: d.time_ms("remoteTimestamp"),
            reports_sent: d.u64("reportsSent"),
            round_trip_time: d.f64("roundTripTime"),
            total_round_trip_time: d.f64("totalRoundTripTime"),
            round_trip_time_measurements: d.u64("roundTripTimeMeasurements"),
        },
        Kind::MediaSource => StatsEntry::MediaSource {
            id,
            timestamp_ms,
            // The engine names the member `trackId`; W3C `trackIdentifier`.
            track_identifier: match d.string("trackIdentifier") {
                s if s.is_empty() => d.string("trackId"),
                s => s,
            },
            kind: d.kind("kind"),
            audio_level: d.f64("audioLevel"),
            total_audio_energy: d.f64("totalAudioEnergy"),
            total_samples_duration: d.f64("totalSamplesDuration"),
            echo_return_loss: d.f64("echoReturnLoss"),
            echo_return_loss_enhancement: d.f64("echoReturnLossEnhancement"),
            dropped_samples_duration: d.f64("droppedSamplesDuration"),
            dropped_samples_events: d.u32("droppedSamplesEvents"),
            total_capture_delay: d.f64("totalCaptureDelay"),
            total_samples_captured: d.u64("totalSamplesCaptured"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_w3c_members_with_defaults() {
        let json = serde_json::json!({
            "id": "RTCIceCandidatePair_a_b",
            "timestamp": 1_700_000_000.123,
            "type": "candidate-pair",
            "localCandidateId": "a",
            "remoteCandidateId": "b",
            "state": "succeeded",
            "nominated": true,
            "requestsSent": 3,
            "currentRoundTripTime": 0.002,
        });
        match entry_from_json(Kind::CandidatePair, &json) {
            StatsEntry::CandidatePair {
                id,
                timestamp_ms,
                local_candidate_id,
                state,
                nominated,
                requests_sent,
                bytes_sent,
                current_round_trip_time,
                ..
            } => {
                assert_eq!(id, "RTCIceCandidatePair_a_b");
                assert_eq!(timestamp_ms, 1_700_000_000_123);
                assert_eq!(local_candidate_id, "a");
                assert_eq!(state, "succeeded");
                assert!(nominated);
                assert_eq!(requests_sent, 3);
                assert_eq!(bytes_sent, 0);
                assert!((current_round_trip_time - 0.002).abs() < 1e-9);
            }
            other => panic!("wrong entry {other:?}"),
        }
    }

    #[test]
    fn unspecified_enum_reads_as_empty() {
        let json = serde_json::json!({"id": "t", "iceState": "Unspecified", "dtlsState": "new"});
        match entry_from_json(Kind::Transport, &json) {
            StatsEntry::Transport {
                ice_state,
                dtls_state,
                ..
            } => {
                assert_eq!(ice_state, "");
                assert_eq!(dtls_state, "new");
            }
            other => panic!("wrong entry {other:?}"),
        }
    }
}
