//! Hand-written declarations for the part of libsoxr's API (`libsoxr/soxr.h`)
//! that livekit-core uses, over the vendored libsoxr 0.1.3 that `build.rs`
//! compiles with its SIMD engines (`cr32s`/`cr64s` with PFFFT on x86).
//!
//! Names follow `soxr.h`. Everything is `unsafe` and unchecked; the safe
//! wrapper is `livekit_core::audio::sox`.

#![no_std]
#![allow(non_camel_case_types)]

use core::ffi::{c_char, c_uint, c_ulong, c_void};

/// The resampler behind a `soxr_t` (opaque).
#[repr(C)]
pub struct soxr {
    _private: [u8; 0],
    _not_send_sync: core::marker::PhantomData<(*mut u8, core::marker::PhantomPinned)>,
}

/// A resampler for one or more channels.
pub type soxr_t = *mut soxr;
/// Null for no error, else a static NUL-terminated message.
pub type soxr_error_t = *const c_char;
/// A `soxr_cbuf_t` (interleaved) or a `soxr_cbufs_t` (one buffer per
/// channel), depending on the input type.
pub type soxr_in_t = *const c_void;
/// A `soxr_buf_t` (interleaved) or a `soxr_bufs_t` (one buffer per channel),
/// depending on the output type.
pub type soxr_out_t = *mut c_void;

/// `soxr_datatype_t`, a C enum (an `int`-sized value).
pub type soxr_datatype_t = c_uint;
pub const SOXR_FLOAT32_I: soxr_datatype_t = 0;
pub const SOXR_FLOAT64_I: soxr_datatype_t = 1;
pub const SOXR_INT32_I: soxr_datatype_t = 2;
pub const SOXR_INT16_I: soxr_datatype_t = 3;
pub const SOXR_FLOAT32_S: soxr_datatype_t = 4;
pub const SOXR_FLOAT64_S: soxr_datatype_t = 5;
pub const SOXR_INT32_S: soxr_datatype_t = 6;
pub const SOXR_INT16_S: soxr_datatype_t = 7;

/// Quality recipes for [`soxr_quality_spec`].
pub const SOXR_QQ: c_ulong = 0;
pub const SOXR_LQ: c_ulong = 1;
pub const SOXR_MQ: c_ulong = 2;
pub const SOXR_16_BITQ: c_ulong = 3;
pub const SOXR_20_BITQ: c_ulong = 4;
pub const SOXR_24_BITQ: c_ulong = 5;
pub const SOXR_28_BITQ: c_ulong = 6;
pub const SOXR_32_BITQ: c_ulong = 7;
pub const SOXR_HQ: c_ulong = SOXR_20_BITQ;
pub const SOXR_VHQ: c_ulong = SOXR_28_BITQ;

/// Quality flags for [`soxr_quality_spec`].
pub const SOXR_ROLLOFF_SMALL: c_ulong = 0;
pub const SOXR_ROLLOFF_MEDIUM: c_ulong = 1;
pub const SOXR_ROLLOFF_NONE: c_ulong = 2;
pub const SOXR_HI_PREC_CLOCK: c_ulong = 8;
pub const SOXR_DOUBLE_PRECISION: c_ulong = 16;
pub const SOXR_VR: c_ulong = 32;

/// `struct soxr_io_spec`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct soxr_io_spec {
    pub itype: soxr_datatype_t,
    pub otype: soxr_datatype_t,
    pub scale: f64,
    pub e: *mut c_void,
    pub flags: c_ulong,
}
pub type soxr_io_spec_t = soxr_io_spec;

/// `struct soxr_quality_spec`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct soxr_quality_spec {
    pub precision: f64,
    pub phase_response: f64,
    pub passband_end: f64,
    pub stopband_begin: f64,
    pub e: *mut c_void,
    pub flags: c_ulong,
}
pub type soxr_quality_spec_t = soxr_quality_spec;

/// `struct soxr_runtime_spec`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct soxr_runtime_spec {
    pub log2_min_dft_size: c_uint,
    pub log2_large_dft_size: c_uint,
    pub coef_size_kbytes: c_uint,
    pub num_threads: c_uint,
    pub e: *mut c_void,
    pub flags: c_ulong,
}
pub type soxr_runtime_spec_t = soxr_runtime_spec;

unsafe extern "C" {
    /// "libsoxr-0.1.3".
    pub fn soxr_version() -> *const c_char;

    pub fn soxr_create(
        input_rate: f64,
        output_rate: f64,
        num_channels: c_uint,
        error: *mut soxr_error_t,
        io_spec: *const soxr_io_spec_t,
        quality_spec: *const soxr_quality_spec_t,
        runtime_spec: *const soxr_runtime_spec_t,
    ) -> soxr_t;

    /// `input` null means end of input.
    pub fn soxr_process(
        resampler: soxr_t,
        input: soxr_in_t,
        ilen: usize,
        idone: *mut usize,
        output: soxr_out_t,
        olen: usize,
        odone: *mut usize,
    ) -> soxr_error_t;

    pub fn soxr_output(resampler: soxr_t, data: soxr_out_t, olen: usize) -> usize;

    pub fn soxr_error(resampler: soxr_t) -> soxr_error_t;

    /// Current delay in output samples.
    pub fn soxr_delay(resampler: soxr_t) -> f64;

    /// Name of the engine in use: "cr32s", "cr64s", "cr32", "cr64" or "vr32".
    pub fn soxr_engine(resampler: soxr_t) -> *const c_char;

    pub fn soxr_clear(resampler: soxr_t) -> soxr_error_t;

    pub fn soxr_delete(resampler: soxr_t);

    pub fn soxr_quality_spec(recipe: c_ulong, flags: c_ulong) -> soxr_quality_spec_t;

    pub fn soxr_runtime_spec(num_threads: c_uint) -> soxr_runtime_spec_t;

    pub fn soxr_io_spec(itype: soxr_datatype_t, otype: soxr_datatype_t) -> soxr_io_spec_t;
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use core::ffi::CStr;
    use core::ptr;
    use std::vec;
    use std::vec::Vec;

    #[test]
    fn layouts_match_soxr_h() {
        use core::mem::{offset_of, size_of};
        let word = size_of::<c_ulong>();
        let pointer = size_of::<*mut c_void>();
        assert_eq!(offset_of!(soxr_io_spec, scale), 8);
        assert_eq!(offset_of!(soxr_io_spec, e), 16);
        assert_eq!(offset_of!(soxr_io_spec, flags), 16 + pointer);
        assert_eq!(offset_of!(soxr_quality_spec, e), 32);
        assert_eq!(offset_of!(soxr_quality_spec, flags), 32 + pointer);
        assert_eq!(offset_of!(soxr_runtime_spec, e), 16);
        assert_eq!(size_of::<soxr_runtime_spec>() % word, 0);
    }

    #[test]
    fn version_is_0_1_3() {
        // SAFETY: a static string.
        let version = unsafe { CStr::from_ptr(soxr_version()) };
        assert_eq!(version.to_str().unwrap(), "libsoxr-0.1.3");
    }

    fn engine(recipe: c_ulong, flags: c_ulong) -> std::string::String {
        let mut error: soxr_error_t = ptr::null();
        // SAFETY: specs are plain values read during the call; the handle
        // is deleted before returning.
        unsafe {
            let io = soxr_io_spec(SOXR_INT16_I, SOXR_INT16_I);
            let quality = soxr_quality_spec(recipe, flags);
            let runtime = soxr_runtime_spec(1);
            let s = soxr_create(48_000.0, 16_000.0, 1, &mut error, &io, &quality, &runtime);
            assert!(error.is_null() && !s.is_null());
            let name = CStr::from_ptr(soxr_engine(s)).to_str().unwrap().into();
            soxr_delete(s);
            name
        }
    }

    /// The point of this crate: the SIMD engines are built and chosen.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn simd_engines_are_selected() {
        if std::env::var_os("SOXR_USE_SIMD").is_some()
            || std::env::var_os("SOXR_USE_SIMD32").is_some()
        {
            return; // the environment overrides libsoxr's choice
        }
        for recipe in [SOXR_LQ, SOXR_MQ, SOXR_16_BITQ, SOXR_20_BITQ] {
            assert_eq!(engine(recipe, 0), "cr32s", "recipe {recipe}");
        }
        let avx = std::is_x86_feature_detected!("avx");
        let expected = if avx { "cr64s" } else { "cr64" };
        if std::env::var_os("SOXR_USE_SIMD64").is_none() {
            assert_eq!(engine(SOXR_28_BITQ, 0), expected);
            assert_eq!(engine(SOXR_MQ, SOXR_DOUBLE_PRECISION), expected);
        }
        assert_eq!(engine(SOXR_MQ, SOXR_VR), "vr32");
    }

    /// A 1 kHz tone at 48 kHz, resampled to 16 kHz in 10 ms frames at every
    /// recipe, keeps its level and frequency.
    #[test]
    fn tone_survives_every_engine() {
        let freq = 1000.0;
        let input: Vec<f32> = (0..48_000)
            .map(|n| {
                (0.5 * (2.0 * core::f64::consts::PI * freq * n as f64 / 48_000.0).sin()) as f32
            })
            .collect();
        for (recipe, flags) in [
            (SOXR_QQ, 0),
            (SOXR_LQ, 0),
            (SOXR_MQ, 0),
            (SOXR_16_BITQ, 0),
            (SOXR_20_BITQ, 0),
            (SOXR_28_BITQ, 0),
            (SOXR_32_BITQ, 0),
            (SOXR_MQ, SOXR_VR),
        ] {
            let mut error: soxr_error_t = ptr::null();
            let mut output = vec![0f32; 16_000 + 256];
            let mut produced = 0usize;
            // SAFETY: input frames of 480 samples, output room as passed.
            unsafe {
                let io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
                let quality = soxr_quality_spec(recipe, flags);
                let runtime = soxr_runtime_spec(1);
                let s = soxr_create(48_000.0, 16_000.0, 1, &mut error, &io, &quality, &runtime);
                assert!(error.is_null() && !s.is_null());
                for frame in input.chunks(480).map(Some).chain([None]) {
                    let (ptr_in, len) = match frame {
                        Some(f) => (f.as_ptr().cast(), f.len()),
                        None => (ptr::null(), 0),
                    };
                    let mut done = 0usize;
                    let e = soxr_process(
                        s,
                        ptr_in,
                        len,
                        ptr::null_mut(),
                        output.as_mut_ptr().add(produced).cast(),
                        output.len() - produced,
                        &mut done,
                    );
                    assert!(e.is_null());
                    produced += done;
                }
                soxr_delete(s);
            }
            assert!(
                (15_990..=16_000).contains(&produced),
                "recipe {recipe} flags {flags}: {produced} samples"
            );
            // Correlate the middle against the expected tone (unknown phase).
            let x = &output[4_000..12_000];
            let (mut c, mut q, mut energy) = (0f64, 0f64, 0f64);
            for (n, &v) in x.iter().enumerate() {
                let w = 2.0 * core::f64::consts::PI * freq * n as f64 / 16_000.0;
                c += f64::from(v) * w.cos();
                q += f64::from(v) * w.sin();
                energy += f64::from(v) * f64::from(v);
            }
            let len = x.len() as f64;
            let amplitude = 2.0 * (c * c + q * q).sqrt() / len;
            let tone_energy = amplitude * amplitude / 2.0 * len;
            let residual = (energy - tone_energy).max(1e-30) / tone_energy;
            assert!(
                (amplitude - 0.5).abs() < 0.01,
                "recipe {recipe} flags {flags}: amplitude {amplitude}"
            );
            let limit = if recipe == SOXR_QQ { 1e-3 } else { 1e-6 };
            assert!(
                residual < limit,
                "recipe {recipe} flags {flags}: residual {residual:e}"
            );
        }
    }
}
