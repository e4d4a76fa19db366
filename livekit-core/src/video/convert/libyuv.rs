//! Runs a [`Route::Direct`] conversion through libyuv into a fresh buffer.
//!
//! All unsafe code of the conversion path lives here. Its soundness rests on
//! three facts, each checked in [`run`] right before calling libyuv:
//!
//! - The source is a [`VideoFrameView`], whose planes are Rust slices. For
//!   each plane of its type at its size ([`Layout::packed`] gives `rows` rows
//!   of `row` bytes), the stride is at least `row` and the slice holds at
//!   least `(rows - 1) * stride + row` bytes ([`addressable`]). libyuv reads
//!   exactly those rows: row `i` at `i * stride`. Flipping (a negative
//!   height) makes it start at row `rows - 1` and step back by the stride,
//!   which visits the same rows.
//! - That extent, and so every stride and every `(rows - 1) * stride` offset
//!   libyuv computes with C `int`, fits in `c_int` ([`addressable`] again).
//! - The output is a packed buffer of the target type and the same size, and
//!   the step comes from [`route`] for the very source and output types, so
//!   each call reads and writes the planes of exactly those layouts.

use std::os::raw::c_int;

use yuv_sys as yuv;

use super::route::{Route, Step, route, shuffle_mask};
use crate::video::buffer::{
    Layout, Plane, VideoBufferType, VideoFrameBuffer, VideoFrameView, plane_extent,
};

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

/// Whether libyuv may read `src` as it stands: its planes have the geometry
/// of its type at its size, and each plane's extent (so each stride and each
/// row offset) fits in a C `int`.
///
/// Views from [`VideoFrameView::new`] and packed buffers always pass the
/// first part; a view fails the second only with a huge stride on a one-row
/// plane or a plane over 2 GiB, and is then converted from a packed copy.
pub(super) fn addressable(src: &VideoFrameView<'_>) -> bool {
    checked_layout(src).is_some()
}

/// The geometry libyuv reads for `src`'s type and size, if `src`'s planes
/// cover it as [`addressable`] describes. Computed afresh rather than taken
/// from the view, so the check stands on its own.
fn checked_layout(src: &VideoFrameView<'_>) -> Option<Layout> {
    let layout = Layout::packed(src.kind(), src.width(), src.height()).ok()?;
    let covered = src.planes().len() == layout.planes().len()
        && src
            .planes()
            .iter()
            .zip(layout.planes())
            .all(|(&(bytes, stride), &(row, rows))| {
                plane_extent(stride, row, rows).is_some_and(|extent| {
                    extent <= bytes.len()
                        && c_int::try_from(extent).is_ok()
                        && c_int::try_from(stride).is_ok()
                })
            });
    covered.then_some(layout)
}

/// Start and stride of source plane `index`; the stride fits `c_int`, as
/// [`addressable`] checked.
fn source(src: &VideoFrameView<'_>, index: usize) -> (*const u8, c_int) {
    let (bytes, stride) = src.planes().get(index).copied().unwrap_or((&[], 0));
    (bytes.as_ptr(), stride as c_int)
}

/// I010 planes as libyuv wants them: 16-bit pointers, strides in samples.
struct HighPlanes {
    /// Packed, aligned copy, made only when the view cannot be read in place.
    _copy: Option<Vec<u16>>,
    planes: [(*const u16, c_int); 3],
}

impl HighPlanes {
    /// `layout` is the I010 geometry at `src`'s size, which `src` covers.
    fn new(src: &VideoFrameView<'_>, layout: &Layout) -> Self {
        let in_place = cfg!(target_endian = "little")
            && src.planes().iter().all(|&(bytes, stride)| {
                bytes.as_ptr().align_offset(std::mem::align_of::<u16>()) == 0 && stride % 2 == 0
            });
        Self::build(src, layout, in_place)
    }

    /// Points into `src` when `in_place`, else into a decoded packed copy:
    /// libyuv needs aligned samples and a stride of whole samples, which
    /// caller memory need not offer, and big-endian hosts must decode the
    /// little-endian samples anyway.
    fn build(src: &VideoFrameView<'_>, layout: &Layout, in_place: bool) -> Self {
        let mut planes = [(std::ptr::null(), 0); 3];
        if in_place {
            for (slot, &(bytes, stride)) in planes.iter_mut().zip(src.planes()) {
                // Even stride, as `new` checked: whole samples.
                *slot = (bytes.as_ptr().cast::<u16>(), (stride / 2) as c_int);
            }
            return Self {
                _copy: None,
                planes,
            };
        }
        let (packed, len) = layout.packed_planes();
        let mut copy = Vec::with_capacity(len / 2);
        for (&(bytes, stride), &(row, rows)) in src.planes().iter().zip(layout.planes()) {
            let (stride, row) = (stride as usize, row as usize);
            for i in 0..rows as usize {
                let start = i * stride;
                let line = bytes.get(start..start + row).unwrap_or(&[]);
                copy.extend(
                    line.chunks_exact(2)
                        .map(|b| u16::from_le_bytes([b[0], b[1]])),
                );
            }
        }
        // Every row was there (the caller checked); should one not be, the
        // copy still spans every packed plane.
        copy.resize(len / 2, 0);
        for (slot, p) in planes.iter_mut().zip(&packed) {
            // Packed 16-bit rows have even sizes, so offsets and strides
            // are whole samples.
            *slot = (
                copy.as_ptr().wrapping_add(p.offset / 2),
                (p.stride / 2) as c_int,
            );
        }
        Self {
            _copy: Some(copy),
            planes,
        }
    }
}

/// Converts `src` into `out` (same size, possibly flipped vertically), as
/// [`route`] prescribes for the pair; returns libyuv's error code on failure.
///
/// Pairs without a direct route are reported as code -1 and never touch
/// `out`; the caller resolves those before getting here.
/// Views that are not [`addressable`] are refused the same way.
pub(super) fn run(src: &VideoFrameView<'_>, out: &mut Output, flip_y: bool) -> Result<(), c_int> {
    let Some(Route::Direct { step, written }) = route(src.kind(), out.kind) else {
        return Err(-1);
    };
    if (src.width(), src.height()) != (out.width, out.height) {
        return Err(-1);
    }
    let Some(layout) = checked_layout(src) else {
        return Err(-1);
    };
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

    // SAFETY: see the module docs. Source pointers and strides come from
    // `src`'s planes, which `checked_layout` found to span every row libyuv
    // reads for the type at `width` x `rows` (upright or flipped), with
    // `int`-sized strides and offsets; destination pointers come from
    // `out`'s reserved packed planes, laid out for its type at the same size.
    // Planes a type lacks are never passed for it.
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
                let high = HighPlanes::new(src, &layout);
                let [(y, sy), (u, su), (v, sv)] = high.planes;
                f(y, sy, u, su, v, sv, d0, ds0, width, height)
            }
            Step::I010ToI420 => {
                let high = HighPlanes::new(src, &layout);
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

    /// Rows of 16-bit samples `plane * 300 + i * 7`, `row` bytes each, laid
    /// out at `stride` bytes (`0xEE` padding) starting `skew` bytes into a
    /// `u16` allocation, so the start's alignment is known.
    fn i010_plane(plane: usize, row: usize, rows: usize, stride: usize, skew: usize) -> Vec<u16> {
        let mut bytes = vec![0xEE; skew];
        for r in 0..rows {
            for c in 0..row / 2 {
                let value = (plane * 300 + (r * row / 2 + c) * 7) as u16;
                bytes.extend(value.to_le_bytes());
            }
            if r + 1 < rows {
                bytes.resize(bytes.len() + stride - row, 0xEE);
            }
        }
        bytes.resize(bytes.len().next_multiple_of(2), 0);
        bytes
            .chunks_exact(2)
            .map(|b| u16::from_ne_bytes([b[0], b[1]]))
            .collect()
    }

    fn as_bytes(samples: &[u16]) -> &[u8] {
        // SAFETY: any initialised `u16` memory is valid as bytes.
        unsafe { std::slice::from_raw_parts(samples.as_ptr().cast(), samples.len() * 2) }
    }

    #[test]
    fn i010_samples_read_the_same_in_place_and_copied() {
        let (w, h) = (5u32, 3u32);
        // (extra stride bytes, skew): packed, even padding, odd padding, and
        // an odd start.
        for (pad, skew) in [(0, 0), (6, 0), (3, 0), (0, 1), (4, 1)] {
            let layout = Layout::packed(VideoBufferType::I010, w, h).unwrap();
            let storage: Vec<Vec<u16>> = layout
                .planes()
                .iter()
                .enumerate()
                .map(|(i, &(row, rows))| {
                    i010_plane(i, row as usize, rows as usize, row as usize + pad, skew)
                })
                .collect();
            let planes: Vec<(&[u8], u32)> = storage
                .iter()
                .zip(layout.planes())
                .map(|(s, &(row, _))| (&as_bytes(s)[skew..], row + pad as u32))
                .collect();
            let view = VideoFrameView::new(VideoBufferType::I010, w, h, &planes).unwrap();
            let readable = cfg!(target_endian = "little") && pad % 2 == 0 && skew == 0;
            assert_eq!(HighPlanes::new(&view, &layout)._copy.is_none(), readable);
            let mut modes = vec![false];
            if readable {
                modes.push(true);
            }
            for in_place in modes {
                let high = HighPlanes::build(&view, &layout, in_place);
                for (plane, (&(ptr, stride), &(row, rows))) in
                    high.planes.iter().zip(layout.planes()).enumerate()
                {
                    let (row, rows) = (row as usize / 2, rows as usize);
                    let expected: Vec<u16> = (0..row * rows)
                        .map(|i| (plane * 300 + i * 7) as u16)
                        .collect();
                    let got: Vec<u16> = (0..rows)
                        .flat_map(|r| (0..row).map(move |c| r * stride as usize + c))
                        // SAFETY: row `r` of `row` samples starts `r * stride`
                        // samples into the plane, which holds every row.
                        .map(|i| unsafe { ptr.add(i).read() })
                        .collect();
                    assert_eq!(got, expected, "plane {plane}, pad {pad}, skew {skew}");
                }
            }
        }
    }

    #[test]
    fn addressable_needs_int_sized_strides() {
        let data = [0u8; 64];
        let ok = VideoFrameView::new(VideoBufferType::Rgba, 2, 2, &[(&data, 32)]).unwrap();
        assert!(addressable(&ok));
        // One row: any stride passes validation, but libyuv takes an `int`.
        let huge = VideoFrameView::new(VideoBufferType::Rgba, 2, 1, &[(&data, u32::MAX)]).unwrap();
        assert!(!addressable(&huge));
        let mut out = Output::new(VideoBufferType::I420, 2, 1).unwrap();
        assert_eq!(run(&huge, &mut out, false), Err(-1));
    }
}
