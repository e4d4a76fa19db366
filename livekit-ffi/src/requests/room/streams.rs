//! Data streams on the FFI.
//!
//! - Sending: `SendText`, `SendBytes` and `SendFile` send a whole stream
//!   and answer with its info; `TextStreamOpen` and `ByteStreamOpen` answer
//!   with an owned writer, written with `*StreamWrite` and ended with
//!   `*StreamClose` (which consumes the handle). A writer handle dropped
//!   without a close still ends its stream normally.
//! - Receiving: the room's `TextStreamOpened` / `ByteStreamOpened` events
//!   carry an owned reader. `*ReadIncremental` consumes it and reports the
//!   content as reader events, chunk by chunk, then one EOS with the final
//!   attributes and the error, if any; `*ReadAll` and `ByteWriteToFile`
//!   consume it and answer once. A reader handle dropped unread makes the
//!   library forget the stream.
//! - The low-level `SendStreamHeader`, `SendStreamChunk` and
//!   `SendStreamTrailer` send one packet each as the host built it.
//!
//! Every request answers at once; the work runs on the runtime and ends
//! in its callback. Packets of all of these go through the room's data
//! queue, in order with other reliable data.

use std::path::PathBuf;

use livekit_core::room::streams::{
    ByteStreamReader, ByteStreamWriter, ReaderSlot, StreamError, StreamPacket, StreamSender,
    TextStreamReader, TextStreamWriter, is_internal_topic,
};
use livekit_core::room::{DataKind, OutgoingData};
use parking_lot::Mutex;

use super::local::queue;
use super::{async_id, local_room, reply_later};
use crate::convert::data as convert;
use crate::error::{FfiError, FfiResult};
use crate::proto::{self, ffi_event::Message as Event, room_event::Message as Ev};
use crate::server::FfiServer;

/// The object behind a text reader handle, until a read consumes it.
pub struct FfiTextStreamReader(Mutex<Option<TextStreamReader>>);

/// The object behind a byte reader handle, until a read consumes it.
pub struct FfiByteStreamReader(Mutex<Option<ByteStreamReader>>);

// ---------------------------------------------------------------------------
// Readers handed out in room events
// ---------------------------------------------------------------------------

/// `TextStreamOpened` with an owned reader; `None` when the reader is gone
/// or the topic is internal (the reader is then dropped, and the stream
/// forgotten).
pub(super) fn text_stream_opened(
    server: &FfiServer,
    identity: String,
    slot: ReaderSlot<TextStreamReader>,
) -> Option<Ev> {
    let reader = slot.take()?;
    if is_internal_topic(&reader.info().topic) {
        return None;
    }
    let info = convert::text_stream_info_to_ffi(reader.info());
    let id = server
        .handles
        .insert(FfiTextStreamReader(Mutex::new(Some(reader))));
    Some(Ev::TextStreamOpened(proto::TextStreamOpened {
        reader: proto::OwnedTextStreamReader {
            handle: proto::FfiOwnedHandle { id },
            info,
        },
        participant_identity: identity,
    }))
}

/// `ByteStreamOpened` with an owned reader (as for text).
pub(super) fn byte_stream_opened(
    server: &FfiServer,
    identity: String,
    slot: ReaderSlot<ByteStreamReader>,
) -> Option<Ev> {
    let reader = slot.take()?;
    if is_internal_topic(&reader.info().topic) {
        return None;
    }
    let info = convert::byte_stream_info_to_ffi(reader.info());
    let id = server
        .handles
        .insert(FfiByteStreamReader(Mutex::new(Some(reader))));
    Some(Ev::ByteStreamOpened(proto::ByteStreamOpened {
        reader: proto::OwnedByteStreamReader {
            handle: proto::FfiOwnedHandle { id },
            info,
        },
        participant_identity: identity,
    }))
}

fn take_text_reader(server: &FfiServer, handle: u64) -> FfiResult<TextStreamReader> {
    server
        .handles
        .take::<FfiTextStreamReader>(handle)?
        .0
        .lock()
        .take()
        .ok_or_else(|| FfiError::invalid(format!("text reader {handle} was already read")))
}

fn take_byte_reader(server: &FfiServer, handle: u64) -> FfiResult<ByteStreamReader> {
    server
        .handles
        .take::<FfiByteStreamReader>(handle)?
        .0
        .lock()
        .take()
        .ok_or_else(|| FfiError::invalid(format!("byte reader {handle} was already read")))
}

fn error_to_ffi(error: Option<StreamError>) -> Option<proto::StreamError> {
    error.as_ref().map(convert::stream_error_to_ffi)
}

/// A callback's `result` oneof from a stream operation's outcome: every
/// stream callback carries either its value or a `StreamError`.
fn settle<T, R>(
    outcome: Result<T, StreamError>,
    ok: impl FnOnce(T) -> R,
    err: impl FnOnce(proto::StreamError) -> R,
) -> Option<R> {
    Some(match outcome {
        Ok(value) => ok(value),
        Err(error) => err(convert::stream_error_to_ffi(&error)),
    })
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/// `TextStreamReaderReadIncrementalRequest`: chunk events, then EOS.
pub fn text_read_incremental(
    server: &'static FfiServer,
    request: proto::TextStreamReaderReadIncrementalRequest,
) -> FfiResult<proto::TextStreamReaderReadIncrementalResponse> {
    let handle = request.reader_handle;
    let mut reader = take_text_reader(server, handle)?;
    let send = move |detail| {
        server.send_event(Event::TextStreamReaderEvent(proto::TextStreamReaderEvent {
            reader_handle: handle,
            detail: Some(detail),
        }));
    };
    server.runtime().spawn(async move {
        use proto::text_stream_reader_event::Detail;
        let mut error = None;
        while let Some(piece) = reader.next().await {
            match piece {
                Ok(content) => send(Detail::ChunkReceived(
                    proto::TextStreamReaderChunkReceived { content },
                )),
                Err(err) => error = Some(err),
            }
        }
        send(Detail::Eos(proto::TextStreamReaderEos {
            error: error_to_ffi(error),
            attributes: reader.attributes().clone(),
        }));
    });
    Ok(proto::TextStreamReaderReadIncrementalResponse {})
}

/// `ByteStreamReaderReadIncrementalRequest`: chunk events, then EOS.
pub fn byte_read_incremental(
    server: &'static FfiServer,
    request: proto::ByteStreamReaderReadIncrementalRequest,
) -> FfiResult<proto::ByteStreamReaderReadIncrementalResponse> {
    let handle = request.reader_handle;
    let mut reader = take_byte_reader(server, handle)?;
    let send = move |detail| {
        server.send_event(Event::ByteStreamReaderEvent(proto::ByteStreamReaderEvent {
            reader_handle: handle,
            detail: Some(detail),
        }));
    };
    server.runtime().spawn(async move {
        use proto::byte_stream_reader_event::Detail;
        let mut error = None;
        while let Some(piece) = reader.next().await {
            match piece {
                Ok(content) => send(Detail::ChunkReceived(
                    proto::ByteStreamReaderChunkReceived { content },
                )),
                Err(err) => error = Some(err),
            }
        }
        send(Detail::Eos(proto::ByteStreamReaderEos {
            error: error_to_ffi(error),
            attributes: reader.attributes().clone(),
        }));
    });
    Ok(proto::ByteStreamReaderReadIncrementalResponse {})
}

/// `TextStreamReaderReadAllRequest`.
pub fn text_read_all(
    server: &'static FfiServer,
    request: proto::TextStreamReaderReadAllRequest,
) -> FfiResult<proto::TextStreamReaderReadAllResponse> {
    use proto::text_stream_reader_read_all_callback::Result as R;
    let reader = take_text_reader(server, request.reader_handle)?;
    let async_id = reply_later(server, request.request_async_id, |async_id| async move {
        let result = settle(reader.read_all().await, R::Content, R::Error);
        Event::TextStreamReaderReadAll(proto::TextStreamReaderReadAllCallback { async_id, result })
    });
    Ok(proto::TextStreamReaderReadAllResponse { async_id })
}

/// `ByteStreamReaderReadAllRequest`.
pub fn byte_read_all(
    server: &'static FfiServer,
    request: proto::ByteStreamReaderReadAllRequest,
) -> FfiResult<proto::ByteStreamReaderReadAllResponse> {
    use proto::byte_stream_reader_read_all_callback::Result as R;
    let reader = take_byte_reader(server, request.reader_handle)?;
    let async_id = reply_later(server, request.request_async_id, |async_id| async move {
        let result = settle(reader.read_all().await, R::Content, R::Error);
        Event::ByteStreamReaderReadAll(proto::ByteStreamReaderReadAllCallback { async_id, result })
    });
    Ok(proto::ByteStreamReaderReadAllResponse { async_id })
}

/// `ByteStreamReaderWriteToFileRequest`: into `directory` (the temporary
/// directory by default) under the stream's name or `name_override`.
pub fn byte_write_to_file(
    server: &'static FfiServer,
    request: proto::ByteStreamReaderWriteToFileRequest,
) -> FfiResult<proto::ByteStreamReaderWriteToFileResponse> {
    use proto::byte_stream_reader_write_to_file_callback::Result as R;
    let reader = take_byte_reader(server, request.reader_handle)?;
    let directory = request.directory.map(PathBuf::from);
    let name = request.name_override;
    let async_id = reply_later(server, request.request_async_id, |async_id| async move {
        let written = reader.write_to_file(directory, name).await;
        let result = settle(
            written.map(|path| path.to_string_lossy().into_owned()),
            R::FilePath,
            R::Error,
        );
        Event::ByteStreamReaderWriteToFile(proto::ByteStreamReaderWriteToFileCallback {
            async_id,
            result,
        })
    });
    Ok(proto::ByteStreamReaderWriteToFileResponse { async_id })
}

// ---------------------------------------------------------------------------
// Sending whole streams
// ---------------------------------------------------------------------------

fn stream_sender(server: &FfiServer, handle: u64) -> FfiResult<StreamSender> {
    Ok(local_room(server, handle)?.room.stream_sender())
}

/// `StreamSendTextRequest`.
pub fn send_text(
    server: &'static FfiServer,
    request: proto::StreamSendTextRequest,
) -> FfiResult<proto::StreamSendTextResponse> {
    use proto::stream_send_text_callback::Result as R;
    let sender = stream_sender(server, request.local_participant_handle)?;
    let options = convert::text_options_from_ffi(request.options);
    let text = request.text;
    let async_id = reply_later(server, request.request_async_id, |async_id| async move {
        let sent = sender.send_text(&text, options).await;
        let info = sent.map(|info| convert::text_stream_info_to_ffi(&info));
        let result = settle(info, R::Info, R::Error);
        Event::SendText(proto::StreamSendTextCallback { async_id, result })
    });
    Ok(proto::StreamSendTextResponse { async_id })
}

/// `StreamSendBytesRequest`.
pub fn send_bytes(
    server: &'static FfiServer,
    request: proto::StreamSendBytesRequest,
) -> FfiResult<proto::StreamSendBytesResponse> {
    use proto::stream_send_bytes_callback::Result as R;
    let sender = stream_sender(server, request.local_participant_handle)?;
    let options = convert::byte_options_from_ffi(request.options);
    let bytes = request.bytes;
    let async_id = reply_later(server, request.request_async_id, |async_id| async move {
        let sent = sender.send_bytes(&bytes, options).await;
        let info = sent.map(|info| convert::byte_stream_info_to_ffi(&info));
        let result = settle(info, R::Info, R::Error);
        Event::SendBytes(proto::StreamSendBytesCallback { async_id, result })
    });
    Ok(proto::StreamSendBytesResponse { async_id })
}

/// `StreamSendFileRequest`.
pub fn send_file(
    server: &'static FfiServer,
    request: proto::StreamSendFileRequest,
) -> FfiResult<proto::StreamSendFileResponse> {
    use proto::stream_send_file_callback::Result as R;
    let sender = stream_sender(server, request.local_participant_handle)?;
    let options = convert::byte_options_from_ffi(request.options);
    let path = PathBuf::from(request.file_path);
    let async_id = reply_later(server, request.request_async_id, |async_id| async move {
        let sent = sender.send_file(&path, options).await;
        let info = sent.map(|info| convert::byte_stream_info_to_ffi(&info));
        let result = settle(info, R::Info, R::Error);
        Event::SendFile(proto::StreamSendFileCallback { async_id, result })
    });
    Ok(proto::StreamSendFileResponse { async_id })
}

// ---------------------------------------------------------------------------
// Writers
// ---------------------------------------------------------------------------

/// `TextStreamOpenRequest`: answers with an owned writer once the header
/// is out.
pub fn text_stream_open(
    server: &'static FfiServer,
    request: proto::TextStreamOpenRequest,
) -> FfiResult<proto::TextStreamOpenResponse> {
    use proto::text_stream_open_callback::Result as R;
    let sender = stream_sender(server, request.local_participant_handle)?;
    let options = convert::text_options_from_ffi(request.options);
    let async_id = reply_later(server, request.request_async_id, |async_id| async move {
        let writer = sender.stream_text(options).await.map(|writer| {
            let info = convert::text_stream_info_to_ffi(writer.info());
            let id = server.handles.insert(writer);
            proto::OwnedTextStreamWriter {
                handle: proto::FfiOwnedHandle { id },
                info,
            }
        });
        let result = settle(writer, R::Writer, R::Error);
        Event::TextStreamOpen(proto::TextStreamOpenCallback { async_id, result })
    });
    Ok(proto::TextStreamOpenResponse { async_id })
}

/// `ByteStreamOpenRequest`.
pub fn byte_stream_open(
    server: &'static FfiServer,
    request: proto::ByteStreamOpenRequest,
) -> FfiResult<proto::ByteStreamOpenResponse> {
    use proto::byte_stream_open_callback::Result as R;
    let sender = stream_sender(server, request.local_participant_handle)?;
    let options = convert::byte_options_from_ffi(request.options);
    let async_id = reply_later(server, request.request_async_id, |async_id| async move {
        let writer = sender.stream_bytes(options).await.map(|writer| {
            let info = convert::byte_stream_info_to_ffi(writer.info());
            let id = server.handles.insert(writer);
            proto::OwnedByteStreamWriter {
                handle: proto::FfiOwnedHandle { id },
                info,
            }
        });
        let result = settle(writer, R::Writer, R::Error);
        Event::ByteStreamOpen(proto::ByteStreamOpenCallback { async_id, result })
    });
    Ok(proto::ByteStreamOpenResponse { async_id })
}

/// `TextStreamWriterWriteRequest`.
pub fn text_stream_write(
    server: &'static FfiServer,
    request: proto::TextStreamWriterWriteRequest,
) -> FfiResult<proto::TextStreamWriterWriteResponse> {
    let writer = server
        .handles
        .get::<TextStreamWriter>(request.writer_handle)?;
    let text = request.text;
    let async_id = reply_later(server, request.request_async_id, |async_id| async move {
        let error = error_to_ffi(writer.write(&text).await.err());
        Event::TextStreamWriterWrite(proto::TextStreamWriterWriteCallback { async_id, error })
    });
    Ok(proto::TextStreamWriterWriteResponse { async_id })
}

/// `ByteStreamWriterWriteRequest`.
pub fn byte_stream_write(
    server: &'static FfiServer,
    request: proto::ByteStreamWriterWriteRequest,
) -> FfiResult<proto::ByteStreamWriterWriteResponse> {
    let writer = server
        .handles
        .get::<ByteStreamWriter>(request.writer_handle)?;
    let bytes = request.bytes;
    let async_id = reply_later(server, request.request_async_id, |async_id| async move {
        let error = error_to_ffi(writer.write(&bytes).await.err());
        Event::ByteStreamWriterWrite(proto::ByteStreamWriterWriteCallback { async_id, error })
    });
    Ok(proto::ByteStreamWriterWriteResponse { async_id })
}

/// `TextStreamWriterCloseRequest`: consumes the writer handle. An empty
/// reason is a normal end.
pub fn text_stream_close(
    server: &'static FfiServer,
    request: proto::TextStreamWriterCloseRequest,
) -> FfiResult<proto::TextStreamWriterCloseResponse> {
    let writer = server
        .handles
        .take::<TextStreamWriter>(request.writer_handle)?;
    let reason = request.reason.filter(|r| !r.is_empty());
    let attributes = request.attributes;
    let async_id = reply_later(server, request.request_async_id, |async_id| async move {
        let error = error_to_ffi(writer.close(reason, attributes).await.err());
        Event::TextStreamWriterClose(proto::TextStreamWriterCloseCallback { async_id, error })
    });
    Ok(proto::TextStreamWriterCloseResponse { async_id })
}

/// `ByteStreamWriterCloseRequest`: consumes the writer handle.
pub fn byte_stream_close(
    server: &'static FfiServer,
    request: proto::ByteStreamWriterCloseRequest,
) -> FfiResult<proto::ByteStreamWriterCloseResponse> {
    let writer = server
        .handles
        .take::<ByteStreamWriter>(request.writer_handle)?;
    let reason = request.reason.filter(|r| !r.is_empty());
    let attributes = request.attributes;
    let async_id = reply_later(server, request.request_async_id, |async_id| async move {
        let error = error_to_ffi(writer.close(reason, attributes).await.err());
        Event::ByteStreamWriterClose(proto::ByteStreamWriterCloseCallback { async_id, error })
    });
    Ok(proto::ByteStreamWriterCloseResponse { async_id })
}

// ---------------------------------------------------------------------------
// Low-level packets
// ---------------------------------------------------------------------------

/// Queue one packet the host built, attributed to `sender_identity`.
fn send_packet(
    server: &'static FfiServer,
    handle: u64,
    packet: StreamPacket,
    destinations: Vec<String>,
    sender_identity: String,
    make: super::local::MakeCallback,
) -> FfiResult<()> {
    queue(
        server,
        handle,
        OutgoingData::Stream {
            packet,
            sender_identity: Some(sender_identity).filter(|s| !s.is_empty()),
        },
        DataKind::Reliable,
        destinations,
        make,
    )
}

/// `SendStreamHeaderRequest`.
pub fn send_stream_header(
    server: &'static FfiServer,
    request: proto::SendStreamHeaderRequest,
) -> FfiResult<proto::SendStreamHeaderResponse> {
    let async_id = async_id(server, request.request_async_id);
    send_packet(
        server,
        request.local_participant_handle,
        StreamPacket::Header(convert::stream_header_from_ffi(request.header)),
        request.destination_identities,
        request.sender_identity,
        Box::new(move |error| {
            Event::SendStreamHeader(proto::SendStreamHeaderCallback { async_id, error })
        }),
    )?;
    Ok(proto::SendStreamHeaderResponse { async_id })
}

/// `SendStreamChunkRequest`.
pub fn send_stream_chunk(
    server: &'static FfiServer,
    request: proto::SendStreamChunkRequest,
) -> FfiResult<proto::SendStreamChunkResponse> {
    let async_id = async_id(server, request.request_async_id);
    send_packet(
        server,
        request.local_participant_handle,
        StreamPacket::Chunk(convert::stream_chunk_from_ffi(request.chunk)),
        request.destination_identities,
        request.sender_identity,
        Box::new(move |error| {
            Event::SendStreamChunk(proto::SendStreamChunkCallback { async_id, error })
        }),
    )?;
    Ok(proto::SendStreamChunkResponse { async_id })
}

/// `SendStreamTrailerRequest`.
pub fn send_stream_trailer(
    server: &'static FfiServer,
    request: proto::SendStreamTrailerRequest,
) -> FfiResult<proto::SendStreamTrailerResponse> {
    let async_id = async_id(server, request.request_async_id);
    send_packet(
        server,
        request.local_participant_handle,
        StreamPacket::Trailer(convert::stream_trailer_from_ffi(request.trailer)),
        request.destination_identities,
        request.sender_identity,
        Box::new(move |error| {
            Event::SendStreamTrailer(proto::SendStreamTrailerCallback { async_id, error })
        }),
    )?;
    Ok(proto::SendStreamTrailerResponse { async_id })
}
