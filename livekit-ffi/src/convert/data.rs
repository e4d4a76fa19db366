//! Data packets: transcriptions, chat messages, SIP DTMF, the legacy
//! (low-level) data-stream header, chunk and trailer, and the stream infos
//! and options of the high-level stream requests.

use livekit_core::room::streams::{
    ByteStreamInfo, ByteStreamOptions, StreamError, TextStreamInfo, TextStreamOptions,
};
use livekit_protocol as lp;
use livekit_protocol::data_stream as wire_stream;

use crate::proto;
use crate::proto::data_stream as ffi_stream;

/// A received transcription segment.
pub fn transcription_segment_to_ffi(
    segment: lp::TranscriptionSegment,
) -> proto::TranscriptionSegment {
    proto::TranscriptionSegment {
        id: segment.id,
        text: segment.text,
        start_time: segment.start_time,
        end_time: segment.end_time,
        r#final: segment.r#final,
        language: segment.language,
    }
}

/// A segment the host wants to publish.
pub fn transcription_segment_from_ffi(
    segment: proto::TranscriptionSegment,
) -> lp::TranscriptionSegment {
    lp::TranscriptionSegment {
        id: segment.id,
        text: segment.text,
        start_time: segment.start_time,
        end_time: segment.end_time,
        r#final: segment.r#final,
        language: segment.language,
    }
}

/// The `TranscriptionReceived` event. The engine resolves who and what the
/// transcription is about: `participant_identity` is set only when the
/// transcribed participant is known, `track_sid` only when that participant
/// has the named publication.
pub fn transcription_received_to_ffi(
    segments: Vec<lp::TranscriptionSegment>,
    participant_identity: Option<String>,
    track_sid: Option<String>,
) -> proto::TranscriptionReceived {
    proto::TranscriptionReceived {
        participant_identity,
        track_sid,
        segments: segments
            .into_iter()
            .map(transcription_segment_to_ffi)
            .collect(),
    }
}

/// The wire `Transcription` of a `PublishTranscriptionRequest`.
pub fn transcription_from_ffi(request: proto::PublishTranscriptionRequest) -> lp::Transcription {
    lp::Transcription {
        transcribed_participant_identity: request.participant_identity,
        track_id: request.track_id,
        segments: request
            .segments
            .into_iter()
            .map(transcription_segment_from_ffi)
            .collect(),
    }
}

/// A received chat message. The FFI's optional flags are always filled.
pub fn chat_message_to_ffi(message: lp::ChatMessage) -> proto::ChatMessage {
    proto::ChatMessage {
        id: message.id,
        timestamp: message.timestamp,
        message: message.message,
        edit_timestamp: message.edit_timestamp,
        deleted: Some(message.deleted),
        generated: Some(message.generated),
    }
}

/// A chat message from the host; absent flags are false.
pub fn chat_message_from_ffi(message: proto::ChatMessage) -> lp::ChatMessage {
    lp::ChatMessage {
        id: message.id,
        timestamp: message.timestamp,
        edit_timestamp: message.edit_timestamp,
        message: message.message,
        deleted: message.deleted.unwrap_or(false),
        generated: message.generated.unwrap_or(false),
    }
}

/// The message an `EditChatMessageRequest` sends: the original with the new
/// text and the edit time (milliseconds since the Unix epoch); id, original
/// timestamp and flags stay.
pub fn edited_chat_message(
    original: proto::ChatMessage,
    edit_text: String,
    edit_timestamp_ms: i64,
) -> lp::ChatMessage {
    lp::ChatMessage {
        message: edit_text,
        edit_timestamp: Some(edit_timestamp_ms),
        ..chat_message_from_ffi(original)
    }
}

/// A received SIP DTMF tone. An empty digit is reported as absent.
pub fn sip_dtmf_to_ffi(dtmf: lp::SipDtmf) -> proto::SipDtmf {
    proto::SipDtmf {
        code: dtmf.code,
        digit: (!dtmf.digit.is_empty()).then_some(dtmf.digit),
    }
}

/// The wire packet of a `PublishSipDtmfRequest`.
pub fn sip_dtmf_from_ffi(code: u32, digit: String) -> lp::SipDtmf {
    lp::SipDtmf { code, digit }
}

/// Text-stream operation.
pub fn operation_type_to_ffi(op: wire_stream::OperationType) -> ffi_stream::OperationType {
    match op {
        wire_stream::OperationType::Create => ffi_stream::OperationType::Create,
        wire_stream::OperationType::Update => ffi_stream::OperationType::Update,
        wire_stream::OperationType::Delete => ffi_stream::OperationType::Delete,
        wire_stream::OperationType::Reaction => ffi_stream::OperationType::Reaction,
    }
}

/// Text-stream operation of a header the host sends.
pub fn operation_type_from_ffi(op: ffi_stream::OperationType) -> wire_stream::OperationType {
    match op {
        ffi_stream::OperationType::Create => wire_stream::OperationType::Create,
        ffi_stream::OperationType::Update => wire_stream::OperationType::Update,
        ffi_stream::OperationType::Delete => wire_stream::OperationType::Delete,
        ffi_stream::OperationType::Reaction => wire_stream::OperationType::Reaction,
    }
}

/// A received stream header for the legacy `stream_header_received` event.
/// That event has no room for v2 inline content or compression; the engine
/// must have inflated such a stream into chunks before reporting it here.
/// An unknown operation type becomes `Create`.
pub fn stream_header_to_ffi(header: wire_stream::Header) -> ffi_stream::Header {
    let content_header = header.content_header.map(|content| match content {
        wire_stream::header::ContentHeader::TextHeader(text) => {
            ffi_stream::header::ContentHeader::TextHeader(ffi_stream::TextHeader {
                operation_type: operation_type_to_ffi(text.operation_type()) as i32,
                version: Some(text.version),
                reply_to_stream_id: Some(text.reply_to_stream_id),
                attached_stream_ids: text.attached_stream_ids,
                generated: Some(text.generated),
            })
        }
        wire_stream::header::ContentHeader::ByteHeader(bytes) => {
            ffi_stream::header::ContentHeader::ByteHeader(ffi_stream::ByteHeader {
                name: bytes.name,
            })
        }
    });
    ffi_stream::Header {
        stream_id: header.stream_id,
        timestamp: header.timestamp,
        mime_type: header.mime_type,
        topic: header.topic,
        total_length: header.total_length,
        attributes: header.attributes,
        content_header,
    }
}

/// The wire header of a `SendStreamHeaderRequest`: no inline content, no
/// compression, and no (deprecated) per-header encryption type.
#[allow(deprecated)]
pub fn stream_header_from_ffi(header: ffi_stream::Header) -> wire_stream::Header {
    let content_header = header.content_header.map(|content| match content {
        ffi_stream::header::ContentHeader::TextHeader(text) => {
            wire_stream::header::ContentHeader::TextHeader(wire_stream::TextHeader {
                operation_type: operation_type_from_ffi(text.operation_type()) as i32,
                version: text.version.unwrap_or(0),
                reply_to_stream_id: text.reply_to_stream_id.unwrap_or_default(),
                attached_stream_ids: text.attached_stream_ids,
                generated: text.generated.unwrap_or(false),
            })
        }
        ffi_stream::header::ContentHeader::ByteHeader(bytes) => {
            wire_stream::header::ContentHeader::ByteHeader(wire_stream::ByteHeader {
                name: bytes.name,
            })
        }
    });
    wire_stream::Header {
        stream_id: header.stream_id,
        timestamp: header.timestamp,
        topic: header.topic,
        mime_type: header.mime_type,
        total_length: header.total_length,
        encryption_type: lp::encryption::Type::None as i32,
        attributes: header.attributes,
        inline_content: None,
        compression: wire_stream::CompressionType::None as i32,
        content_header,
    }
}

/// A received stream chunk.
#[allow(deprecated)]
pub fn stream_chunk_to_ffi(chunk: wire_stream::Chunk) -> ffi_stream::Chunk {
    ffi_stream::Chunk {
        stream_id: chunk.stream_id,
        chunk_index: chunk.chunk_index,
        content: chunk.content,
        version: Some(chunk.version),
        iv: chunk.iv,
    }
}

/// The wire chunk of a `SendStreamChunkRequest`.
#[allow(deprecated)]
pub fn stream_chunk_from_ffi(chunk: ffi_stream::Chunk) -> wire_stream::Chunk {
    wire_stream::Chunk {
        stream_id: chunk.stream_id,
        chunk_index: chunk.chunk_index,
        content: chunk.content,
        version: chunk.version.unwrap_or(0),
        iv: chunk.iv,
    }
}

/// A received stream trailer.
pub fn stream_trailer_to_ffi(trailer: wire_stream::Trailer) -> ffi_stream::Trailer {
    ffi_stream::Trailer {
        stream_id: trailer.stream_id,
        reason: trailer.reason,
        attributes: trailer.attributes,
    }
}

/// The wire trailer of a `SendStreamTrailerRequest`.
pub fn stream_trailer_from_ffi(trailer: ffi_stream::Trailer) -> wire_stream::Trailer {
    wire_stream::Trailer {
        stream_id: trailer.stream_id,
        reason: trailer.reason,
        attributes: trailer.attributes,
    }
}

/// A text stream's info. Streams are never end-to-end encrypted here.
pub fn text_stream_info_to_ffi(info: &TextStreamInfo) -> proto::TextStreamInfo {
    proto::TextStreamInfo {
        stream_id: info.id.clone(),
        timestamp: info.timestamp,
        mime_type: info.mime_type.clone(),
        topic: info.topic.clone(),
        total_length: info.total_length,
        attributes: info.attributes.clone(),
        operation_type: operation_type_to_ffi(info.operation_type) as i32,
        version: Some(info.version),
        reply_to_stream_id: info.reply_to_stream_id.clone(),
        attached_stream_ids: info.attached_stream_ids.clone(),
        generated: Some(info.generated),
        encryption_type: proto::EncryptionType::None as i32,
    }
}

/// A byte stream's info.
pub fn byte_stream_info_to_ffi(info: &ByteStreamInfo) -> proto::ByteStreamInfo {
    proto::ByteStreamInfo {
        stream_id: info.id.clone(),
        timestamp: info.timestamp,
        mime_type: info.mime_type.clone(),
        topic: info.topic.clone(),
        total_length: info.total_length,
        attributes: info.attributes.clone(),
        name: info.name.clone(),
        encryption_type: proto::EncryptionType::None as i32,
    }
}

/// How the host wants a text stream sent. `compress` is a hint this
/// library does not act on: it always sends plain chunks.
pub fn text_options_from_ffi(options: proto::StreamTextOptions) -> TextStreamOptions {
    TextStreamOptions {
        operation_type: options.operation_type.map(|op| {
            operation_type_from_ffi(
                ffi_stream::OperationType::try_from(op)
                    .unwrap_or(ffi_stream::OperationType::Create),
            )
        }),
        topic: options.topic,
        attributes: options.attributes,
        destinations: options.destination_identities,
        id: options.id,
        version: options.version,
        reply_to_stream_id: options.reply_to_stream_id.filter(|id| !id.is_empty()),
        attached_stream_ids: options.attached_stream_ids,
        generated: options.generated,
        sender_identity: options.sender_identity.filter(|s| !s.is_empty()),
    }
}

/// How the host wants a byte stream sent (`compress` as for text).
pub fn byte_options_from_ffi(options: proto::StreamByteOptions) -> ByteStreamOptions {
    ByteStreamOptions {
        topic: options.topic,
        attributes: options.attributes,
        destinations: options.destination_identities,
        id: options.id,
        name: options.name,
        mime_type: options.mime_type,
        total_length: options.total_length,
        sender_identity: options.sender_identity.filter(|s| !s.is_empty()),
    }
}

/// A stream error as the host sees it.
pub fn stream_error_to_ffi(error: &StreamError) -> proto::StreamError {
    proto::StreamError {
        description: error.to_string(),
    }
}

#[cfg(test)]
#[allow(deprecated)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn wire_segment() -> lp::TranscriptionSegment {
        lp::TranscriptionSegment {
            id: "seg1".into(),
            text: "hello".into(),
            start_time: 100,
            end_time: 250,
            r#final: true,
            language: "en".into(),
        }
    }

    #[test]
    fn transcription_segments_both_ways() {
        let ffi = transcription_segment_to_ffi(wire_segment());
        assert_eq!(ffi.id, "seg1");
        assert_eq!(ffi.text, "hello");
        assert_eq!(ffi.start_time, 100);
        assert_eq!(ffi.end_time, 250);
        assert!(ffi.r#final);
        assert_eq!(ffi.language, "en");
        assert_eq!(transcription_segment_from_ffi(ffi), wire_segment());
    }

    #[test]
    fn transcription_received_event() {
        let event = transcription_received_to_ffi(
            vec![wire_segment()],
            Some("bob".into()),
            Some("TR_a".into()),
        );
        assert_eq!(event.participant_identity.as_deref(), Some("bob"));
        assert_eq!(event.track_sid.as_deref(), Some("TR_a"));
        assert_eq!(event.segments.len(), 1);
        assert_eq!(event.segments[0].text, "hello");
        let anonymous = transcription_received_to_ffi(Vec::new(), None, None);
        assert_eq!(anonymous.participant_identity, None);
        assert_eq!(anonymous.track_sid, None);
        assert!(anonymous.segments.is_empty());
    }

    #[test]
    fn transcription_from_request() {
        let request = proto::PublishTranscriptionRequest {
            local_participant_handle: 7,
            participant_identity: "agent".into(),
            track_id: "TR_mic".into(),
            segments: vec![transcription_segment_to_ffi(wire_segment())],
            request_async_id: None,
        };
        let wire = transcription_from_ffi(request);
        assert_eq!(wire.transcribed_participant_identity, "agent");
        assert_eq!(wire.track_id, "TR_mic");
        assert_eq!(wire.segments, vec![wire_segment()]);
    }

    #[test]
    fn chat_messages_both_ways() {
        let wire = lp::ChatMessage {
            id: "m1".into(),
            timestamp: 1_700_000_000_000,
            edit_timestamp: Some(1_700_000_001_000),
            message: "hi".into(),
            deleted: false,
            generated: true,
        };
        let ffi = chat_message_to_ffi(wire.clone());
        assert_eq!(ffi.id, "m1");
        assert_eq!(ffi.timestamp, 1_700_000_000_000);
        assert_eq!(ffi.message, "hi");
        assert_eq!(ffi.edit_timestamp, Some(1_700_000_001_000));
        assert_eq!(ffi.deleted, Some(false));
        assert_eq!(ffi.generated, Some(true));
        assert_eq!(chat_message_from_ffi(ffi), wire);

        let sparse = proto::ChatMessage {
            id: "m2".into(),
            timestamp: 5,
            message: "yo".into(),
            edit_timestamp: None,
            deleted: None,
            generated: None,
        };
        let wire = chat_message_from_ffi(sparse);
        assert_eq!(wire.edit_timestamp, None);
        assert!(!wire.deleted && !wire.generated);
        assert_eq!(
            (wire.id.as_str(), wire.timestamp, wire.message.as_str()),
            ("m2", 5, "yo")
        );
    }

    #[test]
    fn edited_chat_message_keeps_identity() {
        let original = proto::ChatMessage {
            id: "m1".into(),
            timestamp: 10,
            message: "old".into(),
            edit_timestamp: None,
            deleted: Some(false),
            generated: Some(true),
        };
        let edited = edited_chat_message(original, "new".into(), 99);
        assert_eq!(edited.id, "m1");
        assert_eq!(edited.timestamp, 10);
        assert_eq!(edited.message, "new");
        assert_eq!(edited.edit_timestamp, Some(99));
        assert!(!edited.deleted);
        assert!(edited.generated);
    }

    #[test]
    fn sip_dtmf_both_ways() {
        let ffi = sip_dtmf_to_ffi(lp::SipDtmf {
            code: 5,
            digit: "5".into(),
        });
        assert_eq!(ffi.code, 5);
        assert_eq!(ffi.digit.as_deref(), Some("5"));
        let empty = sip_dtmf_to_ffi(lp::SipDtmf {
            code: 11,
            digit: String::new(),
        });
        assert_eq!(empty.code, 11);
        assert_eq!(empty.digit, None);
        assert_eq!(
            sip_dtmf_from_ffi(10, "*".into()),
            lp::SipDtmf {
                code: 10,
                digit: "*".into()
            }
        );
    }

    #[test]
    fn operation_types_round_trip() {
        for raw in 0..=3 {
            let wire = wire_stream::OperationType::try_from(raw).expect("known op");
            let ffi = operation_type_to_ffi(wire);
            assert_eq!(ffi as i32, raw);
            assert_eq!(operation_type_from_ffi(ffi), wire);
        }
    }

    #[test]
    fn text_stream_header_both_ways() {
        let wire = wire_stream::Header {
            stream_id: "s1".into(),
            timestamp: 42,
            topic: "chat".into(),
            mime_type: "text/plain".into(),
            total_length: Some(12),
            attributes: HashMap::from([("a".to_string(), "b".to_string())]),
            content_header: Some(wire_stream::header::ContentHeader::TextHeader(
                wire_stream::TextHeader {
                    operation_type: wire_stream::OperationType::Update as i32,
                    version: 3,
                    reply_to_stream_id: "s0".into(),
                    attached_stream_ids: vec!["f1".into()],
                    generated: true,
                },
            )),
            ..Default::default()
        };
        let ffi = stream_header_to_ffi(wire.clone());
        assert_eq!(ffi.stream_id, "s1");
        assert_eq!(ffi.timestamp, 42);
        assert_eq!(ffi.topic, "chat");
        assert_eq!(ffi.mime_type, "text/plain");
        assert_eq!(ffi.total_length, Some(12));
        assert_eq!(ffi.attributes.get("a").map(String::as_str), Some("b"));
        let Some(ffi_stream::header::ContentHeader::TextHeader(text)) = &ffi.content_header else {
            panic!("text header expected");
        };
        assert_eq!(
            text.operation_type,
            ffi_stream::OperationType::Update as i32
        );
        assert_eq!(text.version, Some(3));
        assert_eq!(text.reply_to_stream_id.as_deref(), Some("s0"));
        assert_eq!(text.attached_stream_ids, vec!["f1".to_string()]);
        assert_eq!(text.generated, Some(true));

        let back = stream_header_from_ffi(ffi);
        assert_eq!(back, wire);
        assert_eq!(back.inline_content, None);
        assert_eq!(back.compression, wire_stream::CompressionType::None as i32);
    }

    #[test]
    fn byte_stream_header_and_unknown_operation() {
        let wire = wire_stream::Header {
            stream_id: "s2".into(),
            content_header: Some(wire_stream::header::ContentHeader::ByteHeader(
                wire_stream::ByteHeader {
                    name: "photo.jpg".into(),
                },
            )),
            ..Default::default()
        };
        let ffi = stream_header_to_ffi(wire);
        assert_eq!(
            ffi.content_header,
            Some(ffi_stream::header::ContentHeader::ByteHeader(
                ffi_stream::ByteHeader {
                    name: "photo.jpg".into()
                }
            ))
        );
        assert_eq!(ffi.total_length, None);

        let odd = wire_stream::Header {
            content_header: Some(wire_stream::header::ContentHeader::TextHeader(
                wire_stream::TextHeader {
                    operation_type: 40,
                    ..Default::default()
                },
            )),
            ..Default::default()
        };
        let Some(ffi_stream::header::ContentHeader::TextHeader(text)) =
            stream_header_to_ffi(odd).content_header
        else {
            panic!("text header expected");
        };
        assert_eq!(
            text.operation_type,
            ffi_stream::OperationType::Create as i32
        );

        let sparse = ffi_stream::Header {
            stream_id: "s3".into(),
            timestamp: 1,
            mime_type: "text/plain".into(),
            topic: "t".into(),
            total_length: None,
            attributes: HashMap::new(),
            content_header: Some(ffi_stream::header::ContentHeader::TextHeader(
                ffi_stream::TextHeader {
                    operation_type: 99,
                    version: None,
                    reply_to_stream_id: None,
                    attached_stream_ids: Vec::new(),
                    generated: None,
                },
            )),
        };
        let Some(wire_stream::header::ContentHeader::TextHeader(text)) =
            stream_header_from_ffi(sparse).content_header
        else {
            panic!("text header expected");
        };
        assert_eq!(
            text.operation_type,
            wire_stream::OperationType::Create as i32
        );
        assert_eq!(text.version, 0);
        assert_eq!(text.reply_to_stream_id, "");
        assert!(!text.generated);
    }

    #[test]
    fn chunks_and_trailers_both_ways() {
        let wire = wire_stream::Chunk {
            stream_id: "s1".into(),
            chunk_index: 4,
            content: vec![1, 2, 3],
            version: 2,
            iv: None,
        };
        let ffi = stream_chunk_to_ffi(wire.clone());
        assert_eq!(ffi.stream_id, "s1");
        assert_eq!(ffi.chunk_index, 4);
        assert_eq!(ffi.content, vec![1, 2, 3]);
        assert_eq!(ffi.version, Some(2));
        assert_eq!(ffi.iv, None);
        assert_eq!(stream_chunk_from_ffi(ffi), wire);
        let versionless = ffi_stream::Chunk {
            stream_id: "s".into(),
            chunk_index: 0,
            content: Vec::new(),
            version: None,
            iv: None,
        };
        assert_eq!(stream_chunk_from_ffi(versionless).version, 0);

        let trailer = wire_stream::Trailer {
            stream_id: "s1".into(),
            reason: "cancelled".into(),
            attributes: HashMap::from([("x".to_string(), "y".to_string())]),
        };
        let ffi = stream_trailer_to_ffi(trailer.clone());
        assert_eq!(ffi.stream_id, "s1");
        assert_eq!(ffi.reason, "cancelled");
        assert_eq!(ffi.attributes.get("x").map(String::as_str), Some("y"));
        assert_eq!(stream_trailer_from_ffi(ffi), trailer);
    }

    #[test]
    fn stream_infos_and_options() {
        let text = TextStreamInfo {
            id: "s1".into(),
            topic: "lk.chat".into(),
            timestamp: 7,
            mime_type: "text/plain".into(),
            total_length: Some(3),
            attributes: HashMap::from([("k".to_string(), "v".to_string())]),
            operation_type: wire_stream::OperationType::Reaction,
            version: 2,
            reply_to_stream_id: Some("s0".into()),
            attached_stream_ids: vec!["b1".into()],
            generated: true,
        };
        let ffi = text_stream_info_to_ffi(&text);
        assert_eq!(ffi.stream_id, "s1");
        assert_eq!(
            ffi.operation_type,
            proto::text_stream_info::OperationType::Reaction as i32
        );
        assert_eq!(ffi.version, Some(2));
        assert_eq!(ffi.reply_to_stream_id.as_deref(), Some("s0"));
        assert_eq!(ffi.generated, Some(true));
        assert_eq!(ffi.total_length, Some(3));
        assert_eq!(ffi.encryption_type, proto::EncryptionType::None as i32);

        let bytes = ByteStreamInfo {
            id: "b1".into(),
            topic: "files".into(),
            timestamp: 9,
            mime_type: "image/png".into(),
            total_length: None,
            attributes: HashMap::new(),
            name: "a.png".into(),
        };
        let ffi = byte_stream_info_to_ffi(&bytes);
        assert_eq!(
            (ffi.name.as_str(), ffi.mime_type.as_str()),
            ("a.png", "image/png")
        );
        assert_eq!(ffi.total_length, None);

        let options = text_options_from_ffi(proto::StreamTextOptions {
            topic: "t".into(),
            attributes: HashMap::new(),
            destination_identities: vec!["bob".into()],
            id: None,
            operation_type: Some(77),
            version: None,
            reply_to_stream_id: Some(String::new()),
            attached_stream_ids: Vec::new(),
            generated: None,
            compress: Some(true),
            sender_identity: Some(String::new()),
        });
        assert_eq!(
            options.operation_type,
            Some(wire_stream::OperationType::Create)
        );
        assert_eq!(options.destinations, vec!["bob".to_string()]);
        assert_eq!(options.reply_to_stream_id, None);
        assert_eq!(options.sender_identity, None);

        let options = byte_options_from_ffi(proto::StreamByteOptions {
            topic: "t".into(),
            attributes: HashMap::new(),
            destination_identities: Vec::new(),
            id: Some("x".into()),
            name: Some("n".into()),
            mime_type: None,
            total_length: Some(5),
            compress: None,
            sender_identity: Some("agent".into()),
        });
        assert_eq!(options.id.as_deref(), Some("x"));
        assert_eq!(options.total_length, Some(5));
        assert_eq!(options.sender_identity.as_deref(), Some("agent"));
        assert_eq!(
            stream_error_to_ffi(&StreamError::MissedChunk).description,
            StreamError::MissedChunk.to_string()
        );
    }
}
