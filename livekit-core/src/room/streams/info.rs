//! What describes a stream, what a sender asks for, and the wire headers
//! between the two.

use std::collections::HashMap;

use livekit_protocol::data_stream as wire;

use super::{BYTE_MIME_TYPE, StreamError, TEXT_MIME_TYPE};

/// A text stream as its header describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TextStreamInfo {
    /// The stream id (a UUID from the official SDKs).
    pub id: String,
    /// The topic receivers dispatch on.
    pub topic: String,
    /// When the sender opened it, in milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// Always `text/plain` from the SDKs.
    pub mime_type: String,
    /// The content length in bytes (uncompressed), when announced.
    pub total_length: Option<u64>,
    /// The sender's attributes; a receiver's set grows by the trailer's.
    pub attributes: HashMap<String, String>,
    /// Create, update, delete or react.
    pub operation_type: wire::OperationType,
    /// Version of the message an update replaces.
    pub version: i32,
    /// The stream this one answers, if any.
    pub reply_to_stream_id: Option<String>,
    /// Byte streams sent along with this text.
    pub attached_stream_ids: Vec<String>,
    /// Whether a machine (an agent) wrote the text.
    pub generated: bool,
}

/// A byte stream as its header describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ByteStreamInfo {
    /// The stream id.
    pub id: String,
    /// The topic receivers dispatch on.
    pub topic: String,
    /// When the sender opened it, in milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// The content's MIME type.
    pub mime_type: String,
    /// The content length in bytes (uncompressed), when announced.
    pub total_length: Option<u64>,
    /// The sender's attributes; a receiver's set grows by the trailer's.
    pub attributes: HashMap<String, String>,
    /// A file name for the content.
    pub name: String,
}

/// Either kind of stream info.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamInfo {
    /// A text stream.
    Text(TextStreamInfo),
    /// A byte stream.
    Byte(ByteStreamInfo),
}

impl StreamInfo {
    /// Read a received header. Fails when it names neither kind.
    pub fn from_header(header: &wire::Header) -> Result<Self, StreamError> {
        use wire::header::ContentHeader;
        match &header.content_header {
            Some(ContentHeader::TextHeader(text)) => Ok(Self::Text(TextStreamInfo {
                id: header.stream_id.clone(),
                topic: header.topic.clone(),
                timestamp: header.timestamp,
                mime_type: header.mime_type.clone(),
                total_length: header.total_length,
                attributes: header.attributes.clone(),
                operation_type: wire::OperationType::try_from(text.operation_type)
                    .unwrap_or(wire::OperationType::Create),
                version: text.version,
                reply_to_stream_id: Some(text.reply_to_stream_id.clone())
                    .filter(|id| !id.is_empty()),
                attached_stream_ids: text.attached_stream_ids.clone(),
                generated: text.generated,
            })),
            Some(ContentHeader::ByteHeader(bytes)) => Ok(Self::Byte(ByteStreamInfo {
                id: header.stream_id.clone(),
                topic: header.topic.clone(),
                timestamp: header.timestamp,
                mime_type: header.mime_type.clone(),
                total_length: header.total_length,
                attributes: header.attributes.clone(),
                name: bytes.name.clone(),
            })),
            None => Err(StreamError::InvalidHeader),
        }
    }
}

/// How to send a text stream.
#[derive(Debug, Clone, Default)]
pub struct TextStreamOptions {
    /// The topic receivers dispatch on.
    pub topic: String,
    /// Attributes sent in the header.
    pub attributes: HashMap<String, String>,
    /// Who receives it; empty for everyone.
    pub destinations: Vec<String>,
    /// The stream id; a fresh UUID when absent.
    pub id: Option<String>,
    /// Create (the default), update, delete or react.
    pub operation_type: Option<wire::OperationType>,
    /// Version of the message an update replaces.
    pub version: Option<i32>,
    /// The stream this one answers.
    pub reply_to_stream_id: Option<String>,
    /// Byte streams sent along with this text.
    pub attached_stream_ids: Vec<String>,
    /// Whether a machine wrote the text.
    pub generated: Option<bool>,
    /// Attribute the packets to this identity instead of ours (agents
    /// speaking for a participant).
    pub sender_identity: Option<String>,
}

/// How to send a byte stream.
#[derive(Debug, Clone, Default)]
pub struct ByteStreamOptions {
    /// The topic receivers dispatch on.
    pub topic: String,
    /// Attributes sent in the header.
    pub attributes: HashMap<String, String>,
    /// Who receives it; empty for everyone.
    pub destinations: Vec<String>,
    /// The stream id; a fresh UUID when absent.
    pub id: Option<String>,
    /// A file name for the content.
    pub name: Option<String>,
    /// The MIME type; `application/octet-stream` when absent.
    pub mime_type: Option<String>,
    /// The length announced for an incrementally written stream.
    pub total_length: Option<u64>,
    /// Attribute the packets to this identity instead of ours.
    pub sender_identity: Option<String>,
}

/// The stream id to use: the caller's, or a fresh UUID.
fn stream_id(requested: &Option<String>) -> String {
    requested
        .clone()
        .filter(|id| !id.is_empty())
        .unwrap_or_else(crate::ids::uuid_v4)
}

/// The header of a new text stream, plainly chunked.
#[allow(deprecated)]
pub fn text_header(
    options: &TextStreamOptions,
    total_length: Option<u64>,
    timestamp: i64,
) -> wire::Header {
    let text = wire::TextHeader {
        operation_type: options
            .operation_type
            .unwrap_or(wire::OperationType::Create) as i32,
        version: options.version.unwrap_or(0),
        reply_to_stream_id: options.reply_to_stream_id.clone().unwrap_or_default(),
        attached_stream_ids: options.attached_stream_ids.clone(),
        generated: options.generated.unwrap_or(false),
    };
    wire::Header {
        stream_id: stream_id(&options.id),
        timestamp,
        topic: options.topic.clone(),
        mime_type: TEXT_MIME_TYPE.into(),
        total_length,
        encryption_type: 0,
        attributes: options.attributes.clone(),
        inline_content: None,
        compression: wire::CompressionType::None as i32,
        content_header: Some(wire::header::ContentHeader::TextHeader(text)),
    }
}

/// The header of a new byte stream, plainly chunked.
#[allow(deprecated)]
pub fn byte_header(
    options: &ByteStreamOptions,
    name: String,
    total_length: Option<u64>,
    timestamp: i64,
) -> wire::Header {
    wire::Header {
        stream_id: stream_id(&options.id),
        timestamp,
        topic: options.topic.clone(),
        mime_type: options
            .mime_type
            .clone()
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| BYTE_MIME_TYPE.into()),
        total_length,
        encryption_type: 0,
        attributes: options.attributes.clone(),
        inline_content: None,
        compression: wire::CompressionType::None as i32,
        content_header: Some(wire::header::ContentHeader::ByteHeader(wire::ByteHeader {
            name,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_header_and_info_agree() {
        let options = TextStreamOptions {
            topic: "lk.chat".into(),
            attributes: HashMap::from([("k".into(), "v".into())]),
            reply_to_stream_id: Some("s0".into()),
            generated: Some(true),
            ..Default::default()
        };
        let header = text_header(&options, Some(5), 42);
        assert_eq!(header.stream_id.len(), 36);
        let StreamInfo::Text(info) = StreamInfo::from_header(&header).unwrap() else {
            panic!("text info expected");
        };
        assert_eq!(info.id, header.stream_id);
        assert_eq!(info.topic, "lk.chat");
        assert_eq!(info.mime_type, "text/plain");
        assert_eq!(info.total_length, Some(5));
        assert_eq!(info.timestamp, 42);
        assert_eq!(info.attributes["k"], "v");
        assert_eq!(info.reply_to_stream_id.as_deref(), Some("s0"));
        assert!(info.generated);
        assert_eq!(info.operation_type, wire::OperationType::Create);
    }

    #[test]
    fn byte_header_defaults_and_ids() {
        let options = ByteStreamOptions {
            id: Some("mine".into()),
            ..Default::default()
        };
        let header = byte_header(&options, "f.bin".into(), None, 1);
        assert_eq!(header.stream_id, "mine");
        assert_eq!(header.mime_type, "application/octet-stream");
        let StreamInfo::Byte(info) = StreamInfo::from_header(&header).unwrap() else {
            panic!("byte info expected");
        };
        assert_eq!(info.name, "f.bin");
        assert_eq!(info.total_length, None);
    }

    #[test]
    fn a_header_without_content_kind_is_refused() {
        let header = wire::Header::default();
        assert!(StreamInfo::from_header(&header).is_err());
    }
}
