//! Data packets: what we send on the publisher's channels and what the
//! server forwards to us, decoded into room events.

use livekit_protocol as proto;
use prost::Message;

use super::events::{DataKind, RoomEvent};
use super::state::RoomState;
use super::streams::StreamPacket;

/// Label of the ordered, reliable channel.
pub const RELIABLE_LABEL: &str = "_reliable";
/// Label of the unordered, unretransmitted channel.
pub const LOSSY_LABEL: &str = "_lossy";

/// The kind a channel label carries; `None` for channels that are not
/// user-data channels (such as `_data_track`).
pub fn kind_of_label(label: &str) -> Option<DataKind> {
    match label {
        RELIABLE_LABEL => Some(DataKind::Reliable),
        LOSSY_LABEL => Some(DataKind::Lossy),
        _ => None,
    }
}

/// What the local participant can send as a data packet.
#[derive(Debug, Clone)]
pub enum OutgoingData {
    /// Application bytes with an optional topic.
    User {
        /// The bytes.
        payload: Vec<u8>,
        /// The topic, if any.
        topic: Option<String>,
    },
    /// A SIP DTMF tone.
    SipDtmf {
        /// DTMF code.
        code: u32,
        /// DTMF digit.
        digit: String,
    },
    /// A transcription of some participant's track.
    Transcription(proto::Transcription),
    /// A chat message or an edit of one.
    Chat(proto::ChatMessage),
    /// A data-stream header, chunk or trailer (always reliable).
    Stream {
        /// The packet.
        packet: StreamPacket,
        /// The identity to attribute it to instead of ours, when an agent
        /// speaks for someone.
        sender_identity: Option<String>,
    },
}

/// Encode a packet from us. `sequence` is 0 for lossy packets.
pub fn encode(
    data: OutgoingData,
    kind: DataKind,
    local: &proto::ParticipantInfo,
    destinations: Vec<String>,
    sequence: u32,
) -> Vec<u8> {
    let mut identity = None;
    let value = match data {
        OutgoingData::User { payload, topic } => {
            proto::data_packet::Value::User(proto::UserPacket {
                payload,
                topic,
                ..Default::default()
            })
        }
        OutgoingData::SipDtmf { code, digit } => {
            proto::data_packet::Value::SipDtmf(proto::SipDtmf { code, digit })
        }
        OutgoingData::Transcription(t) => proto::data_packet::Value::Transcription(t),
        OutgoingData::Chat(c) => proto::data_packet::Value::ChatMessage(c),
        OutgoingData::Stream {
            packet,
            sender_identity,
        } => {
            identity = sender_identity.filter(|s| !s.is_empty());
            match packet {
                StreamPacket::Header(h) => proto::data_packet::Value::StreamHeader(h),
                StreamPacket::Chunk(c) => proto::data_packet::Value::StreamChunk(c),
                StreamPacket::Trailer(t) => proto::data_packet::Value::StreamTrailer(t),
            }
        }
    };
    #[allow(deprecated)]
    let packet = proto::DataPacket {
        kind: match kind {
            DataKind::Reliable => proto::data_packet::Kind::Reliable as i32,
            DataKind::Lossy => proto::data_packet::Kind::Lossy as i32,
        },
        participant_identity: identity.unwrap_or_else(|| local.identity.clone()),
        participant_sid: local.sid.clone(),
        destination_identities: destinations,
        sequence,
        value: Some(value),
    };
    packet.encode_to_vec()
}

/// Decode a packet that arrived on a channel of `kind` into the event it
/// carries. Packets from unknown senders are dropped where the SDKs expect
/// a known participant; user data from the server has an empty identity.
pub fn decode(bytes: &[u8], kind: DataKind, state: &RoomState) -> Option<RoomEvent> {
    let mut packet = match proto::DataPacket::decode(bytes) {
        Ok(packet) => packet,
        Err(err) => {
            log::warn!("dropping undecodable data packet: {err}");
            return None;
        }
    };
    let sender = sender_identity(&packet, state);
    #[allow(deprecated)]
    let (packet_identity, packet_sid) = (
        std::mem::take(&mut packet.participant_identity),
        std::mem::take(&mut packet.participant_sid),
    );
    match packet.value? {
        proto::data_packet::Value::User(user) => Some(RoomEvent::DataReceived {
            identity: sender.unwrap_or_default(),
            kind,
            payload: user.payload,
            topic: user.topic,
        }),
        proto::data_packet::Value::SipDtmf(dtmf) => Some(RoomEvent::SipDtmfReceived {
            identity: sender?,
            kind,
            code: dtmf.code,
            digit: dtmf.digit,
        }),
        proto::data_packet::Value::Transcription(t) => {
            let identity =
                Some(t.transcribed_participant_identity).filter(|identity| state.knows(identity));
            Some(RoomEvent::TranscriptionReceived {
                identity,
                track_sid: t.track_id,
                segments: t.segments,
            })
        }
        proto::data_packet::Value::ChatMessage(message) => Some(RoomEvent::ChatMessageReceived {
            identity: sender?,
            message,
        }),
        // Streams are reassembled downstream (see `streams::router`); the
        // sender is passed on as named, known or not.
        proto::data_packet::Value::StreamHeader(header) => Some(RoomEvent::StreamHeaderReceived {
            identity: stream_sender(&packet_identity, &packet_sid, state),
            header,
        }),
        proto::data_packet::Value::StreamChunk(chunk) => Some(RoomEvent::StreamChunkReceived {
            identity: stream_sender(&packet_identity, &packet_sid, state),
            chunk,
        }),
        proto::data_packet::Value::StreamTrailer(trailer) => {
            Some(RoomEvent::StreamTrailerReceived {
                identity: stream_sender(&packet_identity, &packet_sid, state),
                trailer,
            })
        }
        _ => None,
    }
}

/// The sender of a stream packet: the identity it names, or the one
/// behind the sid it names.
fn stream_sender(identity: &str, sid: &str, state: &RoomState) -> String {
    if identity.is_empty() && !sid.is_empty() {
        return state.identity_of_sid(sid).unwrap_or_default().to_owned();
    }
    identity.to_owned()
}

/// The sender's identity if it is a participant we know.
#[allow(deprecated)]
fn sender_identity(packet: &proto::DataPacket, state: &RoomState) -> Option<String> {
    let mut identity = packet.participant_identity.clone();
    if let (true, Some(proto::data_packet::Value::User(user))) =
        (identity.is_empty(), &packet.value)
    {
        identity = user.participant_identity.clone();
    }
    if identity.is_empty() && !packet.participant_sid.is_empty() {
        identity = state.identity_of_sid(&packet.participant_sid)?.to_owned();
    }
    (!identity.is_empty() && state.knows(&identity)).then_some(identity)
}

/// The largest message the remote side accepts, from the answer's
/// `a=max-message-size`, capped at 64000 bytes as libwebrtc's SCTP is.
/// `None` means no limit is declared as 0 (unlimited).
pub fn max_message_size(answer_sdp: &str) -> Option<usize> {
    const CAP: usize = 64_000;
    let declared = answer_sdp
        .lines()
        .find_map(|line| line.trim().strip_prefix("a=max-message-size:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    match declared {
        Some(0) => None,
        Some(n) => Some(n.min(CAP)),
        // RFC 8841: an absent attribute means 64 KiB.
        None => Some(CAP),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> RoomState {
        RoomState::from_join(&proto::JoinResponse {
            participant: Some(proto::ParticipantInfo {
                sid: "PA_me".into(),
                identity: "me".into(),
                ..Default::default()
            }),
            other_participants: vec![proto::ParticipantInfo {
                sid: "PA_a".into(),
                identity: "a".into(),
                state: proto::participant_info::State::Active as i32,
                ..Default::default()
            }],
            ..Default::default()
        })
    }

    fn from(identity: &str, data: OutgoingData) -> Vec<u8> {
        let sender = proto::ParticipantInfo {
            identity: identity.into(),
            sid: format!("PA_{identity}"),
            ..Default::default()
        };
        encode(data, DataKind::Reliable, &sender, vec![], 1)
    }

    #[test]
    fn user_packet_round_trips_with_topic_and_kind_from_channel() {
        let bytes = from(
            "a",
            OutgoingData::User {
                payload: b"hi".to_vec(),
                topic: Some("t".into()),
            },
        );
        match decode(&bytes, DataKind::Lossy, &state()) {
            Some(RoomEvent::DataReceived {
                identity,
                kind,
                payload,
                topic,
            }) => {
                assert_eq!(identity, "a");
                assert_eq!(kind, DataKind::Lossy);
                assert_eq!(payload, b"hi");
                assert_eq!(topic.as_deref(), Some("t"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn user_data_from_unknown_sender_has_empty_identity() {
        let bytes = from(
            "server",
            OutgoingData::User {
                payload: vec![1],
                topic: None,
            },
        );
        match decode(&bytes, DataKind::Reliable, &state()) {
            Some(RoomEvent::DataReceived { identity, .. }) => assert!(identity.is_empty()),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn dtmf_and_chat_from_unknown_senders_are_dropped() {
        let dtmf = OutgoingData::SipDtmf {
            code: 3,
            digit: "3".into(),
        };
        assert!(decode(&from("zz", dtmf.clone()), DataKind::Reliable, &state()).is_none());
        assert!(matches!(
            decode(&from("a", dtmf), DataKind::Reliable, &state()),
            Some(RoomEvent::SipDtmfReceived { code: 3, .. })
        ));
        let chat = OutgoingData::Chat(proto::ChatMessage {
            id: "c".into(),
            ..Default::default()
        });
        assert!(decode(&from("zz", chat), DataKind::Reliable, &state()).is_none());
    }

    #[test]
    fn garbage_is_dropped_not_panicking() {
        assert!(decode(&[0xff, 0xff, 0xff], DataKind::Reliable, &state()).is_none());
        assert!(decode(&[], DataKind::Reliable, &state()).is_none());
    }

    #[test]
    fn transcription_keeps_known_identity_only() {
        let t = proto::Transcription {
            transcribed_participant_identity: "ghost".into(),
            track_id: "TR_x".into(),
            segments: vec![proto::TranscriptionSegment {
                id: "s".into(),
                ..Default::default()
            }],
        };
        match decode(
            &from("a", OutgoingData::Transcription(t)),
            DataKind::Reliable,
            &state(),
        ) {
            Some(RoomEvent::TranscriptionReceived {
                identity,
                track_sid,
                segments,
            }) => {
                assert!(identity.is_none());
                assert_eq!(track_sid, "TR_x");
                assert_eq!(segments.len(), 1);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn stream_packets_round_trip_with_their_sender() {
        use livekit_protocol::data_stream as wire;
        let header = wire::Header {
            stream_id: "s".into(),
            topic: "t".into(),
            ..Default::default()
        };
        let local = proto::ParticipantInfo {
            identity: "me".into(),
            sid: "PA_me".into(),
            ..Default::default()
        };
        // Attributed to another identity (an agent speaking for someone),
        // which need not be a participant we know.
        let bytes = encode(
            OutgoingData::Stream {
                packet: StreamPacket::Header(header.clone()),
                sender_identity: Some("speaker".into()),
            },
            DataKind::Reliable,
            &local,
            vec!["a".into()],
            3,
        );
        let packet = proto::DataPacket::decode(bytes.as_slice()).unwrap();
        assert_eq!(packet.participant_identity, "speaker");
        assert_eq!(packet.destination_identities, ["a"]);
        match decode(&bytes, DataKind::Reliable, &state()) {
            Some(RoomEvent::StreamHeaderReceived {
                identity,
                header: got,
            }) => {
                assert_eq!(identity, "speaker");
                assert_eq!(got, header);
            }
            other => panic!("unexpected {other:?}"),
        }
        let chunk = from(
            "a",
            OutgoingData::Stream {
                packet: StreamPacket::Chunk(wire::Chunk {
                    stream_id: "s".into(),
                    content: vec![1],
                    ..Default::default()
                }),
                sender_identity: None,
            },
        );
        assert!(matches!(
            decode(&chunk, DataKind::Reliable, &state()),
            Some(RoomEvent::StreamChunkReceived { identity, .. }) if identity == "a"
        ));
        let trailer = from(
            "a",
            OutgoingData::Stream {
                packet: StreamPacket::Trailer(wire::Trailer::default()),
                sender_identity: Some(String::new()),
            },
        );
        assert!(matches!(
            decode(&trailer, DataKind::Reliable, &state()),
            Some(RoomEvent::StreamTrailerReceived { identity, .. }) if identity == "a"
        ));
    }

    #[test]
    fn max_message_size_reads_and_caps_the_answer() {
        assert_eq!(
            max_message_size("v=0\r\na=max-message-size:262144\r\n"),
            Some(64_000)
        );
        assert_eq!(max_message_size("a=max-message-size:1200\r\n"), Some(1200));
        assert_eq!(max_message_size("a=max-message-size:0\r\n"), None);
        assert_eq!(max_message_size("v=0\r\n"), Some(64_000));
    }

    #[test]
    fn labels_map_to_kinds() {
        assert_eq!(kind_of_label("_reliable"), Some(DataKind::Reliable));
        assert_eq!(kind_of_label("_lossy"), Some(DataKind::Lossy));
        assert_eq!(kind_of_label("_data_track"), None);
    }
}
