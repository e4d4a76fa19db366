//! Audio workloads: request round-trips, the WebRTC resampler, the SoX
//! resampler and the audio processing module.

use std::time::Duration;

use livekit_ffi::proto::{
    self, AudioFrameBufferInfo, SoxQualityRecipe, SoxResamplerDataType,
    ffi_request::Message as Req, new_sox_resampler_response,
};

use super::{Sample, timed, tone_10ms_48k};
use crate::expect_response;
use crate::ffi::FfiLib;

/// Creates a WebRTC resampler and drops it: the cheapest synchronous
/// request both libraries answer, also used as the startup's first request.
pub fn new_resampler_and_drop(lib: &mut FfiLib) -> Result<(), String> {
    let resp = lib.request(Req::NewAudioResampler(proto::NewAudioResamplerRequest {}))?;
    let r = expect_response!(resp, NewAudioResampler)?;
    lib.drop_handle(r.resampler.handle.id)
}

/// One op = NewAudioResampler request + copy + drop response + drop resampler.
pub fn roundtrip(lib: &mut FfiLib, budget: Duration) -> Result<Sample, String> {
    timed(budget, || new_resampler_and_drop(lib))
}

/// One op = ApmSetStreamDelay on an existing APM: a request whose handler
/// does almost nothing, so the figure is mostly the FFI dispatch itself.
pub fn apm_delay(lib: &mut FfiLib, budget: Duration) -> Result<Sample, String> {
    let apm_handle = new_apm(lib)?;
    timed(budget, || {
        let resp = lib.request(Req::ApmSetStreamDelay(proto::ApmSetStreamDelayRequest {
            apm_handle,
            delay_ms: 20,
        }))?;
        match expect_response!(resp, ApmSetStreamDelay)?.error {
            Some(e) => Err(format!("ApmSetStreamDelay error: {e}")),
            None => Ok(()),
        }
    })
}

/// One op = RemixAndResample of 10 ms 48 kHz mono to 16 kHz mono, then
/// dropping the owned output buffer the response hands back.
pub fn remix(lib: &mut FfiLib, budget: Duration) -> Result<Sample, String> {
    let resp = lib.request(Req::NewAudioResampler(proto::NewAudioResamplerRequest {}))?;
    let resampler_handle = expect_response!(resp, NewAudioResampler)?
        .resampler
        .handle
        .id;
    let input = tone_10ms_48k();
    timed(budget, || {
        let resp = lib.request(Req::RemixAndResample(proto::RemixAndResampleRequest {
            resampler_handle,
            buffer: AudioFrameBufferInfo {
                data_ptr: input.as_ptr() as u64,
                num_channels: 1,
                sample_rate: 48_000,
                samples_per_channel: 480,
            },
            num_channels: 1,
            sample_rate: 16_000,
        }))?;
        let out = expect_response!(resp, RemixAndResample)?.buffer;
        lib.drop_handle(out.handle.id)
    })
}

/// One op = PushSoxResampler of 10 ms 48 kHz mono int16 (output to 16 kHz),
/// copying the produced samples out as an SDK would.
pub fn sox(lib: &mut FfiLib, budget: Duration, high: bool) -> Result<Sample, String> {
    let quality = if high {
        SoxQualityRecipe::SoxrQualityHigh
    } else {
        SoxQualityRecipe::SoxrQualityMedium
    };
    let resp = lib.request(Req::NewSoxResampler(proto::NewSoxResamplerRequest {
        input_rate: 48_000.0,
        output_rate: 16_000.0,
        num_channels: 1,
        input_data_type: SoxResamplerDataType::SoxrDatatypeInt16i as i32,
        output_data_type: SoxResamplerDataType::SoxrDatatypeInt16i as i32,
        quality_recipe: quality as i32,
        flags: Some(0),
    }))?;
    let resampler_handle = match expect_response!(resp, NewSoxResampler)?.message {
        Some(new_sox_resampler_response::Message::Resampler(r)) => r.handle.id,
        Some(new_sox_resampler_response::Message::Error(e)) => {
            return Err(format!("NewSoxResampler: {e}"));
        }
        None => return Err("NewSoxResampler: empty response".into()),
    };
    let input = tone_10ms_48k();
    let mut output = Vec::with_capacity(1024);
    timed(budget, || {
        let resp = lib.request(Req::PushSoxResampler(proto::PushSoxResamplerRequest {
            resampler_handle,
            data_ptr: input.as_ptr() as u64,
            size: (input.len() * 2) as u32,
        }))?;
        let r = expect_response!(resp, PushSoxResampler)?;
        if let Some(e) = r.error {
            return Err(format!("PushSoxResampler: {e}"));
        }
        output.clear();
        if r.size > 0 && r.output_ptr != 0 {
            // SAFETY: the library owns `size` bytes at `output_ptr` until the
            // next push on this resampler.
            output.extend_from_slice(unsafe {
                std::slice::from_raw_parts(r.output_ptr as *const u8, r.size as usize)
            });
        }
        Ok(())
    })
}

/// An APM with echo cancellation, gain control, high-pass filter and noise
/// suppression all enabled.
fn new_apm(lib: &mut FfiLib) -> Result<u64, String> {
    let resp = lib.request(Req::NewApm(proto::NewApmRequest {
        echo_canceller_enabled: true,
        gain_controller_enabled: true,
        high_pass_filter_enabled: true,
        noise_suppression_enabled: true,
    }))?;
    Ok(expect_response!(resp, NewApm)?.apm.handle.id)
}

/// One op = ApmProcessStream on a fresh copy of the same 10 ms frame (the
/// APM rewrites its input in place, so the input is restored each time).
pub fn apm(lib: &mut FfiLib, budget: Duration) -> Result<Sample, String> {
    let apm_handle = new_apm(lib)?;
    let template = tone_10ms_48k();
    let mut frame = template.clone();
    timed(budget, || {
        frame.copy_from_slice(&template);
        let resp = lib.request(Req::ApmProcessStream(proto::ApmProcessStreamRequest {
            apm_handle,
            data_ptr: frame.as_mut_ptr() as u64,
            size: (frame.len() * 2) as u32,
            sample_rate: 48_000,
            num_channels: 1,
        }))?;
        match expect_response!(resp, ApmProcessStream)?.error {
            Some(e) => Err(format!("ApmProcessStream: {e}")),
            None => Ok(()),
        }
    })
}
