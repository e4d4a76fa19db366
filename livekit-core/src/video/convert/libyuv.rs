//! Runs a [`Route::Direct`] conversion through libyuv into a fresh buffer.
//!
//! All unsafe code of the conversion path lives here. Its soundness rests on
//! two facts: buffers are always tightly packed with the plane geometry of
//! their type ([`Layout::packed`]), and the step comes from [`route`] for the
//! very source and output types at hand, so every pointer and stride handed to
//! libyuv describes memory of exactly the size libyuv reads or writes.

use std::os::raw::c_int;

use yuv_sys as yuv;

use super::route::{Route, Step, route, shuffle_mask};
use crate::video::buffer::{Layout, Plane, VideoBufferType, VideoFrameBuffer};

/// A packed output buffer that libyuv fills.
///
/// The allocation starts uninitialised: zero-filling would be one more pass
/// over every output byte, which libyuv overwrites anyway.
pub(super) struct Output {
    kind: VideoBufferType,
    width: u32,
    height: u32,
    data: Vec<u8>,
    planes: Vec<Plane>,
    len: usize,
}

impl Output {
    /// Reserves an uninitialised packed `kind` buffer of the given size.
    pub(super) fn new(
        kind: VideoBufferType,
        width: u32,
        height: u32,
    ) -> Result<Self, crate::video::VideoError> {
        let (planes, len) = Layout::packed(kind, width, height)?.packed_planes();
        Ok(Self {
            kind,
            width,
            height,
            data: Vec::with_capacity(len),
            planes,
            len,
        })
    }

    /// Like [`Output::new`] but pre-filled with `byte`, so tests can prove
    /// that each conversion overwrites every byte.
    #[cfg(test)]
    pub(super) fn filled(
        kind: VideoBufferType,
        width: u32,
        height: u32,
        byte: u8,
    ) -> Result<Self, crate::video::VideoError> {
        let mut out = Self::new(kind, width, height)?;
        out.data.resize(out.len, byte);
        Ok(out)
    }

    /// Start and stride of output plane `index`.
    fn plane(&mut self, index: usize) -> (*mut u8, c_int) {
        let (offset, stride) = self
            .planes
            .get(index)
            .map_or((0, 0), |p| (p.offset, p.stride));
        // `offset` lies inside the reserved capacity; `stride` is at most
        // 4 * MAX_DIMENSION, far below `c_int::MAX`.
        (self.data.as_mut_ptr().wrapping_add(offset), stride as c_int)
    }

    /// Turns the output into a buffer.
    ///
    /// # Safety
    /// Every byte of every plane must have been written.
    pub(super) unsafe fn finish(mut self) -> VideoFrameBuffer {
        // SAFETY: capacity is `len` and the caller vouches it is initialised.
        unsafe { self.data.set_len(self.len) };
        VideoFrameBuffer::from_packed_parts(
            self.kind,
            self.width,
            self.height,
            self.data,
            self.planes,
        )
    }
}

/// Start and stride of source plane `index`.
fn source(src: &VideoFrameBuffer, index: usize) -> (*const u8, c_int) {
    let stride = src.planes().get(index).map_or(0, |p| p.stride);
    (src.plane(index).as_ptr(), stride as c_int)
}

/// I010 planes as libyuv wants them: 16-bit pointers, strides in samples.
struct HighPlanes {
    /// Aligned copy, made only when the buffer cannot be read in place.
    _copy: Option<Vec<u16>>,
    planes: [(*const u16, c_int); 3],
}

impl HighPlanes {
    fn new(src: &VideoFrameBuffer) -> Self {
        let in_place = cfg!(target_endian = "little")
            && src
                .data()
                .as_ptr()
                .align_offset(std::mem::align_of::<u16>())
                == 0;
        Self::build(src, in_place)
    }

    /// Points into `src` when `in_place`, else into a decoded copy: the
    /// allocator gives no alignment promise for a `Vec<u8>`, and big-endian
    /// hosts must decode the little-endian samples anyway.
    fn build(src: &VideoFrameBuffer, in_place: bool) -> Self {
        let data = src.data();
        let copy = (!in_place).then(|| {
            data.chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .collect::<Vec<u16>>()
        });
        let mut planes = [(std::ptr::null(), 0); 3];
        for (slot, p) in planes.iter_mut().zip(src.planes()) {
            // Offsets and strides of 16-bit planes are even by construction.
            let samples = match &copy {
                Some(copy) => copy.as_ptr().wrapping_add(p.offset / 2),
                None => data.as_ptr().wrapping_add(p.offset).cast::<u16>(),
            };
            *slot = (samples, (p.stride / 2) as c_int);
        }
        Self {
            _copy: copy,
            planes,
        }
    }
}

/// Converts `src` into `out` (same size, possibly flipped vertically), as
/// [`route`] prescribes for the pair; returns libyuv's error code on failure.
///
/// Pairs without a direct route are reported as code -1 and never touch
/// `out`; the caller resolves those before getting here.
pub(super) fn run(src: &VideoFrameBuffer, out: &mut Output, flip_y: bool) -> Result<(), c_int> {
    let Some(Route::Direct { step, written }) = route(src.kind(), out.kind) else {
        return Err(-1);
    };
    if (src.width(), src.height()) != (out.width, out.height)
        || src.planes().len() != src.kind().plane_count()
    {
        return Err(-1);
    }
    // Both sides are at most MAX_DIMENSION; negative height is libyuv's way
    // of asking for a vertical flip.
    let width = out.width as c_int;
    let rows = out.height as c_int;
    let height = if flip_y { -rows } else { rows };

    let (s0, ss0) = source(src, 0);
    let (s1, ss1) = source(src, 1);
    let (s2, ss2) = source(src, 2);
    let (s3, ss3) = source(src, 3);
    let (d0, ds0) = out.plane(0);
    let (d1, ds1) = out.plane(1);
    let (d2, ds2) = out.plane(2);
    let (d3, ds3) = out.plane(3);

    // SAFETY: see the module docs. Source pointers come from `src`'s packed
    // planes and destination pointers from `out`'s reserved packed planes,
    // both laid out for their types at `width` x `rows`, which is exactly the
    // region each libyuv call reads or writes. Planes a type lacks are never
    // passed for it.
    let code = unsafe {
        match step {
            Step::PackedToI420(f) => f(s0, ss0, d0, ds0, d1, ds1, d2, ds2, width, height),
            Step::PackedToPacked(f) => f(s0, ss0, d0, ds0, width, height),
            Step::Shuffle => {
                let mask = shuffle_mask(src.kind(), written);
                yuv::rs_ARGBShuffle(s0, ss0, d0, ds0, mask.as_ptr(), width, height)
            }
            Step::PlanarToPacked(f) => f(s0, ss0, s1, ss1, s2, ss2, d0, ds0, width, height),
            Step::PlanarToPlanar(f) => f(
                s0, ss0, s1, ss1, s2, ss2, d0, ds0, d1, ds1, d2, ds2, width, height,
            ),
            Step::I420ToNv12 => {
                yuv::rs_I420ToNV12(s0, ss0, s1, ss1, s2, ss2, d0, ds0, d1, ds1, width, height)
            }
            Step::I420ToI420a => {
                let code = yuv::rs_I420Copy(
                    s0, ss0, s1, ss1, s2, ss2, d0, ds0, d1, ds1, d2, ds2, width, height,
                );
                if code == 0 {
                    yuv::rs_SetPlane(d3, ds3, width, rows, 255);
                }
                code
            }
            Step::AlphaToPacked(f) => f(
                s0, ss0, s1, ss1, s2, ss2, s3, ss3, d0, ds0, width, height, 0,
            ),
            Step::Nv12ToPacked(f) => f(s0, ss0, s1, ss1, d0, ds0, width, height),
            Step::Nv12ToI420 => {
                yuv::rs_NV12ToI420(s0, ss0, s1, ss1, d0, ds0, d1, ds1, d2, ds2, width, height)
            }
            Step::I010ToPacked(f) => {
                let high = HighPlanes::new(src);
                let [(y, sy), (u, su), (v, sv)] = high.planes;
                f(y, sy, u, su, v, sv, d0, ds0, width, height)
            }
            Step::I010ToI420 => {
                let high = HighPlanes::new(src);
                let [(y, sy), (u, su), (v, sv)] = high.planes;
                yuv::rs_I010ToI420(
                    y, sy, u, su, v, sv, d0, ds0, d1, ds1, d2, ds2, width, height,
                )
            }
        }
    };
    if code != 0 {
        return Err(code);
    }
    if written != out.kind {
        let mask = shuffle_mask(written, out.kind);
        // SAFETY: the step above wrote all of plane 0 as `written`, a 4-byte
        // layout like the target, so the plane is initialised and sized for
        // `width` x `rows` pixels. libyuv's shuffle reads each pixel before
        // writing it, which makes the in-place call well-defined.
        let code = unsafe { yuv::rs_ARGBShuffle(d0, ds0, d0, ds0, mask.as_ptr(), width, rows) };
        if code != 0 {
            return Err(code);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i010_samples_read_the_same_in_place_and_copied() {
        let (w, h) = (5u32, 3u32);
        let mut buf = VideoFrameBuffer::new(VideoBufferType::I010, w, h).unwrap();
        for plane in 0..3 {
            for (i, pair) in buf.plane_mut(plane).chunks_exact_mut(2).enumerate() {
                let value = (plane * 300 + i * 7) as u16;
                pair.copy_from_slice(&value.to_le_bytes());
            }
        }
        let mut modes = vec![false];
        if cfg!(target_endian = "little")
            && buf
                .data()
                .as_ptr()
                .align_offset(std::mem::align_of::<u16>())
                == 0
        {
            modes.push(true);
        }
        for in_place in modes {
            let high = HighPlanes::build(&buf, in_place);
            for (plane, &(ptr, stride)) in high.planes.iter().enumerate() {
                let expected: Vec<u16> = buf
                    .plane(plane)
                    .chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]))
                    .collect();
                let rows = expected.len() / stride as usize;
                let got: Vec<u16> = (0..rows * stride as usize)
                    // SAFETY: within the plane, which holds `rows` rows of
                    // `stride` samples.
                    .map(|i| unsafe { ptr.add(i).read() })
                    .collect();
                assert_eq!(got, expected, "plane {plane}, in place {in_place}");
            }
        }
    }
}
