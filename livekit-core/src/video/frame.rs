//! A video frame: a buffer with its capture time and orientation.

use std::sync::Arc;

use super::buffer::VideoFrameBuffer;

/// How a frame must be turned to display upright.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VideoRotation {
    /// Upright.
    #[default]
    Deg0,
    /// A quarter turn clockwise.
    Deg90,
    /// Upside down.
    Deg180,
    /// A quarter turn counter-clockwise.
    Deg270,
}

/// Application data that travels with a frame.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameMetadata {
    /// The application's own timestamp.
    pub user_timestamp: Option<u64>,
    /// The application's frame counter.
    pub frame_id: Option<u32>,
    /// Arbitrary bytes.
    pub user_data: Option<Vec<u8>>,
}

/// One frame. The buffer is shared, so fanning a frame out to several
/// consumers copies no pixels.
#[derive(Debug, Clone)]
pub struct VideoFrame {
    /// The pixels.
    pub buffer: Arc<VideoFrameBuffer>,
    /// Capture time in microseconds.
    pub timestamp_us: i64,
    /// Display orientation.
    pub rotation: VideoRotation,
    /// Application data, if any.
    pub metadata: FrameMetadata,
}
