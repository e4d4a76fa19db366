//! Video sources, captures, streams and pixel-format conversion.

use std::sync::Arc;

use livekit_core::video::buffer::{VideoBufferType, VideoFrameBuffer, VideoFrameView};
use livekit_core::video::frame::{FrameMetadata, VideoFrame, VideoRotation};
use livekit_core::video::source::NativeVideoSource;
use livekit_core::video::stream::NativeVideoStream;

use super::buffers::host_slice;
use super::track::FfiTrack;
use crate::error::{FfiError, FfiResult};
use crate::handles::FfiHandleId;
use crate::proto;
use crate::server::FfiServer;

/// `NewVideoSourceRequest`.
pub fn new_source(
    server: &FfiServer,
    request: proto::NewVideoSourceRequest,
) -> FfiResult<proto::NewVideoSourceResponse> {
    if request.r#type() != proto::VideoSourceType::VideoSourceNative {
        return Err(FfiError::invalid(
            "only native video sources are supported; encoded sources are not",
        ));
    }
    let source = NativeVideoSource::new(
        request.resolution.width,
        request.resolution.height,
        request.is_screencast.unwrap_or(false),
        server.runtime(),
    );
    let id = server.handles.insert(source);
    Ok(proto::NewVideoSourceResponse {
        source: proto::OwnedVideoSource {
            handle: proto::FfiOwnedHandle { id },
            info: proto::VideoSourceInfo {
                r#type: proto::VideoSourceType::VideoSourceNative as i32,
            },
        },
    })
}

/// `CaptureVideoFrameRequest`: the frame is read in place and converted to a
/// format encoders take (or, if it already is one, copied) before the request
/// returns.
pub fn capture_frame(
    server: &FfiServer,
    request: proto::CaptureVideoFrameRequest,
) -> FfiResult<proto::CaptureVideoFrameResponse> {
    let source = server
        .handles
        .get::<NativeVideoSource>(request.source_handle)?;
    let buffer = host_view(&request.buffer)?
        .to_i420()
        .map_err(|err| FfiError::invalid(format!("CaptureVideoFrame: {err}")))?;
    let timestamp_us = if request.timestamp_us == 0 {
        now_us()
    } else {
        request.timestamp_us
    };
    source.capture_frame(&VideoFrame {
        buffer: Arc::new(buffer),
        timestamp_us,
        rotation: rotation_from_proto(request.rotation()),
        metadata: request
            .metadata
            .map(metadata_from_proto)
            .unwrap_or_default(),
    });
    Ok(proto::CaptureVideoFrameResponse {})
}

/// `VideoConvertRequest`: converts straight from the host's memory; failures
/// are reported in the response.
pub fn convert(request: proto::VideoConvertRequest) -> proto::VideoConvertResponse {
    let server = FfiServer::global();
    let result = host_view(&request.buffer).and_then(|view| {
        let target = buffer_type(request.dst_type)?;
        view.convert(target, request.flip_y.unwrap_or(false))
            .map_err(|err| FfiError::invalid(err.to_string()))
    });
    let message = match result {
        Ok(buffer) => proto::video_convert_response::Message::Buffer(owned_video_buffer(
            server,
            Arc::new(buffer),
        )),
        Err(err) => proto::video_convert_response::Message::Error(err.to_string()),
    };
    proto::VideoConvertResponse {
        message: Some(message),
    }
}

/// The object behind a video-stream handle; dropping it ends the stream.
struct FfiVideoStream {
    stream: Arc<NativeVideoStream>,
}

impl Drop for FfiVideoStream {
    fn drop(&mut self) {
        self.stream.close();
    }
}

/// `NewVideoStreamRequest` on a local video track.
pub fn new_stream(
    server: &'static FfiServer,
    request: proto::NewVideoStreamRequest,
) -> FfiResult<proto::NewVideoStreamResponse> {
    let track = server.handles.get::<FfiTrack>(request.track_handle)?;
    let FfiTrack::LocalVideo { track, alive } = &*track else {
        return Err(FfiError::invalid("NewVideoStream needs a video track"));
    };
    let format = request.format.map(buffer_type).transpose()?;
    let stream = Arc::new(NativeVideoStream::new(
        track.source(),
        request.queue_size_frames,
    ));
    let id = server.handles.insert(FfiVideoStream {
        stream: stream.clone(),
    });
    server.runtime().spawn(forward_frames(
        server,
        id,
        stream,
        format,
        alive.subscribe(),
    ));
    Ok(proto::NewVideoStreamResponse {
        stream: proto::OwnedVideoStream {
            handle: proto::FfiOwnedHandle { id },
            info: proto::VideoStreamInfo {
                r#type: request.r#type,
            },
        },
    })
}

/// Sends each frame, in the requested format, then EOS once the stream's or
/// its track's handle is dropped.
async fn forward_frames(
    server: &'static FfiServer,
    stream_handle: FfiHandleId,
    stream: Arc<NativeVideoStream>,
    format: Option<VideoBufferType>,
    mut track_alive: tokio::sync::watch::Receiver<()>,
) {
    let send = |message| {
        server.send_event(proto::ffi_event::Message::VideoStreamEvent(
            proto::VideoStreamEvent {
                stream_handle,
                message: Some(message),
            },
        ))
    };
    loop {
        let frame = tokio::select! {
            frame = stream.next() => frame,
            _ = track_alive.changed() => None,
        };
        let Some(frame) = frame else { break };
        let buffer = match format {
            Some(kind) if kind != frame.buffer.kind() => match frame.buffer.convert(kind, false) {
                Ok(converted) => Arc::new(converted),
                Err(err) => {
                    log::warn!("video stream dropped a frame: {err}");
                    continue;
                }
            },
            _ => frame.buffer.clone(),
        };
        send(proto::video_stream_event::Message::FrameReceived(
            proto::VideoFrameReceived {
                buffer: owned_video_buffer(server, buffer),
                timestamp_us: frame.timestamp_us,
                rotation: rotation_to_proto(frame.rotation) as i32,
                metadata: metadata_to_proto(&frame.metadata),
            },
        ));
    }
    stream.close();
    send(proto::video_stream_event::Message::Eos(
        proto::VideoStreamEos {},
    ));
}

/// Borrows a buffer the host describes, plane by plane when it lists its
/// planes, otherwise as one block at `data_ptr` (planes back to back, the
/// first at `stride` if given, the others packed), checked but not copied.
///
/// The view borrows from `info` for want of a better lifetime: the memory is
/// the host's, valid for the duration of the request.
fn host_view(info: &proto::VideoBufferInfo) -> FfiResult<VideoFrameView<'_>> {
    let kind = buffer_type(info.r#type)?;
    let layout = VideoFrameBuffer::packed_layout(kind, info.width, info.height)
        .map_err(|err| FfiError::invalid(err.to_string()))?;
    let mut planes = Vec::with_capacity(layout.len());
    if info.components.is_empty() {
        let mut address = info.data_ptr;
        for (index, &(packed_stride, rows)) in layout.iter().enumerate() {
            let stride = match info.stride {
                Some(stride) if index == 0 && stride > 0 => stride,
                _ => packed_stride,
            };
            let len = stride as usize * rows as usize;
            // SAFETY: the protocol requires `data_ptr` to hold the whole
            // frame in the declared format for the duration of the request.
            planes.push((
                unsafe { host_slice::<u8>("video buffer", address, len)? },
                stride,
            ));
            address = address
                .checked_add(len as u64)
                .ok_or_else(|| FfiError::invalid("video buffer: address overflows"))?;
        }
    } else {
        for component in &info.components {
            // SAFETY: as above, for each plane the host lists.
            let bytes = unsafe {
                host_slice::<u8>("video plane", component.data_ptr, component.size as usize)?
            };
            planes.push((bytes, component.stride));
        }
    }
    VideoFrameView::new(kind, info.width, info.height, &planes)
        .map_err(|err| FfiError::invalid(err.to_string()))
}

/// Hands a buffer to the host as an owned handle; its bytes stay put until
/// the host drops it.
fn owned_video_buffer(
    server: &FfiServer,
    buffer: Arc<VideoFrameBuffer>,
) -> proto::OwnedVideoBuffer {
    let base = buffer.data().as_ptr() as u64;
    let info = proto::VideoBufferInfo {
        r#type: i32::from(buffer.kind()),
        width: buffer.width(),
        height: buffer.height(),
        data_ptr: base,
        stride: buffer.planes().first().map(|plane| plane.stride),
        components: buffer
            .planes()
            .iter()
            .map(|plane| proto::video_buffer_info::ComponentInfo {
                data_ptr: base + plane.offset as u64,
                stride: plane.stride,
                size: plane.len as u32,
            })
            .collect(),
    };
    let id = server.handles.insert_arc(buffer);
    proto::OwnedVideoBuffer {
        handle: proto::FfiOwnedHandle { id },
        info,
    }
}

fn buffer_type(value: i32) -> FfiResult<VideoBufferType> {
    VideoBufferType::try_from(value)
        .map_err(|_| FfiError::invalid(format!("unknown video buffer type {value}")))
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_micros() as i64)
        .unwrap_or(0)
}

fn rotation_from_proto(rotation: proto::VideoRotation) -> VideoRotation {
    match rotation {
        proto::VideoRotation::VideoRotation0 => VideoRotation::Deg0,
        proto::VideoRotation::VideoRotation90 => VideoRotation::Deg90,
        proto::VideoRotation::VideoRotation180 => VideoRotation::Deg180,
        proto::VideoRotation::VideoRotation270 => VideoRotation::Deg270,
    }
}

fn rotation_to_proto(rotation: VideoRotation) -> proto::VideoRotation {
    match rotation {
        VideoRotation::Deg0 => proto::VideoRotation::VideoRotation0,
        VideoRotation::Deg90 => proto::VideoRotation::VideoRotation90,
        VideoRotation::Deg180 => proto::VideoRotation::VideoRotation180,
        VideoRotation::Deg270 => proto::VideoRotation::VideoRotation270,
    }
}

fn metadata_from_proto(metadata: proto::FrameMetadata) -> FrameMetadata {
    FrameMetadata {
        user_timestamp: metadata.user_timestamp,
        frame_id: metadata.frame_id,
        user_data: metadata.user_data,
    }
}

fn metadata_to_proto(metadata: &FrameMetadata) -> Option<proto::FrameMetadata> {
    if *metadata == FrameMetadata::default() {
        return None;
    }
    Some(proto::FrameMetadata {
        user_timestamp: metadata.user_timestamp,
        frame_id: metadata.frame_id,
        user_data: metadata.user_data.clone(),
    })
}
