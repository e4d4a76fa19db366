//! Sending streams: writers for content produced bit by bit, and one-call
//! senders for text, bytes and files.
//!
//! Every packet goes through the room's data queue as a reliable packet,
//! so streams are ordered with all other reliable data. Content is sent in
//! plain chunks of at most [`CHUNK_SIZE`] bytes (text cut between
//! characters), which every receiver understands; a writer dropped without
//! being closed still ends its stream with a trailer.

use std::collections::{HashMap, VecDeque};
use std::path::Path;

use livekit_protocol as proto;
use livekit_protocol::data_stream as wire;
use prost::Message;
use tokio::sync::{Mutex, mpsc, oneshot};

use super::chunk::{byte_chunks, utf8_chunks};
use super::info::{
    ByteStreamInfo, ByteStreamOptions, StreamInfo, TextStreamInfo, TextStreamOptions, byte_header,
    text_header,
};
use super::reader::blocking;
use super::{CHUNK_SIZE, DEFAULT_BYTES_NAME, StreamError, StreamPacket, now_ms};
use crate::room::data::OutgoingData;
use crate::room::error::RoomError;
use crate::room::events::DataKind;
use crate::room::sender::DataItem;

/// How many chunks of one call may wait in the data queue at once.
const WINDOW: usize = 8;

/// How much of a file to read at a time.
const FILE_READ: usize = CHUNK_SIZE * 8;

/// Puts stream packets on a room's data queue. Cheap to clone; it does not
/// keep the room alive, so sending after the room closed fails.
#[derive(Clone)]
pub struct StreamSender {
    data: mpsc::UnboundedSender<DataItem>,
}

impl std::fmt::Debug for StreamSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamSender").finish_non_exhaustive()
    }
}

/// A queued packet's outcome.
type Pending = oneshot::Receiver<Result<(), RoomError>>;

impl StreamSender {
    pub(crate) fn new(data: mpsc::UnboundedSender<DataItem>) -> Self {
        Self { data }
    }

    /// Queue one packet; the receiver completes once it was sent.
    pub fn queue(
        &self,
        packet: StreamPacket,
        destinations: Vec<String>,
        sender_identity: Option<String>,
    ) -> oneshot::Receiver<Result<(), RoomError>> {
        let (done, rx) = oneshot::channel();
        let item = DataItem {
            data: OutgoingData::Stream {
                packet,
                sender_identity,
            },
            kind: DataKind::Reliable,
            destinations,
            done,
        };
        if let Err(mpsc::error::SendError(item)) = self.data.send(item) {
            let _ = item.done.send(Err(RoomError::Closed));
        }
        rx
    }

    /// Open a text stream to write bit by bit.
    pub async fn stream_text(
        &self,
        options: TextStreamOptions,
    ) -> Result<TextStreamWriter, StreamError> {
        let header = text_header(&options, None, now_ms());
        let info = text_info(&header)?;
        let raw =
            RawStream::open(self, header, options.destinations, options.sender_identity).await?;
        Ok(TextStreamWriter {
            info,
            raw: Mutex::new(raw),
        })
    }

    /// Open a byte stream to write bit by bit.
    pub async fn stream_bytes(
        &self,
        options: ByteStreamOptions,
    ) -> Result<ByteStreamWriter, StreamError> {
        let name = options.name.clone().unwrap_or_default();
        let header = byte_header(&options, name, options.total_length, now_ms());
        let info = byte_info(&header)?;
        let raw =
            RawStream::open(self, header, options.destinations, options.sender_identity).await?;
        Ok(ByteStreamWriter {
            info,
            raw: Mutex::new(raw),
        })
    }

    /// Send `text` as a complete stream.
    pub async fn send_text(
        &self,
        text: &str,
        options: TextStreamOptions,
    ) -> Result<TextStreamInfo, StreamError> {
        let header = text_header(&options, Some(text.len() as u64), now_ms());
        let info = text_info(&header)?;
        let mut raw =
            RawStream::open(self, header, options.destinations, options.sender_identity).await?;
        raw.write_all(utf8_chunks(text, CHUNK_SIZE).map(str::as_bytes))
            .await?;
        raw.close(None, HashMap::new()).await?;
        Ok(info)
    }

    /// Send `data` as a complete byte stream (named `unknown` unless the
    /// options say otherwise). Its length is announced; the options' own
    /// length is ignored.
    pub async fn send_bytes(
        &self,
        data: &[u8],
        options: ByteStreamOptions,
    ) -> Result<ByteStreamInfo, StreamError> {
        let name = options
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| DEFAULT_BYTES_NAME.into());
        let header = byte_header(&options, name, Some(data.len() as u64), now_ms());
        let info = byte_info(&header)?;
        let mut raw =
            RawStream::open(self, header, options.destinations, options.sender_identity).await?;
        raw.write_all(byte_chunks(data, CHUNK_SIZE)).await?;
        raw.close(None, HashMap::new()).await?;
        Ok(info)
    }

    /// Send the file at `path` as a byte stream (named after the file
    /// unless the options say otherwise), reading it a piece at a time.
    pub async fn send_file(
        &self,
        path: impl AsRef<Path>,
        options: ByteStreamOptions,
    ) -> Result<ByteStreamInfo, StreamError> {
        let path = path.as_ref().to_path_buf();
        let opened = path.clone();
        let (mut file, size) = blocking(move || {
            let file = std::fs::File::open(&opened)?;
            let metadata = file.metadata()?;
            if metadata.is_dir() {
                return Err(std::io::Error::other(format!(
                    "{} is a directory",
                    opened.display()
                )));
            }
            Ok((file, metadata.len()))
        })
        .await?;
        let name = options
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| {
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
        let header = byte_header(&options, name, Some(size), now_ms());
        let info = byte_info(&header)?;
        let mut raw =
            RawStream::open(self, header, options.destinations, options.sender_identity).await?;
        loop {
            let (returned, block) = blocking(move || {
                let mut block = Vec::with_capacity(FILE_READ);
                std::io::Read::read_to_end(
                    &mut std::io::Read::take(&mut file, FILE_READ as u64),
                    &mut block,
                )?;
                Ok((file, block))
            })
            .await?;
            file = returned;
            if block.is_empty() {
                break;
            }
            raw.write_all(byte_chunks(&block, CHUNK_SIZE)).await?;
        }
        raw.close(None, HashMap::new()).await?;
        Ok(info)
    }
}

fn text_info(header: &wire::Header) -> Result<TextStreamInfo, StreamError> {
    match StreamInfo::from_header(header)? {
        StreamInfo::Text(info) => Ok(info),
        StreamInfo::Byte(_) => Err(StreamError::InvalidHeader),
    }
}

fn byte_info(header: &wire::Header) -> Result<ByteStreamInfo, StreamError> {
    match StreamInfo::from_header(header)? {
        StreamInfo::Byte(info) => Ok(info),
        StreamInfo::Text(_) => Err(StreamError::InvalidHeader),
    }
}

/// Whether a header, in its packet with these destinations, fits the
/// packet budget.
pub fn header_fits(header: &wire::Header, destinations: &[String]) -> bool {
    let packet = proto::DataPacket {
        destination_identities: destinations.to_vec(),
        value: Some(proto::data_packet::Value::StreamHeader(header.clone())),
        ..Default::default()
    };
    packet.encoded_len() <= CHUNK_SIZE
}

/// Wait for a queued packet to go out.
async fn settle(pending: Pending) -> Result<(), StreamError> {
    match pending.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(StreamError::SendFailed(err.to_string())),
        Err(_) => Err(StreamError::SendFailed(RoomError::Closed.to_string())),
    }
}

/// One stream being sent: its id, where it goes, and the next chunk index.
struct RawStream {
    id: String,
    sender: StreamSender,
    destinations: Vec<String>,
    sender_identity: Option<String>,
    next_index: u64,
    closed: bool,
}

impl RawStream {
    /// Send the header.
    async fn open(
        sender: &StreamSender,
        header: wire::Header,
        destinations: Vec<String>,
        sender_identity: Option<String>,
    ) -> Result<Self, StreamError> {
        if !header_fits(&header, &destinations) {
            return Err(StreamError::HeaderTooLarge);
        }
        let sender_identity = sender_identity.filter(|s| !s.is_empty());
        let id = header.stream_id.clone();
        settle(sender.queue(
            StreamPacket::Header(header),
            destinations.clone(),
            sender_identity.clone(),
        ))
        .await?;
        Ok(Self {
            id,
            sender: sender.clone(),
            destinations,
            sender_identity,
            next_index: 0,
            closed: false,
        })
    }

    fn queue_chunk(&mut self, content: &[u8]) -> Pending {
        let chunk = wire::Chunk {
            stream_id: self.id.clone(),
            chunk_index: self.next_index,
            content: content.to_vec(),
            ..Default::default()
        };
        self.next_index += 1;
        self.sender.queue(
            StreamPacket::Chunk(chunk),
            self.destinations.clone(),
            self.sender_identity.clone(),
        )
    }

    /// Send pieces as consecutive chunks, with a few in the queue at once;
    /// returns once all of them went out.
    async fn write_all<'a>(
        &mut self,
        pieces: impl Iterator<Item = &'a [u8]>,
    ) -> Result<(), StreamError> {
        if self.closed {
            return Err(StreamError::AlreadyClosed);
        }
        let mut in_flight: VecDeque<Pending> = VecDeque::with_capacity(WINDOW);
        for piece in pieces {
            if in_flight.len() == WINDOW
                && let Some(oldest) = in_flight.pop_front()
            {
                settle(oldest).await?;
            }
            in_flight.push_back(self.queue_chunk(piece));
        }
        for pending in in_flight {
            settle(pending).await?;
        }
        Ok(())
    }

    /// Send the trailer.
    async fn close(
        &mut self,
        reason: Option<String>,
        attributes: HashMap<String, String>,
    ) -> Result<(), StreamError> {
        if self.closed {
            return Err(StreamError::AlreadyClosed);
        }
        self.closed = true;
        settle(self.queue_trailer(reason.unwrap_or_default(), attributes)).await
    }

    fn queue_trailer(&self, reason: String, attributes: HashMap<String, String>) -> Pending {
        let trailer = wire::Trailer {
            stream_id: self.id.clone(),
            reason,
            attributes,
        };
        self.sender.queue(
            StreamPacket::Trailer(trailer),
            self.destinations.clone(),
            self.sender_identity.clone(),
        )
    }
}

impl Drop for RawStream {
    /// A stream nobody closed still ends, normally, after what was sent.
    fn drop(&mut self) {
        if !self.closed {
            self.closed = true;
            drop(self.queue_trailer(String::new(), HashMap::new()));
        }
    }
}

/// A text stream being written.
pub struct TextStreamWriter {
    info: TextStreamInfo,
    raw: Mutex<RawStream>,
}

impl std::fmt::Debug for TextStreamWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextStreamWriter")
            .field("id", &self.info.id)
            .field("topic", &self.info.topic)
            .finish()
    }
}

impl TextStreamWriter {
    /// The stream as its header describes it.
    pub fn info(&self) -> &TextStreamInfo {
        &self.info
    }

    /// Send more text.
    pub async fn write(&self, text: &str) -> Result<(), StreamError> {
        self.raw
            .lock()
            .await
            .write_all(utf8_chunks(text, CHUNK_SIZE).map(str::as_bytes))
            .await
    }

    /// End the stream, with a reason for an abnormal end, and attributes
    /// receivers merge into the header's.
    pub async fn close(
        &self,
        reason: Option<String>,
        attributes: HashMap<String, String>,
    ) -> Result<(), StreamError> {
        self.raw.lock().await.close(reason, attributes).await
    }
}

/// A byte stream being written.
pub struct ByteStreamWriter {
    info: ByteStreamInfo,
    raw: Mutex<RawStream>,
}

impl std::fmt::Debug for ByteStreamWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteStreamWriter")
            .field("id", &self.info.id)
            .field("topic", &self.info.topic)
            .finish()
    }
}

impl ByteStreamWriter {
    /// The stream as its header describes it.
    pub fn info(&self) -> &ByteStreamInfo {
        &self.info
    }

    /// Send more bytes.
    pub async fn write(&self, bytes: &[u8]) -> Result<(), StreamError> {
        self.raw
            .lock()
            .await
            .write_all(byte_chunks(bytes, CHUNK_SIZE))
            .await
    }

    /// End the stream, with a reason for an abnormal end, and attributes
    /// receivers merge into the header's.
    pub async fn close(
        &self,
        reason: Option<String>,
        attributes: HashMap<String, String>,
    ) -> Result<(), StreamError> {
        self.raw.lock().await.close(reason, attributes).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::incoming::{Incoming, Opened};
    use super::*;

    /// What the capture saw: each packet with its destinations and
    /// sender identity.
    type Sent =
        std::sync::Arc<parking_lot::Mutex<Vec<(StreamPacket, Vec<String>, Option<String>)>>>;

    /// A sender whose queue is drained by a task that records packets (and
    /// fails them once `fail_after` were sent).
    fn capture(fail_after: Option<usize>) -> (StreamSender, Sent) {
        let (tx, mut rx) = mpsc::unbounded_channel::<DataItem>();
        let sent = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
        let sink = sent.clone();
        tokio::spawn(async move {
            while let Some(item) = rx.recv().await {
                let OutgoingData::Stream {
                    packet,
                    sender_identity,
                } = item.data
                else {
                    panic!("only stream packets expected");
                };
                assert_eq!(item.kind, DataKind::Reliable);
                let mut sent = sink.lock();
                if fail_after.is_some_and(|n| sent.len() >= n) {
                    let _ = item.done.send(Err(RoomError::Closed));
                    continue;
                }
                sent.push((packet, item.destinations, sender_identity));
                let _ = item.done.send(Ok(()));
            }
        });
        (StreamSender::new(tx), sent)
    }

    /// Feed captured packets to a receiver and read the one stream.
    async fn receive_text(
        packets: &[(StreamPacket, Vec<String>, Option<String>)],
    ) -> (String, HashMap<String, String>) {
        let mut incoming = Incoming::new(u64::MAX);
        let mut reader = None;
        for (packet, _, _) in packets {
            match packet.clone() {
                StreamPacket::Header(h) => {
                    if let Some(Opened::Text(r)) = incoming.header("me", h) {
                        reader = Some(r);
                    }
                }
                StreamPacket::Chunk(c) => incoming.chunk(c),
                StreamPacket::Trailer(t) => incoming.trailer(t),
            }
        }
        let mut reader = reader.expect("a text stream");
        let mut text = String::new();
        while let Some(piece) = reader.next().await {
            text.push_str(&piece.unwrap());
        }
        (text, reader.attributes().clone())
    }

    #[tokio::test]
    async fn send_text_is_header_chunks_trailer_and_round_trips() {
        let (sender, sent) = capture(None);
        let text = "ünïcödé 😀 ".repeat(4_000); // > 60 KB, multi-byte
        let info = sender
            .send_text(
                &text,
                TextStreamOptions {
                    topic: "t".into(),
                    destinations: vec!["bob".into()],
                    attributes: HashMap::from([("k".into(), "v".into())]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(info.total_length, Some(text.len() as u64));
        let packets = sent.lock().clone();
        assert!(matches!(packets[0].0, StreamPacket::Header(_)));
        assert!(matches!(
            packets.last().unwrap().0,
            StreamPacket::Trailer(_)
        ));
        let chunks: Vec<&wire::Chunk> = packets
            .iter()
            .filter_map(|(p, _, _)| match p {
                StreamPacket::Chunk(c) => Some(c),
                _ => None,
            })
            .collect();
        assert!(chunks.len() >= text.len().div_ceil(CHUNK_SIZE));
        for (i, chunk) in chunks.iter().enumerate() {
            assert_eq!(chunk.chunk_index, i as u64);
            assert!(chunk.content.len() <= CHUNK_SIZE);
            assert!(std::str::from_utf8(&chunk.content).is_ok());
            assert_eq!(chunk.stream_id, info.id);
        }
        assert!(packets.iter().all(|(_, d, _)| d == &["bob".to_string()]));
        let (got, attributes) = receive_text(&packets).await;
        assert_eq!(got, text);
        assert_eq!(attributes["k"], "v");
    }

    #[tokio::test]
    async fn writers_write_then_close_with_attributes() {
        let (sender, sent) = capture(None);
        let writer = sender
            .stream_text(TextStreamOptions {
                topic: "t".into(),
                sender_identity: Some("agent".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(writer.info().total_length, None);
        writer.write("one ").await.unwrap();
        writer.write("two").await.unwrap();
        writer
            .close(None, HashMap::from([("done".into(), "yes".into())]))
            .await
            .unwrap();
        assert_eq!(writer.write("late").await, Err(StreamError::AlreadyClosed));
        assert_eq!(
            writer.close(None, HashMap::new()).await,
            Err(StreamError::AlreadyClosed)
        );
        let packets = sent.lock().clone();
        assert_eq!(packets.len(), 4);
        assert!(
            packets
                .iter()
                .all(|(_, _, s)| s.as_deref() == Some("agent"))
        );
        let (got, attributes) = receive_text(&packets).await;
        assert_eq!(got, "one two");
        assert_eq!(attributes["done"], "yes");
    }

    #[tokio::test]
    async fn a_dropped_writer_still_sends_a_trailer() {
        let (sender, sent) = capture(None);
        let writer = sender
            .stream_bytes(ByteStreamOptions::default())
            .await
            .unwrap();
        writer.write(&[1, 2, 3]).await.unwrap();
        drop(writer);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let packets = sent.lock().clone();
        assert_eq!(packets.len(), 3);
        let StreamPacket::Trailer(trailer) = &packets[2].0 else {
            panic!("trailer expected");
        };
        assert!(trailer.reason.is_empty());
    }

    #[tokio::test]
    async fn send_bytes_defaults_and_exact_multiples() {
        let (sender, sent) = capture(None);
        let data = vec![9u8; CHUNK_SIZE * 2];
        let info = sender
            .send_bytes(&data, ByteStreamOptions::default())
            .await
            .unwrap();
        assert_eq!(info.name, "unknown");
        assert_eq!(info.mime_type, "application/octet-stream");
        assert_eq!(info.total_length, Some(data.len() as u64));
        assert_eq!(sent.lock().len(), 4);

        let empty = sender
            .send_bytes(&[], ByteStreamOptions::default())
            .await
            .unwrap();
        assert_eq!(empty.total_length, Some(0));
        assert_eq!(sent.lock().len(), 6);
    }

    #[tokio::test]
    async fn send_file_reads_the_file_in_pieces() {
        let dir = std::env::temp_dir().join(format!("lk-send-{}", crate::ids::uuid_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("data.bin");
        let data: Vec<u8> = (0..(FILE_READ * 2 + 123))
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&path, &data).unwrap();
        let (sender, sent) = capture(None);
        let info = sender
            .send_file(&path, ByteStreamOptions::default())
            .await
            .unwrap();
        assert_eq!(info.name, "data.bin");
        assert_eq!(info.total_length, Some(data.len() as u64));
        let got: Vec<u8> = sent
            .lock()
            .iter()
            .filter_map(|(p, _, _)| match p {
                StreamPacket::Chunk(c) => Some(c.content.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(got, data);
        assert!(matches!(
            sender
                .send_file(dir.join("missing"), ByteStreamOptions::default())
                .await,
            Err(StreamError::Io(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn failures_surface_as_send_errors() {
        let (sender, _sent) = capture(Some(2));
        let result = sender
            .send_bytes(&vec![0u8; CHUNK_SIZE * 5], ByteStreamOptions::default())
            .await;
        assert!(matches!(result, Err(StreamError::SendFailed(_))));

        let (tx, rx) = mpsc::unbounded_channel();
        drop(rx);
        let closed = StreamSender::new(tx);
        assert!(matches!(
            closed.send_text("x", TextStreamOptions::default()).await,
            Err(StreamError::SendFailed(_))
        ));
    }

    #[tokio::test]
    async fn an_oversized_header_is_refused_before_sending() {
        let (sender, sent) = capture(None);
        let options = TextStreamOptions {
            attributes: HashMap::from([("big".into(), "x".repeat(CHUNK_SIZE))]),
            ..Default::default()
        };
        assert_eq!(
            sender.send_text("hi", options).await,
            Err(StreamError::HeaderTooLarge)
        );
        assert!(sent.lock().is_empty());
    }
}
