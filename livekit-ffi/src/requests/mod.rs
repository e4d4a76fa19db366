//! Request dispatch: one `FfiRequest` in, one `FfiResponse` message out.
//!
//! Handlers live in modules named for the area they serve. Each takes the
//! request's inner message and returns the matching response message, or an
//! [`FfiError`] that the C boundary logs and reports as the invalid handle.
//! Handlers run on the caller's thread; those that answer later (async
//! requests) spawn onto the server's runtimes and deliver a callback event.

mod audio;
mod buffers;
mod dsp;
mod platform;
mod room;
mod track;
mod video;

use crate::error::{FfiError, FfiResult};
use crate::proto::{self, ffi_request::Message as Req, ffi_response::Message as Res};
use crate::server::FfiServer;

/// Handles one decoded request.
pub fn handle(server: &'static FfiServer, request: proto::FfiRequest) -> FfiResult<Res> {
    let Some(message) = request.message else {
        return Err(FfiError::invalid("the request carries no message"));
    };
    Ok(match message {
        Req::Dispose(r) => Res::Dispose(dispose(server, r)),

        // Media that needs no room.
        Req::NewAudioSource(r) => Res::NewAudioSource(audio::new_source(server, r)?),
        Req::CaptureAudioFrame(r) => Res::CaptureAudioFrame(audio::capture_frame(server, r)?),
        Req::ClearAudioBuffer(r) => Res::ClearAudioBuffer(audio::clear_buffer(server, r)?),
        Req::NewAudioStream(r) => Res::NewAudioStream(audio::new_stream(server, r)?),
        Req::NewVideoSource(r) => Res::NewVideoSource(video::new_source(server, r)?),
        Req::CaptureVideoFrame(r) => Res::CaptureVideoFrame(video::capture_frame(server, r)?),
        Req::NewVideoStream(r) => Res::NewVideoStream(video::new_stream(server, r)?),
        Req::VideoConvert(r) => Res::VideoConvert(video::convert(r)),
        Req::CreateAudioTrack(r) => Res::CreateAudioTrack(track::create_audio(server, r)?),
        Req::CreateVideoTrack(r) => Res::CreateVideoTrack(track::create_video(server, r)?),
        Req::LocalTrackMute(r) => Res::LocalTrackMute(track::local_mute(server, r)?),
        Req::GetStats(r) => Res::GetStats(track::get_stats(server, r)?),
        Req::EnableRemoteTrack(r) => Res::EnableRemoteTrack(track::enable_remote(server, r)?),
        Req::PublishTrack(r) => Res::PublishTrack(room::publish_track(server, r)?),
        Req::UnpublishTrack(r) => Res::UnpublishTrack(room::unpublish_track(server, r)?),
        Req::SetSubscribed(r) => Res::SetSubscribed(room::set_subscribed(server, r)?),
        Req::EnableRemoteTrackPublication(r) => {
            Res::EnableRemoteTrackPublication(room::enable_publication(server, r)?)
        }
        Req::SetTrackSubscriptionPermissions(r) => {
            Res::SetTrackSubscriptionPermissions(room::set_permissions(server, r)?)
        }
        Req::AudioStreamFromParticipant(r) => {
            Res::AudioStreamFromParticipant(audio::stream_from_participant(server, r)?)
        }

        // Signal processing.
        Req::NewAudioResampler(_) => Res::NewAudioResampler(dsp::new_resampler(server)),
        Req::RemixAndResample(r) => Res::RemixAndResample(dsp::remix_and_resample(server, r)?),
        Req::NewSoxResampler(r) => Res::NewSoxResampler(dsp::new_sox(server, r)),
        Req::PushSoxResampler(r) => Res::PushSoxResampler(dsp::push_sox(server, r)?),
        Req::FlushSoxResampler(r) => Res::FlushSoxResampler(dsp::flush_sox(server, r)?),
        Req::NewApm(r) => Res::NewApm(dsp::new_apm(server, r)),
        Req::ApmProcessStream(r) => Res::ApmProcessStream(dsp::apm_process(server, r)?),
        Req::ApmProcessReverseStream(r) => {
            Res::ApmProcessReverseStream(dsp::apm_process_reverse(server, r)?)
        }
        Req::ApmSetStreamDelay(r) => Res::ApmSetStreamDelay(dsp::apm_set_delay(server, r)?),

        // The host's sound devices.
        Req::NewPlatformAudio(_) => Res::NewPlatformAudio(platform::new(server)),
        Req::GetAudioDevices(r) => Res::GetAudioDevices(platform::devices(server, r)?),
        Req::SetRecordingDevice(r) => Res::SetRecordingDevice(platform::set_recording(server, r)?),
        Req::SetPlayoutDevice(r) => Res::SetPlayoutDevice(platform::set_playout(server, r)?),
        Req::StartRecording(r) => Res::StartRecording(platform::start_recording(server, r)?),
        Req::StopRecording(r) => Res::StopRecording(platform::stop_recording(server, r)?),

        // Rooms and the local participant.
        Req::Connect(r) => Res::Connect(room::connect(server, r)),
        Req::Disconnect(r) => Res::Disconnect(room::disconnect(server, r)?),
        Req::ReadyForRoomEvent(r) => Res::ReadyForRoomEvent(room::ready(server, r)?),
        Req::GetSessionStats(r) => Res::GetSessionStats(room::session_stats(server, r)?),
        Req::SimulateScenario(r) => Res::SimulateScenario(room::simulate_scenario(server, r)?),
        Req::PublishData(r) => Res::PublishData(room::publish_data(server, r)?),
        Req::PublishSipDtmf(r) => Res::PublishSipDtmf(room::publish_sip_dtmf(server, r)?),
        Req::PublishTranscription(r) => {
            Res::PublishTranscription(room::publish_transcription(server, r)?)
        }
        Req::SendChatMessage(r) => Res::SendChatMessage(room::send_chat_message(server, r)?),
        Req::EditChatMessage(r) => Res::SendChatMessage(room::edit_chat_message(server, r)?),
        Req::SetLocalMetadata(r) => Res::SetLocalMetadata(room::set_metadata(server, r)?),
        Req::SetLocalName(r) => Res::SetLocalName(room::set_name(server, r)?),
        Req::SetLocalAttributes(r) => Res::SetLocalAttributes(room::set_attributes(server, r)?),
        Req::SetDataChannelBufferedAmountLowThreshold(r) => {
            Res::SetDataChannelBufferedAmountLowThreshold(room::set_dc_threshold(server, r)?)
        }

        // Data streams.
        Req::SendText(r) => Res::SendText(room::send_text(server, r)?),
        Req::SendBytes(r) => Res::SendBytes(room::send_bytes(server, r)?),
        Req::SendFile(r) => Res::SendFile(room::send_file(server, r)?),
        Req::TextStreamOpen(r) => Res::TextStreamOpen(room::text_stream_open(server, r)?),
        Req::TextStreamWrite(r) => Res::TextStreamWrite(room::text_stream_write(server, r)?),
        Req::TextStreamClose(r) => Res::TextStreamClose(room::text_stream_close(server, r)?),
        Req::ByteStreamOpen(r) => Res::ByteStreamOpen(room::byte_stream_open(server, r)?),
        Req::ByteStreamWrite(r) => Res::ByteStreamWrite(room::byte_stream_write(server, r)?),
        Req::ByteStreamClose(r) => Res::ByteStreamClose(room::byte_stream_close(server, r)?),
        Req::TextReadIncremental(r) => {
            Res::TextReadIncremental(room::text_read_incremental(server, r)?)
        }
        Req::TextReadAll(r) => Res::TextReadAll(room::text_read_all(server, r)?),
        Req::ByteReadIncremental(r) => {
            Res::ByteReadIncremental(room::byte_read_incremental(server, r)?)
        }
        Req::ByteReadAll(r) => Res::ByteReadAll(room::byte_read_all(server, r)?),
        Req::ByteWriteToFile(r) => Res::ByteWriteToFile(room::byte_write_to_file(server, r)?),
        Req::SendStreamHeader(r) => Res::SendStreamHeader(room::send_stream_header(server, r)?),
        Req::SendStreamChunk(r) => Res::SendStreamChunk(room::send_stream_chunk(server, r)?),
        Req::SendStreamTrailer(r) => Res::SendStreamTrailer(room::send_stream_trailer(server, r)?),

        // Data tracks.
        message @ (Req::PublishDataTrack(_)
        | Req::LocalDataTrackTryPush(_)
        | Req::LocalDataTrackUnpublish(_)
        | Req::LocalDataTrackIsPublished(_)
        | Req::SubscribeDataTrack(_)
        | Req::RemoteDataTrackIsPublished(_)
        | Req::DataTrackStreamRead(_)
        | Req::RemoteDataTrackSetPipelineOptions(_)) => room::data_tracks::handle(server, message)?,

        // Everything else needs what later work adds.
        other => return Err(FfiError::Unsupported(request_name(&other))),
    })
}

/// Handles `DisposeRequest`: closes every room, answering through a
/// callback when the host asked for an asynchronous dispose.
fn dispose(server: &FfiServer, request: proto::DisposeRequest) -> proto::DisposeResponse {
    dispose_all(server);
    if !request.r#async {
        return proto::DisposeResponse { async_id: None };
    }
    let async_id = server.handles.next_id();
    server.send_event(proto::ffi_event::Message::Dispose(proto::DisposeCallback {
        async_id,
    }));
    proto::DisposeResponse {
        async_id: Some(async_id),
    }
}

/// Closes everything that outlives a request: every connected room leaves
/// and ends its event stream.
pub fn dispose_all(server: &FfiServer) {
    room::close_all(server);
}

/// The request's name in the protocol's terms, for error messages.
fn request_name(message: &Req) -> String {
    let debug = format!("{message:?}");
    let variant = debug.split('(').next().unwrap_or("request");
    format!("{variant}Request")
}

/// The async id of a request: the host's own when it chose one (so it can
/// listen before sending), otherwise a fresh one.
fn async_id(server: &FfiServer, requested: Option<u64>) -> u64 {
    requested
        .filter(|&id| id != 0)
        .unwrap_or_else(|| server.handles.next_id())
}

/// Run a request's work on the runtime and deliver the callback it ends
/// with; returns the async id, which the response carries and `work` puts
/// in its callback. The request itself answers at once, as the official
/// library's do.
fn reply_later<Work>(
    server: &'static FfiServer,
    requested: Option<u64>,
    work: impl FnOnce(u64) -> Work,
) -> u64
where
    Work: Future<Output = proto::ffi_event::Message> + Send + 'static,
{
    let async_id = async_id(server, requested);
    let work = work(async_id);
    server
        .runtime()
        .spawn(async move { server.send_event(work.await) });
    async_id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_names_come_from_the_variant() {
        let message = Req::Disconnect(proto::DisconnectRequest {
            room_handle: 7,
            request_async_id: None,
            reason: None,
        });
        assert_eq!(request_name(&message), "DisconnectRequest");
    }
}
