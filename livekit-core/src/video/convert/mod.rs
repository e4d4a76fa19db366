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
use super::buffer::{VideoBufferType, VideoError, VideoFrameBuffer};

/// Whether [`VideoFrameBuffer::convert`] handles `from` to `to`, so callers
/// can refuse a request before doing any work.
pub fn is_conversion_supported(from: VideoBufferType, to: VideoBufferType) -> bool {
    route(from, to).is_some()
}

impl VideoFrameBuffer {
    /// Converts to `dst`, flipping vertically when `flip_y` is set.
    ///
    /// Supported: packed 4-byte RGB to I420 and to any packed RGB; RGB24 to
    /// I420 and any 4-byte RGB; I420 to any RGB, I420A, I422, I444, NV12;
    /// I420A, I422, I444, NV12 and I010 to any RGB and I420, plus I422 to
    /// I444 and I420A to I422/I444/NV12; any type to itself. See
    /// [`is_conversion_supported`]; other pairs give
    /// [`VideoError::Unsupported`].
    pub fn convert(
        &self,
        dst: VideoBufferType,
        flip_y: bool,
    ) -> Result<VideoFrameBuffer, VideoError> {
        let from = self.kind();
        match route(from, dst) {
            None => Err(VideoError::Unsupported { from, to: dst }),
            Some(Route::Copy) => Ok(self.copy(flip_y)),
            Some(Route::Via(mid)) => self.convert(mid, flip_y)?.convert(dst, false),
            Some(Route::Direct { .. }) => {
                let mut out = Output::new(dst, self.width(), self.height())?;
                libyuv::run(self, &mut out, flip_y).map_err(|code| VideoError::Backend {
                    from,
                    to: dst,
                    code,
                })?;
                // SAFETY: `run` succeeded, so libyuv wrote every pixel of
                // every output plane, and packed planes have no padding.
                Ok(unsafe { out.finish() })
            }
        }
    }

    /// The buffer a video source hands to the encoder: RGB becomes I420,
    /// I420A loses its alpha, and YUV layouts the encoder takes as they are
    /// (I420, I422, I444, I010, NV12) are copied unchanged.
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
            | VideoBufferType::Nv12 => Ok(self.clone()),
        }
    }

    /// Same-type copy; flipping reverses the rows of each plane.
    fn copy(&self, flip_y: bool) -> VideoFrameBuffer {
        if !flip_y {
            return self.clone();
        }
        let mut data = Vec::with_capacity(self.data().len());
        for (index, plane) in self.planes().iter().enumerate() {
            // Packed strides are at least one byte; `max` keeps `chunks` happy.
            let stride = (plane.stride as usize).max(1);
            for row in self.plane(index).chunks(stride).rev() {
                data.extend_from_slice(row);
            }
        }
        VideoFrameBuffer::from_packed_parts(
            self.kind(),
            self.width(),
            self.height(),
            data,
            self.planes().to_vec(),
        )
    }
}
