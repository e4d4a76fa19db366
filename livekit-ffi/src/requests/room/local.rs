//! Requests on the local participant: data, DTMF, transcriptions, chat,
//! metadata, name, attributes and data-channel thresholds.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use livekit_core::room::{DataKind, OutgoingData, RoomError};
use livekit_protocol as lp;
use tokio::sync::{mpsc, oneshot};

use super::{async_id, local_room};
use crate::convert;
use crate::error::FfiResult;
use crate::proto::{self, ffi_event::Message as Event};
use crate::requests::buffers::host_slice;
use crate::server::FfiServer;

/// Builds the callback for a finished send from its error, if any.
pub(super) type MakeCallback = Box<dyn FnOnce(Option<String>) -> Event + Send>;

/// A send waiting for its outcome, with how to report it.
pub(super) type PendingSend = (oneshot::Receiver<Result<(), RoomError>>, MakeCallback);

/// Start the task that reports a room's sends in request order. Outcomes
/// already arrive in order; awaiting them one by one here keeps the
/// callbacks in that order too.
pub(super) fn spawn_send_reporter(
    server: &'static FfiServer,
) -> mpsc::UnboundedSender<PendingSend> {
    let (tx, mut rx) = mpsc::unbounded_channel::<PendingSend>();
    server.runtime().spawn(async move {
        while let Some((outcome, make)) = rx.recv().await {
            let error = match outcome.await {
                Ok(Ok(())) => None,
                Ok(Err(err)) => Some(err.to_string()),
                Err(_) => Some(RoomError::Closed.to_string()),
            };
            server.send_event(make(error));
        }
    });
    tx
}

/// Queue a packet and its callback.
pub(super) fn queue(
    server: &'static FfiServer,
    handle: u64,
    data: OutgoingData,
    kind: DataKind,
    destinations: Vec<String>,
    make: MakeCallback,
) -> FfiResult<()> {
    let room = local_room(server, handle)?;
    let outcome = room.room.publish_data(data, kind, destinations);
    if let Err(mpsc::error::SendError((_, make))) = room.send_reports.send((outcome, make)) {
        server.send_event(make(Some(RoomError::Closed.to_string())));
    }
    Ok(())
}

/// `PublishDataRequest`: the payload is copied before this returns.
pub fn publish_data(
    server: &'static FfiServer,
    request: proto::PublishDataRequest,
) -> FfiResult<proto::PublishDataResponse> {
    // SAFETY: the host promises `data_ptr` points at `data_len` readable
    // bytes for the duration of the call; `host_slice` checks null and size.
    let payload =
        unsafe { host_slice::<u8>("data", request.data_ptr, request.data_len as usize)? }.to_vec();
    let async_id = async_id(server, request.request_async_id);
    let kind = if request.reliable {
        DataKind::Reliable
    } else {
        DataKind::Lossy
    };
    queue(
        server,
        request.local_participant_handle,
        OutgoingData::User {
            payload,
            topic: request.topic,
        },
        kind,
        request.destination_identities,
        Box::new(move |error| Event::PublishData(proto::PublishDataCallback { async_id, error })),
    )?;
    Ok(proto::PublishDataResponse { async_id })
}

/// `PublishSipDtmfRequest`.
pub fn publish_sip_dtmf(
    server: &'static FfiServer,
    request: proto::PublishSipDtmfRequest,
) -> FfiResult<proto::PublishSipDtmfResponse> {
    let async_id = async_id(server, request.request_async_id);
    queue(
        server,
        request.local_participant_handle,
        OutgoingData::SipDtmf {
            code: request.code,
            digit: request.digit,
        },
        DataKind::Reliable,
        request.destination_identities,
        Box::new(move |error| {
            Event::PublishSipDtmf(proto::PublishSipDtmfCallback { async_id, error })
        }),
    )?;
    Ok(proto::PublishSipDtmfResponse { async_id })
}

/// `PublishTranscriptionRequest`.
pub fn publish_transcription(
    server: &'static FfiServer,
    request: proto::PublishTranscriptionRequest,
) -> FfiResult<proto::PublishTranscriptionResponse> {
    let async_id = async_id(server, request.request_async_id);
    let handle = request.local_participant_handle;
    let transcription = convert::data::transcription_from_ffi(request);
    queue(
        server,
        handle,
        OutgoingData::Transcription(transcription),
        DataKind::Reliable,
        Vec::new(),
        Box::new(move |error| {
            Event::PublishTranscription(proto::PublishTranscriptionCallback { async_id, error })
        }),
    )?;
    Ok(proto::PublishTranscriptionResponse { async_id })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Queue a chat message; the callback carries the message as sent.
fn send_chat(
    server: &'static FfiServer,
    handle: u64,
    message: lp::ChatMessage,
    destinations: Vec<String>,
    async_id: u64,
) -> FfiResult<()> {
    let sent = convert::data::chat_message_to_ffi(message.clone());
    queue(
        server,
        handle,
        OutgoingData::Chat(message),
        DataKind::Reliable,
        destinations,
        Box::new(move |error| {
            let message = match error {
                Some(error) => proto::send_chat_message_callback::Message::Error(error),
                None => proto::send_chat_message_callback::Message::ChatMessage(sent),
            };
            Event::ChatMessage(proto::SendChatMessageCallback {
                async_id,
                message: Some(message),
            })
        }),
    )
}

/// `SendChatMessageRequest`.
pub fn send_chat_message(
    server: &'static FfiServer,
    request: proto::SendChatMessageRequest,
) -> FfiResult<proto::SendChatMessageResponse> {
    let async_id = async_id(server, request.request_async_id);
    let message = lp::ChatMessage {
        id: livekit_core::ids::uuid_v4(),
        timestamp: now_ms(),
        message: request.message,
        ..Default::default()
    };
    send_chat(
        server,
        request.local_participant_handle,
        message,
        request.destination_identities,
        async_id,
    )?;
    Ok(proto::SendChatMessageResponse { async_id })
}

/// `EditChatMessageRequest`: the original with new text and edit time.
pub fn edit_chat_message(
    server: &'static FfiServer,
    request: proto::EditChatMessageRequest,
) -> FfiResult<proto::SendChatMessageResponse> {
    let async_id = async_id(server, request.request_async_id);
    let message =
        convert::data::edited_chat_message(request.original_message, request.edit_text, now_ms());
    send_chat(
        server,
        request.local_participant_handle,
        message,
        request.destination_identities,
        async_id,
    )?;
    Ok(proto::SendChatMessageResponse { async_id })
}

/// Run a local update in the background and report it with `make`.
fn update(
    server: &'static FfiServer,
    handle: u64,
    work: impl FnOnce(
        std::sync::Arc<super::FfiRoom>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), RoomError>> + Send>,
    >,
    make: MakeCallback,
) -> FfiResult<()> {
    let room = local_room(server, handle)?;
    let future = work(room);
    server.runtime().spawn(async move {
        let error = future.await.err().map(|e| e.to_string());
        server.send_event(make(error));
    });
    Ok(())
}

/// `SetLocalMetadataRequest`.
pub fn set_metadata(
    server: &'static FfiServer,
    request: proto::SetLocalMetadataRequest,
) -> FfiResult<proto::SetLocalMetadataResponse> {
    let async_id = async_id(server, request.request_async_id);
    let metadata = request.metadata;
    update(
        server,
        request.local_participant_handle,
        move |room| Box::pin(async move { room.room.set_metadata(metadata).await }),
        Box::new(move |error| {
            Event::SetLocalMetadata(proto::SetLocalMetadataCallback { async_id, error })
        }),
    )?;
    Ok(proto::SetLocalMetadataResponse { async_id })
}

/// `SetLocalNameRequest`.
pub fn set_name(
    server: &'static FfiServer,
    request: proto::SetLocalNameRequest,
) -> FfiResult<proto::SetLocalNameResponse> {
    let async_id = async_id(server, request.request_async_id);
    let name = request.name;
    update(
        server,
        request.local_participant_handle,
        move |room| Box::pin(async move { room.room.set_name(name).await }),
        Box::new(move |error| Event::SetLocalName(proto::SetLocalNameCallback { async_id, error })),
    )?;
    Ok(proto::SetLocalNameResponse { async_id })
}

/// `SetLocalAttributesRequest`.
pub fn set_attributes(
    server: &'static FfiServer,
    request: proto::SetLocalAttributesRequest,
) -> FfiResult<proto::SetLocalAttributesResponse> {
    let async_id = async_id(server, request.request_async_id);
    let attributes: HashMap<String, String> = request
        .attributes
        .into_iter()
        .map(|e| (e.key, e.value))
        .collect();
    update(
        server,
        request.local_participant_handle,
        move |room| Box::pin(async move { room.room.set_attributes(attributes).await }),
        Box::new(move |error| {
            Event::SetLocalAttributes(proto::SetLocalAttributesCallback { async_id, error })
        }),
    )?;
    Ok(proto::SetLocalAttributesResponse { async_id })
}

/// `SetDataChannelBufferedAmountLowThresholdRequest`.
pub fn set_dc_threshold(
    server: &'static FfiServer,
    request: proto::SetDataChannelBufferedAmountLowThresholdRequest,
) -> FfiResult<proto::SetDataChannelBufferedAmountLowThresholdResponse> {
    let room = local_room(server, request.local_participant_handle)?;
    let kind = if request.kind == proto::DataPacketKind::KindLossy as i32 {
        DataKind::Lossy
    } else {
        DataKind::Reliable
    };
    room.room
        .set_buffered_amount_low_threshold(kind, request.threshold);
    Ok(proto::SetDataChannelBufferedAmountLowThresholdResponse {})
}
