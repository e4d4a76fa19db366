//! Video: frame buffers, pixel-format conversion, sources and streams.

pub mod buffer;
mod convert;
pub mod frame;
pub mod source;
pub mod stream;

pub use buffer::{
    MAX_DIMENSION, Plane, VideoBufferType, VideoError, VideoFrameBuffer, VideoFrameView,
};
pub use convert::is_conversion_supported;
