//! Data streams: text and byte payloads of any size, sent as a header
//! packet, numbered chunk packets and a trailer packet on the reliable
//! channel.
//!
//! - [`info`]: what describes a stream (ids, topic, attributes, …), the
//!   options a sender gives, and the wire headers built from them.
//! - [`chunk`]: splitting text on UTF-8 character boundaries, and joining
//!   received bytes back into whole characters.
//! - [`inflate`]: raw DEFLATE, which senders may use for the content.
//! - [`incoming`]: reassembly of received packets into readers.
//! - [`reader`]: the readers a receiver consumes.
//! - [`outgoing`]: writers and the one-call senders.
//! - [`router`]: the stage of the room's event stream that feeds received
//!   packets to [`incoming`] and announces new streams.
//!
//! Every packet of a stream goes through the room's data queue, so a
//! stream is ordered with everything else sent reliably.

pub mod chunk;
pub mod incoming;
pub mod inflate;
pub mod info;
pub mod outgoing;
pub mod reader;
pub(crate) mod router;

use livekit_protocol::data_stream as wire;

pub use info::{ByteStreamInfo, ByteStreamOptions, TextStreamInfo, TextStreamOptions};
pub use outgoing::{ByteStreamWriter, StreamSender, TextStreamWriter};
pub use reader::{ByteStreamReader, ReaderSlot, TextStreamReader};

/// Largest chunk content, and largest encoded header packet, in bytes.
/// Below the data channel's ~16 KB comfortable message size.
pub const CHUNK_SIZE: usize = 15_000;

/// Largest payload a received stream may have unless the room options say
/// otherwise: 5 GB.
pub const DEFAULT_MAX_PAYLOAD: u64 = 5_000_000_000;

/// MIME type of text streams.
pub const TEXT_MIME_TYPE: &str = "text/plain";

/// MIME type of byte streams that name none.
pub const BYTE_MIME_TYPE: &str = "application/octet-stream";

/// Name of a `send_bytes` stream that names none.
pub const DEFAULT_BYTES_NAME: &str = "unknown";

/// Topics the SDKs use for their own purposes (RPC over streams). Streams
/// on them are not reported as ordinary streams.
pub const INTERNAL_TOPICS: &[&str] = &["lk.rpc_request", "lk.rpc_response"];

/// Whether streams on `topic` are for the SDK's own use.
pub fn is_internal_topic(topic: &str) -> bool {
    INTERNAL_TOPICS.contains(&topic)
}

/// One packet of a stream, as it travels in a `DataPacket`.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamPacket {
    /// Opens a stream (and may carry all of its content).
    Header(wire::Header),
    /// A piece of the content.
    Chunk(wire::Chunk),
    /// Ends a stream, normally or with a reason.
    Trailer(wire::Trailer),
}

/// Why a stream could not be sent or received. The messages are what SDK
/// users see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// The writer was already closed.
    #[error("the stream is already closed")]
    AlreadyClosed,
    /// The sender ended the stream with a reason, or went away.
    #[error("the stream ended abnormally: {0}")]
    AbnormalEnd(String),
    /// A received header names neither text nor bytes.
    #[error("the stream header is invalid")]
    InvalidHeader,
    /// Text content is not valid UTF-8.
    #[error("the text is not valid UTF-8: {0}")]
    Utf8(String),
    /// A chunk was skipped: the content cannot be put back together.
    #[error("a chunk of the stream is missing")]
    MissedChunk,
    /// More content arrived than the header announced.
    #[error("the stream is longer than its header announced")]
    LengthExceeded,
    /// The stream ended before all the content its header announced.
    #[error("the stream ended before all of its content arrived")]
    Incomplete,
    /// A packet could not be sent.
    #[error("the stream could not be sent: {0}")]
    SendFailed(String),
    /// Reading or writing a file failed.
    #[error("I/O error: {0}")]
    Io(String),
    /// The header, with its attributes and destinations, does not fit in
    /// one packet.
    #[error("the stream header is larger than {CHUNK_SIZE} bytes")]
    HeaderTooLarge,
    /// The content is larger than the receiver accepts.
    #[error("the stream is larger than the largest payload accepted")]
    PayloadTooLarge,
    /// Compressed content could not be inflated.
    #[error("the stream's compressed content is corrupt")]
    Decompression,
    /// A file name that is not a plain name.
    #[error("the file name must be a plain name, without directories or '..'")]
    InvalidFileName,
}

impl From<std::io::Error> for StreamError {
    fn from(err: std::io::Error) -> Self {
        StreamError::Io(err.to_string())
    }
}

/// Milliseconds since the Unix epoch, for stream timestamps.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
