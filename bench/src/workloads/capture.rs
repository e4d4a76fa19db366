//! CaptureAudioFrame into an unbuffered audio source: the request returns an
//! async id at once and the real completion arrives as an event, so each op
//! includes the trip through the library's audio thread and our callback.

use std::time::Duration;

use livekit_ffi::proto::{
    self, AudioFrameBufferInfo, AudioSourceType, ffi_request::Message as Req,
};

use super::{Sample, timed, tone_10ms_48k};
use crate::events;
use crate::expect_response;
use crate::ffi::FfiLib;

/// Longest we wait for one capture callback before calling the run failed.
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(5);

/// One op = CaptureAudioFrame of 10 ms 48 kHz mono + waiting for the
/// `capture_audio_frame` event carrying the same async id.
pub fn capture(lib: &mut FfiLib, budget: Duration) -> Result<Sample, String> {
    let resp = lib.request(Req::NewAudioSource(proto::NewAudioSourceRequest {
        r#type: AudioSourceType::AudioSourceNative as i32,
        // Like the Python SDK: no options (no WebRTC processing).
        options: None,
        sample_rate: Some(48_000),
        num_channels: Some(1),
        queue_size_ms: Some(0),
        platform_audio_handle: None,
    }))?;
    let source_handle = expect_response!(resp, NewAudioSource)?.source.handle.id;
    let input = tone_10ms_48k();
    timed(budget, || {
        let resp = lib.request(Req::CaptureAudioFrame(proto::CaptureAudioFrameRequest {
            source_handle,
            buffer: AudioFrameBufferInfo {
                data_ptr: input.as_ptr() as u64,
                num_channels: 1,
                sample_rate: 48_000,
                samples_per_channel: 480,
            },
            request_async_id: None,
        }))?;
        let async_id = expect_response!(resp, CaptureAudioFrame)?.async_id;
        events::wait_for(async_id, CALLBACK_TIMEOUT)
    })
}
