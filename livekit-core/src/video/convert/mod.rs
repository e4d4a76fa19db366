//! Pixel-format conversion between [`VideoBufferType`]s.
//!
//! The work is done by libyuv (through `yuv-sys`), as in LiveKit's official
//! library, so results match it and its SIMD kernels keep conversion cheap.
//! Colours use BT.601 limited range, libyuv's default.

mod libyuv;
mod route;
#[cfg(test)]
mod tests;

use self::libyuv::Output;
use self::route::{Route, route};
use super::buffer::{VideoBufferType, VideoError, VideoFrameBuffer, VideoFrameView};

/// Whether [`VideoFrameView::convert`] handles `from` to `to`, so callers
/// can refuse a request before doing any work.
pub fn is_conversion_supported(from: VideoBufferType, to: VideoBufferType) -> bool {
    route(from, to).is_some()
}

impl VideoFrameView<'_> {
    /// Converts to a new packed buffer of type `dst`, flipping vertically
    /// when `flip_y` is set, reading the view's planes where they are.
    ///
    /// Supported: packed 4-byte RGB to I420 and to any packed RGB; RGB24 to
    /// I420 and any 4-byte RGB; I420 to any RGB, I420A, I422, I444, NV12;
    /// I420A, I422, I444, NV12 and I010 to any RGB and I420, plus I422 to
    /// I444 and I420A to I422/I444/NV12; any type to itself (a packed copy).
    /// See [`is_conversion_supported`]; other pairs give
    /// [`VideoError::Unsupported`].
    pub fn convert(
        &self,
        dst: VideoBufferType,
        flip_y: bool,
    ) -> Result<VideoFrameBuffer, VideoError> {
        match route(self.kind(), dst) {
            None => Err(VideoError::Unsupported {
                from: self.kind(),
                to: dst,
            }),
            Some(Route::Copy) => Ok(self.repack(flip_y)),
            // The intermediate is a packed buffer; its view feeds step two.
            Some(Route::Via(mid)) => self.convert(mid, flip_y)?.convert(dst, false),
            Some(Route::Direct { .. }) if libyuv::addressable(self) => self.direct(dst, flip_y),
            // Strides too long for libyuv's `int` offsets (possible only for
            // huge strides on one-row planes, or planes over 2 GiB): a packed
            // copy always fits.
            Some(Route::Direct { .. }) => self.to_buffer().view().direct(dst, flip_y),
        }
    }

    /// The buffer a video source hands to the encoder: RGB becomes I420,
    /// I420A loses its alpha, and YUV layouts the encoder takes as they are
    /// (I420, I422, I444, I010, NV12) are copied unchanged, packed.
    pub fn to_i420(&self) -> Result<VideoFrameBuffer, VideoError> {
        match self.kind() {
            VideoBufferType::Rgba
            | VideoBufferType::Abgr
            | VideoBufferType::Argb
            | VideoBufferType::Bgra
            | VideoBufferType::Rgb24
            | VideoBufferType::I420a => self.convert(VideoBufferType::I420, false),
            VideoBufferType::I420
            | VideoBufferType::I422
            | VideoBufferType::I444
            | VideoBufferType::I010
            | VideoBufferType::Nv12 => Ok(self.to_buffer()),
        }
    }

    /// One libyuv step into a fresh packed `dst` buffer.
    fn direct(&self, dst: VideoBufferType, flip_y: bool) -> Result<VideoFrameBuffer, VideoError> {
        let mut out = Output::new(dst, self.width(), self.height())?;
        libyuv::run(self, &mut out, flip_y).map_err(|code| VideoError::Backend {
            from: self.kind(),
            to: dst,
            code,
        })?;
        // SAFETY: `run` succeeded, so libyuv wrote every pixel of every
        // output plane, and packed planes have no padding.
        Ok(unsafe { out.finish() })
    }
}

impl VideoFrameBuffer {
    /// Converts to `dst`, flipping vertically when `flip_y` is set; see
    /// [`VideoFrameView::convert`].
    pub fn convert(
        &self,
        dst: VideoBufferType,
        flip_y: bool,
    ) -> Result<VideoFrameBuffer, VideoError> {
        self.view().convert(dst, flip_y)
    }

    /// The buffer a video source hands to the encoder; see
    /// [`VideoFrameView::to_i420`].
    pub fn to_i420(&self) -> Result<VideoFrameBuffer, VideoError> {
        self.view().to_i420()
    }
}
