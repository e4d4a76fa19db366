//! Which libyuv call (or chain of calls) serves each pair of buffer types.
//!
//! libyuv names packed layouts after little-endian 32-bit words, the reverse
//! of our byte-order names. The mapping used throughout this table:
//!
//! | ours    | bytes in memory | libyuv |
//! |---------|-----------------|--------|
//! | `Rgba`  | R G B A         | ABGR   |
//! | `Abgr`  | A B G R         | RGBA   |
//! | `Argb`  | A R G B         | BGRA   |
//! | `Bgra`  | B G R A         | ARGB   |
//! | `Rgb24` | R G B           | RAW    |

use std::os::raw::c_int;

use yuv_sys as yuv;

use crate::video::buffer::VideoBufferType::{self, *};

/// One packed source to I420.
pub(super) type PackedToI420 = unsafe extern "C" fn(
    *const u8,
    c_int,
    *mut u8,
    c_int,
    *mut u8,
    c_int,
    *mut u8,
    c_int,
    c_int,
    c_int,
) -> c_int;

/// One packed layout to another.
pub(super) type PackedToPacked =
    unsafe extern "C" fn(*const u8, c_int, *mut u8, c_int, c_int, c_int) -> c_int;

/// Three 8-bit planes to one packed plane.
pub(super) type PlanarToPacked = unsafe extern "C" fn(
    *const u8,
    c_int,
    *const u8,
    c_int,
    *const u8,
    c_int,
    *mut u8,
    c_int,
    c_int,
    c_int,
) -> c_int;

/// Three 8-bit planes to three 8-bit planes.
pub(super) type PlanarToPlanar = unsafe extern "C" fn(
    *const u8,
    c_int,
    *const u8,
    c_int,
    *const u8,
    c_int,
    *mut u8,
    c_int,
    *mut u8,
    c_int,
    *mut u8,
    c_int,
    c_int,
    c_int,
) -> c_int;

/// Y, U, V and alpha planes to one packed plane; the last argument asks for
/// premultiplied output.
pub(super) type AlphaToPacked = unsafe extern "C" fn(
    *const u8,
    c_int,
    *const u8,
    c_int,
    *const u8,
    c_int,
    *const u8,
    c_int,
    *mut u8,
    c_int,
    c_int,
    c_int,
    c_int,
) -> c_int;

/// Y and interleaved UV planes to one packed plane.
pub(super) type BiplanarToPacked =
    unsafe extern "C" fn(*const u8, c_int, *const u8, c_int, *mut u8, c_int, c_int, c_int) -> c_int;

/// Three 16-bit planes (strides in samples) to one packed plane.
pub(super) type HighToPacked = unsafe extern "C" fn(
    *const u16,
    c_int,
    *const u16,
    c_int,
    *const u16,
    c_int,
    *mut u8,
    c_int,
    c_int,
    c_int,
) -> c_int;

/// A single libyuv operation, grouped by the shape of its arguments.
#[derive(Clone, Copy)]
pub(super) enum Step {
    /// Packed RGB to I420.
    PackedToI420(PackedToI420),
    /// Packed RGB to another packed RGB of a different pixel size.
    PackedToPacked(PackedToPacked),
    /// Reorder the bytes of 4-byte pixels.
    Shuffle,
    /// I420, I422 or I444 (the first three planes) to packed RGB.
    PlanarToPacked(PlanarToPacked),
    /// Between 8-bit three-plane layouts.
    PlanarToPlanar(PlanarToPlanar),
    /// I420 to NV12.
    I420ToNv12,
    /// I420 to I420A with an opaque alpha plane.
    I420ToI420a,
    /// I420A to packed RGB keeping alpha (not premultiplied).
    AlphaToPacked(AlphaToPacked),
    /// NV12 to packed RGB.
    Nv12ToPacked(BiplanarToPacked),
    /// NV12 to I420.
    Nv12ToI420,
    /// I010 to packed RGB.
    I010ToPacked(HighToPacked),
    /// I010 to I420.
    I010ToI420,
}

/// How one pair of types is converted.
#[derive(Clone, Copy)]
pub(super) enum Route {
    /// Same type: a copy, rows reversed when flipping.
    Copy,
    /// One libyuv call producing `written`; when that is not the requested
    /// 4-byte layout, the output's bytes are then reordered in place, which is
    /// cheaper than a second buffer.
    Direct {
        /// The operation.
        step: Step,
        /// Layout the operation writes.
        written: VideoBufferType,
    },
    /// Convert to this type first, then on to the target; for pairs libyuv
    /// has no single call for and an in-place fix-up cannot handle.
    Via(VideoBufferType),
}

fn direct(step: Step, written: VideoBufferType) -> Route {
    Route::Direct { step, written }
}

/// The conversion for `from` to `to`, or `None` if unsupported.
///
/// Every `Via` target here has a `Direct` route onward, so conversions never
/// chain more than two steps.
pub(super) fn route(from: VideoBufferType, to: VideoBufferType) -> Option<Route> {
    if from == to {
        return Some(Route::Copy);
    }
    let route = match (from, to) {
        // Packed 4-byte sources.
        (Rgba, I420) => direct(Step::PackedToI420(yuv::rs_ABGRToI420), to),
        (Abgr, I420) => direct(Step::PackedToI420(yuv::rs_RGBAToI420), to),
        (Argb, I420) => direct(Step::PackedToI420(yuv::rs_BGRAToI420), to),
        (Bgra, I420) => direct(Step::PackedToI420(yuv::rs_ARGBToI420), to),
        (Rgba | Abgr | Argb | Bgra, Rgba | Abgr | Argb | Bgra) => direct(Step::Shuffle, to),
        (Bgra, Rgb24) => direct(Step::PackedToPacked(yuv::rs_ARGBToRAW), to),
        (Rgba | Abgr | Argb, Rgb24) => Route::Via(Bgra),

        // RGB24 source.
        (Rgb24, I420) => direct(Step::PackedToI420(yuv::rs_RAWToI420), to),
        (Rgb24, Abgr) => direct(Step::PackedToPacked(yuv::rs_RAWToRGBA), to),
        (Rgb24, Rgba | Argb | Bgra) => direct(Step::PackedToPacked(yuv::rs_RAWToARGB), Bgra),

        // I420 source.
        (I420, Rgba) => direct(Step::PlanarToPacked(yuv::rs_I420ToABGR), to),
        (I420, Abgr) => direct(Step::PlanarToPacked(yuv::rs_I420ToRGBA), to),
        (I420, Argb) => direct(Step::PlanarToPacked(yuv::rs_I420ToBGRA), to),
        (I420, Bgra) => direct(Step::PlanarToPacked(yuv::rs_I420ToARGB), to),
        (I420, Rgb24) => direct(Step::PlanarToPacked(yuv::rs_I420ToRAW), to),
        (I420, I420a) => direct(Step::I420ToI420a, to),
        (I420, I422) => direct(Step::PlanarToPlanar(yuv::rs_I420ToI422), to),
        (I420, I444) => direct(Step::PlanarToPlanar(yuv::rs_I420ToI444), to),
        (I420, Nv12) => direct(Step::I420ToNv12, to),

        // I420A source: alpha is kept where the target has it.
        (I420a, I420) => direct(Step::PlanarToPlanar(yuv::rs_I420Copy), to),
        (I420a, Rgba) => direct(Step::AlphaToPacked(yuv::rs_I420AlphaToABGR), to),
        (I420a, Abgr | Argb | Bgra) => direct(Step::AlphaToPacked(yuv::rs_I420AlphaToARGB), Bgra),
        (I420a, Rgb24) => direct(Step::PlanarToPacked(yuv::rs_I420ToRAW), to),
        (I420a, I422 | I444 | Nv12) => Route::Via(I420),

        // I422 source.
        (I422, Rgba) => direct(Step::PlanarToPacked(yuv::rs_I422ToABGR), to),
        (I422, Abgr) => direct(Step::PlanarToPacked(yuv::rs_I422ToRGBA), to),
        (I422, Argb) => direct(Step::PlanarToPacked(yuv::rs_I422ToBGRA), to),
        (I422, Bgra) => direct(Step::PlanarToPacked(yuv::rs_I422ToARGB), to),
        (I422, Rgb24) => direct(Step::PlanarToPacked(yuv::rs_I422ToRAW), to),
        (I422, I420) => direct(Step::PlanarToPlanar(yuv::rs_I422ToI420), to),
        (I422, I444) => direct(Step::PlanarToPlanar(yuv::rs_I422ToI444), to),

        // I444 source.
        (I444, Rgba) => direct(Step::PlanarToPacked(yuv::rs_I444ToABGR), to),
        (I444, Abgr | Argb | Bgra) => direct(Step::PlanarToPacked(yuv::rs_I444ToARGB), Bgra),
        (I444, Rgb24) => direct(Step::PlanarToPacked(yuv::rs_I444ToRAW), to),
        (I444, I420) => direct(Step::PlanarToPlanar(yuv::rs_I444ToI420), to),

        // NV12 source.
        (Nv12, Rgba) => direct(Step::Nv12ToPacked(yuv::rs_NV12ToABGR), to),
        (Nv12, Abgr | Argb | Bgra) => direct(Step::Nv12ToPacked(yuv::rs_NV12ToARGB), Bgra),
        (Nv12, Rgb24) => direct(Step::Nv12ToPacked(yuv::rs_NV12ToRAW), to),
        (Nv12, I420) => direct(Step::Nv12ToI420, to),

        // I010 source.
        (I010, Rgba) => direct(Step::I010ToPacked(yuv::rs_I010ToABGR), to),
        (I010, Abgr | Argb | Bgra) => direct(Step::I010ToPacked(yuv::rs_I010ToARGB), Bgra),
        (I010, Rgb24) => Route::Via(Bgra),
        (I010, I420) => direct(Step::I010ToI420, to),

        _ => return None,
    };
    Some(route)
}

/// Channel held by each byte of a 4-byte pixel (0 R, 1 G, 2 B, 3 A), or
/// `None` for layouts that are not 4-byte RGB.
fn byte_order(kind: VideoBufferType) -> Option<[u8; 4]> {
    match kind {
        Rgba => Some([0, 1, 2, 3]),
        Abgr => Some([3, 2, 1, 0]),
        Argb => Some([3, 0, 1, 2]),
        Bgra => Some([2, 1, 0, 3]),
        _ => None,
    }
}

/// The byte-index table libyuv's `ARGBShuffle` takes to turn `from` pixels
/// into `to` pixels: output byte `i` is input byte `mask[i]`.
///
/// It covers four pixels because the SIMD versions apply it 16 bytes at a
/// time. Non-4-byte types give the identity table.
pub(super) fn shuffle_mask(from: VideoBufferType, to: VideoBufferType) -> [u8; 16] {
    let identity = [0, 1, 2, 3];
    let src = byte_order(from).unwrap_or(identity);
    let dst = byte_order(to).unwrap_or(identity);
    let mut mask = [0; 16];
    for (i, slot) in mask.iter_mut().enumerate() {
        let (pixel, byte) = (i / 4, i % 4);
        let channel = dst[byte];
        let from_byte = src.iter().position(|&c| c == channel).unwrap_or(byte);
        // Both terms are below 16.
        *slot = (pixel * 4 + from_byte) as u8;
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_mask_matches_byte_names() {
        // RGBA bytes R,G,B,A -> BGRA wants B,G,R,A: take bytes 2,1,0,3.
        assert_eq!(shuffle_mask(Rgba, Bgra)[..8], [2, 1, 0, 3, 6, 5, 4, 7]);
        // RGBA -> ARGB: A first, then R,G,B.
        assert_eq!(shuffle_mask(Rgba, Argb)[..4], [3, 0, 1, 2]);
        // ABGR is RGBA reversed.
        assert_eq!(shuffle_mask(Rgba, Abgr)[12..], [15, 14, 13, 12]);
    }

    #[test]
    fn via_targets_have_direct_routes() {
        for from in VideoBufferType::ALL {
            for to in VideoBufferType::ALL {
                if let Some(Route::Via(mid)) = route(from, to) {
                    assert!(matches!(route(from, mid), Some(Route::Direct { .. })));
                    assert!(matches!(route(mid, to), Some(Route::Direct { .. })));
                }
            }
        }
    }
}
