//! Resamplers and audio processing through the C ABI.

mod common;

use common::*;
use livekit_ffi::proto::{self, ffi_request::Message as Req, ffi_response::Message as Res};

/// Frequency from upward zero crossings.
fn frequency(samples: &[i16], rate: u32) -> f64 {
    let crossings = samples.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
    crossings as f64 * rate as f64 / samples.len() as f64
}

fn rms(samples: &[i16]) -> f64 {
    (samples.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
}

#[test]
fn remix_and_resample_keeps_a_sine() {
    let resampler = match request(Req::NewAudioResampler(proto::NewAudioResamplerRequest {})) {
        Res::NewAudioResampler(r) => r.resampler.handle.id,
        other => panic!("unexpected {other:?}"),
    };
    let input = sine(1_000.0, 48_000, 2, 48_000, 0.5);
    let mut output = Vec::new();
    for chunk in input.chunks(960) {
        let response = request(Req::RemixAndResample(proto::RemixAndResampleRequest {
            resampler_handle: resampler,
            buffer: proto::AudioFrameBufferInfo {
                data_ptr: chunk.as_ptr() as u64,
                num_channels: 2,
                sample_rate: 48_000,
                samples_per_channel: 480,
            },
            num_channels: 1,
            sample_rate: 16_000,
        }));
        let Res::RemixAndResample(r) = response else {
            panic!("unexpected")
        };
        assert_eq!(r.buffer.info.samples_per_channel, 160);
        assert_eq!(r.buffer.info.num_channels, 1);
        output.extend(take_audio(&r.buffer));
    }
    let steady = &output[1_600..];
    assert!((frequency(steady, 16_000) - 1_000.0).abs() < 5.0);
    let level_db = 20.0 * (rms(steady) / rms(&input)).log10();
    assert!(level_db.abs() < 1.0, "level changed by {level_db} dB");
    drop_handle(resampler);
}

fn new_sox(recipe: proto::SoxQualityRecipe, in_type: i32, out_type: i32, channels: u32) -> u64 {
    match request(Req::NewSoxResampler(proto::NewSoxResamplerRequest {
        input_rate: 48_000.0,
        output_rate: 16_000.0,
        num_channels: channels,
        input_data_type: in_type,
        output_data_type: out_type,
        quality_recipe: recipe as i32,
        flags: None,
    })) {
        Res::NewSoxResampler(r) => match r.message {
            Some(proto::new_sox_resampler_response::Message::Resampler(r)) => r.handle.id,
            other => panic!("no resampler: {other:?}"),
        },
        other => panic!("unexpected {other:?}"),
    }
}

fn sox_output(ptr: u64, size: u32) -> Vec<i16> {
    if size == 0 {
        return Vec::new();
    }
    unsafe { std::slice::from_raw_parts(ptr as *const i16, size as usize / 2) }.to_vec()
}

#[test]
fn sox_resampler_every_recipe_and_layout() {
    use proto::SoxQualityRecipe as Q;
    use proto::SoxResamplerDataType as D;
    for recipe in [
        Q::SoxrQualityQuick,
        Q::SoxrQualityLow,
        Q::SoxrQualityMedium,
        Q::SoxrQualityHigh,
        Q::SoxrQualityVeryhigh,
    ] {
        for layout in [D::SoxrDatatypeInt16i, D::SoxrDatatypeInt16s] {
            let sox = new_sox(recipe, layout as i32, layout as i32, 1);
            let input = sine(1_000.0, 48_000, 1, 48_000, 0.5);
            let mut output = Vec::new();
            for chunk in input.chunks(480) {
                let Res::PushSoxResampler(r) =
                    request(Req::PushSoxResampler(proto::PushSoxResamplerRequest {
                        resampler_handle: sox,
                        data_ptr: chunk.as_ptr() as u64,
                        size: (chunk.len() * 2) as u32,
                    }))
                else {
                    panic!("unexpected")
                };
                assert_eq!(r.error, None);
                output.extend(sox_output(r.output_ptr, r.size));
            }
            let Res::FlushSoxResampler(r) =
                request(Req::FlushSoxResampler(proto::FlushSoxResamplerRequest {
                    resampler_handle: sox,
                }))
            else {
                panic!("unexpected")
            };
            output.extend(sox_output(r.output_ptr, r.size));
            assert!(
                (output.len() as i64 - 16_000).abs() <= 160,
                "{recipe:?}: {} samples",
                output.len()
            );
            assert!(
                (frequency(&output[1_600..15_000], 16_000) - 1_000.0).abs() < 5.0,
                "{recipe:?}"
            );
            drop_handle(sox);
        }
    }
}

#[test]
fn sox_reports_bad_sizes_in_the_response() {
    let sox = new_sox(proto::SoxQualityRecipe::SoxrQualityMedium, 0, 0, 2);
    let samples = [0i16; 3];
    let Res::PushSoxResampler(r) = request(Req::PushSoxResampler(proto::PushSoxResamplerRequest {
        resampler_handle: sox,
        data_ptr: samples.as_ptr() as u64,
        size: 6, // three samples cannot be whole stereo frames
    })) else {
        panic!("unexpected")
    };
    assert!(r.error.is_some());
    let bad_rate = request(Req::NewSoxResampler(proto::NewSoxResamplerRequest {
        input_rate: 0.0,
        output_rate: 16_000.0,
        num_channels: 1,
        input_data_type: 0,
        output_data_type: 0,
        quality_recipe: 0,
        flags: None,
    }));
    assert!(matches!(bad_rate, Res::NewSoxResampler(r)
        if matches!(r.message, Some(proto::new_sox_resampler_response::Message::Error(_)))));
    drop_handle(sox);
    assert_no_panic();
}

#[test]
fn apm_runs_every_stage_and_sets_delay() {
    let apm = match request(Req::NewApm(proto::NewApmRequest {
        echo_canceller_enabled: true,
        gain_controller_enabled: true,
        high_pass_filter_enabled: true,
        noise_suppression_enabled: true,
    })) {
        Res::NewApm(r) => r.apm.handle.id,
        other => panic!("unexpected {other:?}"),
    };
    let mut far = sine(300.0, 48_000, 1, 480, 0.3);
    let mut near = sine(300.0, 48_000, 1, 480, 0.1);
    for _ in 0..100 {
        let Res::ApmProcessReverseStream(r) = request(Req::ApmProcessReverseStream(
            proto::ApmProcessReverseStreamRequest {
                apm_handle: apm,
                data_ptr: far.as_mut_ptr() as u64,
                size: 960,
                sample_rate: 48_000,
                num_channels: 1,
            },
        )) else {
            panic!("unexpected")
        };
        assert_eq!(r.error, None);
        let Res::ApmProcessStream(r) =
            request(Req::ApmProcessStream(proto::ApmProcessStreamRequest {
                apm_handle: apm,
                data_ptr: near.as_mut_ptr() as u64,
                size: 960,
                sample_rate: 48_000,
                num_channels: 1,
            }))
        else {
            panic!("unexpected")
        };
        assert_eq!(r.error, None);
    }
    let Res::ApmSetStreamDelay(r) =
        request(Req::ApmSetStreamDelay(proto::ApmSetStreamDelayRequest {
            apm_handle: apm,
            delay_ms: 40,
        }))
    else {
        panic!("unexpected")
    };
    assert_eq!(r.error, None);
    drop_handle(apm);
}
