//! Video frame buffers: one contiguous allocation holding every plane.
//!
//! The SDKs read a frame as a single block of memory plus a description of
//! where each plane starts, so a buffer keeps all of its planes in one `Vec`.
//! Buffers built here are always tightly packed (stride equals the row size),
//! which lets conversions treat a whole plane as one run of rows and lets the
//! FFI describe a buffer from its type and size alone.
//!
//! Frames in memory someone else owns (such as the host's, behind an FFI
//! request) are read through a [`VideoFrameView`] instead: planes borrowed
//! with any stride, checked once, converted without a copy first.

use std::fmt;

/// Largest accepted width or height.
///
/// Larger frames are far beyond what any encoder accepts, and the cap keeps
/// every plane size and every offset libyuv computes with C `int` in range.
pub const MAX_DIMENSION: u32 = 16384;

/// Pixel layout of a frame, numbered as in the FFI protocol.
///
/// Packed RGB names give the byte order in memory: `Rgba` is the bytes R, G,
/// B, A in that order. (libyuv names the same layouts after little-endian
/// words, so its "ABGR" is our `Rgba`.)
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoBufferType {
    /// Bytes R, G, B, A.
    Rgba = 0,
    /// Bytes A, B, G, R.
    Abgr = 1,
    /// Bytes A, R, G, B.
    Argb = 2,
    /// Bytes B, G, R, A.
    Bgra = 3,
    /// Bytes R, G, B, without alpha.
    Rgb24 = 4,
    /// 8-bit planar Y, U, V with chroma halved in both directions.
    I420 = 5,
    /// I420 plus a full-resolution alpha plane.
    I420a = 6,
    /// 8-bit planar Y, U, V with chroma halved horizontally only.
    I422 = 7,
    /// 8-bit planar Y, U, V at full resolution.
    I444 = 8,
    /// 10-bit I420 stored as little-endian 16-bit samples.
    I010 = 9,
    /// Y plane followed by one plane of interleaved U, V pairs (4:2:0).
    Nv12 = 10,
}

impl VideoBufferType {
    /// Every type, in protocol order; handy for exhaustive checks.
    pub const ALL: [VideoBufferType; 11] = [
        Self::Rgba,
        Self::Abgr,
        Self::Argb,
        Self::Bgra,
        Self::Rgb24,
        Self::I420,
        Self::I420a,
        Self::I422,
        Self::I444,
        Self::I010,
        Self::Nv12,
    ];

    /// Number of planes callers pass to [`VideoFrameView::new`] (and
    /// [`VideoFrameBuffer::from_planes`]) and that
    /// [`VideoFrameBuffer::planes`] reports.
    pub fn plane_count(self) -> usize {
        match self {
            Self::Rgba | Self::Abgr | Self::Argb | Self::Bgra | Self::Rgb24 => 1,
            Self::Nv12 => 2,
            Self::I420 | Self::I422 | Self::I444 | Self::I010 => 3,
            Self::I420a => 4,
        }
    }

    /// Whether this is a single-plane RGB layout, the kind a source has to
    /// convert before encoding.
    pub fn is_rgb(self) -> bool {
        matches!(
            self,
            Self::Rgba | Self::Abgr | Self::Argb | Self::Bgra | Self::Rgb24
        )
    }
}

impl TryFrom<i32> for VideoBufferType {
    type Error = VideoError;

    fn try_from(value: i32) -> Result<Self, VideoError> {
        usize::try_from(value)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
            .ok_or(VideoError::UnknownBufferType(value))
    }
}

impl From<VideoBufferType> for i32 {
    fn from(kind: VideoBufferType) -> i32 {
        kind as i32
    }
}

/// Why a buffer could not be built or converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VideoError {
    /// A side is zero or above [`MAX_DIMENSION`].
    #[error("invalid frame size {width}x{height}: each side must be 1..={max}", max = MAX_DIMENSION)]
    InvalidDimensions {
        /// Requested width in pixels.
        width: u32,
        /// Requested height in pixels.
        height: u32,
    },
    /// The integer does not name a [`VideoBufferType`].
    #[error("unknown video buffer type {0}")]
    UnknownBufferType(i32),
    /// The caller passed the wrong number of planes for the type.
    #[error("{kind:?} has {expected} planes, {actual} given")]
    PlaneCount {
        /// Type being built.
        kind: VideoBufferType,
        /// Planes the type has.
        expected: usize,
        /// Planes passed.
        actual: usize,
    },
    /// A row stride is shorter than one row of pixels.
    #[error("plane {plane}: stride {stride} is below the row size {min}")]
    StrideTooSmall {
        /// Plane index in the type's plane order.
        plane: usize,
        /// Stride given, in bytes.
        stride: u32,
        /// Bytes one row needs.
        min: u32,
    },
    /// A plane holds fewer bytes than its rows need.
    #[error("plane {plane}: {len} bytes given, {needed} needed")]
    PlaneTooShort {
        /// Plane index in the type's plane order.
        plane: usize,
        /// Bytes given.
        len: usize,
        /// Bytes the plane's rows need at the given stride.
        needed: usize,
    },
    /// No conversion between these types is implemented.
    #[error("conversion from {from:?} to {to:?} is not supported")]
    Unsupported {
        /// Source type.
        from: VideoBufferType,
        /// Requested type.
        to: VideoBufferType,
    },
    /// libyuv rejected a conversion whose arguments we had already checked;
    /// kept as an error rather than a panic because it comes from C.
    #[error("libyuv failed converting {from:?} to {to:?} (code {code})")]
    Backend {
        /// Source type.
        from: VideoBufferType,
        /// Requested type.
        to: VideoBufferType,
        /// libyuv's return value.
        code: i32,
    },
}

/// Where one plane lives inside [`VideoFrameBuffer::data`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plane {
    /// Byte offset of the plane's first row.
    pub offset: usize,
    /// Bytes from one row to the next.
    pub stride: u32,
    /// Bytes the plane occupies.
    pub len: usize,
}

/// Row size in bytes and row count of each plane, for a fixed-size type.
///
/// Kept on the stack because conversions compute it per frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    count: usize,
    planes: [(u32, u32); 4],
}

impl Layout {
    /// Geometry of a tightly packed `kind` frame, after checking the size.
    pub(crate) fn packed(
        kind: VideoBufferType,
        width: u32,
        height: u32,
    ) -> Result<Self, VideoError> {
        check_dimensions(width, height)?;
        // Chroma covers the odd last column/row too, as libyuv expects.
        let cw = width.div_ceil(2);
        let ch = height.div_ceil(2);
        let (w, h) = (width, height);
        let list: &[(u32, u32)] = match kind {
            VideoBufferType::Rgba
            | VideoBufferType::Abgr
            | VideoBufferType::Argb
            | VideoBufferType::Bgra => &[(w * 4, h)],
            VideoBufferType::Rgb24 => &[(w * 3, h)],
            VideoBufferType::I420 => &[(w, h), (cw, ch), (cw, ch)],
            VideoBufferType::I420a => &[(w, h), (cw, ch), (cw, ch), (w, h)],
            VideoBufferType::I422 => &[(w, h), (cw, h), (cw, h)],
            VideoBufferType::I444 => &[(w, h), (w, h), (w, h)],
            VideoBufferType::I010 => &[(w * 2, h), (cw * 2, ch), (cw * 2, ch)],
            VideoBufferType::Nv12 => &[(w, h), (cw * 2, ch)],
        };
        let mut planes = [(0, 0); 4];
        for (slot, &plane) in planes.iter_mut().zip(list) {
            *slot = plane;
        }
        Ok(Self {
            count: list.len(),
            planes,
        })
    }

    /// (row bytes, rows) per plane.
    pub(crate) fn planes(&self) -> &[(u32, u32)] {
        self.planes.get(..self.count).unwrap_or(&[])
    }

    /// Plane descriptions of the packed buffer and its total size.
    pub(crate) fn packed_planes(&self) -> (Vec<Plane>, usize) {
        let mut offset = 0;
        let planes = self
            .planes()
            .iter()
            .map(|&(row, rows)| {
                // Bounded by MAX_DIMENSION: at most 4 * 16384 * 16384 bytes.
                let len = row as usize * rows as usize;
                let plane = Plane {
                    offset,
                    stride: row,
                    len,
                };
                offset += len;
                plane
            })
            .collect();
        (planes, offset)
    }
}

/// Bytes a plane of `rows` rows of `row` bytes spans at `stride`: every row
/// but the last padded to the stride, the last one not. `None` when the
/// stride is shorter than a row or the size overflows.
pub(crate) fn plane_extent(stride: u32, row: u32, rows: u32) -> Option<usize> {
    if stride < row {
        return None;
    }
    (stride as usize)
        .checked_mul((rows as usize).saturating_sub(1))?
        .checked_add(row as usize)
}

fn check_dimensions(width: u32, height: u32) -> Result<(), VideoError> {
    if (1..=MAX_DIMENSION).contains(&width) && (1..=MAX_DIMENSION).contains(&height) {
        Ok(())
    } else {
        Err(VideoError::InvalidDimensions { width, height })
    }
}

/// A video frame's pixels in one allocation, with its planes described.
///
/// This is how frames are handed to the SDKs: Python reads the whole buffer as
/// one block, and buffers made here always have tightly packed planes.
#[derive(Clone, PartialEq, Eq)]
pub struct VideoFrameBuffer {
    kind: VideoBufferType,
    width: u32,
    height: u32,
    data: Vec<u8>,
    planes: Vec<Plane>,
}

impl fmt::Debug for VideoFrameBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Pixel data would flood logs; the shape is what matters.
        f.debug_struct("VideoFrameBuffer")
            .field("kind", &self.kind)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("len", &self.data.len())
            .field("planes", &self.planes)
            .finish()
    }
}

impl VideoFrameBuffer {
    /// A tightly packed buffer with every byte zero.
    ///
    /// Zero is not black for YUV types (it is dark green); use
    /// [`VideoFrameBuffer::black_i420`] for a blank picture.
    pub fn new(kind: VideoBufferType, width: u32, height: u32) -> Result<Self, VideoError> {
        let (planes, len) = Layout::packed(kind, width, height)?.packed_planes();
        Ok(Self {
            kind,
            width,
            height,
            data: vec![0; len],
            planes,
        })
    }

    /// A black I420 frame (Y 0, U and V 128), as WebRTC sends when a track
    /// has nothing to show.
    ///
    /// Fails only for sizes [`VideoFrameBuffer::new`] rejects.
    pub fn black_i420(width: u32, height: u32) -> Result<Self, VideoError> {
        let (planes, len) = Layout::packed(VideoBufferType::I420, width, height)?.packed_planes();
        let luma = planes.first().map_or(0, |p| p.len);
        let mut data = vec![0; luma];
        data.resize(len, 128);
        Ok(Self {
            kind: VideoBufferType::I420,
            width,
            height,
            data,
            planes,
        })
    }

    /// Copies a frame out of caller memory, re-packing it tightly.
    ///
    /// Takes the planes [`VideoFrameView::new`] takes and fails as it does;
    /// this is that view's [`VideoFrameView::to_buffer`]. To convert caller
    /// memory, convert the view instead and skip this copy.
    pub fn from_planes(
        kind: VideoBufferType,
        width: u32,
        height: u32,
        planes: &[(&[u8], u32)],
    ) -> Result<Self, VideoError> {
        Ok(VideoFrameView::new(kind, width, height, planes)?.to_buffer())
    }

    /// Borrows the buffer as a view, the form conversions read.
    pub fn view(&self) -> VideoFrameView<'_> {
        let mut layout = Layout {
            count: self.planes.len().min(4),
            planes: [(0, 0); 4],
        };
        let mut planes: [(&[u8], u32); 4] = [(&[], 0); 4];
        for (index, plane) in self.planes.iter().enumerate().take(4) {
            // Packed: the stride is the row size (at least 1, as width is)
            // and the plane holds exactly `rows` rows.
            let rows = plane.len.checked_div(plane.stride as usize).unwrap_or(0);
            if let (Some(geometry), Some(slot)) =
                (layout.planes.get_mut(index), planes.get_mut(index))
            {
                *geometry = (plane.stride, rows as u32);
                *slot = (self.plane(index), plane.stride);
            }
        }
        let view = VideoFrameView {
            kind: self.kind,
            width: self.width,
            height: self.height,
            layout,
            planes,
        };
        debug_assert!(
            VideoFrameView::new(self.kind, self.width, self.height, view.planes())
                .is_ok_and(|checked| checked.layout.planes() == layout.planes()),
            "{self:?} is not a valid packed buffer"
        );
        view
    }

    /// (stride, rows) of each plane of a tightly packed buffer, so the FFI can
    /// describe buffers and size-check caller memory without building one.
    pub fn packed_layout(
        kind: VideoBufferType,
        width: u32,
        height: u32,
    ) -> Result<Vec<(u32, u32)>, VideoError> {
        Ok(Layout::packed(kind, width, height)?.planes().to_vec())
    }

    /// Assembles a buffer whose planes the caller has already laid out.
    ///
    /// Only the conversion code uses this, with `planes` from
    /// [`Layout::packed_planes`] and `data` exactly that long.
    pub(crate) fn from_packed_parts(
        kind: VideoBufferType,
        width: u32,
        height: u32,
        data: Vec<u8>,
        planes: Vec<Plane>,
    ) -> Self {
        Self {
            kind,
            width,
            height,
            data,
            planes,
        }
    }

    /// Pixel layout.
    pub fn kind(&self) -> VideoBufferType {
        self.kind
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The whole allocation, every plane included.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Where each plane sits in [`VideoFrameBuffer::data`].
    pub fn planes(&self) -> &[Plane] {
        &self.planes
    }

    /// Bytes of plane `index`; empty if the type has no such plane, so a bad
    /// index from a caller cannot bring the process down.
    pub fn plane(&self, index: usize) -> &[u8] {
        self.planes
            .get(index)
            .and_then(|p| self.data.get(p.offset..p.offset + p.len))
            .unwrap_or(&[])
    }

    /// Mutable bytes of plane `index` (empty if there is none), for filling a
    /// buffer from [`VideoFrameBuffer::new`] in place.
    pub fn plane_mut(&mut self, index: usize) -> &mut [u8] {
        match self.planes.get(index) {
            Some(p) => self
                .data
                .get_mut(p.offset..p.offset + p.len)
                .unwrap_or(&mut []),
            None => &mut [],
        }
    }

    /// Gives up the allocation, e.g. to hand it to a caller that frees it
    /// later, without copying.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }
}

/// A frame in memory someone else owns, each plane borrowed with its stride.
///
/// Conversions read straight from a view, so a caller's frame (host memory
/// behind an FFI request, say) is not copied into a [`VideoFrameBuffer`]
/// first. Strides may exceed the row size and the last row of a plane need
/// not be padded. [`VideoFrameView::new`] checks that every plane holds all
/// of its rows, and the view keeps each plane trimmed to exactly that span.
#[derive(Clone, Copy)]
pub struct VideoFrameView<'a> {
    kind: VideoBufferType,
    width: u32,
    height: u32,
    /// (row bytes, rows) of each plane, as [`Layout::packed`] gives them.
    layout: Layout,
    /// (bytes, stride) of each plane; planes past `layout.count` are empty.
    planes: [(&'a [u8], u32); 4],
}

impl fmt::Debug for VideoFrameView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let planes: Vec<(usize, u32)> = self
            .planes()
            .iter()
            .map(|&(bytes, stride)| (bytes.len(), stride))
            .collect();
        f.debug_struct("VideoFrameView")
            .field("kind", &self.kind)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("planes (len, stride)", &planes)
            .finish()
    }
}

impl<'a> VideoFrameView<'a> {
    /// Describes a frame in caller memory after checking it.
    ///
    /// `planes` holds (bytes, stride) for each plane in the type's order:
    /// packed RGB has one; I420, I422 and I444 have Y, U, V; I420A adds A;
    /// I010 has Y, U, V of 16-bit little-endian samples with strides in bytes;
    /// NV12 has Y and interleaved UV. Each stride must cover a row and each
    /// plane must hold all its rows: `(rows - 1) * stride + row` bytes, as
    /// the last row need not be padded. Extra bytes are ignored.
    pub fn new(
        kind: VideoBufferType,
        width: u32,
        height: u32,
        planes: &[(&'a [u8], u32)],
    ) -> Result<Self, VideoError> {
        let layout = Layout::packed(kind, width, height)?;
        if planes.len() != layout.planes().len() {
            return Err(VideoError::PlaneCount {
                kind,
                expected: layout.planes().len(),
                actual: planes.len(),
            });
        }
        let mut kept: [(&'a [u8], u32); 4] = [(&[], 0); 4];
        for (plane, ((&(bytes, stride), &(row, rows)), slot)) in planes
            .iter()
            .zip(layout.planes())
            .zip(kept.iter_mut())
            .enumerate()
        {
            if stride < row {
                return Err(VideoError::StrideTooSmall {
                    plane,
                    stride,
                    min: row,
                });
            }
            let needed = plane_extent(stride, row, rows).unwrap_or(usize::MAX);
            let Some(span) = bytes.get(..needed) else {
                return Err(VideoError::PlaneTooShort {
                    plane,
                    len: bytes.len(),
                    needed,
                });
            };
            *slot = (span, stride);
        }
        Ok(Self {
            kind,
            width,
            height,
            layout,
            planes: kept,
        })
    }

    /// Pixel layout.
    pub fn kind(&self) -> VideoBufferType {
        self.kind
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// (bytes, stride) of each plane, each trimmed to the bytes its rows
    /// span.
    pub fn planes(&self) -> &[(&'a [u8], u32)] {
        self.planes.get(..self.layout.count).unwrap_or(&[])
    }

    /// A tightly packed copy.
    pub fn to_buffer(&self) -> VideoFrameBuffer {
        self.repack(false)
    }

    /// A tightly packed copy, with each plane's rows reversed when `flip_y`.
    pub(crate) fn repack(&self, flip_y: bool) -> VideoFrameBuffer {
        let (packed, len) = self.layout.packed_planes();
        let mut data = Vec::with_capacity(len);
        for (&(bytes, stride), &(row, rows)) in self.planes().iter().zip(self.layout.planes()) {
            let (stride, row, rows) = (stride as usize, row as usize, rows as usize);
            if stride == row && !flip_y {
                // Already packed: one copy for the whole plane.
                data.extend_from_slice(bytes);
                continue;
            }
            // `new` checked that row `i` lies at `i * stride .. + row`.
            let row_at = |i: usize| bytes.get(i * stride..i * stride + row).unwrap_or(&[]);
            if flip_y {
                (0..rows)
                    .rev()
                    .for_each(|i| data.extend_from_slice(row_at(i)));
            } else {
                (0..rows).for_each(|i| data.extend_from_slice(row_at(i)));
            }
        }
        debug_assert_eq!(data.len(), len);
        VideoFrameBuffer::from_packed_parts(self.kind, self.width, self.height, data, packed)
    }
}

#[cfg(test)]
mod tests {
    use super::VideoBufferType::*;
    use super::*;

    #[test]
    fn buffer_type_ids_match_the_protocol() {
        for (id, kind) in VideoBufferType::ALL.into_iter().enumerate() {
            let id = i32::try_from(id).unwrap();
            assert_eq!(i32::from(kind), id);
            assert_eq!(VideoBufferType::try_from(id), Ok(kind));
        }
        assert_eq!(Nv12 as i32, 10);
        for bad in [-1, 11, i32::MAX, i32::MIN] {
            assert_eq!(
                VideoBufferType::try_from(bad),
                Err(VideoError::UnknownBufferType(bad))
            );
        }
    }

    #[test]
    fn packed_layout_rounds_chroma_up_for_odd_sizes() {
        let layout = |kind| VideoFrameBuffer::packed_layout(kind, 5, 3).unwrap();
        assert_eq!(layout(Rgba), [(20, 3)]);
        assert_eq!(layout(Rgb24), [(15, 3)]);
        assert_eq!(layout(I420), [(5, 3), (3, 2), (3, 2)]);
        assert_eq!(layout(I420a), [(5, 3), (3, 2), (3, 2), (5, 3)]);
        assert_eq!(layout(I422), [(5, 3), (3, 3), (3, 3)]);
        assert_eq!(layout(I444), [(5, 3), (5, 3), (5, 3)]);
        assert_eq!(layout(I010), [(10, 3), (6, 2), (6, 2)]);
        assert_eq!(layout(Nv12), [(5, 3), (6, 2)]);
    }

    #[test]
    fn bad_dimensions_are_rejected() {
        for (w, h) in [
            (0, 10),
            (10, 0),
            (0, 0),
            (MAX_DIMENSION + 1, 1),
            (1, MAX_DIMENSION + 1),
            (u32::MAX, u32::MAX),
        ] {
            let err = VideoError::InvalidDimensions {
                width: w,
                height: h,
            };
            for kind in VideoBufferType::ALL {
                assert_eq!(VideoFrameBuffer::new(kind, w, h).err(), Some(err.clone()));
                assert_eq!(
                    VideoFrameBuffer::packed_layout(kind, w, h).err(),
                    Some(err.clone())
                );
                let planes = vec![(&[][..], u32::MAX); kind.plane_count()];
                assert_eq!(
                    VideoFrameBuffer::from_planes(kind, w, h, &planes).err(),
                    Some(err.clone())
                );
            }
            assert_eq!(VideoFrameBuffer::black_i420(w, h).err(), Some(err));
        }
        // The largest allowed size is accepted (layout only: no allocation).
        assert!(VideoFrameBuffer::packed_layout(Rgba, MAX_DIMENSION, MAX_DIMENSION).is_ok());
    }

    #[test]
    fn new_buffers_are_zeroed_and_tightly_packed() {
        for kind in VideoBufferType::ALL {
            let buf = VideoFrameBuffer::new(kind, 7, 5).unwrap();
            assert_eq!((buf.kind(), buf.width(), buf.height()), (kind, 7, 5));
            let layout = VideoFrameBuffer::packed_layout(kind, 7, 5).unwrap();
            assert_eq!(buf.planes().len(), layout.len());
            let mut offset = 0;
            for (plane, (stride, rows)) in buf.planes().iter().zip(layout) {
                assert_eq!(plane.offset, offset);
                assert_eq!(plane.stride, stride);
                assert_eq!(plane.len, (stride * rows) as usize);
                offset += plane.len;
            }
            assert_eq!(buf.data().len(), offset);
            assert!(buf.data().iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn black_i420_has_zero_luma_and_neutral_chroma() {
        let buf = VideoFrameBuffer::black_i420(5, 3).unwrap();
        assert_eq!(buf.kind(), I420);
        assert!(buf.plane(0).iter().all(|&b| b == 0));
        assert_eq!(buf.plane(1), [128; 6]);
        assert_eq!(buf.plane(2), [128; 6]);
        assert_eq!(buf.data().len(), 15 + 12);
    }

    #[test]
    fn from_planes_repacks_padded_strides() {
        // 5x3 I420: Y rows of 5 in a stride of 8, chroma rows of 3 in 4.
        let pad = 0xEE;
        let y: Vec<u8> = (0..3)
            .flat_map(|r| (0..8).map(move |c| if c < 5 { r * 10 + c } else { pad }))
            .collect();
        let u: Vec<u8> = (0..2)
            .flat_map(|r| (0..4).map(move |c| if c < 3 { 100 + r * 10 + c } else { pad }))
            .collect();
        let v: Vec<u8> = u
            .iter()
            .map(|&b| if b == pad { pad } else { b + 50 })
            .collect();
        let buf = VideoFrameBuffer::from_planes(I420, 5, 3, &[(&y, 8), (&u, 4), (&v, 4)]).unwrap();
        assert_eq!(
            buf.plane(0),
            [0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24]
        );
        assert_eq!(buf.plane(1), [100, 101, 102, 110, 111, 112]);
        assert_eq!(buf.plane(2), [150, 151, 152, 160, 161, 162]);
        assert_eq!(
            buf.planes(),
            VideoFrameBuffer::new(I420, 5, 3).unwrap().planes()
        );
    }

    #[test]
    fn from_planes_accepts_unpadded_last_row_and_extra_bytes() {
        // RGBA 2x2 with stride 12: the last row needs only 8 bytes.
        let data: Vec<u8> = (0..20).collect();
        let buf = VideoFrameBuffer::from_planes(Rgba, 2, 2, &[(&data, 12)]).unwrap();
        assert_eq!(
            buf.data(),
            [0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 16, 17, 18, 19]
        );
        let long = vec![9; 100];
        let buf = VideoFrameBuffer::from_planes(Rgba, 2, 2, &[(&long, 8)]).unwrap();
        assert_eq!(buf.data(), [9; 16]);
    }

    #[test]
    fn from_planes_rejects_short_planes() {
        let y = vec![0; 5 * 3];
        let c = vec![0; 3 * 2];
        let short = vec![0; 3 * 2 - 1];
        assert_eq!(
            VideoFrameBuffer::from_planes(I420, 5, 3, &[(&y, 5), (&c, 3), (&short, 3)]),
            Err(VideoError::PlaneTooShort {
                plane: 2,
                len: 5,
                needed: 6
            })
        );
        // Padded stride: the first rows must include their padding.
        assert_eq!(
            VideoFrameBuffer::from_planes(I420, 5, 3, &[(&y, 6), (&c, 3), (&c, 3)]),
            Err(VideoError::PlaneTooShort {
                plane: 0,
                len: 15,
                needed: 17
            })
        );
        // A huge stride must not overflow into acceptance.
        let err = VideoFrameBuffer::from_planes(Rgba, 1, 3, &[(&[0; 12], u32::MAX)]);
        assert!(matches!(
            err,
            Err(VideoError::PlaneTooShort { plane: 0, .. })
        ));
        let err =
            VideoFrameBuffer::from_planes(I010, 2, 2, &[(&[0; 7], 4), (&[0; 2], 2), (&[0; 2], 2)]);
        assert!(matches!(
            err,
            Err(VideoError::PlaneTooShort { plane: 0, .. })
        ));
    }

    #[test]
    fn from_planes_rejects_small_strides() {
        let data = vec![0; 1000];
        assert_eq!(
            VideoFrameBuffer::from_planes(Rgb24, 5, 3, &[(&data, 14)]),
            Err(VideoError::StrideTooSmall {
                plane: 0,
                stride: 14,
                min: 15
            })
        );
        assert_eq!(
            VideoFrameBuffer::from_planes(Nv12, 5, 3, &[(&data, 5), (&data, 5)]),
            Err(VideoError::StrideTooSmall {
                plane: 1,
                stride: 5,
                min: 6
            })
        );
        assert_eq!(
            VideoFrameBuffer::from_planes(I010, 5, 3, &[(&data, 9), (&data, 6), (&data, 6)]),
            Err(VideoError::StrideTooSmall {
                plane: 0,
                stride: 9,
                min: 10
            })
        );
        assert!(matches!(
            VideoFrameBuffer::from_planes(I420, 5, 3, &[(&data, 0), (&data, 3), (&data, 3)]),
            Err(VideoError::StrideTooSmall { plane: 0, .. })
        ));
    }

    #[test]
    fn from_planes_rejects_wrong_plane_count() {
        let data = vec![0; 100];
        assert_eq!(
            VideoFrameBuffer::from_planes(I420, 4, 4, &[(&data, 4), (&data, 2)]),
            Err(VideoError::PlaneCount {
                kind: I420,
                expected: 3,
                actual: 2
            })
        );
        assert!(matches!(
            VideoFrameBuffer::from_planes(Rgba, 4, 4, &[]),
            Err(VideoError::PlaneCount { .. })
        ));
    }

    #[test]
    fn views_check_planes_like_from_planes() {
        let data = vec![0; 1000];
        type Case<'a> = (VideoBufferType, u32, u32, Vec<(&'a [u8], u32)>);
        let cases: &[Case] = &[
            (Rgb24, 5, 3, vec![(&data, 14)]),
            (Nv12, 5, 3, vec![(&data, 5), (&data, 5)]),
            (I420, 5, 3, vec![(&data[..16], 6), (&data, 3), (&data, 3)]),
            (I420, 5, 3, vec![(&data, 5), (&data, 3)]),
            (Rgba, 0, 3, vec![(&data, 0)]),
            (Rgba, 1, 3, vec![(&data[..12], u32::MAX)]),
            (I010, 2, 2, vec![(&data[..7], 4), (&data, 2), (&data, 2)]),
        ];
        for (kind, w, h, planes) in cases {
            let view = VideoFrameView::new(*kind, *w, *h, planes);
            let err = view.expect_err("should be rejected");
            assert_eq!(
                VideoFrameBuffer::from_planes(*kind, *w, *h, planes),
                Err(err)
            );
        }
        assert_eq!(
            VideoFrameView::new(I420, 5, 3, &[(&data[..16], 6), (&data, 3), (&data, 3)]).err(),
            Some(VideoError::PlaneTooShort {
                plane: 0,
                len: 16,
                needed: 17
            })
        );
        assert_eq!(
            VideoFrameView::new(Nv12, 5, 3, &[(&data, 5), (&data, 5)]).err(),
            Some(VideoError::StrideTooSmall {
                plane: 1,
                stride: 5,
                min: 6
            })
        );
    }

    #[test]
    fn views_keep_padded_planes_trimmed_to_their_rows() {
        // 5x3 I420 with Y stride 8 and chroma stride 4; the slices run long.
        let y: Vec<u8> = (0..40).collect();
        let u: Vec<u8> = (100..120).collect();
        let v: Vec<u8> = (150..170).collect();
        let view = VideoFrameView::new(I420, 5, 3, &[(&y, 8), (&u, 4), (&v, 4)]).unwrap();
        assert_eq!((view.kind(), view.width(), view.height()), (I420, 5, 3));
        let spans: Vec<(usize, u32)> = view.planes().iter().map(|&(b, s)| (b.len(), s)).collect();
        // (rows - 1) * stride + row: the last row is not padded.
        assert_eq!(spans, [(21, 8), (7, 4), (7, 4)]);
        let packed = view.to_buffer();
        assert_eq!(
            packed.plane(0),
            [0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 16, 17, 18, 19, 20]
        );
        assert_eq!(packed.plane(1), [100, 101, 102, 104, 105, 106]);
        assert_eq!(packed.plane(2), [150, 151, 152, 154, 155, 156]);
        assert_eq!(
            Ok(packed.clone()),
            VideoFrameBuffer::from_planes(I420, 5, 3, &[(&y, 8), (&u, 4), (&v, 4)])
        );
        // Flipped copy: rows in reverse, still packed.
        let flipped = view.repack(true);
        assert_eq!(
            flipped.plane(0),
            [16, 17, 18, 19, 20, 8, 9, 10, 11, 12, 0, 1, 2, 3, 4]
        );
        assert_eq!(flipped.plane(1), [104, 105, 106, 100, 101, 102]);
        assert_eq!(flipped.planes(), packed.planes());
    }

    #[test]
    fn buffer_views_are_the_packed_planes() {
        for kind in VideoBufferType::ALL {
            let mut buf = VideoFrameBuffer::new(kind, 7, 5).unwrap();
            for (i, b) in buf.plane_mut(0).iter_mut().enumerate() {
                *b = i as u8;
            }
            let view = buf.view();
            assert_eq!((view.kind(), view.width(), view.height()), (kind, 7, 5));
            assert_eq!(view.planes().len(), kind.plane_count());
            for (index, (&(bytes, stride), plane)) in
                view.planes().iter().zip(buf.planes()).enumerate()
            {
                assert_eq!(bytes, buf.plane(index));
                assert_eq!(stride, plane.stride);
            }
            let checked = VideoFrameView::new(kind, 7, 5, view.planes()).unwrap();
            assert_eq!(checked.layout.planes(), view.layout.planes());
            assert_eq!(view.to_buffer(), buf);
        }
    }

    #[test]
    fn missing_planes_read_as_empty() {
        let mut buf = VideoFrameBuffer::new(Nv12, 4, 4).unwrap();
        assert_eq!(buf.plane(1).len(), 8);
        assert!(buf.plane(2).is_empty());
        assert!(buf.plane(usize::MAX).is_empty());
        assert!(buf.plane_mut(7).is_empty());
        buf.plane_mut(1).fill(5);
        assert_eq!(buf.into_data()[16..], [5; 8]);
    }
}
