//! Transport statistics as the FFI's `RtcStats`.
//!
//! The transport gives W3C-shaped entries with states as W3C strings; the
//! FFI wants its enums. Fields the transport does not measure are left at
//! zero, empty, or (for optional states) absent. Timestamps become
//! microseconds since the Unix epoch, the unit libwebrtc's stats report, which
//! is what the official library forwards.

use livekit_core::transport::{StatsEntry, TransportStats};

use crate::proto;
use crate::proto::rtc_stats::Stats;

/// Every entry of one peer connection's statistics.
pub fn transport_stats_to_ffi(stats: TransportStats) -> Vec<proto::RtcStats> {
    stats.entries.into_iter().map(rtc_stats_to_ffi).collect()
}

/// Any list of entries (a sender's, a receiver's).
pub fn entries_to_ffi(entries: Vec<StatsEntry>) -> Vec<proto::RtcStats> {
    entries.into_iter().map(rtc_stats_to_ffi).collect()
}

/// One statistics entry.
pub fn rtc_stats_to_ffi(entry: StatsEntry) -> proto::RtcStats {
    let entry = match super::rtp_stats::rtp_entry_to_ffi(entry) {
        Ok(stats) => return proto::RtcStats { stats: Some(stats) },
        Err(entry) => *entry,
    };
    let stats = match entry {
        StatsEntry::PeerConnection {
            id,
            timestamp_ms,
            data_channels_opened,
            data_channels_closed,
        } => Stats::PeerConnection(proto::rtc_stats::PeerConnection {
            rtc: stats_data(id, timestamp_ms),
            pc: proto::PeerConnectionStats {
                data_channels_opened,
                data_channels_closed,
            },
        }),
        StatsEntry::DataChannel {
            id,
            timestamp_ms,
            label,
            protocol,
            data_channel_identifier,
            state,
            messages_sent,
            bytes_sent,
            messages_received,
            bytes_received,
        } => Stats::DataChannel(proto::rtc_stats::DataChannel {
            rtc: stats_data(id, timestamp_ms),
            dc: proto::DataChannelStats {
                label,
                protocol,
                data_channel_identifier,
                state: data_channel_state_from_str(&state).map(|s| s as i32),
                messages_sent,
                bytes_sent,
                messages_received,
                bytes_received,
            },
        }),
        StatsEntry::Transport {
            id,
            timestamp_ms,
            packets_sent,
            packets_received,
            bytes_sent,
            bytes_received,
            ice_state,
            dtls_state,
            selected_candidate_pair_id,
        } => Stats::Transport(proto::rtc_stats::Transport {
            rtc: stats_data(id, timestamp_ms),
            transport: proto::TransportStats {
                packets_sent,
                packets_received,
                bytes_sent,
                bytes_received,
                ice_role: proto::IceRole::IceUnknown as i32,
                ice_local_username_fragment: String::new(),
                dtls_state: dtls_transport_state_from_str(&dtls_state).map(|s| s as i32),
                ice_state: ice_transport_state_from_str(&ice_state).map(|s| s as i32),
                selected_candidate_pair_id,
                local_certificate_id: String::new(),
                remote_certificate_id: String::new(),
                tls_version: String::new(),
                dtls_cipher: String::new(),
                dtls_role: proto::DtlsRole::DtlsUnknown as i32,
                srtp_cipher: String::new(),
                selected_candidate_pair_changes: 0,
            },
        }),
        StatsEntry::CandidatePair {
            id,
            timestamp_ms,
            local_candidate_id,
            remote_candidate_id,
            state,
            nominated,
            packets_sent,
            packets_received,
            bytes_sent,
            bytes_received,
            total_round_trip_time,
            current_round_trip_time,
            available_outgoing_bitrate,
            requests_sent,
            responses_received,
        } => Stats::CandidatePair(proto::rtc_stats::CandidatePair {
            rtc: stats_data(id, timestamp_ms),
            candidate_pair: proto::CandidatePairStats {
                transport_id: String::new(),
                local_candidate_id,
                remote_candidate_id,
                state: candidate_pair_state_from_str(&state).map(|s| s as i32),
                nominated,
                packets_sent,
                packets_received,
                bytes_sent,
                bytes_received,
                last_packet_sent_timestamp: 0.0,
                last_packet_received_timestamp: 0.0,
                total_round_trip_time,
                current_round_trip_time,
                available_outgoing_bitrate,
                available_incoming_bitrate: 0.0,
                requests_received: 0,
                requests_sent,
                responses_received,
                responses_sent: 0,
                consent_requests_sent: 0,
                packets_discarded_on_send: 0,
                bytes_discarded_on_send: 0,
            },
        }),
        StatsEntry::Candidate {
            local,
            id,
            timestamp_ms,
            address,
            port,
            protocol,
            candidate_type,
            priority,
        } => {
            let rtc = stats_data(id, timestamp_ms);
            let candidate = proto::IceCandidateStats {
                transport_id: String::new(),
                address,
                port,
                protocol,
                candidate_type: candidate_type_from_str(&candidate_type).map(|t| t as i32),
                priority,
                url: String::new(),
                relay_protocol: None,
                foundation: String::new(),
                related_address: String::new(),
                related_port: 0,
                username_fragment: String::new(),
                tcp_type: None,
            };
            if local {
                Stats::LocalCandidate(proto::rtc_stats::LocalCandidate { rtc, candidate })
            } else {
                Stats::RemoteCandidate(proto::rtc_stats::RemoteCandidate { rtc, candidate })
            }
        }
        // Mapped by `rtp_entry_to_ffi` above, so never reached.
        StatsEntry::Codec { .. }
        | StatsEntry::OutboundRtp { .. }
        | StatsEntry::InboundRtp { .. }
        | StatsEntry::RemoteInboundRtp { .. }
        | StatsEntry::RemoteOutboundRtp { .. }
        | StatsEntry::MediaSource { .. } => return proto::RtcStats { stats: None },
    };
    proto::RtcStats { stats: Some(stats) }
}

/// The common part of every entry; milliseconds become microseconds.
fn stats_data(id: String, timestamp_ms: i64) -> proto::RtcStatsData {
    proto::RtcStatsData {
        id,
        timestamp: timestamp_ms.saturating_mul(1000),
    }
}

/// Lower case without separators, so "in-progress", "in_progress" and
/// "InProgress" compare equal.
fn normalize(state: &str) -> String {
    state
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// `RTCDataChannelState`; `None` for anything else.
pub fn data_channel_state_from_str(state: &str) -> Option<proto::DataChannelState> {
    match normalize(state).as_str() {
        "connecting" => Some(proto::DataChannelState::DcConnecting),
        "open" => Some(proto::DataChannelState::DcOpen),
        "closing" => Some(proto::DataChannelState::DcClosing),
        "closed" => Some(proto::DataChannelState::DcClosed),
        _ => None,
    }
}

/// `RTCIceTransportState`; `None` for anything else.
pub fn ice_transport_state_from_str(state: &str) -> Option<proto::IceTransportState> {
    use proto::IceTransportState as S;
    match normalize(state).as_str() {
        "new" => Some(S::IceTransportNew),
        "checking" => Some(S::IceTransportChecking),
        "connected" => Some(S::IceTransportConnected),
        "completed" => Some(S::IceTransportCompleted),
        "disconnected" => Some(S::IceTransportDisconnected),
        "failed" => Some(S::IceTransportFailed),
        "closed" => Some(S::IceTransportClosed),
        _ => None,
    }
}

/// `RTCDtlsTransportState`; `None` for anything else.
pub fn dtls_transport_state_from_str(state: &str) -> Option<proto::DtlsTransportState> {
    use proto::DtlsTransportState as S;
    match normalize(state).as_str() {
        "new" => Some(S::DtlsTransportNew),
        "connecting" => Some(S::DtlsTransportConnecting),
        "connected" => Some(S::DtlsTransportConnected),
        "closed" => Some(S::DtlsTransportClosed),
        "failed" => Some(S::DtlsTransportFailed),
        _ => None,
    }
}

/// `RTCStatsIceCandidatePairState`; `None` for anything else.
pub fn candidate_pair_state_from_str(state: &str) -> Option<proto::IceCandidatePairState> {
    use proto::IceCandidatePairState as S;
    match normalize(state).as_str() {
        "frozen" => Some(S::PairFrozen),
        "waiting" => Some(S::PairWaiting),
        "inprogress" => Some(S::PairInProgress),
        "failed" => Some(S::PairFailed),
        "succeeded" => Some(S::PairSucceeded),
        _ => None,
    }
}

/// `RTCIceCandidateType` (also accepting the spelled-out names); `None` for
/// anything else.
pub fn candidate_type_from_str(kind: &str) -> Option<proto::IceCandidateType> {
    use proto::IceCandidateType as T;
    match normalize(kind).as_str() {
        "host" => Some(T::Host),
        "srflx" | "serverreflexive" => Some(T::Srflx),
        "prflx" | "peerreflexive" => Some(T::Prflx),
        "relay" | "relayed" => Some(T::Relay),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(stats: proto::RtcStats) -> Stats {
        stats.stats.expect("stats variant")
    }

    #[test]
    fn peer_connection_entry() {
        let entry = StatsEntry::PeerConnection {
            id: "PC".into(),
            timestamp_ms: 1_700_000_000_123,
            data_channels_opened: 2,
            data_channels_closed: 1,
        };
        let Stats::PeerConnection(pc) = only(rtc_stats_to_ffi(entry)) else {
            panic!("peer connection expected");
        };
        assert_eq!(pc.rtc.id, "PC");
        assert_eq!(pc.rtc.timestamp, 1_700_000_000_123_000);
        assert_eq!(pc.pc.data_channels_opened, 2);
        assert_eq!(pc.pc.data_channels_closed, 1);
    }

    #[test]
    fn data_channel_entry() {
        let entry = StatsEntry::DataChannel {
            id: "DC1".into(),
            timestamp_ms: 5,
            label: "_reliable".into(),
            protocol: String::new(),
            data_channel_identifier: 1,
            state: "open".into(),
            messages_sent: 10,
            bytes_sent: 1000,
            messages_received: 3,
            bytes_received: 300,
        };
        let Stats::DataChannel(dc) = only(rtc_stats_to_ffi(entry)) else {
            panic!("data channel expected");
        };
        assert_eq!(dc.rtc.id, "DC1");
        assert_eq!(dc.rtc.timestamp, 5000);
        assert_eq!(dc.dc.label, "_reliable");
        assert_eq!(dc.dc.protocol, "");
        assert_eq!(dc.dc.data_channel_identifier, 1);
        assert_eq!(dc.dc.state, Some(proto::DataChannelState::DcOpen as i32));
        assert_eq!((dc.dc.messages_sent, dc.dc.bytes_sent), (10, 1000));
        assert_eq!((dc.dc.messages_received, dc.dc.bytes_received), (3, 300));
    }

    #[test]
    fn transport_entry() {
        let entry = StatsEntry::Transport {
            id: "T1".into(),
            timestamp_ms: 7,
            packets_sent: 11,
            packets_received: 12,
            bytes_sent: 1300,
            bytes_received: 1400,
            ice_state: "connected".into(),
            dtls_state: "connecting".into(),
            selected_candidate_pair_id: "CP1".into(),
        };
        let Stats::Transport(t) = only(rtc_stats_to_ffi(entry)) else {
            panic!("transport expected");
        };
        assert_eq!(t.rtc.id, "T1");
        assert_eq!(t.rtc.timestamp, 7000);
        let s = t.transport;
        assert_eq!((s.packets_sent, s.packets_received), (11, 12));
        assert_eq!((s.bytes_sent, s.bytes_received), (1300, 1400));
        assert_eq!(
            s.ice_state,
            Some(proto::IceTransportState::IceTransportConnected as i32)
        );
        assert_eq!(
            s.dtls_state,
            Some(proto::DtlsTransportState::DtlsTransportConnecting as i32)
        );
        assert_eq!(s.selected_candidate_pair_id, "CP1");
        assert_eq!(s.ice_role, proto::IceRole::IceUnknown as i32);
        assert_eq!(s.dtls_role, proto::DtlsRole::DtlsUnknown as i32);
        assert_eq!(s.selected_candidate_pair_changes, 0);
    }

    #[test]
    fn transport_entry_with_unknown_states() {
        let entry = StatsEntry::Transport {
            id: "T2".into(),
            timestamp_ms: 0,
            packets_sent: 0,
            packets_received: 0,
            bytes_sent: 0,
            bytes_received: 0,
            ice_state: String::new(),
            dtls_state: "weird".into(),
            selected_candidate_pair_id: String::new(),
        };
        let Stats::Transport(t) = only(rtc_stats_to_ffi(entry)) else {
            panic!("transport expected");
        };
        assert_eq!(t.transport.ice_state, None);
        assert_eq!(t.transport.dtls_state, None);
    }

    #[test]
    fn candidate_pair_entry() {
        let entry = StatsEntry::CandidatePair {
            id: "CP1".into(),
            timestamp_ms: 9,
            local_candidate_id: "L1".into(),
            remote_candidate_id: "R1".into(),
            state: "in-progress".into(),
            nominated: true,
            packets_sent: 21,
            packets_received: 22,
            bytes_sent: 2300,
            bytes_received: 2400,
            total_round_trip_time: 0.5,
            current_round_trip_time: 0.05,
            available_outgoing_bitrate: 1_500_000.0,
            requests_sent: 4,
            responses_received: 3,
        };
        let Stats::CandidatePair(cp) = only(rtc_stats_to_ffi(entry)) else {
            panic!("candidate pair expected");
        };
        assert_eq!(cp.rtc.id, "CP1");
        assert_eq!(cp.rtc.timestamp, 9000);
        let s = cp.candidate_pair;
        assert_eq!(s.local_candidate_id, "L1");
        assert_eq!(s.remote_candidate_id, "R1");
        assert_eq!(
            s.state,
            Some(proto::IceCandidatePairState::PairInProgress as i32)
        );
        assert!(s.nominated);
        assert_eq!((s.packets_sent, s.packets_received), (21, 22));
        assert_eq!((s.bytes_sent, s.bytes_received), (2300, 2400));
        assert_eq!(s.total_round_trip_time, 0.5);
        assert_eq!(s.current_round_trip_time, 0.05);
        assert_eq!(s.available_outgoing_bitrate, 1_500_000.0);
        assert_eq!((s.requests_sent, s.responses_received), (4, 3));
        assert_eq!(s.transport_id, "");
        assert_eq!(s.available_incoming_bitrate, 0.0);
    }

    #[test]
    fn candidates_local_and_remote() {
        let candidate = |local: bool, kind: &str| StatsEntry::Candidate {
            local,
            id: if local { "L1".into() } else { "R1".into() },
            timestamp_ms: 3,
            address: "192.0.2.1".into(),
            port: 50000,
            protocol: "udp".into(),
            candidate_type: kind.into(),
            priority: 2_130_706_431,
        };
        let Stats::LocalCandidate(l) = only(rtc_stats_to_ffi(candidate(true, "host"))) else {
            panic!("local candidate expected");
        };
        assert_eq!(l.rtc.id, "L1");
        assert_eq!(l.rtc.timestamp, 3000);
        assert_eq!(l.candidate.address, "192.0.2.1");
        assert_eq!(l.candidate.port, 50000);
        assert_eq!(l.candidate.protocol, "udp");
        assert_eq!(
            l.candidate.candidate_type,
            Some(proto::IceCandidateType::Host as i32)
        );
        assert_eq!(l.candidate.priority, 2_130_706_431);
        assert_eq!(l.candidate.relay_protocol, None);
        assert_eq!(l.candidate.tcp_type, None);

        let Stats::RemoteCandidate(r) = only(rtc_stats_to_ffi(candidate(false, "relay"))) else {
            panic!("remote candidate expected");
        };
        assert_eq!(r.rtc.id, "R1");
        assert_eq!(
            r.candidate.candidate_type,
            Some(proto::IceCandidateType::Relay as i32)
        );

        let Stats::RemoteCandidate(odd) = only(rtc_stats_to_ffi(candidate(false, "bogus"))) else {
            panic!("remote candidate expected");
        };
        assert_eq!(odd.candidate.candidate_type, None);
    }

    #[test]
    fn whole_transport_and_extreme_timestamps() {
        let stats = TransportStats {
            entries: vec![
                StatsEntry::PeerConnection {
                    id: "PC".into(),
                    timestamp_ms: i64::MAX,
                    data_channels_opened: 0,
                    data_channels_closed: 0,
                },
                StatsEntry::PeerConnection {
                    id: "PC2".into(),
                    timestamp_ms: -1,
                    data_channels_opened: 0,
                    data_channels_closed: 0,
                },
            ],
        };
        let list = transport_stats_to_ffi(stats);
        assert_eq!(list.len(), 2);
        let Stats::PeerConnection(first) = only(list[0].clone()) else {
            panic!("peer connection expected");
        };
        assert_eq!(first.rtc.timestamp, i64::MAX);
        let Stats::PeerConnection(second) = only(list[1].clone()) else {
            panic!("peer connection expected");
        };
        assert_eq!(second.rtc.timestamp, -1000);
        assert!(transport_stats_to_ffi(TransportStats::default()).is_empty());
    }

    #[test]
    fn state_strings() {
        assert_eq!(
            data_channel_state_from_str("connecting"),
            Some(proto::DataChannelState::DcConnecting)
        );
        assert_eq!(
            data_channel_state_from_str("closing"),
            Some(proto::DataChannelState::DcClosing)
        );
        assert_eq!(
            data_channel_state_from_str("Closed"),
            Some(proto::DataChannelState::DcClosed)
        );
        assert_eq!(data_channel_state_from_str(""), None);
        assert_eq!(
            ice_transport_state_from_str("new"),
            Some(proto::IceTransportState::IceTransportNew)
        );
        assert_eq!(
            ice_transport_state_from_str("checking"),
            Some(proto::IceTransportState::IceTransportChecking)
        );
        assert_eq!(
            ice_transport_state_from_str("completed"),
            Some(proto::IceTransportState::IceTransportCompleted)
        );
        assert_eq!(
            ice_transport_state_from_str("disconnected"),
            Some(proto::IceTransportState::IceTransportDisconnected)
        );
        assert_eq!(
            ice_transport_state_from_str("failed"),
            Some(proto::IceTransportState::IceTransportFailed)
        );
        assert_eq!(
            ice_transport_state_from_str("closed"),
            Some(proto::IceTransportState::IceTransportClosed)
        );
        assert_eq!(
            dtls_transport_state_from_str("new"),
            Some(proto::DtlsTransportState::DtlsTransportNew)
        );
        assert_eq!(
            dtls_transport_state_from_str("connected"),
            Some(proto::DtlsTransportState::DtlsTransportConnected)
        );
        assert_eq!(
            dtls_transport_state_from_str("closed"),
            Some(proto::DtlsTransportState::DtlsTransportClosed)
        );
        assert_eq!(
            dtls_transport_state_from_str("failed"),
            Some(proto::DtlsTransportState::DtlsTransportFailed)
        );
        assert_eq!(
            candidate_pair_state_from_str("frozen"),
            Some(proto::IceCandidatePairState::PairFrozen)
        );
        assert_eq!(
            candidate_pair_state_from_str("waiting"),
            Some(proto::IceCandidatePairState::PairWaiting)
        );
        assert_eq!(
            candidate_pair_state_from_str("InProgress"),
            Some(proto::IceCandidatePairState::PairInProgress)
        );
        assert_eq!(
            candidate_pair_state_from_str("failed"),
            Some(proto::IceCandidatePairState::PairFailed)
        );
        assert_eq!(
            candidate_pair_state_from_str("succeeded"),
            Some(proto::IceCandidatePairState::PairSucceeded)
        );
        assert_eq!(candidate_pair_state_from_str("unspecified"), None);
        assert_eq!(
            candidate_type_from_str("srflx"),
            Some(proto::IceCandidateType::Srflx)
        );
        assert_eq!(
            candidate_type_from_str("server-reflexive"),
            Some(proto::IceCandidateType::Srflx)
        );
        assert_eq!(
            candidate_type_from_str("prflx"),
            Some(proto::IceCandidateType::Prflx)
        );
        assert_eq!(
            candidate_type_from_str("relay"),
            Some(proto::IceCandidateType::Relay)
        );
    }
}
