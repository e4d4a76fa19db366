//! Resamplers and the audio processing module.
//!
//! Each object sits behind a mutex in its handle: the host may call from any
//! thread, and these objects carry state from one frame to the next.

use livekit_core::audio::apm::AudioProcessingModule;
use livekit_core::audio::frame::AudioFrame;
use livekit_core::audio::resampler::AudioResampler;
use livekit_core::audio::sox::{SoxDataType, SoxResampler};
use parking_lot::Mutex;

use super::audio::owned_audio_buffer;
use super::buffers::{host_slice, host_slice_mut, sample_count};
use crate::error::{FfiError, FfiResult};
use crate::proto;
use crate::server::FfiServer;

/// `NewAudioResamplerRequest`.
pub fn new_resampler(server: &FfiServer) -> proto::NewAudioResamplerResponse {
    let id = server.handles.insert(Mutex::new(AudioResampler::new()));
    proto::NewAudioResamplerResponse {
        resampler: proto::OwnedAudioResampler {
            handle: proto::FfiOwnedHandle { id },
            info: proto::AudioResamplerInfo {},
        },
    }
}

/// `RemixAndResampleRequest`: the result is a new owned frame.
pub fn remix_and_resample(
    server: &FfiServer,
    request: proto::RemixAndResampleRequest,
) -> FfiResult<proto::RemixAndResampleResponse> {
    let resampler = server
        .handles
        .get::<Mutex<AudioResampler>>(request.resampler_handle)?;
    let info = &request.buffer;
    let len = sample_count(
        "RemixAndResample",
        info.samples_per_channel,
        info.num_channels,
    )?;
    // SAFETY: the protocol requires `data_ptr` to hold the declared frame
    // for the duration of the request.
    let input = unsafe { host_slice::<i16>("RemixAndResample", info.data_ptr, len)? };
    let mut resampler = resampler.lock();
    let output = resampler
        .remix_and_resample(
            input,
            info.samples_per_channel,
            info.num_channels,
            info.sample_rate,
            request.num_channels,
            request.sample_rate,
        )
        .map_err(|err| FfiError::invalid(format!("RemixAndResample: {err}")))?;
    let frame = AudioFrame {
        data: output.to_vec(),
        sample_rate: request.sample_rate,
        num_channels: request.num_channels,
        samples_per_channel: (output.len() / request.num_channels.max(1) as usize) as u32,
    };
    drop(resampler);
    Ok(proto::RemixAndResampleResponse {
        buffer: owned_audio_buffer(server, frame),
    })
}

/// The object behind a sox-resampler handle. Its output stays in the
/// resampler's own buffer, which the host reads before the next call.
type FfiSox = Mutex<SoxResampler>;

fn sox_data_type(value: i32) -> SoxDataType {
    if value == proto::SoxResamplerDataType::SoxrDatatypeInt16s as i32 {
        SoxDataType::Int16Split
    } else {
        SoxDataType::Int16Interleaved
    }
}

/// `NewSoxResamplerRequest`: failures are reported in the response.
pub fn new_sox(
    server: &FfiServer,
    request: proto::NewSoxResamplerRequest,
) -> proto::NewSoxResamplerResponse {
    use proto::new_sox_resampler_response::Message;
    let created = SoxResampler::new(
        request.input_rate,
        request.output_rate,
        request.num_channels,
        sox_data_type(request.input_data_type),
        sox_data_type(request.output_data_type),
        request.quality_recipe as u32,
        request.flags.unwrap_or(0),
    );
    let message = match created {
        Ok(resampler) => {
            let id = server.handles.insert::<FfiSox>(Mutex::new(resampler));
            Message::Resampler(proto::OwnedSoxResampler {
                handle: proto::FfiOwnedHandle { id },
                info: proto::SoxResamplerInfo {},
            })
        }
        Err(err) => Message::Error(err.to_string()),
    };
    proto::NewSoxResamplerResponse {
        message: Some(message),
    }
}

/// `PushSoxResamplerRequest`.
pub fn push_sox(
    server: &FfiServer,
    request: proto::PushSoxResamplerRequest,
) -> FfiResult<proto::PushSoxResamplerResponse> {
    let resampler = server.handles.get::<FfiSox>(request.resampler_handle)?;
    // SAFETY: the protocol requires `data_ptr` to hold `size` bytes for the
    // duration of the request.
    let input =
        unsafe { host_slice::<u8>("PushSoxResampler", request.data_ptr, request.size as usize)? };
    let mut resampler = resampler.lock();
    Ok(match resampler.push(input) {
        Ok(output) => proto::PushSoxResamplerResponse {
            output_ptr: output.as_ptr() as u64,
            size: output.len() as u32,
            error: None,
        },
        Err(err) => proto::PushSoxResamplerResponse {
            output_ptr: 0,
            size: 0,
            error: Some(err.to_string()),
        },
    })
}

/// `FlushSoxResamplerRequest`.
pub fn flush_sox(
    server: &FfiServer,
    request: proto::FlushSoxResamplerRequest,
) -> FfiResult<proto::FlushSoxResamplerResponse> {
    let resampler = server.handles.get::<FfiSox>(request.resampler_handle)?;
    let mut resampler = resampler.lock();
    Ok(match resampler.flush() {
        Ok(output) => proto::FlushSoxResamplerResponse {
            output_ptr: output.as_ptr() as u64,
            size: output.len() as u32,
            error: None,
        },
        Err(err) => proto::FlushSoxResamplerResponse {
            output_ptr: 0,
            size: 0,
            error: Some(err.to_string()),
        },
    })
}

type FfiApm = Mutex<AudioProcessingModule>;

/// `NewApmRequest`.
pub fn new_apm(server: &FfiServer, request: proto::NewApmRequest) -> proto::NewApmResponse {
    let apm = AudioProcessingModule::new(
        request.echo_canceller_enabled,
        request.gain_controller_enabled,
        request.high_pass_filter_enabled,
        request.noise_suppression_enabled,
    );
    let id = server.handles.insert::<FfiApm>(Mutex::new(apm));
    proto::NewApmResponse {
        apm: proto::OwnedApm {
            handle: proto::FfiOwnedHandle { id },
        },
    }
}

/// Which side of the call an APM request processes.
#[derive(Clone, Copy)]
enum Direction {
    /// The microphone (near end), cleaned in place.
    Capture,
    /// What the speaker plays (far end), the echo canceller's reference.
    Render,
}

/// Runs the APM over host samples in place, 10 ms at a time: the module
/// works on 10 ms frames, and the protocol accepts any whole number of them.
/// Problems with the data are reported in the response, as the protocol's
/// `error` field intends; only a bad handle fails the request.
fn apm_run(
    server: &FfiServer,
    direction: Direction,
    handle: u64,
    (data_ptr, size, sample_rate, num_channels): (u64, u32, u32, u32),
) -> FfiResult<Option<String>> {
    let what = match direction {
        Direction::Capture => "ApmProcessStream",
        Direction::Render => "ApmProcessReverseStream",
    };
    let apm = server.handles.get::<FfiApm>(handle)?;
    let ten_ms = (sample_rate / 100) as usize * num_channels as usize;
    let samples = size as usize / 2;
    if size % 2 != 0 || ten_ms == 0 || samples == 0 || !samples.is_multiple_of(ten_ms) {
        return Ok(Some(format!(
            "{what}: {size} bytes is not a whole number of 10 ms frames \
             at {sample_rate} Hz with {num_channels} channels"
        )));
    }
    // SAFETY: the protocol requires `data_ptr` to hold `size` writable bytes,
    // not used elsewhere, for the duration of the request.
    let data = match unsafe { host_slice_mut::<i16>(what, data_ptr, samples) } {
        Ok(data) => data,
        Err(err) => return Ok(Some(err.to_string())),
    };
    let mut apm = apm.lock();
    for frame in data.chunks_exact_mut(ten_ms) {
        let result = match direction {
            Direction::Capture => apm.process_stream(frame, sample_rate, num_channels),
            Direction::Render => apm.process_reverse_stream(frame, sample_rate, num_channels),
        };
        if let Err(err) = result {
            return Ok(Some(err.to_string()));
        }
    }
    Ok(None)
}

/// `ApmProcessStreamRequest`.
pub fn apm_process(
    server: &FfiServer,
    r: proto::ApmProcessStreamRequest,
) -> FfiResult<proto::ApmProcessStreamResponse> {
    let data = (r.data_ptr, r.size, r.sample_rate, r.num_channels);
    let error = apm_run(server, Direction::Capture, r.apm_handle, data)?;
    Ok(proto::ApmProcessStreamResponse { error })
}

/// `ApmProcessReverseStreamRequest`.
pub fn apm_process_reverse(
    server: &FfiServer,
    r: proto::ApmProcessReverseStreamRequest,
) -> FfiResult<proto::ApmProcessReverseStreamResponse> {
    let data = (r.data_ptr, r.size, r.sample_rate, r.num_channels);
    let error = apm_run(server, Direction::Render, r.apm_handle, data)?;
    Ok(proto::ApmProcessReverseStreamResponse { error })
}

/// `ApmSetStreamDelayRequest`.
pub fn apm_set_delay(
    server: &FfiServer,
    request: proto::ApmSetStreamDelayRequest,
) -> FfiResult<proto::ApmSetStreamDelayResponse> {
    let apm = server.handles.get::<FfiApm>(request.apm_handle)?;
    let error = apm
        .lock()
        .set_stream_delay_ms(request.delay_ms)
        .err()
        .map(|err| err.to_string());
    Ok(proto::ApmSetStreamDelayResponse { error })
}
