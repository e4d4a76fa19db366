//! Reassembly of received streams.
//!
//! [`Incoming`] is fed every header, chunk and trailer in the order they
//! arrived, and pushes content to the readers it handed out:
//!
//! - a header opens a stream and returns its reader. A header with inline
//!   content is the whole stream; compressed content (inline or chunked)
//!   is inflated;
//! - chunks must come with indexes 0, 1, 2, … A repeated index (a resend)
//!   is ignored; a skipped one fails the stream with
//!   [`StreamError::MissedChunk`]. Content past the announced length fails
//!   it with [`StreamError::LengthExceeded`], past the receiver's limit
//!   with [`StreamError::PayloadTooLarge`];
//! - a trailer merges its attributes into the stream's and ends it: with
//!   [`StreamError::AbnormalEnd`] when it gives a reason, with
//!   [`StreamError::Incomplete`] when less than the announced length came;
//! - a sender leaving fails its open streams with
//!   [`StreamError::AbnormalEnd`].
//!
//! Text is handed to readers as whole characters, whatever the cuts.
//! A stream whose reader is dropped is forgotten.
//!
//! It is plain state with no tasks or locks, so the rules are tested
//! directly below.

use std::collections::HashMap;

use livekit_protocol::data_stream as wire;
use tokio::sync::mpsc;

use super::StreamError;
use super::chunk::Utf8Joiner;
use super::inflate::{Inflater, inflate_all};
use super::info::StreamInfo;
use super::reader::{ByteStreamReader, ReaderItem, TextStreamReader};

/// A stream just opened by a header.
#[derive(Debug)]
pub enum Opened {
    /// A text stream.
    Text(TextStreamReader),
    /// A byte stream.
    Byte(ByteStreamReader),
}

/// A stream that is being received.
struct Open {
    /// Who sends it.
    identity: String,
    topic: String,
    tx: mpsc::UnboundedSender<ReaderItem>,
    attributes: HashMap<String, String>,
    total_length: Option<u64>,
    /// Content bytes received so far (after inflating).
    received: u64,
    /// The index the next chunk must have.
    next_index: u64,
    inflater: Option<Inflater>,
    /// For text streams.
    text: Option<Utf8Joiner>,
}

/// The streams being received in one room.
pub struct Incoming {
    open: HashMap<String, Open>,
    max_payload: u64,
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming")
            .field("open", &self.open.len())
            .field("max_payload", &self.max_payload)
            .finish()
    }
}

impl Incoming {
    /// Reassembly that accepts payloads of up to `max_payload` bytes.
    pub fn new(max_payload: u64) -> Self {
        Self {
            open: HashMap::new(),
            max_payload,
        }
    }

    /// How many streams are open.
    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// The topic of an open stream.
    pub fn topic_of(&self, stream_id: &str) -> Option<&str> {
        self.open.get(stream_id).map(|s| s.topic.as_str())
    }

    /// A header from `identity`. Returns the new stream's reader, or `None`
    /// for a header that cannot open one (unknown compression, no content
    /// kind, an id already open).
    pub fn header(&mut self, identity: &str, header: wire::Header) -> Option<Opened> {
        let compressed = match wire::CompressionType::try_from(header.compression) {
            Ok(wire::CompressionType::None) => false,
            Ok(wire::CompressionType::DeflateRaw) => true,
            Err(_) => {
                log::warn!(
                    "dropping stream {}: unknown compression {}",
                    header.stream_id,
                    header.compression
                );
                return None;
            }
        };
        let info = match StreamInfo::from_header(&header) {
            Ok(info) => info,
            Err(err) => {
                log::warn!("dropping stream {}: {err}", header.stream_id);
                return None;
            }
        };
        if self.open.contains_key(&header.stream_id) {
            log::warn!("ignoring a second header for stream {}", header.stream_id);
            return None;
        }
        log::debug!(
            "stream {} from {identity} on {:?}: compressed {compressed}, inline {:?} bytes",
            header.stream_id,
            header.topic,
            header.inline_content.as_ref().map(Vec::len)
        );
        let (tx, rx) = mpsc::unbounded_channel();
        let (opened, is_text) = match info {
            StreamInfo::Text(info) => (Opened::Text(TextStreamReader::new(info, rx)), true),
            StreamInfo::Byte(info) => (Opened::Byte(ByteStreamReader::new(info, rx)), false),
        };
        let mut stream = Open {
            identity: identity.to_owned(),
            topic: header.topic,
            tx,
            attributes: header.attributes,
            total_length: header.total_length,
            received: 0,
            next_index: 0,
            inflater: compressed.then(|| Inflater::new(self.max_payload)),
            text: is_text.then(Utf8Joiner::default),
        };
        if stream.total_length.is_some_and(|n| n > self.max_payload) {
            stream.end(Some(StreamError::PayloadTooLarge));
            return Some(opened);
        }
        if let Some(content) = header.inline_content {
            // The whole stream in one packet.
            let result = self.inline_content(&mut stream, content, compressed).err();
            stream.end(result);
            return Some(opened);
        }
        self.open.insert(header.stream_id, stream);
        Some(opened)
    }

    fn inline_content(
        &self,
        stream: &mut Open,
        content: Vec<u8>,
        compressed: bool,
    ) -> Result<(), StreamError> {
        let content = if compressed {
            inflate_all(&content, self.max_payload)?
        } else if content.len() as u64 > self.max_payload {
            return Err(StreamError::PayloadTooLarge);
        } else {
            content
        };
        stream.received = content.len() as u64;
        if stream.total_length.is_some_and(|n| stream.received > n) {
            return Err(StreamError::LengthExceeded);
        }
        stream.deliver(content)?;
        if let Some(text) = &stream.text {
            text.finish()?;
        }
        Ok(())
    }

    /// A chunk. Chunks of streams that are not open are ignored.
    pub fn chunk(&mut self, chunk: wire::Chunk) {
        let Some(stream) = self.open.get_mut(&chunk.stream_id) else {
            return;
        };
        if stream.tx.is_closed() {
            // The reader is gone: nobody wants the rest.
            self.open.remove(&chunk.stream_id);
            return;
        }
        if chunk.chunk_index < stream.next_index {
            log::debug!(
                "ignoring repeated chunk {} of stream {}",
                chunk.chunk_index,
                chunk.stream_id
            );
            return;
        }
        let result = if chunk.chunk_index > stream.next_index {
            Err(StreamError::MissedChunk)
        } else {
            stream.next_index += 1;
            stream.accept(chunk.content, self.max_payload)
        };
        if let Err(err) = result
            && let Some(mut stream) = self.open.remove(&chunk.stream_id)
        {
            stream.end(Some(err));
        }
    }

    /// A trailer: the end of a stream.
    pub fn trailer(&mut self, trailer: wire::Trailer) {
        let Some(mut stream) = self.open.remove(&trailer.stream_id) else {
            return;
        };
        stream.attributes.extend(trailer.attributes);
        let error = if !trailer.reason.is_empty() {
            Some(StreamError::AbnormalEnd(trailer.reason))
        } else if stream.total_length.is_some_and(|n| stream.received < n) {
            Some(StreamError::Incomplete)
        } else {
            stream.text.as_ref().and_then(|text| text.finish().err())
        };
        stream.end(error);
    }

    /// `identity` left: its open streams fail.
    pub fn abort_from(&mut self, identity: &str) {
        let ids: Vec<String> = self
            .open
            .iter()
            .filter(|(_, s)| s.identity == identity)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            if let Some(mut stream) = self.open.remove(&id) {
                stream.end(Some(StreamError::AbnormalEnd(format!(
                    "{identity} left while sending the stream"
                ))));
            }
        }
    }

    /// The room closed: every open stream fails with `reason`.
    pub fn close_all(&mut self, reason: &str) {
        for (_, mut stream) in self.open.drain() {
            stream.end(Some(StreamError::AbnormalEnd(reason.to_owned())));
        }
    }
}

impl Open {
    /// Take a chunk's content (already checked to be the next one).
    fn accept(&mut self, content: Vec<u8>, max_payload: u64) -> Result<(), StreamError> {
        let content = match &mut self.inflater {
            Some(inflater) => inflater.push(&content)?,
            None => content,
        };
        self.received += content.len() as u64;
        if self.received > max_payload {
            return Err(StreamError::PayloadTooLarge);
        }
        if self.total_length.is_some_and(|n| self.received > n) {
            return Err(StreamError::LengthExceeded);
        }
        self.deliver(content)
    }

    /// Hand content to the reader (text as whole characters).
    fn deliver(&mut self, content: Vec<u8>) -> Result<(), StreamError> {
        let content = match &mut self.text {
            Some(text) => text.push(content)?,
            None => content,
        };
        if !content.is_empty() {
            // A dropped reader is noticed at the next chunk.
            let _ = self.tx.send(ReaderItem::Chunk(content));
        }
        Ok(())
    }

    /// Tell the reader the stream is over.
    fn end(&mut self, error: Option<StreamError>) {
        let _ = self.tx.send(ReaderItem::End {
            attributes: std::mem::take(&mut self.attributes),
            error,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::inflate::deflate_all;
    use super::*;

    const MAX: u64 = super::super::DEFAULT_MAX_PAYLOAD;

    fn text_header(id: &str, total: Option<u64>) -> wire::Header {
        wire::Header {
            stream_id: id.into(),
            topic: "chat".into(),
            mime_type: "text/plain".into(),
            total_length: total,
            attributes: HashMap::from([("h".into(), "1".into())]),
            content_header: Some(wire::header::ContentHeader::TextHeader(
                wire::TextHeader::default(),
            )),
            ..Default::default()
        }
    }

    fn byte_header(id: &str, total: Option<u64>) -> wire::Header {
        wire::Header {
            stream_id: id.into(),
            topic: "files".into(),
            mime_type: "application/octet-stream".into(),
            total_length: total,
            content_header: Some(wire::header::ContentHeader::ByteHeader(wire::ByteHeader {
                name: "f".into(),
            })),
            ..Default::default()
        }
    }

    fn chunk(id: &str, index: u64, content: &[u8]) -> wire::Chunk {
        wire::Chunk {
            stream_id: id.into(),
            chunk_index: index,
            content: content.to_vec(),
            ..Default::default()
        }
    }

    fn trailer(id: &str, reason: &str, attributes: &[(&str, &str)]) -> wire::Trailer {
        wire::Trailer {
            stream_id: id.into(),
            reason: reason.into(),
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn text(opened: Option<Opened>) -> TextStreamReader {
        match opened {
            Some(Opened::Text(reader)) => reader,
            other => panic!("text reader expected, got {other:?}"),
        }
    }

    fn bytes(opened: Option<Opened>) -> ByteStreamReader {
        match opened {
            Some(Opened::Byte(reader)) => reader,
            other => panic!("byte reader expected, got {other:?}"),
        }
    }

    /// The future's output if it is ready now.
    fn now<F: std::future::Future>(future: F) -> Option<F::Output> {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(output) => Some(output),
            std::task::Poll::Pending => None,
        }
    }

    /// Everything the reader has been sent, without waiting, and how it
    /// ended if it did.
    fn drain_text(reader: &mut TextStreamReader) -> (String, Option<Result<(), StreamError>>) {
        let mut out = String::new();
        loop {
            match now(reader.next()) {
                Some(Some(Ok(piece))) => out.push_str(&piece),
                Some(Some(Err(err))) => return (out, Some(Err(err))),
                Some(None) => return (out, Some(Ok(()))),
                None => return (out, None),
            }
        }
    }

    fn drain_bytes(reader: &mut ByteStreamReader) -> (Vec<u8>, Option<Result<(), StreamError>>) {
        let mut out = Vec::new();
        loop {
            match now(reader.next()) {
                Some(Some(Ok(piece))) => out.extend(piece),
                Some(Some(Err(err))) => return (out, Some(Err(err))),
                Some(None) => return (out, Some(Ok(()))),
                None => return (out, None),
            }
        }
    }

    #[test]
    fn chunks_in_order_then_trailer() {
        let mut incoming = Incoming::new(MAX);
        let mut reader = text(incoming.header("alice", text_header("s", Some(11))));
        assert_eq!(incoming.topic_of("s"), Some("chat"));
        incoming.chunk(chunk("s", 0, b"hello "));
        incoming.chunk(chunk("s", 1, b"world"));
        assert_eq!(drain_text(&mut reader), ("hello world".into(), None));
        incoming.trailer(trailer("s", "", &[("t", "2")]));
        assert_eq!(drain_text(&mut reader), (String::new(), Some(Ok(()))));
        assert_eq!(reader.attributes().get("h").map(String::as_str), Some("1"));
        assert_eq!(reader.attributes().get("t").map(String::as_str), Some("2"));
        assert_eq!(incoming.open_count(), 0);
    }

    #[test]
    fn a_gap_is_a_missed_chunk_and_a_repeat_is_ignored() {
        let mut incoming = Incoming::new(MAX);
        let mut reader = bytes(incoming.header("alice", byte_header("s", None)));
        incoming.chunk(chunk("s", 0, b"ab"));
        incoming.chunk(chunk("s", 0, b"ab"));
        incoming.chunk(chunk("s", 2, b"cd"));
        assert_eq!(
            drain_bytes(&mut reader),
            (b"ab".to_vec(), Some(Err(StreamError::MissedChunk)))
        );
        assert_eq!(incoming.open_count(), 0);
        // Later packets of the failed stream are ignored.
        incoming.chunk(chunk("s", 1, b"x"));
        incoming.trailer(trailer("s", "", &[]));
    }

    #[test]
    fn too_much_content_is_length_exceeded() {
        let mut incoming = Incoming::new(MAX);
        let mut reader = bytes(incoming.header("alice", byte_header("s", Some(3))));
        incoming.chunk(chunk("s", 0, b"abcd"));
        assert_eq!(
            drain_bytes(&mut reader).1,
            Some(Err(StreamError::LengthExceeded))
        );
    }

    #[test]
    fn too_little_content_is_incomplete() {
        let mut incoming = Incoming::new(MAX);
        let mut reader = bytes(incoming.header("alice", byte_header("s", Some(10))));
        incoming.chunk(chunk("s", 0, b"abc"));
        incoming.trailer(trailer("s", "", &[]));
        assert_eq!(
            drain_bytes(&mut reader),
            (b"abc".to_vec(), Some(Err(StreamError::Incomplete)))
        );
    }

    #[test]
    fn a_reason_is_an_abnormal_end_with_the_trailer_attributes() {
        let mut incoming = Incoming::new(MAX);
        let mut reader = bytes(incoming.header("alice", byte_header("s", None)));
        incoming.trailer(trailer("s", "cancelled", &[("why", "user")]));
        assert_eq!(
            drain_bytes(&mut reader).1,
            Some(Err(StreamError::AbnormalEnd("cancelled".into())))
        );
        assert_eq!(
            reader.attributes().get("why").map(String::as_str),
            Some("user")
        );
    }

    #[test]
    fn the_sender_leaving_ends_only_its_streams() {
        let mut incoming = Incoming::new(MAX);
        let mut a = bytes(incoming.header("alice", byte_header("a", None)));
        let mut b = bytes(incoming.header("bob", byte_header("b", None)));
        incoming.abort_from("alice");
        assert!(matches!(
            drain_bytes(&mut a).1,
            Some(Err(StreamError::AbnormalEnd(_)))
        ));
        assert_eq!(drain_bytes(&mut b).1, None);
        incoming.close_all("room closed");
        assert_eq!(
            drain_bytes(&mut b).1,
            Some(Err(StreamError::AbnormalEnd("room closed".into())))
        );
    }

    #[test]
    fn the_payload_limit_applies_to_headers_and_content() {
        let mut incoming = Incoming::new(5);
        let mut big = bytes(incoming.header("alice", byte_header("big", Some(6))));
        assert_eq!(
            drain_bytes(&mut big).1,
            Some(Err(StreamError::PayloadTooLarge))
        );
        let mut sneaky = bytes(incoming.header("alice", byte_header("s", None)));
        incoming.chunk(chunk("s", 0, b"abc"));
        incoming.chunk(chunk("s", 1, b"def"));
        assert_eq!(
            drain_bytes(&mut sneaky),
            (b"abc".to_vec(), Some(Err(StreamError::PayloadTooLarge)))
        );
    }

    #[test]
    fn text_cut_inside_characters_comes_out_whole() {
        let text_in = "naïve 😀 text".repeat(100);
        let mut incoming = Incoming::new(MAX);
        let mut reader =
            text(incoming.header("alice", text_header("s", Some(text_in.len() as u64))));
        for (i, piece) in text_in.as_bytes().chunks(7).enumerate() {
            incoming.chunk(chunk("s", i as u64, piece));
        }
        incoming.trailer(trailer("s", "", &[]));
        assert_eq!(drain_text(&mut reader), (text_in, Some(Ok(()))));
    }

    #[test]
    fn invalid_text_fails_the_stream() {
        let mut incoming = Incoming::new(MAX);
        let mut reader = text(incoming.header("alice", text_header("s", None)));
        incoming.chunk(chunk("s", 0, &[b'o', b'k', 0xff]));
        assert!(matches!(
            drain_text(&mut reader).1,
            Some(Err(StreamError::Utf8(_)))
        ));
    }

    #[test]
    fn inline_content_plain_and_compressed() {
        let mut incoming = Incoming::new(MAX);
        let mut header = text_header("plain", Some(5));
        header.inline_content = Some(b"hello".to_vec());
        let mut reader = text(incoming.header("alice", header));
        assert_eq!(drain_text(&mut reader), ("hello".into(), Some(Ok(()))));
        assert_eq!(reader.attributes().get("h").map(String::as_str), Some("1"));

        let body = "compressed ".repeat(500);
        let mut header = text_header("packed", Some(body.len() as u64));
        header.inline_content = Some(deflate_all(body.as_bytes()));
        header.compression = wire::CompressionType::DeflateRaw as i32;
        let mut reader = text(incoming.header("alice", header));
        assert_eq!(drain_text(&mut reader), (body, Some(Ok(()))));

        let mut header = byte_header("empty", Some(0));
        header.inline_content = Some(Vec::new());
        let mut reader = bytes(incoming.header("alice", header));
        assert_eq!(drain_bytes(&mut reader), (Vec::new(), Some(Ok(()))));
        assert_eq!(incoming.open_count(), 0);
    }

    #[test]
    fn compressed_chunks_are_inflated_in_order() {
        let body: Vec<u8> = (0..100_000u32).map(|i| (i % 97) as u8).collect();
        let packed = deflate_all(&body);
        let mut header = byte_header("s", Some(body.len() as u64));
        header.compression = wire::CompressionType::DeflateRaw as i32;
        let mut incoming = Incoming::new(MAX);
        let mut reader = bytes(incoming.header("alice", header));
        for (i, piece) in packed.chunks(500).enumerate() {
            incoming.chunk(chunk("s", i as u64, piece));
        }
        incoming.trailer(trailer("s", "", &[]));
        assert_eq!(drain_bytes(&mut reader), (body, Some(Ok(()))));
    }

    #[test]
    fn corrupt_compressed_content_is_a_decompression_error() {
        let mut header = byte_header("s", None);
        header.compression = wire::CompressionType::DeflateRaw as i32;
        let mut incoming = Incoming::new(MAX);
        let mut reader = bytes(incoming.header("alice", header));
        incoming.chunk(chunk("s", 0, &[0xff; 32]));
        assert_eq!(
            drain_bytes(&mut reader).1,
            Some(Err(StreamError::Decompression))
        );
    }

    #[test]
    fn unusable_headers_open_nothing() {
        let mut incoming = Incoming::new(MAX);
        let mut odd = byte_header("s", None);
        odd.compression = 9;
        assert!(incoming.header("alice", odd).is_none());
        let mut kindless = byte_header("s", None);
        kindless.content_header = None;
        assert!(incoming.header("alice", kindless).is_none());
        let _first = incoming.header("alice", byte_header("s", None)).unwrap();
        assert!(incoming.header("alice", byte_header("s", None)).is_none());
        assert_eq!(incoming.open_count(), 1);
    }

    #[test]
    fn a_dropped_reader_forgets_the_stream() {
        let mut incoming = Incoming::new(MAX);
        drop(incoming.header("alice", byte_header("s", None)));
        assert_eq!(incoming.open_count(), 1);
        incoming.chunk(chunk("s", 0, b"x"));
        assert_eq!(incoming.open_count(), 0);
    }
}
