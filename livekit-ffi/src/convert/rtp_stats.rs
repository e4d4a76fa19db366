//! Media statistics: the RTP entries of the engine's reports (codec,
//! inbound, outbound, remote inbound and outbound, media source), and what
//! a subscribed track's receiver counts, as the W3C dictionaries the host
//! reads.

use livekit_core::track::RemoteTrackStats;
use livekit_core::transport::StatsEntry;

use crate::proto;
use proto::rtc_stats::Stats;

fn rtc(id: String, timestamp_ms: i64) -> proto::RtcStatsData {
    proto::RtcStatsData {
        id,
        timestamp: timestamp_ms.saturating_mul(1000),
    }
}

/// The RTP entries of a report; the other kinds come back (boxed, they
/// are large) for [`super::stats`] to map.
pub fn rtp_entry_to_ffi(entry: StatsEntry) -> Result<Stats, Box<StatsEntry>> {
    Ok(match entry {
        StatsEntry::Codec {
            id,
            timestamp_ms,
            payload_type,
            transport_id,
            mime_type,
            clock_rate,
            channels,
            sdp_fmtp_line,
        } => Stats::Codec(proto::rtc_stats::Codec {
            rtc: rtc(id, timestamp_ms),
            codec: proto::CodecStats {
                payload_type,
                transport_id,
                mime_type,
                clock_rate,
                channels,
                sdp_fmtp_line,
            },
        }),
        StatsEntry::OutboundRtp {
            id,
            timestamp_ms,
            ssrc,
            kind,
            transport_id,
            codec_id,
            packets_sent,
            bytes_sent,
            mid,
            media_source_id,
            remote_id,
            rid,
            header_bytes_sent,
            retransmitted_packets_sent,
            retransmitted_bytes_sent,
            rtx_ssrc,
            target_bitrate,
            total_encoded_bytes_target,
            total_packet_send_delay,
            nack_count,
            fir_count,
            pli_count,
            encoder_implementation,
            active,
        } => Stats::OutboundRtp(proto::rtc_stats::OutboundRtp {
            rtc: rtc(id, timestamp_ms),
            stream: proto::RtpStreamStats {
                ssrc,
                kind,
                transport_id,
                codec_id,
            },
            sent: proto::SentRtpStreamStats {
                packets_sent,
                bytes_sent,
            },
            outbound: proto::OutboundRtpStreamStats {
                mid,
                media_source_id,
                remote_id,
                rid,
                header_bytes_sent,
                retransmitted_packets_sent,
                retransmitted_bytes_sent,
                rtx_ssrc,
                target_bitrate,
                total_encoded_bytes_target,
                total_packet_send_delay,
                nack_count,
                fir_count,
                pli_count,
                encoder_implementation,
                active,
                ..Default::default()
            },
        }),
        StatsEntry::InboundRtp {
            id,
            timestamp_ms,
            ssrc,
            kind,
            transport_id,
            codec_id,
            packets_received,
            packets_lost,
            jitter,
            track_identifier,
            mid,
            remote_id,
            last_packet_received_timestamp,
            header_bytes_received,
            packets_discarded,
            fec_bytes_received,
            fec_packets_received,
            fec_packets_discarded,
            bytes_received,
            nack_count,
            fir_count,
            pli_count,
            total_processing_delay,
            estimated_playout_timestamp,
            jitter_buffer_delay,
            jitter_buffer_target_delay,
            jitter_buffer_emitted_count,
            jitter_buffer_minimum_delay,
            total_samples_received,
            concealed_samples,
            silent_concealed_samples,
            concealment_events,
            inserted_samples_for_deceleration,
            removed_samples_for_acceleration,
            audio_level,
            total_audio_energy,
            total_samples_duration,
            decoder_implementation,
            playout_id,
            retransmitted_packets_received,
            retransmitted_bytes_received,
            rtx_ssrc,
            fec_ssrc,
        } => Stats::InboundRtp(proto::rtc_stats::InboundRtp {
            rtc: rtc(id, timestamp_ms),
            stream: proto::RtpStreamStats {
                ssrc,
                kind,
                transport_id,
                codec_id,
            },
            received: proto::ReceivedRtpStreamStats {
                packets_received,
                packets_lost,
                jitter,
            },
            inbound: proto::InboundRtpStreamStats {
                track_identifier,
                mid,
                remote_id,
                last_packet_received_timestamp,
                header_bytes_received,
                packets_discarded,
                fec_bytes_received,
                fec_packets_received,
                fec_packets_discarded,
                bytes_received,
                nack_count,
                fir_count,
                pli_count,
                total_processing_delay,
                estimated_playout_timestamp,
                jitter_buffer_delay,
                jitter_buffer_target_delay,
                jitter_buffer_emitted_count,
                jitter_buffer_minimum_delay,
                total_samples_received,
                concealed_samples,
                silent_concealed_samples,
                concealment_events,
                inserted_samples_for_deceleration,
                removed_samples_for_acceleration,
                audio_level,
                total_audio_energy,
                total_samples_duration,
                decoder_implementation,
                playout_id,
                retransmitted_packets_received,
                retransmitted_bytes_received,
                rtx_ssrc,
                fec_ssrc,
                ..Default::default()
            },
        }),
        StatsEntry::RemoteInboundRtp {
            id,
            timestamp_ms,
            ssrc,
            kind,
            transport_id,
            codec_id,
            packets_received,
            packets_lost,
            jitter,
            local_id,
            round_trip_time,
            total_round_trip_time,
            fraction_lost,
            round_trip_time_measurements,
        } => Stats::RemoteInboundRtp(proto::rtc_stats::RemoteInboundRtp {
            rtc: rtc(id, timestamp_ms),
            stream: proto::RtpStreamStats {
                ssrc,
                kind,
                transport_id,
                codec_id,
            },
            received: proto::ReceivedRtpStreamStats {
                packets_received,
                packets_lost,
                jitter,
            },
            remote_inbound: proto::RemoteInboundRtpStreamStats {
                local_id,
                round_trip_time,
                total_round_trip_time,
                fraction_lost,
                round_trip_time_measurements,
            },
        }),
        StatsEntry::RemoteOutboundRtp {
            id,
            timestamp_ms,
            ssrc,
            kind,
            transport_id,
            codec_id,
            packets_sent,
            bytes_sent,
            local_id,
            remote_timestamp,
            reports_sent,
            round_trip_time,
            total_round_trip_time,
            round_trip_time_measurements,
        } => Stats::RemoteOutboundRtp(proto::rtc_stats::RemoteOutboundRtp {
            rtc: rtc(id, timestamp_ms),
            stream: proto::RtpStreamStats {
                ssrc,
                kind,
                transport_id,
                codec_id,
            },
            sent: proto::SentRtpStreamStats {
                packets_sent,
                bytes_sent,
            },
            remote_outbound: proto::RemoteOutboundRtpStreamStats {
                local_id,
                remote_timestamp,
                reports_sent,
                round_trip_time,
                total_round_trip_time,
                round_trip_time_measurements,
            },
        }),
        StatsEntry::MediaSource {
            id,
            timestamp_ms,
            track_identifier,
            kind,
            audio_level,
            total_audio_energy,
            total_samples_duration,
            echo_return_loss,
            echo_return_loss_enhancement,
            dropped_samples_duration,
            dropped_samples_events,
            total_capture_delay,
            total_samples_captured,
        } => Stats::MediaSource(proto::rtc_stats::MediaSource {
            rtc: rtc(id, timestamp_ms),
            source: proto::MediaSourceStats {
                track_identifier,
                kind,
            },
            audio: proto::AudioSourceStats {
                audio_level,
                total_audio_energy,
                total_samples_duration,
                echo_return_loss,
                echo_return_loss_enhancement,
                dropped_samples_duration,
                dropped_samples_events,
                total_capture_delay,
                total_samples_captured,
            },
            video: Default::default(),
        }),
        other => return Err(Box::new(other)),
    })
}

/// The receive statistics of a remote audio track as one `inbound-rtp`
/// entry. Video-only members stay zero.
pub fn remote_audio_to_ffi(track_sid: &str, stats: &RemoteTrackStats) -> Vec<proto::RtcStats> {
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default();
    let inbound = proto::rtc_stats::InboundRtp {
        rtc: proto::RtcStatsData {
            id: format!("IT-{track_sid}"),
            timestamp,
        },
        stream: proto::RtpStreamStats {
            kind: "audio".into(),
            ..Default::default()
        },
        received: proto::ReceivedRtpStreamStats {
            packets_received: stats.packets_received,
            packets_lost: stats.packets_lost,
            jitter: stats.jitter,
        },
        inbound: proto::InboundRtpStreamStats {
            track_identifier: track_sid.to_owned(),
            bytes_received: stats.bytes_received,
            jitter_buffer_delay: stats.jitter_buffer_delay,
            jitter_buffer_emitted_count: stats.jitter_buffer_emitted_count,
            total_samples_received: stats.total_samples_received,
            concealed_samples: stats.concealed_samples,
            concealment_events: stats.concealment_events,
            audio_level: stats.audio_level,
            total_audio_energy: stats.total_audio_energy,
            total_samples_duration: stats.total_samples_duration,
            decoder_implementation: "libopus".into(),
            ..Default::default()
        },
    };
    vec![proto::RtcStats {
        stats: Some(Stats::InboundRtp(inbound)),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbound_entry_carries_the_counters() {
        let stats = RemoteTrackStats {
            packets_received: 50,
            packets_lost: 2,
            concealed_samples: 960,
            total_samples_received: 48_000,
            ..Default::default()
        };
        let entries = remote_audio_to_ffi("TR_x", &stats);
        let Some(Stats::InboundRtp(inbound)) = &entries[0].stats else {
            panic!("not inbound-rtp: {entries:?}");
        };
        assert_eq!(inbound.stream.kind, "audio");
        assert_eq!(inbound.received.packets_received, 50);
        assert_eq!(inbound.received.packets_lost, 2);
        assert_eq!(inbound.inbound.concealed_samples, 960);
        assert_eq!(inbound.inbound.track_identifier, "TR_x");
    }
}
