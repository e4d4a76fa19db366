//! The host's sound devices.
//!
//! This library does no device I/O of its own: applications capture and play
//! audio themselves and hand frames over. So platform audio reports no
//! devices, which is also the truth on the headless servers that run bots and
//! agents, rather than failing as the official library does there. Choosing
//! a device that does not exist, or recording without one, is an error.

use crate::error::FfiResult;
use crate::proto;
use crate::server::FfiServer;

/// The object behind a platform-audio handle.
pub struct PlatformAudio;

/// `NewPlatformAudioRequest`.
pub fn new(server: &FfiServer) -> proto::NewPlatformAudioResponse {
    let id = server.handles.insert(PlatformAudio);
    proto::NewPlatformAudioResponse {
        message: Some(proto::new_platform_audio_response::Message::PlatformAudio(
            proto::OwnedPlatformAudio {
                handle: proto::FfiOwnedHandle { id },
                info: proto::PlatformAudioInfo {
                    recording_device_count: 0,
                    playout_device_count: 0,
                },
            },
        )),
    }
}

/// `GetAudioDevicesRequest`: no devices.
pub fn devices(
    server: &FfiServer,
    request: proto::GetAudioDevicesRequest,
) -> FfiResult<proto::GetAudioDevicesResponse> {
    server
        .handles
        .get::<PlatformAudio>(request.platform_audio_handle)?;
    Ok(proto::GetAudioDevicesResponse::default())
}

fn no_device(device_id: &str) -> Option<String> {
    Some(format!(
        "no audio device {device_id:?}: this machine has none"
    ))
}

/// `SetRecordingDeviceRequest`.
pub fn set_recording(
    server: &FfiServer,
    request: proto::SetRecordingDeviceRequest,
) -> FfiResult<proto::SetRecordingDeviceResponse> {
    server
        .handles
        .get::<PlatformAudio>(request.platform_audio_handle)?;
    Ok(proto::SetRecordingDeviceResponse {
        error: no_device(&request.device_id),
    })
}

/// `SetPlayoutDeviceRequest`.
pub fn set_playout(
    server: &FfiServer,
    request: proto::SetPlayoutDeviceRequest,
) -> FfiResult<proto::SetPlayoutDeviceResponse> {
    server
        .handles
        .get::<PlatformAudio>(request.platform_audio_handle)?;
    Ok(proto::SetPlayoutDeviceResponse {
        error: no_device(&request.device_id),
    })
}

/// `StartRecordingRequest`.
pub fn start_recording(
    server: &FfiServer,
    request: proto::StartRecordingRequest,
) -> FfiResult<proto::StartRecordingResponse> {
    server
        .handles
        .get::<PlatformAudio>(request.platform_audio_handle)?;
    Ok(proto::StartRecordingResponse {
        error: Some("no recording device on this machine".into()),
    })
}

/// `StopRecordingRequest`: nothing is recording, so stopping succeeds.
pub fn stop_recording(
    server: &FfiServer,
    request: proto::StopRecordingRequest,
) -> FfiResult<proto::StopRecordingResponse> {
    server
        .handles
        .get::<PlatformAudio>(request.platform_audio_handle)?;
    Ok(proto::StopRecordingResponse { error: None })
}
