//! Readers of received streams.
//!
//! A reader gets its content over a channel from [`super::incoming`]:
//! pieces, then one end marker carrying the final attributes and the error,
//! if the stream failed. Dropping a reader tells the reassembly to forget
//! the stream.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::mpsc;

use super::StreamError;
use super::info::{ByteStreamInfo, TextStreamInfo};

/// What a reader receives.
#[derive(Debug)]
pub(crate) enum ReaderItem {
    /// The next piece of content (whole characters for text).
    Chunk(Vec<u8>),
    /// The end: every attribute (the header's with the trailer's merged
    /// in) and the error, if the stream failed.
    End {
        attributes: HashMap<String, String>,
        error: Option<StreamError>,
    },
}

/// The receiving end shared by both reader kinds.
#[derive(Debug)]
struct Pieces {
    rx: mpsc::UnboundedReceiver<ReaderItem>,
    attributes: HashMap<String, String>,
    finished: bool,
}

impl Pieces {
    async fn next(&mut self) -> Option<Result<Vec<u8>, StreamError>> {
        if self.finished {
            return None;
        }
        match self.rx.recv().await {
            Some(ReaderItem::Chunk(bytes)) => Some(Ok(bytes)),
            Some(ReaderItem::End { attributes, error }) => {
                self.finished = true;
                self.attributes = attributes;
                error.map(Err)
            }
            None => {
                self.finished = true;
                Some(Err(StreamError::AbnormalEnd(
                    "the room closed while the stream was being received".into(),
                )))
            }
        }
    }
}

/// A received text stream.
#[derive(Debug)]
pub struct TextStreamReader {
    info: TextStreamInfo,
    pieces: Pieces,
}

impl TextStreamReader {
    pub(crate) fn new(info: TextStreamInfo, rx: mpsc::UnboundedReceiver<ReaderItem>) -> Self {
        let attributes = info.attributes.clone();
        Self {
            info,
            pieces: Pieces {
                rx,
                attributes,
                finished: false,
            },
        }
    }

    /// The stream as its header described it.
    pub fn info(&self) -> &TextStreamInfo {
        &self.info
    }

    /// The attributes: the header's until the end has been read, then
    /// every attribute including the trailer's.
    pub fn attributes(&self) -> &HashMap<String, String> {
        &self.pieces.attributes
    }

    /// The next piece of text; `None` after a normal end. An error is the
    /// last item.
    pub async fn next(&mut self) -> Option<Result<String, StreamError>> {
        let piece = self.pieces.next().await?;
        Some(piece.and_then(|bytes| {
            String::from_utf8(bytes).map_err(|err| StreamError::Utf8(err.to_string()))
        }))
    }

    /// All of the text.
    pub async fn read_all(mut self) -> Result<String, StreamError> {
        let mut text = String::new();
        while let Some(piece) = self.next().await {
            text.push_str(&piece?);
        }
        Ok(text)
    }
}

/// A received byte stream.
#[derive(Debug)]
pub struct ByteStreamReader {
    info: ByteStreamInfo,
    pieces: Pieces,
}

impl ByteStreamReader {
    pub(crate) fn new(info: ByteStreamInfo, rx: mpsc::UnboundedReceiver<ReaderItem>) -> Self {
        let attributes = info.attributes.clone();
        Self {
            info,
            pieces: Pieces {
                rx,
                attributes,
                finished: false,
            },
        }
    }

    /// The stream as its header described it.
    pub fn info(&self) -> &ByteStreamInfo {
        &self.info
    }

    /// The attributes: the header's until the end has been read, then
    /// every attribute including the trailer's.
    pub fn attributes(&self) -> &HashMap<String, String> {
        &self.pieces.attributes
    }

    /// The next piece; `None` after a normal end. An error is the last
    /// item.
    pub async fn next(&mut self) -> Option<Result<Vec<u8>, StreamError>> {
        self.pieces.next().await
    }

    /// All of the bytes.
    pub async fn read_all(mut self) -> Result<Vec<u8>, StreamError> {
        let mut bytes = Vec::new();
        while let Some(piece) = self.next().await {
            bytes.extend_from_slice(&piece?);
        }
        Ok(bytes)
    }

    /// Write the content to a file named `name` (the stream's name when
    /// absent; a plain name only) in `directory` (the system's temporary
    /// directory when absent). Returns the file's path.
    pub async fn write_to_file(
        mut self,
        directory: Option<PathBuf>,
        name: Option<String>,
    ) -> Result<PathBuf, StreamError> {
        let name = name
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| self.info.name.clone());
        if !is_plain_file_name(&name) {
            return Err(StreamError::InvalidFileName);
        }
        let directory = directory
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or_else(std::env::temp_dir);
        let path = directory.join(&name);
        let created = path.clone();
        let mut file = blocking(move || std::fs::File::create(created)).await?;
        while let Some(piece) = self.next().await {
            let piece = piece?;
            file = blocking(move || {
                std::io::Write::write_all(&mut file, &piece)?;
                Ok(file)
            })
            .await?;
        }
        blocking(move || std::io::Write::flush(&mut file)).await?;
        Ok(path)
    }
}

/// Whether `name` names a file directly, without any directory part.
fn is_plain_file_name(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(components.next(), Some(Component::Normal(_))) && components.next().is_none()
}

/// Run blocking file work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, StreamError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(StreamError::from),
        Err(err) => Err(StreamError::Io(format!("file task failed: {err}"))),
    }
}

/// A reader handed out in a room event: events are cloneable, readers are
/// not, so the first consumer takes it. If nobody does, dropping the last
/// copy drops the reader, and the stream is forgotten.
pub struct ReaderSlot<R>(Arc<Mutex<Option<R>>>);

impl<R> ReaderSlot<R> {
    pub(crate) fn new(reader: R) -> Self {
        Self(Arc::new(Mutex::new(Some(reader))))
    }

    /// Take the reader; `None` if it was taken already.
    pub fn take(&self) -> Option<R> {
        self.0.lock().take()
    }
}

impl<R> Clone for ReaderSlot<R> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<R: std::fmt::Debug> std::fmt::Debug for ReaderSlot<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.lock().as_ref() {
            Some(reader) => reader.fmt(f),
            None => f.write_str("ReaderSlot(taken)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn byte_info(name: &str) -> ByteStreamInfo {
        ByteStreamInfo {
            id: "s".into(),
            topic: "t".into(),
            timestamp: 0,
            mime_type: "application/octet-stream".into(),
            total_length: None,
            attributes: HashMap::from([("a".into(), "1".into())]),
            name: name.into(),
        }
    }

    #[test]
    fn plain_names_only() {
        assert!(is_plain_file_name("photo.jpg"));
        assert!(!is_plain_file_name("../photo.jpg"));
        assert!(!is_plain_file_name("a/b"));
        assert!(!is_plain_file_name("/etc/passwd"));
        assert!(!is_plain_file_name(".."));
        assert!(!is_plain_file_name(""));
    }

    #[tokio::test]
    async fn pieces_then_end_with_final_attributes() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut reader = ByteStreamReader::new(byte_info("f"), rx);
        tx.send(ReaderItem::Chunk(vec![1, 2])).unwrap();
        tx.send(ReaderItem::End {
            attributes: HashMap::from([("a".into(), "1".into()), ("b".into(), "2".into())]),
            error: None,
        })
        .unwrap();
        assert_eq!(reader.attributes().len(), 1);
        assert_eq!(reader.next().await, Some(Ok(vec![1, 2])));
        assert_eq!(reader.next().await, None);
        assert_eq!(reader.attributes().len(), 2);
        assert_eq!(reader.next().await, None);
    }

    #[tokio::test]
    async fn a_vanished_sender_is_an_abnormal_end() {
        let (tx, rx) = mpsc::unbounded_channel();
        let reader = ByteStreamReader::new(byte_info("f"), rx);
        drop(tx);
        assert!(matches!(
            reader.read_all().await,
            Err(StreamError::AbnormalEnd(_))
        ));
    }

    #[tokio::test]
    async fn write_to_file_writes_and_refuses_paths() {
        let dir = std::env::temp_dir().join(format!("lk-streams-{}", crate::ids::uuid_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let reader = ByteStreamReader::new(byte_info("out.bin"), rx);
        tx.send(ReaderItem::Chunk(b"hello ".to_vec())).unwrap();
        tx.send(ReaderItem::Chunk(b"file".to_vec())).unwrap();
        tx.send(ReaderItem::End {
            attributes: HashMap::new(),
            error: None,
        })
        .unwrap();
        let path = reader.write_to_file(Some(dir.clone()), None).await.unwrap();
        assert_eq!(path, dir.join("out.bin"));
        assert_eq!(std::fs::read(&path).unwrap(), b"hello file");

        let (_tx, rx) = mpsc::unbounded_channel();
        let reader = ByteStreamReader::new(byte_info("x"), rx);
        assert_eq!(
            reader
                .write_to_file(Some(dir.clone()), Some("../escape".into()))
                .await,
            Err(StreamError::InvalidFileName)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_slot_gives_its_reader_once() {
        let (_tx, rx) = mpsc::unbounded_channel();
        let slot = ReaderSlot::new(ByteStreamReader::new(byte_info("f"), rx));
        let copy = slot.clone();
        assert!(copy.take().is_some());
        assert!(slot.take().is_none());
    }
}
