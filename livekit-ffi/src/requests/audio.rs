//! Audio sources, captures and streams.

use std::sync::Arc;
use std::time::Duration;

use livekit_core::audio::frame::AudioFrame;
use livekit_core::audio::source::{Capture, NativeAudioSource};
use livekit_core::audio::stream::{AudioStreamOptions, NativeAudioStream};

use tokio::sync::watch;

use super::async_id;
use super::buffers::{host_slice, sample_count};
use super::room::FfiParticipant;
use super::track::FfiTrack;
use crate::convert;
use crate::error::{FfiError, FfiResult};
use crate::handles::FfiHandleId;
use crate::proto;
use crate::server::FfiServer;

/// `NewAudioSourceRequest`. A platform source would be fed by the recording
/// device; with none present it is a source nobody captures into, so the
/// application's tracks still work and simply carry no audio.
pub fn new_source(
    server: &FfiServer,
    request: proto::NewAudioSourceRequest,
) -> FfiResult<proto::NewAudioSourceResponse> {
    if let Some(platform) = request.platform_audio_handle {
        server
            .handles
            .get::<super::platform::PlatformAudio>(platform)?;
    }
    let source = NativeAudioSource::new(
        request.sample_rate.unwrap_or(48_000),
        request.num_channels.unwrap_or(1),
        request.queue_size_ms.unwrap_or(1_000),
        server.audio_runtime().clone(),
    )
    .map_err(|err| FfiError::invalid(err.to_string()))?;
    let id = server.handles.insert(source);
    Ok(proto::NewAudioSourceResponse {
        source: proto::OwnedAudioSource {
            handle: proto::FfiOwnedHandle { id },
            info: proto::AudioSourceInfo {
                r#type: request.r#type,
            },
        },
    })
}

/// `CaptureAudioFrameRequest`: the samples are copied before returning; the
/// callback tells the host when to send the next frame.
pub fn capture_frame(
    server: &'static FfiServer,
    request: proto::CaptureAudioFrameRequest,
) -> FfiResult<proto::CaptureAudioFrameResponse> {
    let source = server
        .handles
        .get::<NativeAudioSource>(request.source_handle)?;
    let info = &request.buffer;
    let len = sample_count(
        "CaptureAudioFrame",
        info.samples_per_channel,
        info.num_channels,
    )?;
    // SAFETY: the protocol requires `data_ptr` to hold the declared frame
    // for the duration of the request; the source copies it.
    let samples = unsafe { host_slice::<i16>("CaptureAudioFrame", info.data_ptr, len)? };
    let async_id = async_id(server, request.request_async_id);
    let callback = move |error: Option<String>| {
        server.send_event(proto::ffi_event::Message::CaptureAudioFrame(
            proto::CaptureAudioFrameCallback { async_id, error },
        ));
    };
    match source.capture_frame(
        samples,
        info.sample_rate,
        info.num_channels,
        info.samples_per_channel,
    ) {
        Ok(Capture::Done) => callback(None),
        Ok(Capture::Waiting(ready)) => {
            server.audio_runtime().spawn(async move {
                let error = ready
                    .await
                    .err()
                    .map(|_| "the audio source was closed".to_string());
                callback(error);
            });
        }
        Err(err) => callback(Some(err.to_string())),
    }
    Ok(proto::CaptureAudioFrameResponse { async_id })
}

/// `ClearAudioBufferRequest`.
pub fn clear_buffer(
    server: &FfiServer,
    request: proto::ClearAudioBufferRequest,
) -> FfiResult<proto::ClearAudioBufferResponse> {
    server
        .handles
        .get::<NativeAudioSource>(request.source_handle)?
        .clear_buffer();
    Ok(proto::ClearAudioBufferResponse {})
}

/// The object behind an audio-stream handle. Dropping it ends the stream,
/// and the stream's task then sends EOS.
struct FfiAudioStream {
    stream: Arc<NativeAudioStream>,
}

impl Drop for FfiAudioStream {
    fn drop(&mut self) {
        self.stream.close();
    }
}

/// The object behind a participant audio-stream handle: dropping it stops
/// the task that follows the participant's tracks.
struct FfiParticipantAudioStream {
    _stop: watch::Sender<()>,
}

fn stream_options(
    sample_rate: Option<u32>,
    num_channels: Option<u32>,
    frame_size_ms: Option<u32>,
    queue_size_frames: Option<u32>,
) -> AudioStreamOptions {
    AudioStreamOptions {
        sample_rate: sample_rate.unwrap_or(48_000),
        num_channels: num_channels.unwrap_or(1),
        frame_size_ms,
        queue_size_frames,
    }
}

/// `NewAudioStreamRequest` on a local or a subscribed audio track.
pub fn new_stream(
    server: &'static FfiServer,
    request: proto::NewAudioStreamRequest,
) -> FfiResult<proto::NewAudioStreamResponse> {
    let track = server.handles.get::<FfiTrack>(request.track_handle)?;
    let (source, track_alive, ended) = match &*track {
        FfiTrack::LocalAudio { track, alive } => (track.source().clone(), alive.subscribe(), None),
        FfiTrack::RemoteAudio { track, alive, .. } => (
            track.source().clone(),
            alive.subscribe(),
            Some(track.ended()),
        ),
        FfiTrack::LocalVideo { .. } => {
            return Err(FfiError::invalid("NewAudioStream needs an audio track"));
        }
    };
    if request.audio_filter_module_id.is_some() {
        log::warn!("audio filter plugins are not supported; the stream runs unfiltered");
    }
    let options = stream_options(
        request.sample_rate,
        request.num_channels,
        request.frame_size_ms,
        request.queue_size_frames,
    );
    let stream = Arc::new(
        NativeAudioStream::new(&source, options)
            .map_err(|err| FfiError::invalid(err.to_string()))?,
    );
    let id = server.handles.insert(FfiAudioStream {
        stream: stream.clone(),
    });
    server.runtime().spawn(async move {
        forward_frames(server, id, &stream, track_alive, ended).await;
        stream.close();
        send_eos(server, id);
    });
    Ok(proto::NewAudioStreamResponse {
        stream: proto::OwnedAudioStream {
            handle: proto::FfiOwnedHandle { id },
            info: proto::AudioStreamInfo {
                r#type: request.r#type,
            },
        },
    })
}

/// `AudioStreamFromParticipantRequest`: a stream that follows whichever
/// subscribed audio track the participant has for the source, across
/// unpublish and republish, until its handle is dropped or the participant
/// leaves.
pub fn stream_from_participant(
    server: &'static FfiServer,
    request: proto::AudioStreamFromParticipantRequest,
) -> FfiResult<proto::AudioStreamFromParticipantResponse> {
    let participant = server
        .handles
        .get::<FfiParticipant>(request.participant_handle)?;
    if participant.local {
        return Err(FfiError::invalid(
            "AudioStreamFromParticipant needs a remote participant",
        ));
    }
    let room = participant.room.clone();
    let identity = participant.identity.clone();
    let source = request
        .track_source
        .and_then(|s| proto::TrackSource::try_from(s).ok())
        .map(convert::track::track_source_from_ffi);
    let options = stream_options(
        request.sample_rate,
        request.num_channels,
        request.frame_size_ms,
        request.queue_size_frames,
    );
    // Validate the format now, so a bad request fails here and not later.
    NativeAudioStream::validate(options).map_err(|err| FfiError::invalid(err.to_string()))?;
    let (stop, mut stopped) = watch::channel(());
    let id = server
        .handles
        .insert(FfiParticipantAudioStream { _stop: stop });
    server.runtime().spawn(async move {
        loop {
            let Some(ffi_room) = room.upgrade() else {
                break;
            };
            if ffi_room.room.is_closed() {
                break;
            }
            let Some(info) = ffi_room.room.remote_participant(&identity) else {
                break;
            };
            let track = info
                .tracks
                .iter()
                .filter(|t| t.r#type == livekit_protocol::TrackType::Audio as i32)
                .filter(|t| source.is_none_or(|s| t.source() == s))
                .find_map(|t| ffi_room.room.remote_track(&t.sid));
            drop(ffi_room);
            match track {
                Some(track) => {
                    let Ok(stream) = NativeAudioStream::new(track.source(), options) else {
                        break;
                    };
                    forward_frames(server, id, &stream, stopped.clone(), Some(track.ended())).await;
                    stream.close();
                }
                None => {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                        _ = stopped.changed() => {}
                    }
                }
            }
            if stopped.has_changed().is_err() {
                break;
            }
        }
        send_eos(server, id);
    });
    Ok(proto::AudioStreamFromParticipantResponse {
        stream: proto::OwnedAudioStream {
            handle: proto::FfiOwnedHandle { id },
            info: proto::AudioStreamInfo {
                r#type: request.r#type,
            },
        },
    })
}

/// Sends each frame of a stream as an event until the stream ends, the
/// watched handle is dropped, or the remote track's subscription ends.
async fn forward_frames(
    server: &'static FfiServer,
    stream_handle: FfiHandleId,
    stream: &NativeAudioStream,
    mut alive: watch::Receiver<()>,
    ended: Option<watch::Receiver<bool>>,
) {
    let mut ended = ended;
    loop {
        let track_ended = async {
            match ended.as_mut() {
                Some(ended) => {
                    let _ = ended.wait_for(|e| *e).await;
                }
                None => std::future::pending().await,
            }
        };
        let frame = tokio::select! {
            frame = stream.next() => frame,
            _ = alive.changed() => None,
            _ = track_ended => None,
        };
        let Some(frame) = frame else { break };
        let event = proto::audio_stream_event::Message::FrameReceived(proto::AudioFrameReceived {
            frame: owned_audio_buffer(server, frame),
        });
        server.send_event(proto::ffi_event::Message::AudioStreamEvent(
            proto::AudioStreamEvent {
                stream_handle,
                message: Some(event),
            },
        ));
    }
}

fn send_eos(server: &FfiServer, stream_handle: FfiHandleId) {
    server.send_event(proto::ffi_event::Message::AudioStreamEvent(
        proto::AudioStreamEvent {
            stream_handle,
            message: Some(proto::audio_stream_event::Message::Eos(
                proto::AudioStreamEos {},
            )),
        },
    ));
}

/// Hands a frame to the host as an owned buffer whose samples stay put
/// until the host drops the handle.
pub fn owned_audio_buffer(server: &FfiServer, frame: AudioFrame) -> proto::OwnedAudioFrameBuffer {
    let info = proto::AudioFrameBufferInfo {
        data_ptr: frame.data.as_ptr() as u64,
        num_channels: frame.num_channels,
        sample_rate: frame.sample_rate,
        samples_per_channel: frame.samples_per_channel,
    };
    // The samples live in the Vec's heap allocation, which moving the frame
    // into the table does not move.
    let id = server.handles.insert(frame);
    proto::OwnedAudioFrameBuffer {
        handle: proto::FfiOwnedHandle { id },
        info,
    }
}
