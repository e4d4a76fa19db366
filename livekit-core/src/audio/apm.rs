//! WebRTC-style audio processing (echo cancellation, noise suppression, gain
//! control, high-pass filter) behind LiveKit's `AudioProcessingModule`.
//!
//! Built on `sonora`, a Rust port of WebRTC's APM. The four switches map to
//! AEC3, the noise suppressor at its moderate level, AGC2 with the adaptive
//! digital controller (so the gain controller really levels speech, rather
//! than only limiting), and the high-pass filter.

use sonora::config::{
    AdaptiveDigital, EchoCanceller, GainController2, HighPassFilter, MaxProcessingRate,
    NoiseSuppression, Pipeline,
};
use sonora::{AudioProcessing, Config, StreamConfig};
use thiserror::Error;

/// Lowest rate accepted, in Hz (the processing module's floor).
pub const MIN_SAMPLE_RATE: u32 = 8_000;

/// Highest rate accepted, in Hz.
pub const MAX_SAMPLE_RATE: u32 = 384_000;

/// Most channels accepted per stream.
pub const MAX_CHANNELS: u32 = 8;

/// Why audio processing refused a call.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApmError {
    /// A rate outside the supported range, or one with no whole number of
    /// samples in 10 ms.
    #[error(
        "unsupported sample rate {0} Hz (need a multiple of 100 in {MIN_SAMPLE_RATE}..={MAX_SAMPLE_RATE})"
    )]
    InvalidSampleRate(u32),
    /// Zero channels or more than [`MAX_CHANNELS`].
    #[error("unsupported channel count {0} (supported: 1..={MAX_CHANNELS})")]
    InvalidChannelCount(u32),
    /// The buffer is not exactly one 10 ms frame.
    #[error(
        "frame holds {actual} samples but 10 ms at {sample_rate} Hz x {num_channels} channels is {expected}"
    )]
    FrameSize {
        /// Samples passed.
        actual: usize,
        /// Samples in a 10 ms frame of this format.
        expected: usize,
        /// Rate of the call.
        sample_rate: u32,
        /// Channels of the call.
        num_channels: u32,
    },
    /// The delay was outside 0..=500 ms; the clamped value is still applied.
    #[error("stream delay {requested} ms out of range, clamped to {applied} ms")]
    DelayClamped {
        /// Delay passed in.
        requested: i32,
        /// Delay actually in effect.
        applied: i32,
    },
    /// Any other failure reported by the processing engine.
    #[error("audio processing failed: {0}")]
    Processing(String),
}

/// Echo cancellation, noise suppression, gain control and high-pass
/// filtering on 10 ms frames of interleaved 16-bit PCM.
///
/// The capture (`process_stream`) and render (`process_reverse_stream`)
/// sides may use different formats, and either may change between calls;
/// the engine reinitialises itself when it does. `Send` but used through
/// `&mut self`, so callers serialise access (a mutex per module).
#[derive(Debug)]
pub struct AudioProcessingModule {
    apm: AudioProcessing,
    /// Copy of the frame being processed, since the engine reads and writes
    /// separate buffers while the API works in place.
    scratch: Vec<i16>,
}

impl AudioProcessingModule {
    /// Builds a module with the chosen components switched on.
    pub fn new(
        echo_canceller: bool,
        gain_controller: bool,
        high_pass_filter: bool,
        noise_suppression: bool,
    ) -> Self {
        let config = Config {
            echo_canceller: echo_canceller.then(EchoCanceller::default),
            gain_controller2: gain_controller.then(|| GainController2 {
                adaptive_digital: Some(AdaptiveDigital::default()),
                ..GainController2::default()
            }),
            // The filter's 80 Hz corner lies in the lowest band anyway, so
            // filtering only that band sounds the same and costs less than
            // filtering the full-rate signal.
            high_pass_filter: high_pass_filter.then_some(HighPassFilter {
                apply_in_full_band: false,
            }),
            noise_suppression: noise_suppression.then(NoiseSuppression::default),
            pipeline: Pipeline {
                maximum_internal_processing_rate: internal_rate(),
                ..Pipeline::default()
            },
            ..Config::default()
        };
        // LiveKit streams are 48 kHz mono almost always; starting in that
        // format saves a reinitialisation on the first frame.
        let format = StreamConfig::new(48_000, 1);
        let apm = AudioProcessing::builder()
            .config(config)
            .capture_config(format)
            .render_config(format)
            .build();
        Self {
            apm,
            scratch: Vec::with_capacity(480),
        }
    }

    /// Processes one 10 ms capture (microphone) frame in place.
    pub fn process_stream(
        &mut self,
        data: &mut [i16],
        sample_rate: u32,
        num_channels: u32,
    ) -> Result<(), ApmError> {
        let format = validate(data.len(), sample_rate, num_channels)?;
        self.scratch.clear();
        self.scratch.extend_from_slice(data);
        self.apm
            .process_capture_i16_with_config(&self.scratch, &format, &format, data)
            .map_err(|e| ApmError::Processing(e.to_string()))
    }

    /// Processes one 10 ms render (far-end, played-out) frame in place; the
    /// echo canceller learns the echo path from these.
    pub fn process_reverse_stream(
        &mut self,
        data: &mut [i16],
        sample_rate: u32,
        num_channels: u32,
    ) -> Result<(), ApmError> {
        let format = validate(data.len(), sample_rate, num_channels)?;
        self.scratch.clear();
        self.scratch.extend_from_slice(data);
        self.apm
            .process_render_i16_with_config(&self.scratch, &format, &format, data)
            .map_err(|e| ApmError::Processing(e.to_string()))
    }

    /// Tells the echo canceller how far the capture lags the render stream.
    /// Values outside 0..=500 ms are clamped and reported as
    /// [`ApmError::DelayClamped`], like WebRTC's warning code.
    pub fn set_stream_delay_ms(&mut self, delay_ms: i32) -> Result<(), ApmError> {
        match self.apm.set_stream_delay_ms(delay_ms) {
            Ok(()) => Ok(()),
            Err(sonora::Error::StreamParameterClamped) => Err(ApmError::DelayClamped {
                requested: delay_ms,
                applied: self.apm.stream_delay_ms(),
            }),
            Err(e) => Err(ApmError::Processing(e.to_string())),
        }
    }
}

/// Internal processing rate for 48 kHz streams.
///
/// Processing at 48 kHz needs a three-band filter bank, processing at 32 kHz
/// needs a resampler round trip instead. The filter bank is built on fused
/// multiply-adds: when the build targets FMA hardware it is the cheaper path
/// (and keeps the 16-24 kHz band), otherwise each of those becomes a
/// library call and the resampler wins by about a quarter. (Every aarch64
/// CPU has FMA.)
fn internal_rate() -> MaxProcessingRate {
    if cfg!(any(target_feature = "fma", target_arch = "aarch64")) {
        MaxProcessingRate::Rate48kHz
    } else {
        MaxProcessingRate::Rate32kHz
    }
}

/// Checks a call's format and frame length, returning the engine's view of
/// the format.
fn validate(len: usize, sample_rate: u32, num_channels: u32) -> Result<StreamConfig, ApmError> {
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate)
        || !sample_rate.is_multiple_of(100)
    {
        return Err(ApmError::InvalidSampleRate(sample_rate));
    }
    if !(1..=MAX_CHANNELS).contains(&num_channels) {
        return Err(ApmError::InvalidChannelCount(num_channels));
    }
    let expected = (sample_rate / 100 * num_channels) as usize;
    if len != expected {
        return Err(ApmError::FrameSize {
            actual: len,
            expected,
            sample_rate,
            num_channels,
        });
    }
    // In range: num_channels <= MAX_CHANNELS.
    Ok(StreamConfig::new(sample_rate, num_channels as u16))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// Reads a 16-bit PCM WAV file: (sample rate, channels, samples).
    fn read_wav(name: &str) -> (u32, u16, Vec<i16>) {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures")
            .join(name);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(&bytes[0..4], b"RIFF");
        assert_eq!(&bytes[8..12], b"WAVE");
        let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
        let mut at = 12;
        let mut format = None;
        while at + 8 <= bytes.len() {
            let id = &bytes[at..at + 4];
            let size = u32_at(at + 4) as usize;
            let body = at + 8;
            if id == b"fmt " {
                assert_eq!(u16_at(body), 1, "PCM only");
                assert_eq!(u16_at(body + 14), 16, "16-bit only");
                format = Some((u32_at(body + 4), u16_at(body + 2)));
            } else if id == b"data" {
                let (rate, channels) = format.expect("fmt before data");
                let end = (body + size).min(bytes.len());
                let samples = bytes[body..end]
                    .chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]]))
                    .collect();
                return (rate, channels, samples);
            }
            at = body + size + (size & 1);
        }
        panic!("{name}: no data chunk");
    }

    fn energy(x: &[i16]) -> f64 {
        x.iter().map(|&s| f64::from(s) * f64::from(s)).sum()
    }

    fn rms_dbfs(x: &[i16]) -> f64 {
        10.0 * (energy(x) / x.len() as f64 / (32768.0f64 * 32768.0)).log10()
    }

    /// Runs render and capture through a module in 10 ms steps and returns
    /// how much quieter the output is than the capture over the second
    /// half, in dB.
    fn echo_reduction_db(
        apm: &mut AudioProcessingModule,
        rate: u32,
        render: &[i16],
        capture: &[i16],
    ) -> f64 {
        let frame = (rate / 100) as usize;
        let mut output = Vec::with_capacity(capture.len());
        for (far, near) in render.chunks_exact(frame).zip(capture.chunks_exact(frame)) {
            let mut far = far.to_vec();
            apm.process_reverse_stream(&mut far, rate, 1).unwrap();
            apm.set_stream_delay_ms(0).unwrap();
            let mut near = near.to_vec();
            apm.process_stream(&mut near, rate, 1).unwrap();
            output.extend_from_slice(&near);
        }
        let half = output.len() / 2;
        let before = energy(&capture[half..output.len()]);
        let after = energy(&output[half..]);
        10.0 * (before / after.max(1.0)).log10()
    }

    fn echo_fixtures() -> (u32, Vec<i16>, Vec<i16>) {
        let (rate, channels, render) = read_wav("test_echo_render.wav");
        let (capture_rate, capture_channels, capture) = read_wav("test_echo_capture.wav");
        assert_eq!((rate, channels), (48_000, 1));
        assert_eq!((capture_rate, capture_channels), (48_000, 1));
        (rate, render, capture)
    }

    #[test]
    fn echo_canceller_removes_clean_echo() {
        // The far-end fixture played back through a 100 ms, -8 dB echo path
        // with no other sound in the room: everything left is residual echo.
        let (rate, render, _) = echo_fixtures();
        let delay = (rate / 10) as usize;
        let capture: Vec<i16> = (0..render.len())
            .map(|i| {
                i.checked_sub(delay)
                    .map_or(0, |j| (f64::from(render[j]) * 0.4) as i16)
            })
            .collect();
        let mut apm = AudioProcessingModule::new(true, false, false, false);
        let reduction = echo_reduction_db(&mut apm, rate, &render, &capture);
        println!("clean echo: {reduction:.1} dB");
        assert!(reduction >= 30.0, "echo only reduced by {reduction:.1} dB");
    }

    #[test]
    fn echo_canceller_removes_fixture_echo() {
        // The recorded capture carries a steady noise floor (about -41 dBFS,
        // 13 dB under the echo) that no echo canceller may remove, which caps
        // what the AEC alone can show; the noise suppressor handles that part,
        // as in the usual LiveKit setup.
        let (rate, render, capture) = echo_fixtures();
        let mut aec_ns = AudioProcessingModule::new(true, false, false, true);
        let with_aec = echo_reduction_db(&mut aec_ns, rate, &render, &capture);
        let mut ns_only = AudioProcessingModule::new(false, false, false, true);
        let without_aec = echo_reduction_db(&mut ns_only, rate, &render, &capture);
        let mut aec_only = AudioProcessingModule::new(true, false, false, false);
        let aec_alone = echo_reduction_db(&mut aec_only, rate, &render, &capture);
        println!(
            "fixture: AEC+NS {with_aec:.1} dB, NS only {without_aec:.1} dB, AEC only {aec_alone:.1} dB"
        );
        assert!(with_aec >= 20.0, "echo only reduced by {with_aec:.1} dB");
        assert!(with_aec - without_aec >= 10.0, "the AEC adds too little");
        assert!(
            aec_alone >= 15.0,
            "AEC alone only reduced by {aec_alone:.1} dB"
        );
    }

    #[test]
    fn gain_controller_raises_quiet_speech() {
        let (rate, channels, speech) = read_wav("test_audio.wav");
        assert_eq!(channels, 1);
        // Scale the speech so it sits at about -30 dBFS.
        let gain = 10f64.powf((-30.0 - rms_dbfs(&speech)) / 20.0);
        let quiet: Vec<i16> = speech
            .iter()
            .map(|&s| (f64::from(s) * gain).round() as i16)
            .collect();
        let mut apm = AudioProcessingModule::new(false, true, false, false);
        let frame = (rate / 100) as usize;
        let mut output = Vec::with_capacity(quiet.len());
        for chunk in quiet.chunks_exact(frame) {
            let mut data = chunk.to_vec();
            apm.process_stream(&mut data, rate, 1).unwrap();
            output.extend_from_slice(&data);
        }
        let half = output.len() / 2;
        let lift = rms_dbfs(&output[half..]) - rms_dbfs(&quiet[half..output.len()]);
        println!("AGC lift over the second half: {lift:.1} dB");
        assert!(lift > 3.0, "AGC only changed the level by {lift:.1} dB");
    }

    #[test]
    fn all_features_at_common_formats() {
        let mut apm = AudioProcessingModule::new(true, true, true, true);
        for rate in [8_000u32, 16_000, 32_000, 44_100, 48_000, 96_000] {
            for channels in [1u32, 2] {
                let len = (rate / 100 * channels) as usize;
                let tone: Vec<i16> = (0..len)
                    .map(|i| ((i as f64 * 0.05).sin() * 3000.0) as i16)
                    .collect();
                for _ in 0..20 {
                    let mut far = tone.clone();
                    apm.process_reverse_stream(&mut far, rate, channels)
                        .unwrap();
                    let mut near = tone.clone();
                    apm.process_stream(&mut near, rate, channels).unwrap();
                }
            }
        }
    }

    #[test]
    fn switching_formats_never_panics() {
        // Capture and render formats change from call to call, including
        // channel counts and rates nobody uses in practice.
        let mut apm = AudioProcessingModule::new(true, true, true, true);
        let formats = [
            (48_000u32, 1u32),
            (12_300, 3),
            (16_000, 8),
            (100_000, 2),
            (384_000, 5),
            (8_000, 1),
            (44_100, 7),
        ];
        for (i, &(rate, channels)) in formats.iter().cycle().take(40).enumerate() {
            let len = (rate / 100 * channels) as usize;
            let mut data: Vec<i16> = (0..len).map(|n| ((n * 7919) % 20_000) as i16).collect();
            if i % 3 == 0 {
                apm.process_reverse_stream(&mut data, rate, channels)
                    .unwrap();
            } else {
                apm.process_stream(&mut data, rate, channels).unwrap();
            }
        }
    }

    #[test]
    fn bad_frames_are_errors() {
        let mut apm = AudioProcessingModule::new(true, true, true, true);
        let mut five_ms = vec![0i16; 240];
        assert!(matches!(
            apm.process_stream(&mut five_ms, 48_000, 1),
            Err(ApmError::FrameSize { expected: 480, .. })
        ));
        assert!(matches!(
            apm.process_reverse_stream(&mut five_ms, 48_000, 1),
            Err(ApmError::FrameSize { .. })
        ));
        let mut frame = vec![0i16; 480];
        assert!(matches!(
            apm.process_stream(&mut frame, 48_000, 2),
            Err(ApmError::FrameSize { .. })
        ));
        for rate in [0u32, 4_000, 22_050, 400_000] {
            let mut data = vec![0i16; (rate / 100) as usize];
            assert_eq!(
                apm.process_stream(&mut data, rate, 1),
                Err(ApmError::InvalidSampleRate(rate))
            );
        }
        assert_eq!(
            apm.process_stream(&mut frame, 48_000, 0),
            Err(ApmError::InvalidChannelCount(0))
        );
        assert_eq!(
            apm.process_stream(&mut frame, 48_000, 9),
            Err(ApmError::InvalidChannelCount(9))
        );
        assert!(matches!(
            apm.set_stream_delay_ms(-5),
            Err(ApmError::DelayClamped {
                requested: -5,
                applied: 0
            })
        ));
        assert!(matches!(
            apm.set_stream_delay_ms(900),
            Err(ApmError::DelayClamped { applied: 500, .. })
        ));
        assert_eq!(apm.set_stream_delay_ms(40), Ok(()));
        // Still works after all that.
        apm.process_stream(&mut frame, 48_000, 1).unwrap();
    }

    #[test]
    fn module_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<AudioProcessingModule>();
    }

    /// Throughput with every component on; run with
    /// `cargo test -p livekit-core --release audio -- --ignored --nocapture`.
    #[test]
    #[ignore = "benchmark"]
    fn bench_apm_process_stream_48k_mono_all_on() {
        let (rate, _, speech) = read_wav("test_audio.wav");
        let frame = (rate / 100) as usize;
        let frames: Vec<&[i16]> = speech.chunks_exact(frame).collect();
        let mut apm = AudioProcessingModule::new(true, true, true, true);
        let mut buf = vec![0i16; frame];
        let mut i = 0;
        crate::audio::frame::bench::report(
            "apm process_stream 10 ms 48k mono, all on",
            20_000,
            || {
                buf.copy_from_slice(frames[i % frames.len()]);
                apm.process_stream(&mut buf, rate, 1).unwrap();
                i += 1;
            },
        );
    }

    /// Throughput of a full 10 ms cycle (far-end frame, then near-end
    /// frame), which is what a call with echo cancellation costs.
    #[test]
    #[ignore = "benchmark"]
    fn bench_apm_render_and_capture_48k_mono_all_on() {
        let (rate, render, capture) = echo_fixtures();
        let frame = (rate / 100) as usize;
        let far: Vec<&[i16]> = render.chunks_exact(frame).collect();
        let near: Vec<&[i16]> = capture.chunks_exact(frame).collect();
        let mut apm = AudioProcessingModule::new(true, true, true, true);
        let mut buf = vec![0i16; frame];
        let mut i = 0;
        crate::audio::frame::bench::report(
            "apm process_reverse_stream + process_stream 10 ms 48k mono, all on",
            20_000,
            || {
                buf.copy_from_slice(far[i % far.len()]);
                apm.process_reverse_stream(&mut buf, rate, 1).unwrap();
                buf.copy_from_slice(near[i % near.len()]);
                apm.process_stream(&mut buf, rate, 1).unwrap();
                i += 1;
            },
        );
    }
}
