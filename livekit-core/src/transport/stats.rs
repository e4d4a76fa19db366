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
}

/// Our entries for the engine's report. Entries of other types (codecs,
/// certificates, RTP streams) are left out: the FFI carries them from the
/// media side.
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
        .collect();
    TransportStats { entries }
}

/// Which of our entries a JSON dictionary becomes.
#[derive(Debug, Clone, Copy)]
enum Kind {
    PeerConnection,
    DataChannel,
    Transport,
    CandidatePair,
    Candidate { local: bool },
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
