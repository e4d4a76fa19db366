//! Streaming high-quality resampling through libsoxr, for LiveKit's
//! `SoxResampler` (the resampler the Python SDK uses for arbitrary rates).
//!
//! libsoxr comes from our `soxr-simd-sys` crate: the same libsoxr 0.1.3 as
//! LiveKit's `soxr-sys`, but built with its SIMD engines (`cr32s` on SSE with
//! PFFFT, `cr64s` on AVX), which roughly halve the cost of a push.
//!
//! The interface is byte-oriented because the FFI hands over raw buffers
//! whose layout (interleaved or channel after channel) is chosen per
//! resampler. Output lives in a buffer owned by the resampler and is reused
//! on every call, so steady-state pushes do not allocate.

use std::ffi::{CStr, c_ulong, c_void};
use std::ptr::{self, NonNull};

use soxr_simd_sys as sys;
use thiserror::Error;

/// Lowest rate accepted, in Hz; lower rates only make sense as mistakes.
pub const MIN_SAMPLE_RATE: f64 = 1_000.0;

/// Highest rate accepted, in Hz (covers 705.6/768 kHz studio rates).
pub const MAX_SAMPLE_RATE: f64 = 768_000.0;

/// Most channels accepted; soxr keeps a filter per channel.
pub const MAX_CHANNELS: u32 = 64;

/// Most output samples one push may produce (about 90 minutes of 48 kHz
/// mono); a bigger request is a caller bug and would only exhaust memory.
pub const MAX_OUTPUT_SAMPLES: u64 = 1 << 28;

/// Extra room in each output buffer over the nominal output size, so that
/// rounding and soxr's block-wise processing rarely need a second pass.
const OUTPUT_SLACK: usize = 64;

/// Sample layout of the bytes passed in or returned.
///
/// Discriminants are the FFI's values (`SOXR_DATATYPE_INT16I = 0`,
/// `SOXR_DATATYPE_INT16S = 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SoxDataType {
    /// 16-bit samples, channels interleaved frame by frame.
    Int16Interleaved = 0,
    /// 16-bit samples, all of channel 0, then all of channel 1, and so on.
    Int16Split = 1,
}

impl SoxDataType {
    fn raw(self) -> sys::soxr_datatype_t {
        match self {
            Self::Int16Interleaved => sys::SOXR_INT16_I,
            Self::Int16Split => sys::SOXR_INT16_S,
        }
    }
}

impl TryFrom<u32> for SoxDataType {
    type Error = SoxError;

    /// Maps the FFI's data-type enum, rejecting values it does not define.
    fn try_from(value: u32) -> Result<Self, SoxError> {
        match value {
            0 => Ok(Self::Int16Interleaved),
            1 => Ok(Self::Int16Split),
            other => Err(SoxError::InvalidDataType(other)),
        }
    }
}

/// Why a soxr resampler could not be built or run.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SoxError {
    /// A rate that is not finite or outside the supported range.
    #[error("invalid sample rate {0} Hz (supported: {MIN_SAMPLE_RATE}..={MAX_SAMPLE_RATE} Hz)")]
    InvalidSampleRate(f64),
    /// Zero channels or more than [`MAX_CHANNELS`].
    #[error("invalid channel count {0} (supported: 1..={MAX_CHANNELS})")]
    InvalidChannelCount(u32),
    /// A data-type value the FFI does not define.
    #[error("invalid sox data type {0}")]
    InvalidDataType(u32),
    /// Input that does not hold a whole number of sample frames.
    #[error("input of {len} bytes is not a whole number of {frame_bytes}-byte sample frames")]
    PartialFrame {
        /// Bytes passed.
        len: usize,
        /// Bytes per frame (2 x channels).
        frame_bytes: usize,
    },
    /// The push would produce more than [`MAX_OUTPUT_SAMPLES`] samples.
    #[error("input too large: about {0} output samples (limit {MAX_OUTPUT_SAMPLES})")]
    TooLarge(u64),
    /// An error reported by libsoxr itself (for instance an unknown quality
    /// recipe).
    #[error("soxr: {0}")]
    Soxr(String),
}

/// Everything needed to build (and rebuild) the soxr instance.
#[derive(Debug, Clone, Copy)]
struct Settings {
    input_rate: f64,
    output_rate: f64,
    num_channels: u32,
    input_type: SoxDataType,
    output_type: SoxDataType,
    quality_recipe: u32,
    flags: u32,
}

/// A streaming libsoxr resampler over 16-bit samples.
///
/// `Send` but not `Sync`: every method takes `&mut self`, and the soxr
/// instance has no ties to the thread that created it.
#[derive(Debug)]
pub struct SoxResampler {
    soxr: NonNull<sys::soxr>,
    settings: Settings,
    /// Aligned copy of the input, used only when the caller's bytes are not
    /// aligned for `i16` (soxr reads them as `short`).
    aligned_input: Vec<i16>,
    /// Output samples; for split output, channel `c` occupies a region of
    /// the current capacity until the final compaction.
    output: Vec<i16>,
    /// Samples of `output` that belong to the last result.
    output_len: usize,
    /// Per-channel pointer tables for split layouts; only meaningful during
    /// a call.
    input_ptrs: Vec<*const c_void>,
    output_ptrs: Vec<*mut c_void>,
}

// SAFETY: the soxr instance is plain heap state with no thread affinity
// (runtime spec asks for one thread and the bundled build has no OpenMP),
// and the pointer tables are scratch space rewritten on every call. Access
// always goes through `&mut self`, so no two threads touch it at once.
unsafe impl Send for SoxResampler {}

impl SoxResampler {
    /// Builds a resampler; `quality_recipe` and `flags` go to
    /// `soxr_quality_spec` unchanged (recipes 0..=4 are quick, low, medium,
    /// 16-bit and 20-bit quality; flags are soxr's rolloff/precision bits).
    pub fn new(
        input_rate: f64,
        output_rate: f64,
        num_channels: u32,
        input_type: SoxDataType,
        output_type: SoxDataType,
        quality_recipe: u32,
        flags: u32,
    ) -> Result<Self, SoxError> {
        for rate in [input_rate, output_rate] {
            if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
                return Err(SoxError::InvalidSampleRate(rate));
            }
        }
        if !(1..=MAX_CHANNELS).contains(&num_channels) {
            return Err(SoxError::InvalidChannelCount(num_channels));
        }
        let settings = Settings {
            input_rate,
            output_rate,
            num_channels,
            input_type,
            output_type,
            quality_recipe,
            flags,
        };
        let soxr = create(&settings)?;
        Ok(Self {
            soxr,
            settings,
            aligned_input: Vec::new(),
            output: Vec::new(),
            output_len: 0,
            input_ptrs: vec![ptr::null(); num_channels as usize],
            output_ptrs: vec![ptr::null_mut(); num_channels as usize],
        })
    }

    /// Feeds raw `i16` bytes (native endianness, `input_type` layout) and
    /// returns whatever output is ready, in `output_type` layout. The slice
    /// lives in the resampler's buffer until the next `push` or `flush`; it
    /// is empty while the filter is still filling.
    pub fn push(&mut self, input: &[u8]) -> Result<&[u8], SoxError> {
        let channels = self.settings.num_channels as usize;
        let frame_bytes = 2 * channels;
        if !input.len().is_multiple_of(frame_bytes) {
            return Err(SoxError::PartialFrame {
                len: input.len(),
                frame_bytes,
            });
        }
        let frames = input.len() / frame_bytes;
        self.output_len = 0;
        if frames == 0 {
            // soxr treats an empty input as end-of-stream, so never pass one.
            return Ok(&[]);
        }

        let samples: *const i16 = if input.as_ptr().align_offset(align_of::<i16>()) == 0 {
            input.as_ptr().cast()
        } else {
            self.aligned_input.clear();
            self.aligned_input.extend(
                input
                    .chunks_exact(2)
                    .map(|b| i16::from_ne_bytes([b[0], b[1]])),
            );
            self.aligned_input.as_ptr()
        };
        let input_arg: sys::soxr_in_t = match self.settings.input_type {
            SoxDataType::Int16Interleaved => samples.cast(),
            SoxDataType::Int16Split => {
                for (c, slot) in self.input_ptrs.iter_mut().enumerate() {
                    // In bounds: channel c spans samples [c*frames, (c+1)*frames).
                    *slot = samples.wrapping_add(c * frames).cast();
                }
                self.input_ptrs.as_ptr().cast()
            }
        };
        let expected = frames as f64 * self.settings.output_rate / self.settings.input_rate;
        let total = (expected * f64::from(self.settings.num_channels)).ceil();
        if total > MAX_OUTPUT_SAMPLES as f64 {
            return Err(SoxError::TooLarge(total as u64));
        }
        let capacity = expected.ceil() as usize + OUTPUT_SLACK;
        self.run(input_arg, frames, capacity)?;
        Ok(self.output_bytes())
    }

    /// Drains the samples still inside the filter (the stream's tail) and
    /// resets the resampler, so the next `push` starts a new stream.
    pub fn flush(&mut self) -> Result<&[u8], SoxError> {
        // SAFETY: `self.soxr` is a live instance owned by `self`.
        let pending = unsafe { sys::soxr_delay(self.soxr.as_ptr()) };
        let capacity = if pending.is_finite() && pending > 0.0 {
            pending.ceil() as usize + OUTPUT_SLACK
        } else {
            OUTPUT_SLACK
        };
        self.output_len = 0;
        self.run(ptr::null(), 0, capacity)?;
        // A fresh instance is the reliable way to reset: soxr_clear leaves
        // some recipes unusable.
        let fresh = create(&self.settings)?;
        // SAFETY: the old instance is owned by `self` and not used again.
        unsafe { sys::soxr_delete(self.soxr.as_ptr()) };
        self.soxr = fresh;
        Ok(self.output_bytes())
    }

    /// Runs soxr once with `input` (null means end of stream), then keeps
    /// reading until soxr has nothing more to give, growing the buffer as
    /// needed. Leaves the result in `output[..output_len]`.
    fn run(
        &mut self,
        input: sys::soxr_in_t,
        input_frames: usize,
        capacity: usize,
    ) -> Result<(), SoxError> {
        let channels = self.settings.num_channels as usize;
        let split = self.settings.output_type == SoxDataType::Int16Split;
        let mut capacity = capacity.max(1);
        let mut done = 0usize;
        self.output.clear();
        self.output.resize(capacity * channels, 0);
        let mut first = true;
        loop {
            let room = capacity - done;
            let base = self.output.as_mut_ptr();
            let out_arg: sys::soxr_out_t = if split {
                for (c, slot) in self.output_ptrs.iter_mut().enumerate() {
                    // In bounds: channel c's region is [c*capacity, (c+1)*capacity).
                    *slot = base.wrapping_add(c * capacity + done).cast();
                }
                self.output_ptrs.as_mut_ptr().cast()
            } else {
                base.wrapping_add(done * channels).cast()
            };
            let mut produced = 0usize;
            // SAFETY: the instance is live; the input pointers cover
            // `input_frames` frames in the layout soxr was created for; the
            // output pointers cover `room` frames per channel of `output`.
            let error = unsafe {
                if first {
                    sys::soxr_process(
                        self.soxr.as_ptr(),
                        input,
                        input_frames,
                        ptr::null_mut(),
                        out_arg,
                        room,
                        &mut produced,
                    )
                } else {
                    produced = sys::soxr_output(self.soxr.as_ptr(), out_arg, room);
                    sys::soxr_error(self.soxr.as_ptr())
                }
            };
            check(error)?;
            first = false;
            done += produced.min(room);
            if produced < room {
                break;
            }
            let grown = capacity * 2;
            self.output.resize(grown * channels, 0);
            if split {
                for c in (1..channels).rev() {
                    self.output
                        .copy_within(c * capacity..c * capacity + done, c * grown);
                }
            }
            capacity = grown;
        }
        if split {
            for c in 1..channels {
                self.output
                    .copy_within(c * capacity..c * capacity + done, c * done);
            }
        }
        self.output_len = done * channels;
        Ok(())
    }

    fn output_bytes(&self) -> &[u8] {
        let samples = &self.output[..self.output_len];
        // SAFETY: any initialised i16 memory is valid as twice as many bytes,
        // and u8 has no alignment requirement.
        unsafe { std::slice::from_raw_parts(samples.as_ptr().cast::<u8>(), samples.len() * 2) }
    }
}

impl Drop for SoxResampler {
    fn drop(&mut self) {
        // SAFETY: the instance is owned by `self` and dropped exactly once.
        unsafe { sys::soxr_delete(self.soxr.as_ptr()) };
    }
}

fn create(settings: &Settings) -> Result<NonNull<sys::soxr>, SoxError> {
    let mut error: sys::soxr_error_t = ptr::null();
    // SAFETY: the spec constructors only compute structs; soxr_create reads
    // them by pointer during the call and reports failures via `error`.
    let handle = unsafe {
        let io = sys::soxr_io_spec(settings.input_type.raw(), settings.output_type.raw());
        let quality = sys::soxr_quality_spec(
            c_ulong::from(settings.quality_recipe),
            c_ulong::from(settings.flags),
        );
        let runtime = sys::soxr_runtime_spec(1);
        sys::soxr_create(
            settings.input_rate,
            settings.output_rate,
            settings.num_channels,
            &mut error,
            &io,
            &quality,
            &runtime,
        )
    };
    if let Err(e) = check(error) {
        if let Some(handle) = NonNull::new(handle) {
            // SAFETY: a handle soxr gave back, never used afterwards.
            unsafe { sys::soxr_delete(handle.as_ptr()) };
        }
        return Err(e);
    }
    NonNull::new(handle).ok_or_else(|| SoxError::Soxr("soxr_create returned nothing".into()))
}

fn check(error: sys::soxr_error_t) -> Result<(), SoxError> {
    if error.is_null() {
        return Ok(());
    }
    // SAFETY: soxr errors are static NUL-terminated strings.
    let text = unsafe { CStr::from_ptr(error) };
    Err(SoxError::Soxr(text.to_string_lossy().into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn sine(rate: f64, freq: f64, amplitude: f64, len: usize) -> Vec<i16> {
        (0..len)
            .map(|n| (amplitude * (2.0 * PI * freq * n as f64 / rate).sin()).round() as i16)
            .collect()
    }

    fn to_bytes(samples: &[i16]) -> Vec<u8> {
        samples.iter().flat_map(|s| s.to_ne_bytes()).collect()
    }

    fn from_bytes(bytes: &[u8]) -> Vec<i16> {
        bytes
            .chunks_exact(2)
            .map(|b| i16::from_ne_bytes([b[0], b[1]]))
            .collect()
    }

    /// Level of the `freq` component relative to `amplitude`, in dB, and the
    /// ratio of everything else to it, in dB.
    fn tone_and_residual_db(x: &[f64], rate: f64, freq: f64, amplitude: f64) -> (f64, f64) {
        let w = 2.0 * PI * freq / rate;
        let (mut re, mut im) = (0.0, 0.0);
        for (n, &v) in x.iter().enumerate() {
            re += v * (w * n as f64).cos();
            im += v * (w * n as f64).sin();
        }
        let k = 2.0 / x.len() as f64;
        let level = 20.0 * ((k * (re * re + im * im).sqrt()) / amplitude).log10();
        let residual: f64 = x
            .iter()
            .enumerate()
            .map(|(n, &v)| v - k * (re * (w * n as f64).cos() + im * (w * n as f64).sin()))
            .map(|r| r * r)
            .sum();
        let total: f64 = x.iter().map(|v| v * v).sum();
        (level, 10.0 * (residual / total).log10())
    }

    /// Streams a 1 kHz sine (same on both channels, with channel 1 at half
    /// level) through a 2-channel resampler in 10 ms pushes, then flushes.
    fn run_stream(recipe: u32, in_type: SoxDataType, out_type: SoxDataType) -> Vec<Vec<i16>> {
        let channels = 2usize;
        let mut sox = SoxResampler::new(
            48_000.0,
            16_000.0,
            channels as u32,
            in_type,
            out_type,
            recipe,
            0,
        )
        .unwrap();
        let left = sine(48_000.0, 1000.0, 10_000.0, 48_000);
        let right: Vec<i16> = left.iter().map(|s| s / 2).collect();
        let mut planes = vec![Vec::new(); channels];
        let mut collect = |bytes: &[u8]| {
            let samples = from_bytes(bytes);
            let frames = samples.len() / channels;
            for (c, plane) in planes.iter_mut().enumerate() {
                match out_type {
                    SoxDataType::Int16Interleaved => {
                        plane.extend(samples.iter().skip(c).step_by(channels))
                    }
                    SoxDataType::Int16Split => {
                        plane.extend_from_slice(&samples[c * frames..(c + 1) * frames])
                    }
                }
            }
        };
        for (l, r) in left.chunks(480).zip(right.chunks(480)) {
            let frame: Vec<i16> = match in_type {
                SoxDataType::Int16Interleaved => {
                    l.iter().zip(r).flat_map(|(&a, &b)| [a, b]).collect()
                }
                SoxDataType::Int16Split => l.iter().chain(r).copied().collect(),
            };
            collect(sox.push(&to_bytes(&frame)).unwrap());
        }
        collect(sox.flush().unwrap());
        planes
    }

    #[test]
    fn every_recipe_and_layout_keeps_the_sine() {
        use SoxDataType::*;
        for recipe in 0..=4 {
            for (in_type, out_type) in [
                (Int16Interleaved, Int16Interleaved),
                (Int16Split, Int16Split),
                (Int16Interleaved, Int16Split),
                (Int16Split, Int16Interleaved),
            ] {
                let planes = run_stream(recipe, in_type, out_type);
                for (c, (plane, amplitude)) in planes.iter().zip([10_000.0, 5_000.0]).enumerate() {
                    // With the flush, all of one second comes out (±1 for
                    // rounding of the final fractional sample).
                    assert!(
                        (plane.len() as i64 - 16_000).abs() <= 1,
                        "recipe {recipe} {in_type:?}->{out_type:?}: {} samples",
                        plane.len()
                    );
                    let x: Vec<f64> = plane[2_000..14_000].iter().map(|&s| f64::from(s)).collect();
                    let (level, residual) = tone_and_residual_db(&x, 16_000.0, 1000.0, amplitude);
                    assert!(
                        level.abs() < 0.5,
                        "recipe {recipe} ch{c}: level {level:.2} dB"
                    );
                    assert!(
                        residual < -35.0,
                        "recipe {recipe} ch{c}: residual {residual:.1} dB"
                    );
                }
            }
        }
    }

    #[test]
    fn flush_returns_the_tail_and_push_works_after_it() {
        let mut sox = SoxResampler::new(
            48_000.0,
            16_000.0,
            1,
            SoxDataType::Int16Interleaved,
            SoxDataType::Int16Interleaved,
            3,
            0,
        )
        .unwrap();
        let tone = to_bytes(&sine(48_000.0, 1000.0, 10_000.0, 4_800));
        for _ in 0..2 {
            let mut total = 0;
            for frame in tone.chunks(960) {
                total += sox.push(frame).unwrap().len() / 2;
            }
            assert!(total < 1_600, "some output must still be inside the filter");
            let tail = from_bytes(sox.flush().unwrap());
            assert!(!tail.is_empty(), "flush gave no tail");
            assert!(
                tail.iter().any(|&s| s.abs() > 1_000),
                "tail holds no signal"
            );
            assert_eq!(total + tail.len(), 1_600);
        }
        // A flush with nothing inside is empty, not an error.
        assert!(sox.flush().unwrap().is_empty());
    }

    #[test]
    fn unaligned_input_is_accepted() {
        let mut sox = SoxResampler::new(
            16_000.0,
            48_000.0,
            1,
            SoxDataType::Int16Interleaved,
            SoxDataType::Int16Interleaved,
            4,
            0,
        )
        .unwrap();
        let tone = to_bytes(&sine(16_000.0, 1000.0, 10_000.0, 1_600));
        let mut shifted = vec![0u8; tone.len() + 1];
        shifted[1..].copy_from_slice(&tone);
        let mut out = Vec::new();
        for frame in shifted[1..].chunks(320) {
            out.extend(from_bytes(sox.push(frame).unwrap()));
        }
        out.extend(from_bytes(sox.flush().unwrap()));
        assert_eq!(out.len(), 4_800);
        let x: Vec<f64> = out[600..4_200].iter().map(|&s| f64::from(s)).collect();
        let (level, residual) = tone_and_residual_db(&x, 48_000.0, 1000.0, 10_000.0);
        assert!(level.abs() < 0.5 && residual < -35.0, "{level} {residual}");
    }

    #[test]
    fn bad_arguments_are_errors() {
        use SoxDataType::Int16Interleaved as I;
        assert!(matches!(
            SoxResampler::new(0.0, 16_000.0, 1, I, I, 3, 0),
            Err(SoxError::InvalidSampleRate(_))
        ));
        assert!(matches!(
            SoxResampler::new(48_000.0, f64::NAN, 1, I, I, 3, 0),
            Err(SoxError::InvalidSampleRate(_))
        ));
        assert!(matches!(
            SoxResampler::new(48_000.0, 1e9, 1, I, I, 3, 0),
            Err(SoxError::InvalidSampleRate(_))
        ));
        assert!(matches!(
            SoxResampler::new(48_000.0, 16_000.0, 0, I, I, 3, 0),
            Err(SoxError::InvalidChannelCount(0))
        ));
        assert!(matches!(
            SoxDataType::try_from(2),
            Err(SoxError::InvalidDataType(2))
        ));
        assert_eq!(SoxDataType::try_from(1).unwrap(), SoxDataType::Int16Split);

        let mut sox = SoxResampler::new(48_000.0, 16_000.0, 2, I, I, 3, 0).unwrap();
        assert!(matches!(
            sox.push(&[0u8; 6]),
            Err(SoxError::PartialFrame {
                len: 6,
                frame_bytes: 4
            })
        ));
        assert!(sox.push(&[0u8; 3]).is_err());
        assert!(sox.push(&[]).unwrap().is_empty());
        let mut up = SoxResampler::new(1_000.0, 768_000.0, 1, I, I, 0, 0).unwrap();
        assert!(matches!(
            up.push(&vec![0u8; 800_000]),
            Err(SoxError::TooLarge(_))
        ));
        // Still works after the errors.
        sox.push(&[0u8; 1920]).unwrap();
    }

    #[test]
    fn odd_recipes_and_flags_never_crash() {
        use SoxDataType::Int16Interleaved as I;
        let flags = [0, 1, 2, 8, 16, 32, 0xffff_ffff];
        for recipe in (0..=0x7f).chain([0x100, u32::MAX]) {
            for &flag in &flags {
                if let Ok(mut sox) = SoxResampler::new(44_100.0, 48_000.0, 2, I, I, recipe, flag) {
                    let frame = to_bytes(&vec![1_000i16; 882 * 4]);
                    let mut total = 0;
                    for _ in 0..3 {
                        total += sox.push(&frame).unwrap().len();
                    }
                    total += sox.flush().unwrap().len();
                    assert!(total > 0, "recipe {recipe:#x} flags {flag:#x}");
                }
            }
        }
    }

    /// libsoxr's SIMD engine does the work: it is why we build libsoxr
    /// ourselves (soxr-simd-sys) instead of using soxr-sys.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn resampling_runs_on_the_simd_engine() {
        use SoxDataType::Int16Interleaved as I;
        if std::env::var_os("SOXR_USE_SIMD").is_some()
            || std::env::var_os("SOXR_USE_SIMD32").is_some()
        {
            return; // the environment overrides libsoxr's choice
        }
        for recipe in 0..=4 {
            let sox = SoxResampler::new(48_000.0, 16_000.0, 1, I, I, recipe, 0).unwrap();
            // SAFETY: a live instance; soxr_engine returns a static string.
            let engine = unsafe { CStr::from_ptr(sys::soxr_engine(sox.soxr.as_ptr())) };
            assert_eq!(engine.to_str().unwrap(), "cr32s", "recipe {recipe}");
        }
    }

    #[test]
    fn sox_resampler_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<SoxResampler>();
    }

    /// Throughput; run with
    /// `cargo test -p livekit-core --release audio -- --ignored --nocapture`.
    #[test]
    #[ignore = "benchmark"]
    fn bench_sox_push_48k_to_16k_mono_high() {
        let mut sox = SoxResampler::new(
            48_000.0,
            16_000.0,
            1,
            SoxDataType::Int16Interleaved,
            SoxDataType::Int16Interleaved,
            3,
            0,
        )
        .unwrap();
        let frame = to_bytes(&sine(48_000.0, 1000.0, 10_000.0, 480));
        let mut bytes = 0usize;
        crate::audio::frame::bench::report("sox push 10 ms 48k->16k mono HIGH", 300_000, || {
            bytes += sox.push(&frame).unwrap().len();
        });
        assert!(bytes > 0);
    }
}
